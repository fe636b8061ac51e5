"""What Regard tells Ray (nothing leaves the machine), and the words when Ray is missing."""

import json
import sys

from typer.testing import CliRunner

from regard.domain.cluster import RayCluster
from regard.interfaces.cli.main import app
from regard.jobs.ray_pool import PRIVATE_ENVIRONMENT, RAY_MISSING, init_options


def test_ray_is_told_to_send_no_usage_statistics():
    assert PRIVATE_ENVIRONMENT == {"RAY_USAGE_STATS_ENABLED": "0"}


def test_a_private_cluster_has_no_dashboard_and_listens_on_loopback():
    options = init_options(RayCluster("auto", workers=3), start=True)
    assert options["include_dashboard"] is False
    assert options["_node_ip_address"] == "127.0.0.1"
    assert options["num_cpus"] == 3
    # Workers' output stays in Ray's logs on their nodes, not on the terminal.
    assert options["log_to_driver"] is False
    assert options["address"] == "local"  # never another cluster known on this machine


def test_joining_a_cluster_names_it_and_starts_nothing():
    options = init_options(RayCluster("ray://head:10001"), start=False)
    assert options["address"] == "ray://head:10001"
    assert "include_dashboard" not in options and "num_cpus" not in options


def test_index_with_ray_but_without_ray_installed_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    (tmp_path / "photos").mkdir()
    args = ["--library", tmp_path / "lib", "index", tmp_path / "photos", "--ray", "auto"]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--json"]])
    assert result.exit_code == 1
    error = json.loads(result.output)["error"]
    assert error == {"type": "ClusterError", "message": RAY_MISSING}
    assert RAY_MISSING == (
        "Indexing on a Ray cluster (--ray) needs Ray, which is not installed here. Install it "
        "with `pip install 'regard[ray]'` (scripts/setup test does), or leave out --ray."
    )
