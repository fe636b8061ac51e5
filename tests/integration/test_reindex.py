"""Re-indexing with the real models: unchanged folders cost no model work, renames keep faces."""

import shutil
from dataclasses import dataclass

import pytest

from regard.engine import Engine, EngineConfig
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.models import StandardModels

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]


@dataclass(frozen=True, slots=True)
class NoModelsAllowed(StandardModels):
    """Loading a model at all fails the test."""

    def __call__(self, settings: AnalysisSettings) -> Analyser:
        raise AssertionError("a model was loaded")


def test_unchanged_folder_then_a_rename(tmp_path, shared_data):
    folder = tmp_path / "photos"
    shutil.copytree(shared_data / "photos/face_recognition/identities", folder)
    lib = tmp_path / "lib"
    with Engine(lib, create=True, config=EngineConfig(workers=2)) as engine:
        first = engine.index([folder])
        faces_before = {(r["path"], r["id"]) for r in engine.catalog.faces.rows()}
    assert first.counts.files_new == 15 and first.counts.faces_found >= 15

    (folder / "obama" / "obama.jpg").rename(folder / "renamed-obama.jpg")
    with Engine(lib, config=EngineConfig(workers=2), models=NoModelsAllowed()) as engine:
        again = engine.index([folder])
        assert again.counts.files_unchanged == 14 and again.counts.files_moved == 1
        faces_after = {(r["path"], r["id"]) for r in engine.catalog.faces.rows()}
    renamed = str(folder / "renamed-obama.jpg")
    old = str(folder / "obama" / "obama.jpg")
    assert {i for p, i in faces_after if p == renamed} == {i for p, i in faces_before if p == old}
    assert {(p, i) for p, i in faces_after if p != renamed} == {
        (p, i) for p, i in faces_before if p != old
    }
