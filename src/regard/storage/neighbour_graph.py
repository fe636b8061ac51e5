"""Refine an approximate k-nearest-neighbour graph of stored vectors, scored exactly.

Grouping asks for the neighbours of every stored face at once: a k-nearest-neighbour graph.
An HNSW walk answers each face on its own and, at a million faces, misses about one close
neighbour in ten (bench/people_scale.py): inside people with thousands of faces it returns
other faces of the person than the closest ones (each face's 16 best are all close, and in
128 dimensions which 16 they are is not transitive: neighbours of neighbours find few of
them), and it misses the one or two other faces of people seen rarely. Asked all at once,
the answers can correct each other:

1. a face that found another is one of its neighbours whether or not the other found it:
   each list is merged with its reverse neighbours (the `reverse` best);
2. faces joined by neighbours at least `floor` alike (grouping's link) form groups, cut to
   at most `cap` faces by their stronger links (so a chain of look-alikes never makes one
   huge group), and each face is searched exactly among its group (a matrix product a block
   of rows at a time): inside a person of thousands of faces that is exact search's answer.

Every candidate is scored exactly from the float32 store and each list keeps its `k` best
(ties by id). A list can only get better: its old members are among the candidates, so its
i-th best score never goes down. Rows are slots of the store; `key[slot]` is the face id (-1:
removed, never a candidate). Pure numpy, memory bounded by the block and the cap,
deterministic for the same input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
Slots = npt.NDArray[np.int64]
#: A graph walk: (query slots, candidates) -> each query's k best slots (-1 where fewer).
Walk = Callable[[Slots, int], Slots]

BLOCK = 1024
#: The most rows searched exactly among themselves: a group of look-alikes joined by close
#: neighbours costs its size squared (20,000 faces: ~1e11 multiply-adds, ~2 s on one core).
GROUP_CAP = 20_000


def knn_graph(
    store: Matrix,
    key: Slots,
    queries: Slots,
    walk: Walk,
    *,
    k: int,
    floor: float,
    candidates: int,
    second_look: int = 0,
) -> tuple[Slots, Matrix]:
    """The k best neighbours of the stored rows `queries`: `walk`'s answers (`candidates`
    each), refined (`refine`). With `second_look` > `candidates`, the rows then left without
    a neighbour >= `floor` (other than themselves) are walked again with that many
    candidates, and the lists refined again."""
    slots, sims = refine(store, key, queries, walk(queries, candidates), k=k, floor=floor)
    alone = np.flatnonzero(sims[:, 1] < floor) if k > 1 else np.zeros(0, dtype=np.int64)
    if second_look <= candidates or not len(alone):
        return slots, sims
    wider = np.full((len(queries), k), -1, dtype=np.int64)
    wider[alone] = walk(queries[alone], second_look)
    return refine(store, key, queries, np.concatenate([slots, wider], axis=1), k=k, floor=floor)


def refine(
    store: Matrix,
    key: Slots,
    queries: Slots,
    slots: Slots,
    *,
    k: int,
    floor: float,
    cap: int = GROUP_CAP,
    reverse: int | None = None,
    block: int = BLOCK,
) -> tuple[Slots, Matrix]:
    """The `k` best neighbours (slots, exact scores; best first, ties by id, -1 / -inf
    where fewer) of the stored rows `queries`, starting from the lists `slots` (one row a
    query, -1 where none): each list merged with its row's reverse neighbours (the
    `reverse` best; default `k`), then with the exact k best of its row's group, the rows
    joined by neighbours at least `floor` alike (`groups`)."""
    queries = np.asarray(queries, dtype=np.int64)
    current, scores = _kept(store, key, queries, np.asarray(slots, dtype=np.int64), k, block)
    if not len(queries) or k <= 0:
        return current, scores
    reverse = k if reverse is None else reverse
    pos = np.full(len(key), -1, dtype=np.int64)  # slot -> its query row (-1: not asked)
    pos[queries] = np.arange(len(queries))
    back = _reverse(queries, current, scores, pos, reverse)
    current, scores = _kept(store, key, queries, np.concatenate([current, back], axis=1), k, block)
    found = groups(current, scores, pos, floor=floor, cap=cap)
    return exact_within(store, key, queries, current, found, k, block)


def _reverse(queries: Slots, slots: Slots, scores: Matrix, pos: Slots, reverse: int) -> Slots:
    """For each query row, up to `reverse` slots of the queries whose lists hold it: the
    most similar first (ties by slot), -1 where fewer. `scores` are the lists' exact
    similarities, which are the reverse links' too."""
    m, w = slots.shape
    out = np.full((m, reverse), -1, dtype=np.int64)
    if not reverse or not m:
        return out
    src = np.repeat(queries, w)
    dst = pos[np.where(slots >= 0, slots, 0).reshape(-1)]
    keep = (slots.reshape(-1) >= 0) & (dst >= 0) & (src != queries[np.maximum(dst, 0)])
    src, dst, sim = src[keep], dst[keep], scores.reshape(-1)[keep]
    order = np.lexsort((src, -sim, dst))
    src, dst = src[order], dst[order]
    first = np.searchsorted(dst, np.arange(m))
    rank = np.arange(len(dst)) - first[dst]
    take = rank < reverse
    out[dst[take], rank[take]] = src[take]
    return out


def _kept(
    store: Matrix, key: Slots, queries: Slots, slots: Slots, k: int, block: int
) -> tuple[Slots, Matrix]:
    m = len(queries)
    out_slots = np.full((m, k), -1, dtype=np.int64)
    out_scores = np.full((m, k), -np.inf, dtype=np.float32)
    for start in range(0, m, block):
        stop = min(m, start + block)
        s, sc = _best(store, key, queries[start:stop], slots[start:stop], k)
        out_slots[start:stop], out_scores[start:stop] = s, sc
    return out_slots, out_scores


def _best(store: Matrix, key: Slots, queries: Slots, cand: Slots, k: int) -> tuple[Slots, Matrix]:
    """The k best distinct live candidates of each query row, exactly scored."""
    cand = np.sort(cand, axis=1)
    dup = np.zeros(cand.shape, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    safe = np.where(cand >= 0, cand, 0)
    ids = key[safe]
    valid = (cand >= 0) & ~dup & (ids >= 0)
    ids = np.where(valid, ids, -1)
    exact = np.einsum("qcd,qd->qc", store[safe], store[queries])
    score = np.where(valid, exact, -np.inf).astype(np.float32)
    order = np.lexsort((ids, -score), axis=1)[:, :k]
    got = np.take_along_axis(score, order, axis=1)
    picked = np.where(got > -np.inf, np.take_along_axis(cand, order, axis=1), -1)
    width = order.shape[1]
    out_slots = np.full((len(cand), k), -1, dtype=np.int64)
    out_scores = np.full((len(cand), k), -np.inf, dtype=np.float32)
    out_slots[:, :width], out_scores[:, :width] = picked, got
    return out_slots, out_scores


def groups(
    slots: Slots, scores: Matrix, pos: Slots, *, floor: float, cap: int, size: int = 3
) -> list[Slots]:
    """Query rows (positions) joined by neighbours at least `floor` alike, in groups of at
    most `cap` rows: a group that would be larger is cut again by its stronger links (the
    floor raised by 0.05 at a time), so a chain of look-alikes never makes one huge group.
    Groups of `size` rows or more, largest first (ties by first row). `pos` maps a slot to
    its query row (-1: not a query)."""
    m = len(slots)
    dst = np.where(slots >= 0, pos[np.maximum(slots, 0)], -1)
    src = np.repeat(np.arange(m), slots.shape[1]).reshape(slots.shape)
    keep = (dst >= 0) & (dst != src)
    a, b, s = src[keep], dst[keep], scores[keep]
    out: list[Slots] = []
    todo = np.ones(m, dtype=bool)
    level = floor
    while level < 1.0 and len(a):
        strong = (s >= level) & todo[a] & todo[b]
        label = _labels(m, a[strong], b[strong])
        ids, count = np.unique(label, return_counts=True)
        fits = ids[(count >= 2) & (count <= cap)]
        placed = np.isin(label, fits) & todo
        order = np.argsort(label[placed], kind="stable")
        rows = np.flatnonzero(placed)[order]
        bounds = np.flatnonzero(np.diff(label[rows])) + 1
        out += [g for g in np.split(rows, bounds) if len(g) >= size]
        # Rows alone at this level stay alone at stronger ones; the others try again.
        big = np.isin(label, ids[count > cap])
        todo &= big
        level += 0.05
    out.sort(key=lambda g: (-len(g), int(g[0])))
    return out


def _labels(m: int, a: Slots, b: Slots) -> Slots:
    """Connected components of the undirected edges (a, b): each row's smallest row."""
    label = np.arange(m)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]  # pointer jumping
        if np.array_equal(new, label):
            return label
        label = new


def exact_within(
    store: Matrix,
    key: Slots,
    queries: Slots,
    slots: Slots,
    found: list[Slots],
    k: int,
    block: int = BLOCK,
) -> tuple[Slots, Matrix]:
    """Each list merged with the exact k best of its row's group (`found`: groups of query
    positions), then every list scored again."""
    out = slots.copy()
    for g in found:
        members = queries[g]
        vec = store[members]
        kk = min(k, len(g))
        for start in range(0, len(g), block):
            rows = g[start : start + block]
            sims = vec[start : start + block] @ vec.T
            part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < len(g) else None
            best = members[part] if part is not None else np.broadcast_to(members, sims.shape)
            cand = np.concatenate([out[rows], best], axis=1)
            out[rows] = _best(store, key, queries[rows], cand, k)[0]
    return _kept(store, key, queries, out, k, block)
