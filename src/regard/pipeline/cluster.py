"""Cluster: group faces into people, under the owner's constraints.

Two entry points share one set of rules:

* `regroup` — the full regrouping: constrained agglomerative clustering over a k-nearest-
  neighbour graph. Edges are taken strongest first; an edge may join two groups only if
  (1) the two faces are at least `link` alike, (2) the groups' closest members are alike
  (mean of the 3 best prototype-to-prototype similarities >= `local`) — a person may look
  several ways, so this compares appearances, not averages — (3) the groups as wholes are
  alike (mean similarity of all cross pairs >= `average`, computed exactly from the groups'
  vector sums) — which keeps look-alike relatives apart — and (4) no constraint forbids it.
* `regard.pipeline.grouper.IncrementalGrouper` — one new face at a time, in milliseconds,
  under the same rules.

Constraints are hard: two faces of one photo are never one person, nor two appearances on
screen at the same moment of one video (`regard.domain.appearance.scene_keys`); the
owner's faces of a person always stay together, and never with another person's; a face the
owner rejected from a person never goes back. Low-quality faces never seed a person and join
one only with a margin.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
#: Neighbour lookup of the faces themselves: (rows, k) -> the k nearest faces of each (row
#: indices, itself among them; similarities), best first, -1 where none. Grouping asks for
#: every face at once (a k-nearest-neighbour graph), so an index can refine its answers
#: against each other (`VectorIndex.knn_graph`).
KnnFn = Callable[
    [npt.NDArray[np.int64], int], tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]
]


@dataclass(frozen=True, slots=True)
class GroupingParams:
    link: float = 0.45  # two faces at least this alike may join their groups (FMR ~2.4e-5)
    local: float = 0.47  # mean of the 3 closest cross-group prototype pairs
    average: float = 0.40  # mean of all cross-group pairs
    min_size: int = 2  # faces a new person needs
    pair: float = 0.50  # a person of just two faces needs them this alike (FMR ~2.5e-6)
    low_quality_margin: float = 0.05  # extra similarity a low-quality face needs to join
    ambiguity: float = 0.03  # two persons this close for one face: it joins neither
    neighbours: int = 16
    prototypes: int = 12


@dataclass(frozen=True, slots=True)
class FaceSet:
    """The faces to group, row-aligned. `owner[i]` is the person the owner put face i in
    (0: none); `rejected` maps a row to the persons it must never join."""

    ids: npt.NDArray[np.int64]
    vectors: Vectors
    photos: npt.NDArray[np.int64]
    low: npt.NDArray[np.bool_]
    owner: npt.NDArray[np.int64]
    rejected: Mapping[int, frozenset[int]] = field(default_factory=dict)
    #: Rows that are faces of videos: their scene keys (`domain.appearance.scene_keys`)
    #: stand for their photo.
    scenes: Mapping[int, frozenset[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def keys(self, row: int) -> frozenset[int]:
        return self.scenes.get(row) or frozenset((int(self.photos[row]),))


@dataclass(frozen=True, slots=True)
class Grouping:
    """Rows to labels: `person[i]` is an owner person id (> 0), a new group (< 0), or 0."""

    person: npt.NDArray[np.int64]

    def groups(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for row, label in enumerate(self.person.tolist()):
            if label:
                out[label].append(row)
        return dict(out)


def prototypes(vectors: Vectors, rows: Sequence[int], limit: int) -> list[int]:
    """Up to `limit` rows that cover a group's appearances: the most typical member first,
    then repeatedly the member least like those chosen (farthest-point sampling)."""
    if len(rows) <= limit:
        return list(rows)
    m = vectors[list(rows)]
    first = int(np.argmax(m @ m.sum(axis=0)))
    chosen = [first]
    closest = m @ m[first]
    for _ in range(limit - 1):
        nxt = int(np.argmin(closest))
        chosen.append(nxt)
        closest = np.maximum(closest, m @ m[nxt])
    return [rows[c] for c in chosen]


def top3_mean(sims: npt.NDArray[np.float32]) -> float:
    flat = sims.ravel()
    if flat.size <= 3:
        return float(flat.mean()) if flat.size else -1.0
    return float(np.partition(flat, flat.size - 3)[-3:].mean())


class _Groups:
    """Union-find over rows, each root carrying what the merge rules need."""

    def __init__(self, faces: FaceSet, params: GroupingParams) -> None:
        n = len(faces)
        self.f = faces
        self.p = params
        self.parent = np.arange(n)
        self.size = np.ones(n, dtype=np.int64)
        self.sums = faces.vectors.astype(np.float64).copy()
        self.photos: list[set[int]] = [set(faces.keys(i)) for i in range(n)]
        self.person: list[int] = [int(o) for o in faces.owner]
        self.rejected: list[set[int]] = [set(faces.rejected.get(i, ())) for i in range(n)]
        self.protos: list[list[int]] = [[i] for i in range(n)]

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:
            parent[x], x = root, int(parent[x])
        return root

    def allowed(self, a: int, b: int) -> bool:
        pa, pb = self.person[a], self.person[b]
        if pa and pb and pa != pb:
            return False
        if (pa and pa in self.rejected[b]) or (pb and pb in self.rejected[a]):
            return False
        small, large = sorted((self.photos[a], self.photos[b]), key=len)
        return not any(ph in large for ph in small)

    def alike(self, a: int, b: int, margin: float = 0.0) -> bool:
        avg = float(self.sums[a] @ self.sums[b]) / float(self.size[a] * self.size[b])
        if avg < self.p.average + margin:
            return False
        v = self.f.vectors
        return top3_mean(v[self.protos[a]] @ v[self.protos[b]].T) >= self.p.local + margin

    def union(self, a: int, b: int) -> int:
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.sums[a] += self.sums[b]
        self.photos[a] |= self.photos[b]
        self.person[a] = self.person[a] or self.person[b]
        self.rejected[a] |= self.rejected[b]
        self.protos[a] = prototypes(
            self.f.vectors, self.protos[a] + self.protos[b], self.p.prototypes
        )
        return a


def regroup(faces: FaceSet, knn: KnnFn, params: GroupingParams | None = None) -> Grouping:
    """Group every face from scratch, honouring the constraints. Deterministic: the same
    faces in the same order always give the same groups."""
    p = params or GroupingParams()
    n = len(faces)
    g = _Groups(faces, p)
    # The owner's faces of one person are one group before anything else happens.
    by_owner: dict[int, list[int]] = defaultdict(list)
    for row, person in enumerate(faces.owner.tolist()):
        if person:
            by_owner[person].append(row)
    for rows in by_owner.values():
        root = g.find(rows[0])
        for row in rows[1:]:
            root = g.union(root, g.find(row))
    if n == 0:
        return Grouping(np.zeros(0, dtype=np.int64))

    seeds = np.flatnonzero(~faces.low | (faces.owner > 0))
    # Every face's neighbours in one call (seeds and low-quality faces are all the rows).
    near, near_sims = knn(np.arange(n, dtype=np.int64), p.neighbours + 1)
    edges = _edges(seeds, near, near_sims, p)
    for _sim, i, j in edges:
        a, b = g.find(i), g.find(j)
        if a != b and g.allowed(a, b) and g.alike(a, b):
            g.union(a, b)

    counts = Counter(g.find(i) for i in range(n))
    persons = {r for r in counts if counts[r] >= p.min_size or g.person[r]}
    # Low-quality faces join an existing group with a margin; they never start one.
    low_rows = [int(r) for r in np.flatnonzero(faces.low & (faces.owner == 0))]
    if low_rows:
        for row in low_rows:
            neigh = near[row, : p.neighbours]
            candidates = {g.find(int(j)) for j in neigh if j >= 0 and int(j) != row}
            best = _best_group(g, row, candidates & persons, p.low_quality_margin)
            if best is not None:
                persons.discard(best)
                persons.add(g.union(best, g.find(row)))
    final = np.array([g.find(i) for i in range(n)])
    label = np.zeros(n, dtype=np.int64)
    counts = Counter(final.tolist())
    for r, c in list(counts.items()):
        # Two faces are thin evidence for a new person: they must be clearly alike.
        if c == 2 and not g.person[r]:
            members = np.flatnonzero(final == r)
            if float(faces.vectors[members[0]] @ faces.vectors[members[1]]) < p.pair:
                counts[r] = 0
    new_id = 0
    named: dict[int, int] = {}
    for row in range(n):
        r = int(final[row])
        if g.person[r]:
            label[row] = g.person[r]
        elif counts[r] >= p.min_size:
            if r not in named:
                new_id -= 1
                named[r] = new_id
            label[row] = named[r]
    return Grouping(label)


def _edges(
    rows: npt.NDArray[np.int64],
    near: npt.NDArray[np.int64],
    near_sims: npt.NDArray[np.float32],
    p: GroupingParams,
) -> list[tuple[float, int, int]]:
    if len(rows) == 0:
        return []
    allowed = np.zeros(len(near), dtype=bool)
    allowed[rows] = True
    seen: dict[tuple[int, int], float] = {}
    for r, neigh, sim in zip(rows.tolist(), near[rows], near_sims[rows], strict=True):
        for j, s in zip(neigh.tolist(), sim.tolist(), strict=True):
            if j < 0 or j == r or s < p.link or not allowed[j]:
                continue
            key = (r, j) if r < j else (j, r)
            seen[key] = max(s, seen.get(key, -1.0))
    return sorted(((s, a, b) for (a, b), s in seen.items()), key=lambda e: (-e[0], e[1], e[2]))


def _best_group(g: _Groups, row: int, candidates: Iterable[int], margin: float) -> int | None:
    scored = []
    for c in candidates:
        root = g.find(row)
        if c == root or not g.allowed(c, root):
            continue
        if g.alike(c, root, margin):
            v = g.f.vectors
            scored.append((top3_mean(v[g.protos[c]] @ v[row]), c))
    if not scored:
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] - scored[1][0] < g.p.ambiguity:
        return None
    return scored[0][1]


def exact_knn(vectors: Vectors, block: int = 2048) -> KnnFn:
    """Exact neighbours among `vectors` themselves (rows as ids), a block of queries at a
    time so memory stays bounded."""

    def knn(
        rows: npt.NDArray[np.int64], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        queries = vectors[rows]
        k = min(k, len(vectors))
        out_idx = np.zeros((len(queries), k), dtype=np.int64)
        out_sim = np.zeros((len(queries), k), dtype=np.float32)
        for start in range(0, len(queries), block):
            sims = np.asarray(queries[start : start + block] @ vectors.T, dtype=np.float32)
            part = (
                np.argpartition(-sims, k - 1, axis=1)[:, :k]
                if k < sims.shape[1]
                else (np.tile(np.arange(sims.shape[1]), (len(sims), 1)))
            )
            top = np.take_along_axis(sims, part, axis=1)
            # Best first; equal scores by row, so results do not depend on the partition.
            order = np.lexsort((part, -top), axis=1)
            out_idx[start : start + len(sims)] = np.take_along_axis(part, order, axis=1)
            out_sim[start : start + len(sims)] = np.take_along_axis(top, order, axis=1)
        return out_idx, out_sim

    return knn
