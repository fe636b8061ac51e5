"""How face vectors and templates are written: float32, sealed with the library's key and
bound to what they belong to."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from regard.errors import KeyMissingError
from regard.storage.sealing import Sealer


def template_context(template_id: int, kind: str, model_id: str) -> str:
    return f"template:{template_id}:{kind}:{model_id}"


class VectorCodec:
    """How face vectors are written: float32, sealed with the library's key and bound to
    their face and model. Without a key (a locked library) vectors can be neither read
    nor written."""

    def __init__(self) -> None:
        self.sealer: Sealer | None = None

    def _require(self) -> Sealer:
        if self.sealer is None:
            raise KeyMissingError("no key or passphrase was given")
        return self.sealer

    @staticmethod
    def context(face_id: int, model_id: str) -> str:
        return f"embedding:{face_id}:{model_id}"

    def encode(self, vector: npt.NDArray[np.float32], face_id: int, model_id: str) -> bytes:
        raw = np.asarray(vector, dtype="<f4").tobytes()
        return self._require().seal(raw, self.context(face_id, model_id))

    def decode(self, face_id: int, model_id: str, blob: bytes) -> npt.NDArray[np.float32]:
        raw = self._require().open(bytes(blob), self.context(face_id, model_id))
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)

    def seal_raw(self, raw: bytes, context: str) -> bytes:
        return self._require().seal(raw, context)

    def open_raw(self, blob: bytes, context: str) -> bytes:
        return self._require().open(blob, context)

    def decode_many(self, rows: Sequence[tuple[int, str, bytes]]) -> npt.NDArray[np.float32]:
        sealer = self._require()
        raw = b"".join(sealer.open(bytes(b), self.context(f, m)) for f, m, b in rows)
        return np.frombuffer(raw, dtype="<f4").reshape(len(rows), -1).astype(np.float32)
