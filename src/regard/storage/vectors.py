"""Vector indexes: find every stored face whose embedding is close to a probe.

`VectorIndex` is the seam: exact search (the default, and the reference in tests) now; an
approximate (HNSW) index can replace it for very large libraries without touching callers.
Vectors are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from regard.storage.arrays import grown, in_groups
from regard.storage.bounded_scan import BoundedScan, exact_scores, whole_groups
from regard.storage.neighbour_graph import knn_graph
from regard.storage.ranked import NONE, Matches, best_first
from regard.storage.usearch_graph import new_graph, usearch_index

Matrix = npt.NDArray[np.float32]

# HNSW settings, chosen by bench/search_scale.py (see README, Benchmarks).
CONNECTIVITY = 32
EXPANSION_ADD = 128
EXPANSION_SEARCH = 64
CANDIDATES = 64
# Off: at 300,000 faces 256 lifted grouping's recall 0.9944 -> 0.9980 for 90 % more kNN CPU;
# not measured at a million (bench/people_scale.py --second-look).
SECOND_LOOK = 0
GRAPH_DTYPE = "i8"
_KNN_BLOCK = 1024
_MAGIC = b"RGANN\x00v2"


class VectorIndex(Protocol):
    dim: int

    def __len__(self) -> int: ...

    def __contains__(self, item: object) -> bool: ...

    def add(self, ids: Sequence[int], vectors: Matrix) -> None: ...

    def remove(self, ids: Iterable[int]) -> None: ...

    def search(
        self, query: npt.NDArray[np.float32], *, threshold: float, limit: int | None = None
    ) -> Matches:
        """Every vector with similarity >= threshold, best first (at most `limit`)."""
        ...

    def top_k(self, query: npt.NDArray[np.float32], k: int) -> Matches: ...

    def knn(self, queries: Matrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Ids and similarities of the k nearest stored vectors of each query row, best
        first; id -1 where there are fewer than k."""
        ...

    def knn_graph(
        self, ids: Sequence[int] | npt.NDArray[np.int64], k: int, *, floor: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """`knn` of the stored faces `ids` themselves, asked all at once (grouping's
        k-nearest-neighbour graph): an approximate index may use the answers to improve
        each other, searching exactly among faces joined by neighbours >= `floor`."""
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
            self._vectors, self._ids = grown(self._vectors, self._ids, self._count, need, 64, 0)
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
        # Whole groups of 16 rows (zeros past the end): each row scored as in HnswIndex.
        whole = self._vectors[: whole_groups(self._count)] @ q
        return np.asarray(whole[: self._count], dtype=np.float32)

    def search(
        self, query: npt.NDArray[np.float32], *, threshold: float, limit: int | None = None
    ) -> Matches:
        if self._count == 0:
            return NONE
        scores = self._scores(query)
        rows = np.flatnonzero(scores >= threshold)
        order = rows[np.lexsort((self._ids[rows], -scores[rows]))]
        if limit is not None:
            order = order[:limit]
        return Matches(self._ids[order], scores[order])

    def top_k(self, query: npt.NDArray[np.float32], k: int) -> Matches:
        if self._count == 0 or k <= 0:
            return NONE
        scores = self._scores(query)
        k = min(k, self._count)
        part = np.argpartition(-scores, k - 1)[:k]
        order = part[np.lexsort((self._ids[part], -scores[part]))]
        return Matches(self._ids[order], scores[order])

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

    def knn_graph(
        self, ids: Sequence[int] | npt.NDArray[np.int64], k: int, *, floor: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """`knn` of the stored faces `ids` (exact already; `floor` changes nothing)."""
        rows = [self._row[int(i)] for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist()]
        return self.knn(self._vectors[rows], k)

    def ids(self) -> npt.NDArray[np.int64]:
        return self._ids[: self._count].copy()


class HnswIndex:
    """Approximate neighbours for libraries too big for exact search: an HNSW graph (usearch)
    finds candidates, and every score is then computed exactly from float32 vectors.

    Two copies of each vector: the graph's, quantised (`GRAPH_DTYPE`: int8, a quarter of
    float32's memory and bandwidth, for walking the graph), and an exact float32 store (one
    row a slot; the graph's keys are the slots). A search asks the graph for at least
    `candidates` neighbours (usearch widens its beam to match) and re-ranks them by their
    exact cosine similarity, so every score is what `ExactIndex` gives; over-fetching is what
    buys recall in dense clusters. That is `top_k` and `knn`. Grouping asks for the
    neighbours of every face at once (`knn_graph`): the walk's answers are then refined
    against each other, exactly scored (`neighbour_graph`). A threshold search
    (`search`: search, opt-out, consent, erasure) must find every match, which no graph
    promises: 4-bit codes of every row, with a proven bound on their error, rule out the
    rows that cannot reach the threshold, and the rest are scored from the float32 store
    (`BoundedScan`): exactly what a scan of the whole store returns.
    Removal zeroes the float32 row at once and marks the graph's copy (a tombstone):
    `compact()` rebuilds the graph from the live vectors, after which neither the index nor
    its saved bytes hold a removed vector in any form.
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
        dtype: str = GRAPH_DTYPE,
        threads: int = 0,
        second_look: int = SECOND_LOOK,
    ) -> None:
        self.dim = dim
        self.threads = threads
        self.candidates = candidates
        # `knn_graph`: candidates of a second, wider walk for faces left without a close
        # neighbour (0: none).
        self.second_look = second_look
        self._graph = new_graph(dim, dtype, connectivity, expansion_add, expansion_search)
        self._vec: Matrix = np.zeros((0, dim), dtype=np.float32)
        self._key = np.zeros(0, dtype=np.int64)  # face id of each slot; -1: removed
        self._used = 0
        self._slot: dict[int, int] = {}
        self._scan: BoundedScan | None = None  # built at the first threshold search

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, int | np.integer) and int(item) in self._slot

    @property
    def connectivity(self) -> int:
        """The links each vector has in the graph (a saved index keeps its own)."""
        return int(self._graph.connectivity)

    @property
    def dtype(self) -> str:
        """The graph's vectors: "i8", "f16" or "f32" (scores are exact whichever it is)."""
        return str(self._graph.dtype).rsplit(".", 1)[-1].lower()

    @property
    def graph_bytes(self) -> int:
        """What the graph (links and its quantised vectors) takes in memory."""
        return int(self._graph.memory_usage)

    @property
    def store_bytes(self) -> int:
        """What the exact float32 vectors take in memory (rows reserved included)."""
        return int(self._vec.nbytes + self._key.nbytes)

    @property
    def codes_bytes(self) -> int:
        """What the threshold search's 4-bit codes and their bounds take (once built)."""
        return self._scan.memory_bytes if self._scan is not None else 0

    @property
    def memory_bytes(self) -> int:
        return self.graph_bytes + self.store_bytes + self.codes_bytes

    @property
    def exact_scores(self) -> bool:
        return True  # every score comes from the float32 store

    def add(self, ids: Sequence[int], vectors: Matrix) -> None:
        vecs = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vecs):
            raise ValueError(f"{len(ids)} ids for {len(vecs)} vectors")
        if not len(ids):
            return
        keys = [int(i) for i in ids]
        last = {k: j for j, k in enumerate(keys)}
        if len(last) < len(keys):  # the same id twice in one call: the last one counts
            pick = sorted(last.values())
            keys, vecs = [keys[j] for j in pick], vecs[pick]
        self.remove([k for k in keys if k in self._slot])
        need = self._used + len(keys)
        if need > len(self._vec):
            self._vec, self._key = grown(self._vec, self._key, self._used, need, 1024, -1)
        slots = np.arange(self._used, need, dtype=np.int64)
        self._vec[slots] = vecs
        self._key[slots] = keys
        self._slot.update(zip(keys, slots.tolist(), strict=True))
        self._used = need
        self._graph.add(slots.astype(np.uint64), np.ascontiguousarray(vecs), threads=self.threads)
        if self._scan is not None:
            self._scan.sync(self._vec, self._used)

    def remove(self, ids: Iterable[int]) -> None:
        slots = [s for s in (self._slot.pop(int(i), None) for i in ids) if s is not None]
        self._forget(slots)

    def _forget(self, slots: list[int]) -> None:
        if not slots:
            return
        rows = np.asarray(slots, dtype=np.int64)
        self._vec[rows] = 0.0  # the exact copy goes at once; the graph's at compact()
        self._key[rows] = -1
        self._graph.remove(rows.astype(np.uint64))
        if self._scan is not None:
            self._scan.erase(self._vec, rows)  # its codes go at once too

    def _ranked(
        self, query: npt.NDArray[np.float32], slots: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Face ids and exact similarities of the candidate slots, best first (ties by id)."""
        slots = slots[(slots >= 0) & (slots < self._used)]
        slots = slots[self._key[slots] >= 0]
        scores = np.asarray(self._vec[slots] @ query, dtype=np.float32)
        ids = self._key[slots]
        order = np.lexsort((ids, -scores))
        return ids[order], scores[order]

    def _candidates(
        self, query: npt.NDArray[np.float32], count: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        # usearch widens its beam to the count asked for (max(expansion_search, count)).
        found = self._graph.search(query, count, threads=1)
        return self._ranked(query, np.asarray(found.keys, dtype=np.uint64).astype(np.int64))

    def top_k(self, query: npt.NDArray[np.float32], k: int) -> Matches:
        n = len(self)
        if n == 0 or k <= 0:
            return NONE
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        ids, scores = self._candidates(q, min(n, max(k, self.candidates)))
        return Matches(ids[:k], scores[:k])

    def search(
        self, query: npt.NDArray[np.float32], *, threshold: float, limit: int | None = None
    ) -> Matches:
        """Every vector with similarity >= threshold, exactly as `scan` finds them: the
        4-bit codes of every row, with a proven bound on each row's error, rule out the rows
        that cannot reach the threshold; the others are re-scored from the float32 store
        (`BoundedScan`). A graph walk cannot promise completeness: at 1,000,000 faces a
        beam confirmed 4x wider still missed a match in 27 of 200 searches, and search,
        opt-out, consent and erasure rely on finding every one (bench/search_scale.py)."""
        if not self._slot:
            return NONE
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        slots = self.coded().candidates(q, threshold, self._used)
        return self._matches(q, slots, threshold, limit)

    def coded(self) -> BoundedScan:
        """The 4-bit codes of the store (built at the first threshold search)."""
        if self._scan is None:
            self._scan = BoundedScan(self.dim)
            self._scan.sync(self._vec, self._used)
        return self._scan

    def scan(
        self, query: npt.NDArray[np.float32], *, threshold: float, limit: int | None = None
    ) -> Matches:
        """Every vector with similarity >= threshold, from all of the float32 store (exact)."""
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        scores = np.asarray(self._vec[: whole_groups(self._used)] @ q, dtype=np.float32)
        rows = np.flatnonzero(scores[: self._used] >= threshold)
        return self._matches(q, rows, threshold, limit, scores[rows])

    def _matches(
        self,
        q: npt.NDArray[np.float32],
        rows: npt.NDArray[np.int64],
        threshold: float,
        limit: int | None,
        scores: npt.NDArray[np.float32] | None = None,
    ) -> Matches:
        ids, found = best_first(*self._rescored(q, rows, threshold, scores))
        if limit is not None:
            ids, found = ids[:limit], found[:limit]
        return Matches(ids, found)

    def _rescored(
        self,
        q: npt.NDArray[np.float32],
        rows: npt.NDArray[np.int64],
        threshold: float,
        scores: npt.NDArray[np.float32] | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The face ids and exact scores of the live slots of `rows` (ascending) that score
        >= `threshold` (their scores from the float32 store unless given)."""
        keys = self._key[rows]
        live = keys >= 0
        rows, keys = rows[live], keys[live]
        found = exact_scores(self._vec, rows, q) if scores is None else scores[live]
        keep = found >= threshold
        return keys[keep], found[keep]

    def knn(self, queries: Matrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        slots, sims = self._knn_slots(queries, k)
        return self._ids_of(slots), sims

    def knn_graph(
        self, ids: Sequence[int] | npt.NDArray[np.int64], k: int, *, floor: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """`knn` of the stored faces `ids`, asked all at once: the walk's answers refined
        against each other, all scored exactly (`neighbour_graph.knn_graph`); every list is
        at least as good as `knn`'s."""
        wanted = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(wanted) or k <= 0 or not self._slot:
            k = max(k, 0)
            return np.full((len(wanted), k), -1), np.full((len(wanted), k), -np.inf, np.float32)
        queries = np.asarray([self._slot[int(i)] for i in wanted.tolist()], dtype=np.int64)
        slots, sims = knn_graph(
            self._vec,
            self._key,
            queries,
            lambda rows, candidates: self._walk(rows, k, candidates),
            k=k,
            floor=floor,
            candidates=self.candidates,
            second_look=self.second_look,
        )
        return self._ids_of(slots), sims

    def _walk(
        self, queries: npt.NDArray[np.int64], k: int, candidates: int
    ) -> npt.NDArray[np.int64]:
        """The graph walk's k best slots for the stored slots `queries` (`candidates` each)."""
        found = np.full((len(queries), k), -1, dtype=np.int64)
        for start in range(0, len(queries), _KNN_BLOCK):
            part = queries[start : start + _KNN_BLOCK]
            found[start : start + len(part)] = self._knn_slots(self._vec[part], k, candidates)[0]
        return found

    def _ids_of(self, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.where(slots >= 0, self._key[np.maximum(slots, 0)], -1)

    def _knn_slots(
        self, queries: Matrix, k: int, candidates: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Slots and exact similarities of the k best candidates of each query (-1 / -inf
        where fewer), best first, ties by id."""
        out = np.full((len(queries), k), -1, dtype=np.int64)
        sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
        n = len(self)
        if n == 0 or not len(queries) or k <= 0:
            return out, sims
        count = min(n, max(k, candidates or self.candidates))
        for start in range(0, len(queries), _KNN_BLOCK):
            block = np.ascontiguousarray(queries[start : start + _KNN_BLOCK])
            found = self._graph.search(block, count, threads=self.threads)
            raw = np.asarray(found.keys, dtype=np.uint64).reshape(len(block), -1)
            counts = np.asarray(found.counts).reshape(-1)
            valid = np.arange(raw.shape[1])[None, :] < counts[:, None]
            slots = np.where(valid, raw.astype(np.int64), 0)
            slots = np.where((slots >= 0) & (slots < self._used), slots, 0)
            key = self._key[slots]
            valid &= key >= 0
            # The exact similarity of every candidate, from the float32 store.
            exact = np.einsum("qcd,qd->qc", self._vec[slots], block)
            score = np.where(valid, exact, -np.inf).astype(np.float32)
            key = np.where(valid, key, -1)
            # Best first, ties by id (as ExactIndex); only the first k are kept.
            order = np.lexsort((key, -score), axis=1)[:, :k]
            width = order.shape[1]
            stop = start + len(block)
            got = np.take_along_axis(score, order, axis=1)
            picked = np.take_along_axis(slots, order, axis=1)
            out[start:stop, :width] = np.where(got > -np.inf, picked, -1)
            sims[start:stop, :width] = got
        return out, sims

    def ids(self) -> npt.NDArray[np.int64]:
        keys = self._key[: self._used]
        return keys[keys >= 0].copy()

    def vectors(self, ids: Sequence[int]) -> Matrix:
        """The stored vectors of `ids` (float32 rows, as added)."""
        rows = [self._slot[int(i)] for i in ids]
        return self._vec[rows].copy()

    def graph_copies(self, ids: Sequence[int]) -> list[bytes]:
        """The bytes of the graph's own (quantised) copy of each of `ids`, as it holds them:
        what a removal leaves behind until `compact()` (tests and the benchmark look for
        them in the saved bytes)."""
        dtype = {"i8": np.int8, "f16": np.float16, "f32": np.float32}[self.dtype]
        slots = np.asarray([self._slot[int(i)] for i in ids], dtype=np.uint64)
        got = self._graph.get(slots, dtype=dtype)
        return [np.asarray(row, dtype=dtype).tobytes() for row in got]

    def compact(self, batch: int = 20_000) -> None:
        """Rebuild the graph from the live vectors: removed vectors stop existing in memory
        and in what `to_bytes` writes (removal alone leaves the graph's copy)."""
        live = np.flatnonzero(self._key[: self._used] >= 0)
        vec = np.ascontiguousarray(self._vec[live])
        key = self._key[live].copy()
        g = self._graph
        graph = new_graph(
            self.dim,
            self.dtype,
            int(g.connectivity),
            int(g.expansion_add),
            int(g.expansion_search),
        )
        for start in range(0, len(live), batch):
            stop = min(len(live), start + batch)
            slots = np.arange(start, stop, dtype=np.uint64)
            graph.add(slots, vec[start:stop], threads=self.threads)
        self._graph, self._vec, self._key, self._used = graph, in_groups(vec), key, len(live)
        self._scan = None  # the old codes go with their sessions; coded again when searched
        self._slot = {int(k): s for s, k in enumerate(key.tolist())}

    def to_bytes(self) -> bytes:
        """The index as bytes: a header, the float32 store (removed rows are zeros), the
        graph."""
        g = self._graph
        header = json.dumps(
            {
                "dim": self.dim,
                "slots": self._used,
                "expansion_add": int(g.expansion_add),
                "expansion_search": int(g.expansion_search),
            }
        ).encode("utf-8")
        graph = self._graph.save()
        return b"".join(
            (
                _MAGIC,
                len(header).to_bytes(4, "little"),
                header,
                self._key[: self._used].astype("<i8").tobytes(),
                self._vec[: self._used].astype("<f4").tobytes(),
                bytes(graph) if graph is not None else b"",
            )
        )

    @classmethod
    def from_bytes(
        cls,
        dim: int,
        data: bytes,
        threads: int = 0,
        *,
        candidates: int = CANDIDATES,
    ) -> HnswIndex:
        view = memoryview(data)
        if bytes(view[: len(_MAGIC)]) != _MAGIC:
            raise ValueError("not a saved vector index (or one of an older format)")
        at = len(_MAGIC) + 4
        size = int.from_bytes(view[len(_MAGIC) : at], "little")
        try:
            header = json.loads(bytes(view[at : at + size]))
            saved_dim, slots = int(header["dim"]), int(header["slots"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"not a saved vector index ({e})") from e
        if saved_dim != dim:
            raise ValueError(f"a saved vector index of {saved_dim} dimensions, not {dim}")
        at += size
        key_end = at + 8 * slots
        vec_end = key_end + 4 * slots * dim
        if len(view) < vec_end:
            raise ValueError("not a saved vector index (cut short)")
        try:
            graph = usearch_index().restore(bytes(view[vec_end:]))
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"not a saved vector index ({e})") from e
        if graph is None or int(graph.ndim) != dim:
            raise ValueError("not a saved vector index")
        made = cls.__new__(cls)
        made.dim = dim
        made.threads = threads
        made.candidates = candidates
        made.second_look = SECOND_LOOK
        # The beams are settings of the object, not of the saved graph: restored as saved.
        graph.expansion_add = int(header.get("expansion_add", graph.expansion_add))  # type: ignore[misc]
        graph.expansion_search = int(header.get("expansion_search", graph.expansion_search))  # type: ignore[misc]
        made._graph = graph
        made._key = np.frombuffer(view[at:key_end], dtype="<i8").astype(np.int64)
        made._vec = in_groups(
            np.frombuffer(view[key_end:vec_end], dtype="<f4").astype(np.float32).reshape(slots, dim)
        )
        made._scan = None
        made._used = slots
        made._slot = {int(k): s for s, k in enumerate(made._key.tolist()) if k >= 0}
        return made
