"""A threshold search that misses nothing without scoring every stored vector exactly.

A first pass multiplies the query with 4-bit codes of every stored row (an eighth of the
float32 store's bytes; `inference.int4_products`). Each row carries a proven bound on how
far its coded product can be from its exact score. With x~ the row's dequantised codes and
q' the query on MLAS's int8 grid, by Cauchy-Schwarz twice

    |q.x - q'.x~| <= |q.(x - x~)| + |(q - q').x~| <= ||q|| ||x - x~|| + ||q - q'|| ||x~||

and `MARGIN` covers the float32 rounding of the coded product and of the exact score. A row
whose coded product plus its bound is below the threshold scores below it exactly: it is
ruled out; every other row is a candidate, re-scored from the float32 store by the caller.
So the search returns what a scan of the float32 store returns, nothing missed. The row's
part of the bound, ||x - x~||, is added to its product by MLAS as it writes it (a bias); the
rest, ||q - q'|| ||x~|| and what a query longer than 1 adds, is bounded over the whole shard,
so that ruling rows out is one comparison a row.

The rows are cut into shards of `SHARD` slots, one onnxruntime session each (its weights
are packed when built, so a change means a new session). A removed row is zero in the
float32 store; the shards holding one are built again from it at once, so its codes go
too. Rows added since a shard was built (fewer than `PENDING`) are scanned exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from regard.inference.int4_products import BLOCK, Int4Products, padded_dim, quantised, query_grid

# 131,072 rows a shard: the first pass over a million rows takes 0.86-0.94x the CPU time of
# 65,536 (half the sessions to run), for twice the rows coded again when one is removed
# (~0.3 s CPU).
SHARD = 1 << 17
PENDING = 4096
# Float32 rounding: of the coded products (measured ~1e-7, checked below CHECK at every
# build) and of an exact score over 128 dimensions (at most ~1e-5); a larger margin only
# re-scores a few more rows.
MARGIN = 1e-4
CHECK = 1e-5
_ROWS = 16  # exact scores are taken on whole groups of rows (see `exact_scores`)
_BUILD = 8192  # rows quantised and bounded at a time
GATHER = 256  # rows gathered at a time to be scored (128 KiB at 128 dimensions: in L2)

Matrix = npt.NDArray[np.float32]
Slots = npt.NDArray[np.int64]


def exact_scores(vectors: Matrix, rows: Slots, query: Matrix) -> Matrix:
    """The float32 scores of `rows`, computed as a scan of the whole store computes them:
    OpenBLAS scores a trailing group of fewer than 16 rows in another order (the last bit
    can differ), so the rows are gathered into whole groups of 16.

    They are gathered `GATHER` rows at a time into one small buffer, each part scored while
    it is in the cache: gathering all of them first (tens of thousands for a search of a
    person with thousands of faces) wrote and read back megabytes, in a new allocation each
    search (3x the time at 20,000 rows)."""
    n = len(rows)
    out = np.empty(n, dtype=np.float32)
    part = np.zeros((min(GATHER, whole_groups(n)), vectors.shape[1]), dtype=np.float32)
    whole = n - n % _ROWS
    for start in range(0, whole, GATHER):
        stop = min(whole, start + GATHER)
        into = part[: stop - start]
        # "clip" only skips numpy's buffering of `out`: every row is a slot of `vectors`.
        np.take(vectors, rows[start:stop], axis=0, out=into, mode="clip")
        np.matmul(into, query, out=out[start:stop])
    if whole < n:
        tail = part[:_ROWS]
        tail[: n - whole] = vectors[rows[whole:]]
        tail[n - whole :] = 0.0
        out[whole:] = (tail @ query)[: n - whole]
    return out


def whole_groups(count: int) -> int:
    """`count` rounded up to whole groups of 16 rows (a store's capacity, for scans)."""
    return count + (-count) % _ROWS


@dataclass(frozen=True, slots=True)
class _Shard:
    start: int
    stop: int  # the slots [start, stop) were coded
    products: Int4Products | None  # None: the check failed, the rows are scanned exactly
    err: Matrix  # upper bounds of ||x - x~||, a row (also in the session, as its bias)
    err_max: float
    norm_max: float  # an upper bound of ||x~|| over the rows


class BoundedScan:
    """4-bit codes of a float32 store's rows (slots), and the candidates of a threshold
    search: a superset of the rows that score >= the threshold exactly."""

    def __init__(self, dim: int, *, shard: int = SHARD, pending: int = PENDING) -> None:
        self.dim = dim
        self.shard = shard
        self.pending = pending
        self._shards: list[_Shard] = []

    @property
    def memory_bytes(self) -> int:
        """Codes, scales and bounds, as stated. The process holds more: onnxruntime keeps the
        codes it was built from beside its packed copy (~3x this at a million faces)."""
        blocks = padded_dim(self.dim) // BLOCK
        per_row = blocks * (BLOCK // 2 + 4) + 8  # a row's bound: the session's and `err`
        return sum((s.stop - s.start) * per_row for s in self._shards)

    def sync(self, vectors: Matrix, used: int) -> None:
        """Code the rows added since: a shard is built again once it is full or `pending`
        rows wait (until then they are scanned exactly)."""
        size = self.shard
        for k in range(-(-used // size)):
            start, stop = k * size, min(used, (k + 1) * size)
            have = self._shards[k] if k < len(self._shards) else None
            full = stop != have.stop and stop % size == 0 if have else False
            if have is None or stop - have.stop >= self.pending or full:
                self._build(vectors, k, start, stop)

    def erase(self, vectors: Matrix, slots: Slots) -> None:
        """The rows of `slots` were zeroed in `vectors`: build their shards again, so that
        no code of them is left."""
        for k in np.unique(slots // self.shard).tolist():
            if k < len(self._shards):
                have = self._shards[k]
                self._build(vectors, k, have.start, have.stop)

    def _build(self, vectors: Matrix, k: int, start: int, stop: int) -> None:
        n, k_dim = stop - start, padded_dim(self.dim)
        blocks = k_dim // BLOCK
        packed = np.empty((n, blocks, BLOCK // 2), dtype=np.uint8)
        scales = np.empty((n, blocks), dtype=np.float32)
        err = np.empty(n, dtype=np.float32)
        want = np.empty(n, dtype=np.float64)
        norm = 0.0
        probe = query_grid(_probe(self.dim), self.dim)
        # A part at a time: the float64 copies of a whole shard (hundreds of MB, allocated
        # anew at each removal) took more time than the arithmetic; the results are the same.
        for at in range(0, n, _BUILD):
            rows = vectors[start + at : min(stop, start + at + _BUILD)]
            part = slice(at, at + len(rows))
            packed[part], scales[part], approx = quantised(rows, self.dim)
            exact = np.zeros((len(rows), k_dim), dtype=np.float64)
            exact[:, : self.dim] = rows
            codes_f64 = approx.astype(np.float64)
            # The bounds in float64, rounded up into float32: never below the true norms.
            err[part] = _up(np.linalg.norm(exact - codes_f64, axis=1))
            norm = max(norm, float(_up(np.linalg.norm(codes_f64, axis=1)).max(initial=0.0)))
            want[part] = codes_f64 @ probe.astype(np.float64) + err[part]
        # Each row's products come with its error bound added (by MLAS, as it writes them):
        # the search then compares them with one cut, with no work a row of its own.
        products: Int4Products | None = Int4Products(packed, scales, self.dim, bias=err)
        if products is not None and not np.all(np.abs(products(probe) - want) <= CHECK):
            products = None  # not the integer products relied on: scan these rows exactly
        shard = _Shard(
            start,
            stop,
            products,
            err,
            float(err.max(initial=0.0)),
            norm,
        )
        if k < len(self._shards):
            self._shards[k] = shard
        else:
            self._shards.append(shard)

    def candidates(self, query: Matrix, threshold: float, used: int) -> Slots:
        """Every slot below `used` whose exact score may be >= `threshold` (ascending)."""
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        grid = query_grid(q, self.dim)
        padded = np.zeros(len(grid), dtype=np.float64)
        padded[: self.dim] = q
        q_norm = float(np.linalg.norm(padded))
        delta = float(np.linalg.norm(padded - grid.astype(np.float64)))
        margin = MARGIN * max(1.0, q_norm)
        found: list[Slots] = []
        for k, shard in enumerate(self._shards):
            if shard.products is None:
                found.append(np.arange(shard.start, shard.stop, dtype=np.int64))
            else:
                # y = q'.x~ + ||x - x~|| a row, and q_norm ||x - x~|| <= ||x - x~|| +
                # max(0, q_norm - 1) err_max: what is left of the bound is the same for the
                # whole shard (and ~delta for a unit query).
                y = shard.products(grid)
                rest = max(0.0, q_norm - 1.0) * shard.err_max + delta * shard.norm_max + margin
                rows = np.flatnonzero(y >= threshold - rest)
                if len(rows):
                    found.append(rows + shard.start)
            waiting = min(used, (k + 1) * self.shard)
            if shard.stop < waiting:
                found.append(np.arange(shard.stop, waiting, dtype=np.int64))
        coded = len(self._shards) * self.shard
        if coded < used:
            found.append(np.arange(coded, used, dtype=np.int64))
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def products(self, query: Matrix) -> Matrix:
        """The coded product of `query` with every coded slot (0 where none): what the codes
        still hold (tests and the benchmark look for removed rows in it)."""
        grid = query_grid(np.asarray(query, dtype=np.float32).reshape(self.dim), self.dim)
        out = np.zeros(self._shards[-1].stop if self._shards else 0, dtype=np.float32)
        for shard in self._shards:
            if shard.products is not None:
                out[shard.start : shard.stop] = shard.products(grid) - shard.err
        return out


def _up(values: npt.NDArray[np.float64]) -> Matrix:
    """float64 values as float32 values no smaller."""
    down = values.astype(np.float32)
    return np.where(down.astype(np.float64) < values, np.nextafter(down, np.float32(np.inf)), down)


def _probe(dim: int) -> Matrix:
    rng = np.random.default_rng(15)
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.float32(np.linalg.norm(v))
