"""A file that crashes or hangs a worker costs that file only."""

import pytest

from regard.engine import Engine, EngineConfig
from regard.testing import FakeModels, draw_faces

RED = (200, 20, 20)


def test_crashing_and_hanging_files_are_isolated(tmp_path):
    folder = tmp_path / "pics"
    for i, name in enumerate(("a.png", "crash.png", "hang.png", "b.png", "c.png")):
        draw_faces(folder / name, [(10 + 5 * i, 10, 30, RED)])
    config = EngineConfig(workers=2, task_timeout=4.0)
    with Engine(
        tmp_path / "lib", create=True, config=config, models=FakeModels(misbehave=True)
    ) as engine:
        report = engine.index([folder])
        failures = {f.path: f for f in report.failures}
        assert report.counts.files_new == 3
        crash, hang = failures[str(folder / "crash.png")], failures[str(folder / "hang.png")]
        assert crash.code == "crashed"
        assert crash.message == (
            f"{folder / 'crash.png'}: the image decoder crashed on this file (the worker was "
            "killed by SIGSEGV). The file is probably damaged or crafted; the run went on "
            "without it."
        )
        assert hang.code == "timeout"
        assert hang.message == (
            f"{folder / 'hang.png'}: analysing it took longer than 4 s and was stopped. The file "
            "may be crafted to stall decoders; check it, or raise --timeout if it is a genuine, "
            "very large photo."
        )
        # Not decoded again on every run: only when the file changes, or when asked.
        again = engine.index([folder])
        assert (again.counts.files_failed, again.counts.files_unchanged) == (0, 5)
        asked = engine.index([folder], retry_failed=True)
        assert (asked.counts.files_failed, asked.counts.files_unchanged) == (2, 3)


@pytest.mark.parametrize("workers", [1, 2])
def test_results_are_the_same_with_one_or_two_workers(tmp_path, workers):
    folder = tmp_path / "pics"
    for i in range(6):
        draw_faces(folder / f"{i}.png", [(10 + i, 10, 30, RED)])
    with Engine(
        tmp_path / "lib", create=True, config=EngineConfig(workers=workers), models=FakeModels()
    ) as engine:
        report = engine.index([folder])
        assert (report.counts.files_new, report.counts.faces_found) == (6, 6)


def test_workers_start_without_running_the_main_script_again(tmp_path, monkeypatch):
    # A spawned process runs its parent's main script first (for `regard`, the whole command
    # line): a worker needs none of it. This main script leaves a mark wherever it runs.
    import sys
    import types

    from regard.jobs.pool import AnalysisPool
    from regard.pipeline.analyse import AnalysisSettings

    mark = tmp_path / "ran"
    script = tmp_path / "main_script.py"
    script.write_text(f"open({str(mark)!r}, 'a').write('x')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    photo = draw_faces(tmp_path / "a.png", [(10, 10, 30, RED)])
    with AnalysisPool(1, AnalysisSettings(), FakeModels()) as pool:
        [(_path, result)] = list(pool.map_unordered([photo]))
    assert len(result.faces) == 1
    assert not mark.exists()
    assert sys.modules["__main__"] is main  # given back


def test_a_worker_has_its_next_photo_while_the_caller_stores_the_last(tmp_path):
    # The caller stores each result (under the library's lock, in a transaction) before it
    # asks for the next: a worker given its next photo only then would wait for it, every
    # photo. It is given it before the result is handed over.
    from regard.jobs.pool import AnalysisPool
    from regard.pipeline.analyse import AnalysisSettings

    photos = [draw_faces(tmp_path / f"{i}.png", [(10 + i, 10, 30, RED)]) for i in range(3)]
    with AnalysisPool(1, AnalysisSettings(), FakeModels()) as pool:
        results = pool.map_unordered(photos)
        sent = []
        for path, result in results:
            assert len(result.faces) == 1
            [worker] = pool._workers
            sent.append((path, worker.task))
    assert sent == [(photos[0], photos[1]), (photos[1], photos[2]), (photos[2], None)]
