"""`index --ray`: analysis fanned out to a real Ray cluster (a head and a worker node on this
machine) gives the library a local run gives, and a worker killed mid-run loses nothing."""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from regard.domain.cluster import RayCluster
from regard.engine import Engine, EngineConfig
from regard.interfaces.cli.main import app
from regard.testing import FakeModels, draw_faces
from tests.procnet import Listener, command_of, descendants, listeners

pytestmark = pytest.mark.slow


def snapshot(engine: Engine) -> dict[str, Any]:
    """What a library holds after indexing: its files, faces (box, quality), vectors and the
    people the faces were grouped into (as sets of faces: ids differ between libraries)."""
    files = {
        k.path: (k.status, k.content_hash, k.pipeline)
        for k in engine.catalog.photos.known_files().values()
    }
    rows = engine.catalog.faces.rows()
    ids, matrix = engine.catalog.faces.embeddings(engine.models.embedder.id)
    vectors = dict(zip(ids.tolist(), matrix, strict=True))
    faces = {
        (r["path"], r["ordinal"]): tuple(round(float(r[k]), 2) for k in ("x", "y", "w", "h"))
        for r in rows
    }
    people: dict[int, set[tuple[str, int]]] = {}
    for r in rows:
        if r["person_id"] is not None:
            people.setdefault(r["person_id"], set()).add((r["path"], r["ordinal"]))
    return {
        "files": files,
        "faces": faces,
        "vectors": {(r["path"], r["ordinal"]): vectors[r["id"]] for r in rows},
        "people": {frozenset(group) for group in people.values()},
    }


def assert_same_library(ray: dict[str, Any], local: dict[str, Any]) -> None:
    assert ray["files"] == local["files"]
    assert ray["faces"] == local["faces"]
    assert ray["vectors"].keys() == local["vectors"].keys()
    for key, vector in local["vectors"].items():
        np.testing.assert_allclose(ray["vectors"][key], vector, atol=1e-4, err_msg=str(key))
    assert ray["people"] == local["people"]


def failures(report: Any) -> set[tuple[str, str, str]]:
    return {(f.path, f.code, f.message) for f in report.failures}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, sample_dir) -> Iterator[dict[str, Any]]:
    """The demo sample indexed here, in this process: what a Ray run must give."""
    lib = tmp_path_factory.mktemp("ray-local") / "lib"
    with Engine(lib, create=True, config=EngineConfig(workers=0)) as engine:
        report = engine.index([sample_dir / "photos"])
        yield {
            "library": snapshot(engine),
            "failures": failures(report),
            "job failures": job_failures(engine),
            "faces": report.counts.faces_found,
        }


def job_failures(engine: Engine) -> set[tuple[str, str, str]]:
    [job] = engine.jobs.all()
    assert job.report is not None
    return {(f["path"], f["code"], f["message"]) for f in job.report["failures"]}


@pytest.fixture
def during_analysis(monkeypatch) -> Callable[[Callable[[Any], None]], None]:
    """`during_analysis(look)`: `look(analysis)` is called at each result a Ray analysis hands
    back, while its workers are up (the engine's events come later: results are written, and
    their events sent, in batches, the last ones after the workers are gone)."""
    from regard.jobs.ray_pool import RayAnalysis

    def install(look: Callable[[Any], None]) -> None:
        analyse = RayAnalysis.map_unordered

        def looked_at(self: RayAnalysis, paths: Any) -> Iterator[Any]:
            for result in analyse(self, paths):
                look(self)
                yield result

        monkeypatch.setattr(RayAnalysis, "map_unordered", looked_at)

    return install


def test_index_on_ray_gives_the_library_a_local_run_gives(
    tmp_path, sample_dir, ray_cluster, local_run
):
    lib = tmp_path / "lib"
    result = CliRunner().invoke(
        app,
        ["--library", str(lib), "index", str(sample_dir / "photos"), "--ray", ray_cluster],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"{local_run['faces']} faces" in " ".join(result.output.split())
    with Engine(lib) as engine:
        assert_same_library(snapshot(engine), local_run["library"])
        # The per-file errors are those of a local run, word for word (the broken file).
        assert job_failures(engine) == local_run["job failures"]


def test_a_worker_killed_mid_run_loses_nothing(
    tmp_path, sample_dir, ray_cluster, local_run, caplog, during_analysis
):
    killed: list[int] = []

    def kill_one_worker(analysis: Any) -> None:
        # After the first results are in, a worker in the middle of a batch.
        running = [
            a.pid for a in analysis._actors if a.queue and not analysis._finished(a.queue[0])
        ]
        if running and not killed:
            os.kill(running[0], signal.SIGKILL)
            killed.append(running[0])

    during_analysis(kill_one_worker)

    cluster = RayCluster(ray_cluster, batch=2)
    with (
        caplog.at_level(logging.WARNING, logger="regard.ray"),
        Engine(tmp_path / "lib", create=True, config=EngineConfig(ray=cluster)) as engine,
    ):
        report = engine.index([sample_dir / "photos"])
        assert killed, "no Ray worker was busy to be killed"
        assert "was lost with" in caplog.text and f"pid {killed[0]}" in caplog.text
        assert failures(report) == local_run["failures"]
        assert_same_library(snapshot(engine), local_run["library"])


def test_files_that_crash_or_hang_a_ray_worker_fail_alone(tmp_path, ray_cluster):
    folder = tmp_path / "pics"
    for i, name in enumerate(("a.png", "crash.png", "hang.png", "b.png", "c.png")):
        draw_faces(folder / name, [(10 + 5 * i, 10, 30, (200, 20, 20))])
    config = EngineConfig(ray=RayCluster(ray_cluster, batch=2), task_timeout=2.0)
    with Engine(
        tmp_path / "lib", create=True, config=config, models=FakeModels(misbehave=True)
    ) as engine:
        report = engine.index([folder])
    found = {Path(f.path).name: f for f in report.failures}
    assert (report.counts.files_new, report.counts.faces_found) == (3, 3)
    assert found.keys() == {"crash.png", "hang.png"}
    assert found["crash.png"].code == "crashed"
    assert found["crash.png"].message == (
        f"{folder / 'crash.png'}: the image decoder crashed on this file (the worker was lost "
        "on its Ray node). The file is probably damaged or crafted; the run went on without it."
    )
    assert found["hang.png"].code == "timeout"
    assert found["hang.png"].message.startswith(
        f"{folder / 'hang.png'}: analysing it took longer than 2 s and was stopped."
    )


def test_more_workers_than_the_cluster_has_cpus_is_refused(tmp_path, ray_cluster):
    folder = tmp_path / "one"
    draw_faces(folder / "a.png", [(10, 10, 30, (200, 20, 20))])
    args = ["--library", tmp_path / "lib", "index", folder, "--ray", ray_cluster]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--workers", "5", "--json"]])
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["message"] == (
        f"The Ray cluster at {ray_cluster} has 2 CPUs free for workers; 5 workers need one "
        "each. Leave out --workers to use them all."
    )


def test_the_clusters_processes_listen_on_loopback_only(tmp_path, ray_cluster, during_analysis):
    """Every socket the cluster's processes (its head, its second node, the Ray workers, and
    this process, Ray's driver) listen on, seen while a run is under way, is on loopback."""
    folder = tmp_path / "pics"
    for i in range(4):
        draw_faces(folder / f"{i}.png", [(10 + 5 * i, 10, 30, (200, 20, 20))])
    seen: list[Listener] = []
    by_pid: dict[int, set[str]] = {}
    workers_seen: set[int] = set()

    def look(analysis: Any) -> None:
        # At every result: this process, its descendants (the nodes' servers) and the workers.
        workers = analysis.worker_pids()
        workers_seen.update(workers)
        pids = sorted({os.getpid(), *descendants(os.getpid()), *workers})
        for p in pids:
            by_pid.setdefault(p, set()).add(command_of(p))
        seen.extend(listeners(pids))

    during_analysis(look)

    config = EngineConfig(ray=RayCluster(ray_cluster, batch=1))
    with Engine(tmp_path / "lib", create=True, config=config, models=FakeModels()) as engine:
        engine.index([folder])
    # The processes looked at are the cluster's: both nodes' servers and the workers.
    examined = sorted({c for titles in by_pid.values() for c in titles})
    assert sum(any("gcs_server" in c for c in t) for t in by_pid.values()) == 1, examined
    assert sum(any("/raylet " in c for c in t) for t in by_pid.values()) == 2, examined
    assert len(workers_seen) == 2 and workers_seen <= by_pid.keys(), (workers_seen, examined)
    assert {"gcs_server", "raylet"} <= {Path(s.command.split()[0]).name for s in seen}, seen
    assert seen and all(s.loopback for s in seen), [s for s in seen if not s.loopback]
