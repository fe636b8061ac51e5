from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from regard.engine import Engine, EngineConfig

#: Who appears in the labelled group photos (from ../shared/data/photos/*/labels.csv notes).
GROUP_MEMBERS = {
    "face_recognition/group/two_people.jpg": {"obama", "biden"},
    "face_recognition/group/obama_and_biden.jpg": {"obama", "biden"},
    "face_recognition/group/kit_with_rose.jpg": {"kit_harington", "rose_leslie"},
}


def labelled_photos(shared: Path) -> dict[str, set[str]]:
    """Absolute photo path -> identities in it, for every labelled still photo."""
    people: dict[str, set[str]] = {}
    for sub in ("face_recognition", "facenet_pytorch", "insightface_pypi"):
        with (shared / "photos" / sub / "labels.csv").open() as fh:
            for row in csv.DictReader(fh):
                rel = row["path"]
                if row["kind"] in ("identity", "variant") and row["identity"]:
                    people[str(shared / "photos" / rel)] = {row["identity"]}
                elif rel in GROUP_MEMBERS:
                    people[str(shared / "photos" / rel)] = set(GROUP_MEMBERS[rel])
                elif row["kind"] == "group":
                    people[str(shared / "photos" / rel)] = set()
    return people


@pytest.fixture(scope="module")
def photo_library(tmp_path_factory, shared_data) -> Iterator[Engine]:
    """The labelled photos and the 39 camera photos, indexed once for the module."""
    lib = tmp_path_factory.mktemp("photo-library")
    engine = Engine(lib / "lib", create=True, config=EngineConfig(workers=2))
    folders = [
        shared_data / "photos" / s / k
        for s in ("face_recognition", "facenet_pytorch", "insightface_pypi")
        for k in ("identities", "group", "variants")
        if (shared_data / "photos" / s / k).is_dir()
    ]
    engine.index([*folders, shared_data / "camera"])
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def exiftool() -> str:
    """exiftool's path: the tests that read written files back with it fail without it."""
    path = shutil.which("exiftool")
    if path is None:
        pytest.fail(
            "These tests read the written files back with exiftool, which is not installed. "
            "Install it with `apt-get install libimage-exiftool-perl` (Debian; scripts/setup "
            "test does) and run again.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> Iterator[str]:
    """A real Ray cluster on this machine: a head and a second (worker) node, one CPU each, no
    dashboard, no usage statistics; its address (`host:port`) for `RayCluster`. Shut down at
    the end of its module, so later tests find no cluster on this machine. Only its processes
    are stopped (never `ray stop`, which stops every Ray process of the machine)."""
    from regard.domain.cluster import RayCluster
    from regard.jobs.ray_pool import ray_environment, require_ray

    with pytest.MonkeyPatch.context() as mp:
        # As Regard sets it for a cluster on this machine, before Ray is first imported.
        for name, value in ray_environment(RayCluster("auto")).items():
            mp.setenv(name, value)
        require_ray()
        from ray.cluster_utils import Cluster

        node = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}
        cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
        try:
            cluster.add_node(**node)
            cluster.wait_for_nodes()
            yield cluster.address
        finally:
            cluster.shutdown()
