"""Ingestion logic with the fake models: idempotence, moves, copies, prune, errors."""

import os
import shutil

from regard.engine import Engine, EngineConfig
from regard.jobs.ingest import FileDone, Outcome, ScanDone
from regard.testing import FakeModels, draw_faces

RED, BLUE, GREEN = (200, 20, 20), (20, 20, 200), (20, 160, 20)


def photos(engine):
    return {p["path"]: p["faces"] for p in engine.photos()}


def test_index_then_search_by_colour(fake_engine, tmp_path):
    folder = tmp_path / "pics"
    draw_faces(folder / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(folder / "b.png", [(50, 50, 60, RED)])
    draw_faces(folder / "c.png", [(50, 50, 60, GREEN)])
    report = fake_engine.index([folder])
    assert (report.counts.files_new, report.counts.faces_found) == (3, 4)
    probe = draw_faces(tmp_path / "probe.png", [(30, 30, 50, RED)])
    result = fake_engine.search_face(probe)
    assert [m.path for m in result.matches] == sorted(
        [str(folder / "a.png"), str(folder / "b.png")]
    )
    assert result.threshold_source == "calibrated"


def test_reindexing_an_unchanged_folder_does_no_work(fake_engine, tmp_path):
    folder = tmp_path / "pics"
    for i in range(4):
        draw_faces(folder / f"{i}.png", [(10, 10, 30, RED)])
    fake_engine.index([folder])
    events = []
    report = fake_engine.index([folder], on_event=events.append)
    assert report.counts.files_unchanged == 4
    assert report.counts.files_new == report.counts.files_changed == 0
    assert events == [ScanDone(files=4, unchanged=4, to_process=0)]


def test_renamed_and_moved_files_keep_their_faces(fake_engine, tmp_path):
    folder = tmp_path / "pics"
    draw_faces(folder / "a.png", [(10, 10, 30, RED), (60, 10, 30, BLUE)])
    fake_engine.index([folder])
    before = fake_engine.catalog.faces.rows()
    os.makedirs(folder / "2024")
    os.rename(folder / "a.png", folder / "2024" / "renamed.png")
    events = []
    report = fake_engine.index([folder], on_event=events.append)
    assert report.counts.files_moved == 1 and report.counts.files_new == 0
    assert FileDone(str(folder / "2024" / "renamed.png"), Outcome.MOVED) in events
    after = fake_engine.catalog.faces.rows()
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert {r["path"] for r in after} == {str(folder / "2024" / "renamed.png")}


def test_a_copy_reuses_the_analysis(fake_engine, tmp_path):
    folder = tmp_path / "pics"
    draw_faces(folder / "a.png", [(10, 10, 30, RED)])
    fake_engine.index([folder])
    shutil.copy(folder / "a.png", folder / "copy.png")
    report = fake_engine.index([folder])
    assert report.counts.files_copied == 1
    assert photos(fake_engine) == {str(folder / "a.png"): 1, str(folder / "copy.png"): 1}


def test_touched_file_is_not_analysed_again(fake_engine, tmp_path):
    folder = tmp_path / "pics"
    path = draw_faces(folder / "a.png", [(10, 10, 30, RED)])
    fake_engine.index([folder])
    os.utime(path, ns=(1, 1))
    report = fake_engine.index([folder])
    assert report.counts.files_unchanged == 1 and report.counts.files_changed == 0


def test_changed_file_is_analysed_again(fake_engine, tmp_path):
    folder = tmp_path / "pics"
    path = draw_faces(folder / "a.png", [(10, 10, 30, RED)])
    fake_engine.index([folder])
    draw_faces(path, [(10, 10, 30, RED), (100, 100, 30, BLUE)], size=(330, 250))
    report = fake_engine.index([folder])
    assert report.counts.files_changed == 1
    assert photos(fake_engine) == {str(path): 2}


def test_gone_files_are_reported_and_pruned_only_when_asked(fake_engine, tmp_path):
    folder, other = tmp_path / "pics", tmp_path / "other"
    draw_faces(folder / "a.png", [(10, 10, 30, RED)])
    gone = draw_faces(folder / "b.png", [(10, 10, 30, BLUE)])
    elsewhere = draw_faces(other / "c.png", [(10, 10, 30, GREEN)])
    fake_engine.index([folder, other])
    gone.unlink()
    elsewhere.unlink()
    report = fake_engine.index([folder])
    assert report.missing == [str(gone)] and report.pruned == []
    assert str(gone) in photos(fake_engine)
    report = fake_engine.index([folder], prune=True)
    assert report.pruned == [str(gone)]
    assert set(photos(fake_engine)) == {str(folder / "a.png"), str(elsewhere)}  # other root kept


def test_bad_files_are_recorded_and_the_run_goes_on(fake_engine, tmp_path):
    folder = tmp_path / "pics"
    draw_faces(folder / "good.png", [(10, 10, 30, RED)])
    (folder / "bad.jpg").write_bytes(b"not an image")
    report = fake_engine.index([folder])
    assert report.counts.files_new == 1 and report.counts.files_failed == 1
    [failure] = report.failures
    assert failure.code == "unsupported"
    assert failure.message.startswith(f"{folder / 'bad.jpg'}: not a recognised image format.")
    assert [p.path for p in fake_engine.failures()] == [str(folder / "bad.jpg")]
    # Unchanged corrupt files are not retried; fixed ones are.
    assert fake_engine.index([folder]).counts.files_failed == 0
    draw_faces(folder / "bad.jpg", [(10, 10, 30, BLUE)])
    os.utime(folder / "bad.jpg", ns=(5, 5))
    assert fake_engine.index([folder]).counts.files_changed == 1
    assert fake_engine.failures() == []


def test_a_model_change_reanalyses(tmp_path):
    folder = tmp_path / "pics"
    draw_faces(folder / "a.png", [(10, 10, 30, RED)])
    lib = tmp_path / "lib"
    with Engine(lib, create=True, config=EngineConfig(workers=0), models=FakeModels()) as e:
        e.index([folder])
        face_ids = [r["id"] for r in e.catalog.faces.rows()]
    import dataclasses

    other = FakeModels(embedder=dataclasses.replace(FakeModels().embedder, id="fake-colour-v2"))
    with Engine(lib, config=EngineConfig(workers=0), models=other) as e:
        report = e.index([folder])
        assert report.counts.files_changed == 1
        ids, _ = e.catalog.faces.embeddings("fake-colour-v2")
        assert len(ids) == 1
        assert len(e.catalog.faces.embeddings("fake-colour")[0]) == 0  # never mixed
        assert [r["id"] for r in e.catalog.faces.rows()] == face_ids  # the faces are the same
