"""Vector indexes: find every stored face whose embedding is close to a probe.

`VectorIndex` is the seam: exact search (the default, and the reference in tests) now; an
approximate (HNSW) index can replace it for very large libraries without touching callers.
Vectors are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

# HNSW settings, chosen by bench/search_scale.py (see README, Benchmarks).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 64
CANDIDATES = 64
EXACT_FROM = 1024


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

    def knn(self, queries: Matrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Ids and similarities of the k nearest stored vectors of each query row, best
        first; id -1 where there are fewer than k."""
        ...

    def ids(self) -> npt.NDArray[np.int64]: ...


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

    def knn(self, queries: Matrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
        n = self._count
        if n == 0 or k <= 0:
            return ids, sims
        kk = min(k, n)
        stored = self._vectors[:n]
        for start in range(0, len(queries), 1024):
            block = np.asarray(queries[start : start + 1024] @ stored.T, dtype=np.float32)
            part = (
                np.argpartition(-block, kk - 1, axis=1)[:, :kk]
                if kk < n
                else (np.broadcast_to(np.arange(n), (len(block), n)).copy())
            )
            top = np.take_along_axis(block, part, axis=1)
            order = np.lexsort((self._ids[part], -top), axis=1)
            rows = np.take_along_axis(part, order, axis=1)
            ids[start : start + len(block), :kk] = self._ids[rows]
            sims[start : start + len(block), :kk] = np.take_along_axis(top, order, axis=1)
        return ids, sims

    def ids(self) -> npt.NDArray[np.int64]:
        return self._ids[: self._count].copy()


class HnswIndex:
    """Approximate neighbours (HNSW graph, usearch) for libraries too big for exact search.

    Vectors are kept as float32 and compared by inner product, so every score is the exact
    cosine similarity `ExactIndex` gives (a float16 graph moved scores by ~1e-3, enough to
    drop a face sitting on a threshold). A search asks the graph for at least `candidates`
    neighbours (usearch widens its beam to match) and keeps the best: over-fetching is what
    buys recall in dense clusters. A threshold search with few matches confirms them with a
    beam 4x wider (until a wider one finds no new match); when half or more of the beam are
    matches (a query in a dense cluster, where the graph's order is only approximate), or the
    beam would pass `exact_from`, it scans every vector instead, widening until the last
    falls below (tests/unit/storage/test_hnsw.py checks against exact search on clustered
    data that no match is missed).
    Removal only marks a vector (a tombstone): `compact()` rebuilds the graph from the live
    vectors, after which neither the index nor its saved bytes hold a removed one.
    bench/search_scale.py measures recall, latency, memory and build time.
    """

    def __init__(
        self,
        dim: int,
        *,
        connectivity: int = CONNECTIVITY,
        expansion_add: int = EXPANSION_ADD,
        expansion_search: int = EXPANSION_SEARCH,
        candidates: int = CANDIDATES,
        exact_from: int = EXACT_FROM,
        dtype: str = "f32",
        threads: int = 0,
    ) -> None:
        from usearch.index import Index

        self.dim = dim
        self.threads = threads
        self.candidates = candidates
        self.exact_from = exact_from
        self._index = Index(
            ndim=dim,
            metric="ip",
            dtype=dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        self._ef = expansion_search

    def __len__(self) -> int:
        return int(self._index.size)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, int | np.integer) and bool(self._index.contains(int(item)))

    @property
    def memory_bytes(self) -> int:
        """What the graph and its vectors take in memory."""
        return int(self._index.memory_usage)

    @property
    def exact_scores(self) -> bool:
        return str(self._index.dtype).lower().endswith("f32")

    def add(self, ids: Sequence[int], vectors: Matrix) -> None:
        vecs = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vecs):
            raise ValueError(f"{len(ids)} ids for {len(vecs)} vectors")
        if not len(ids):
            return
        keys = np.asarray(ids, dtype=np.uint64)
        present = [int(k) for k in keys if self._index.contains(int(k))]
        if present:
            self._index.remove(present)
        self._index.add(keys, np.ascontiguousarray(vecs), threads=self.threads)

    def remove(self, ids: Iterable[int]) -> None:
        keys = [int(i) for i in ids if self._index.contains(int(i))]
        if keys:
            self._index.remove(keys)

    def _ask(self, query: npt.NDArray[np.float32], count: int, *, exact: bool = False) -> Any:
        # usearch widens its beam to the count asked for (max(expansion_search, count)).
        return self._index.search(
            np.asarray(query, dtype=np.float32), count, threads=1, exact=exact
        )

    def _neighbours(self, found: Any) -> list[Neighbour]:
        hits = [
            Neighbour(int(key), 1.0 - float(dist))
            for key, dist in zip(found.keys, found.distances, strict=True)
        ]
        hits.sort(key=lambda n: (-n.score, n.id))
        return hits

    def top_k(self, query: npt.NDArray[np.float32], k: int) -> list[Neighbour]:
        n = len(self)
        if n == 0 or k <= 0:
            return []
        return self._neighbours(self._ask(query, min(n, max(k, self.candidates))))[:k]

    def search(
        self, query: npt.NDArray[np.float32], *, threshold: float, limit: int | None = None
    ) -> list[Neighbour]:
        n = len(self)
        if n == 0:
            return []
        k = min(n, max(self.candidates, limit or 0))
        found = self._neighbours(self._ask(query, k))
        while len(found) == k < n:
            matches = {h.id for h in found if h.score >= threshold}
            if 2 * len(matches) >= k or 4 * k > self.exact_from:
                # Half the beam or more are matches: the query sits in a dense cluster,
                # where the graph's order is only approximate (a beam of 1,024 still misses
                # members, and its last candidate can fall below the threshold before every
                # match is in). Scan every vector, widening until the last is below.
                found = self._scan(query, threshold, min(n, max(4 * k, self.exact_from)))
                break
            # Few matches: confirm with a 4x wider beam that there are no more.
            k = min(n, 4 * k)
            wider = self._neighbours(self._ask(query, k))
            if {h.id for h in wider if h.score >= threshold} <= matches:
                break
            found = wider
        hits = [h for h in found if h.score >= threshold]
        return hits[:limit] if limit is not None else hits

    def _scan(self, query: npt.NDArray[np.float32], threshold: float, k: int) -> list[Neighbour]:
        n = len(self)
        while True:
            found = self._neighbours(self._ask(query, k, exact=True))
            if k >= n or found[-1].score < threshold:
                return found
            k = min(n, 4 * k)

    def knn(self, queries: Matrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
        n = len(self)
        if n == 0 or not len(queries) or k <= 0:
            return ids, sims
        count = min(n, max(k, self.candidates))
        found = self._index.search(queries, count, threads=self.threads)
        keys = np.asarray(found.keys).reshape(len(queries), -1).astype(np.int64)
        dist = np.asarray(found.distances, dtype=np.float32).reshape(len(queries), -1)
        counts = np.asarray(getattr(found, "counts", [keys.shape[1]] * len(queries))).reshape(-1)
        valid = np.arange(keys.shape[1])[None, :] < counts[:, None]
        score = np.where(valid, 1.0 - dist, -np.inf).astype(np.float32)
        key = np.where(valid, keys, -1)
        # Best first, ties by id (as ExactIndex); only the first k are kept.
        order = np.lexsort((key, -score), axis=1)[:, :k]
        width = order.shape[1]
        ids[:, :width] = np.take_along_axis(key, order, axis=1)
        sims[:, :width] = np.take_along_axis(score, order, axis=1)
        return ids, sims

    def ids(self) -> npt.NDArray[np.int64]:
        return np.asarray(self._index.keys, dtype=np.int64)

    def vectors(self, ids: Sequence[int]) -> Matrix:
        """The stored vectors of `ids` (float32 rows, as added)."""
        got = self._index.get(np.asarray(ids, dtype=np.uint64))
        return np.asarray(got, dtype=np.float32).reshape(len(ids), self.dim)

    def compact(self, batch: int = 20_000) -> None:
        """Rebuild the graph from the live vectors: removed vectors stop existing in memory
        and in what `to_bytes` writes (removal alone leaves them in the graph's storage)."""
        fresh = HnswIndex(
            self.dim,
            connectivity=int(self._index.connectivity),
            expansion_add=int(self._index.expansion_add),
            expansion_search=self._ef,
            candidates=self.candidates,
            exact_from=self.exact_from,
            dtype=str(self._index.dtype).rsplit(".", 1)[-1].lower(),
            threads=self.threads,
        )
        keys = self.ids()
        for start in range(0, len(keys), batch):
            part = keys[start : start + batch].tolist()
            fresh.add(part, self.vectors(part))
        self._index = fresh._index

    def to_bytes(self) -> bytes:
        data = self._index.save()
        return bytes(data) if data is not None else b""

    @classmethod
    def from_bytes(
        cls,
        dim: int,
        data: bytes,
        threads: int = 0,
        *,
        candidates: int = CANDIDATES,
        exact_from: int = EXACT_FROM,
    ) -> HnswIndex:
        from usearch.index import Index

        made = cls.__new__(cls)
        made.dim = dim
        made.threads = threads
        made.candidates = candidates
        made.exact_from = exact_from
        try:
            restored = Index.restore(data)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"not a saved vector index ({e})") from e
        if restored is None:
            raise ValueError("not a saved vector index")
        if int(restored.ndim) != dim:
            raise ValueError(f"a saved vector index of {restored.ndim} dimensions, not {dim}")
        made._index = restored
        made._ef = int(restored.expansion_search)
        return made
