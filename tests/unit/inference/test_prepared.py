"""The face models as run, prepared at set-up: the pinned bytes are what preparing the
verified wheel files gives; a worker uses set-up's file only when it is those bytes, and
otherwise prepares the model itself (the same bytes), never anything else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from regard.errors import ConversionError
from regard.inference.prepared import (
    PreparedModel,
    install_prepared,
    made,
    prepared_bytes,
    prepared_ok,
)
from regard.inference.registry import SFACE, YUNET, load_verified
from regard.inference.sface_ort import SFACE_PREPARED
from regard.inference.yunet_ort import YUNET_PREPARED


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("model", [YUNET_PREPARED, SFACE_PREPARED], ids=lambda m: m.source.id)
def test_the_pinned_hash_is_what_preparing_the_wheel_file_gives(model: PreparedModel) -> None:
    # Changing how a model is prepared changes these bytes: pin the new hash (and set-up
    # writes the new file; until then workers prepare it themselves).
    assert sha(model.prepare(load_verified(model.source))) == model.sha256


def reversed_model(calls: list[int]) -> PreparedModel:
    """A stand-in preparation (the wheel's bytes reversed), counting its calls."""

    def prepare(shipped: bytes) -> bytes:
        calls.append(1)
        return shipped[::-1]

    return PreparedModel(
        source=YUNET,
        resource="stand-in.prepared.onnx",
        sha256=sha(load_verified(YUNET)[::-1]),
        prepare=prepare,
    )


def test_a_worker_reads_set_ups_file_and_prepares_nothing(tmp_path: Path) -> None:
    calls: list[int] = []
    model = reversed_model(calls)
    path, action = install_prepared(model, tmp_path)
    assert action == "installed" and path == tmp_path / model.resource and calls == [1]
    assert install_prepared(model, tmp_path)[1] == "already installed" and calls == [1]
    assert prepared_ok(model, tmp_path)
    assert prepared_bytes(model, tmp_path) == load_verified(YUNET)[::-1]
    assert calls == [1]  # read, not made again


def test_a_missing_or_altered_file_is_not_used_the_model_is_made_again(tmp_path: Path) -> None:
    calls: list[int] = []
    model = reversed_model(calls)
    want = load_verified(YUNET)[::-1]
    assert prepared_bytes(model, tmp_path) == want and calls == [1]  # no file: made
    install_prepared(model, tmp_path)
    path = tmp_path / model.resource
    altered = bytearray(path.read_bytes())
    altered[100] ^= 0x01
    path.write_bytes(bytes(altered))
    assert not prepared_ok(model, tmp_path)
    before = len(calls)
    assert prepared_bytes(model, tmp_path) == want and len(calls) == before + 1
    assert install_prepared(model, tmp_path)[1] == "installed"  # set-up writes it again
    assert path.read_bytes() == want


def test_set_up_refuses_bytes_that_are_not_the_pinned_ones(tmp_path: Path) -> None:
    model = PreparedModel(
        source=SFACE, resource="odd.onnx", sha256="0" * 64, prepare=lambda b: b[:10]
    )
    with pytest.raises(ConversionError, match="not the pinned"):
        install_prepared(model, tmp_path)
    assert not (tmp_path / "odd.onnx").exists()
    assert made(model) == load_verified(SFACE)[:10]
