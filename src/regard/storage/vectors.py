"""Vector indexes: find every stored face whose embedding is close to a probe.

`VectorIndex` is the seam: exact search (the default, and the reference in tests) now; an
approximate (HNSW) index can replace it for very large libraries without touching callers.
Vectors are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Neighbour:
    id: int
    score: float  # cosine similarity, -1..1


class VectorIndex(Protocol):
    dim: int

    def __len__(self) -> int: ...

    def __contains__(self, item: object) -> bool: ...

    def add(self, ids: Sequence[int], vectors: Matrix) -> None: ...

    def remove(self, ids: Iterable[int]) -> None: ...

    def search(
        self, query: npt.NDArray[np.float32], *, threshold: float, limit: int | None = None
    ) -> list[Neighbour]:
        """Every vector with similarity >= threshold, best first (at most `limit`)."""
        ...

    def top_k(self, query: npt.NDArray[np.float32], k: int) -> list[Neighbour]: ...


class ExactIndex:
    """Brute-force cosine search over a dense matrix: exact, and fast enough for libraries
    of a few hundred thousand faces (one matrix-vector product per query)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._count = 0
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item: object) -> bool:
        return item in self._row

    def add(self, ids: Sequence[int], vectors: Matrix) -> None:
        vecs = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vecs):
            raise ValueError(f"{len(ids)} ids for {len(vecs)} vectors")
        self.remove([i for i in ids if i in self._row])
        need = self._count + len(vecs)
        if need > len(self._vectors):
            capacity = max(need, 2 * len(self._vectors), 64)
            grown = np.zeros((capacity, self.dim), dtype=np.float32)
            grown[: self._count] = self._vectors[: self._count]
            grown_ids = np.zeros(capacity, dtype=np.int64)
            grown_ids[: self._count] = self._ids[: self._count]
            self._vectors, self._ids = grown, grown_ids
        start = self._count
        self._vectors[start:need] = vecs
        self._ids[start:need] = np.asarray(ids, dtype=np.int64)
        for offset, face_id in enumerate(ids):
            self._row[int(face_id)] = start + offset
        self._count = need

    def remove(self, ids: Iterable[int]) -> None:
        for face_id in ids:
            row = self._row.pop(int(face_id), None)
            if row is None:
                continue
            last = self._count - 1
            if row != last:
                # Keep the matrix dense: move the last row into the hole.
                self._vectors[row] = self._vectors[last]
                moved = int(self._ids[last])
                self._ids[row] = moved
                self._row[moved] = row
            self._vectors[last] = 0.0
            self._count = last

    def _scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        return np.asarray(self._vectors[: self._count] @ q, dtype=np.float32)

    def search(
        self, query: npt.NDArray[np.float32], *, threshold: float, limit: int | None = None
    ) -> list[Neighbour]:
        if self._count == 0:
            return []
        scores = self._scores(query)
        rows = np.flatnonzero(scores >= threshold)
        order = rows[np.lexsort((self._ids[rows], -scores[rows]))]
        if limit is not None:
            order = order[:limit]
        return [Neighbour(int(self._ids[r]), float(scores[r])) for r in order]

    def top_k(self, query: npt.NDArray[np.float32], k: int) -> list[Neighbour]:
        if self._count == 0 or k <= 0:
            return []
        scores = self._scores(query)
        k = min(k, self._count)
        part = np.argpartition(-scores, k - 1)[:k]
        order = part[np.lexsort((self._ids[part], -scores[part]))]
        return [Neighbour(int(self._ids[r]), float(scores[r])) for r in order]
