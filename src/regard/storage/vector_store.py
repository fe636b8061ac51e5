"""The library's vector index for the current embedding model, kept in step with the catalog.

Up to `ann_threshold` faces, the index is exact and built in memory from the catalog when
first needed (a fraction of a second). Beyond it, an HNSW index is used and saved in the
library's `vectors/` folder, because rebuilding one costs minutes. The saved file records
the catalog's `vectors_changed` counter: if nothing was removed or changed since, the file
only lacks the faces added after it was saved, which are added on load; otherwise (a crash
after a removal) it is rebuilt from the catalog, the source of truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

from regard.atomic import private_dirs, write_atomically
from regard.domain.models import ModelSpec
from regard.errors import WrongKeyError
from regard.storage.repositories import Store
from regard.storage.vectors import CONNECTIVITY, ExactIndex, HnswIndex, VectorIndex

ANN_THRESHOLD = 50_000
_BATCH = 20_000


class VectorStore:
    def __init__(
        self, catalog: Store, folder: Path, model: ModelSpec, ann_threshold: int = ANN_THRESHOLD
    ) -> None:
        self.catalog = catalog
        self.model = model
        self.ann_threshold = ann_threshold
        self.file = folder / f"{model.id}.hnsw"
        self.manifest = folder / f"{model.id}.hnsw.json"
        self._index: VectorIndex | None = None
        self._dirty = False
        #: The cohort (`cohort()`): face ids, their vectors, and the library size it was
        #: drawn from. Held in memory only, and dropped with the index.
        self._cohort: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], int] | None = None

    @property
    def kind(self) -> str:
        """ "exact" or "hnsw": the kind in use, or the kind that would be opened now."""
        if self._index is not None:
            return "hnsw" if isinstance(self._index, HnswIndex) else "exact"
        big = self.catalog.faces.embedding_count(self.model.id) > self.ann_threshold
        return "hnsw" if big else "exact"

    @property
    def index(self) -> VectorIndex:
        if self._index is None:
            self._index = self._open()
        return self._index

    def loaded(self) -> bool:
        return self._index is not None

    def _open(self) -> VectorIndex:
        count = self.catalog.faces.embedding_count(self.model.id)
        if count <= self.ann_threshold:
            exact = ExactIndex(self.model.dim)
            ids, matrix = self.catalog.faces.embeddings(self.model.id)
            if len(ids):
                exact.add(ids.tolist(), matrix)
            return exact
        saved = self._load_saved()
        if saved is not None:
            return saved
        return self._build_hnsw()

    def _context(self) -> str:
        return f"hnsw:{self.catalog.runs.setting('library_id')}:{self.model.id}"

    def _load_saved(self) -> HnswIndex | None:
        try:
            meta = json.loads(self.manifest.read_text(encoding="utf-8"))
            if meta.get("model") != self.model.id:
                return None
            if meta.get("vectors_changed") != self.catalog.runs.counter("vectors_changed"):
                return None
            # The saved graph holds every vector: it is sealed like the catalog's vectors.
            data = self.catalog.codec.open_raw(self.file.read_bytes(), self._context())
            index = HnswIndex.from_bytes(self.model.dim, data)
            if not index.exact_scores:
                return None  # an older float16 graph: its scores are not exact, rebuild it
            if index.connectivity < CONNECTIVITY:
                # An older, sparser graph: its walks miss more close faces (at a million, 16
                # links found 0.974 of them, 32 find 0.991); built again once, then saved.
                return None
        except (OSError, ValueError, RuntimeError, WrongKeyError):
            return None
        have = set(index.ids().tolist())
        missing = [
            int(i) for i in self.catalog.faces.embedding_ids(self.model.id) if int(i) not in have
        ]
        for start in range(0, len(missing), _BATCH):
            ids, matrix = self.catalog.faces.embeddings(
                self.model.id, missing[start : start + _BATCH]
            )
            index.add(ids.tolist(), matrix)
        self._dirty = bool(missing)
        return index

    def _build_hnsw(self) -> HnswIndex:
        index = HnswIndex(self.model.dim)
        all_ids = self.catalog.faces.embedding_ids(self.model.id).tolist()
        for start in range(0, len(all_ids), _BATCH):
            ids, matrix = self.catalog.faces.embeddings(
                self.model.id, all_ids[start : start + _BATCH]
            )
            index.add(ids.tolist(), matrix)
        self._dirty = True
        return index

    def add(self, face_ids: list[int], vectors: npt.NDArray[np.float32]) -> None:
        if self._index is not None and face_ids:
            self._index.add(face_ids, vectors)
            self._dirty = True

    def cohort(
        self, size: int, seed: int = 0
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """A fixed random sample of up to `size` of the library's faces (ids, vectors), the
        bulk of unrelated faces a probe's scores are judged against. Drawn again when the
        library has grown or shrunk by a tenth since (indexing refreshes it); a face whose
        vector goes (erasure, opt-out, withdrawal, expiry) leaves it at once."""
        count = len(self.index)
        held = self._cohort
        if held is None or abs(count - held[2]) > held[2] / 10 or len(held[0]) < min(size, count):
            all_ids = np.sort(self.index.ids())
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(all_ids, size=min(size, len(all_ids)), replace=False))
            ids, matrix = self.catalog.faces.embeddings(self.model.id, pick.tolist())
            held = (np.asarray(ids, dtype=np.int64), np.asarray(matrix, dtype=np.float32), count)
            self._cohort = held
        return held[0], held[1]

    def cohort_ids(self) -> set[int]:
        """The faces the cohort holds a vector of (none when it is not drawn)."""
        return set() if self._cohort is None else {int(i) for i in self._cohort[0]}

    def _drop_from_cohort(self, face_ids: set[int]) -> None:
        if self._cohort is None:
            return
        ids, matrix, count = self._cohort
        keep = ~np.isin(ids, np.fromiter(face_ids, dtype=np.int64, count=len(face_ids)))
        # Changed vectors are left out too: the next draw takes them as they are now.
        self._cohort = (ids[keep], matrix[keep], count)

    def refresh(self, face_ids: set[int]) -> None:
        """Faces whose vectors went away or changed: drop them, and put back the ones that
        still have a vector of this model."""
        if face_ids:
            self._drop_from_cohort(face_ids)
        if self._index is None or not face_ids:
            return
        self._index.remove(face_ids)
        ids, matrix = self.catalog.faces.embeddings(self.model.id, sorted(face_ids))
        if len(ids):
            self._index.add(ids.tolist(), matrix)
        self._dirty = True

    def save(self) -> None:
        """Write an HNSW index (atomically) so the next process does not rebuild it."""
        if not isinstance(self._index, HnswIndex) or not self._dirty:
            return
        private_dirs(self.file.parent)
        sealed = self.catalog.codec.seal_raw(self._index.to_bytes(), self._context())
        write_atomically(self.file, sealed, private=True)
        meta = {
            "model": self.model.id,
            "vectors_changed": self.catalog.runs.counter("vectors_changed"),
            "count": len(self._index),
        }
        write_atomically(self.manifest, json.dumps(meta).encode("utf-8"), private=True)
        self._dirty = False

    def forget(self) -> None:
        self._index = None
        self._cohort = None

    def rebuild_saved(self) -> None:
        """After an erasure: a saved graph may still hold removed vectors (HNSW removal only
        marks them), so it is rebuilt from the catalog — or deleted if no longer used."""
        if self._index is not None and isinstance(self._index, HnswIndex):
            self._index = self._build_hnsw()
            self.save()
        elif self.file.exists():
            if self.catalog.faces.embedding_count(self.model.id) > self.ann_threshold:
                self._index = self._build_hnsw()
                self.save()
            else:
                self.file.unlink()
                self.manifest.unlink(missing_ok=True)

    def reseal(self) -> None:
        """After a key change: write the saved graph again under the new key."""
        if self.file.exists():
            self._index = self._build_hnsw()
            self.save()
