"""Grouper: keep people up to date one new face at a time, in milliseconds.

A new face joins the person its neighbours support, under the rules of `cluster.regroup`
(similar enough to the person's closest prototypes and to the person as a whole, never twice
in one photo, never where the owner rejected it), or waits unassigned until enough mutually
close unassigned faces agree to form a new person. Low-quality faces never start a person.

Faces arrive one by one, so a person can grow from two look-alikes (siblings) before any photo
shows them together. When a new face fits a person in every way but one — the person already
has a face in this photo (or on screen at the same moment of a video: a face's *scene keys*,
`domain.appearance.scene_keys`, stand for its photo) — that photo is evidence the person is two
people: the person's
automatic faces are regrouped on the spot with the new face and the photo constraint, and split
if they should be. The owner's faces never move.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from regard.pipeline.cluster import (
    FaceSet,
    GroupingParams,
    Vectors,
    exact_knn,
    prototypes,
    regroup,
    top3_mean,
)

Keys = frozenset[int]


def _keys(photo: int, scene: Keys | None) -> Keys:
    return scene or frozenset((photo,))


#: (vector, k) -> [(face id, similarity)], best first, over the faces added so far.
NeighbourFn = Callable[[Vectors, int], list[tuple[int, float]]]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the grouper did with one face, and with any other faces it moved on the way."""

    face_id: int
    person: int  # 0: left unassigned
    new_person: bool = False
    also: tuple[tuple[int, int], ...] = ()  # (face id, person; 0 = unassigned) changed too


#: A person's prototypes are chosen afresh from all its faces (farthest-point sampling, linear
#: in the person's size) whenever a face joins a person of up to this many faces ...
FULL_REFRESH_UP_TO = 256
#: ... or a bigger one that grew by this factor since they were last chosen; in between, a
#: joining face only takes the place of the most redundant prototype if it is farther from all
#: of them than that one is from the rest. So a join costs the same in a person of 20,000
#: faces as in one of 200 (measured: 6.7 ms a join at 20,000 faces when every join chose
#: afresh).
REFRESH_GROWTH = 1.25
#: A repair regroups at most this many of the person's faces: those nearest the new face and
#: those nearest the person's face in the same photo, where the evidence of two people lies.
#: (All 20,000 faces of a big person took 15 s and 2.5 GB.)
REPAIR_LIMIT = 1000


class _Person:
    __slots__ = ("chosen_at", "id", "members", "photos", "protos", "sum")

    def __init__(self, person_id: int, dim: int) -> None:
        self.id = person_id
        self.members: set[int] = set()
        self.sum = np.zeros(dim, dtype=np.float64)
        self.photos: Counter[int] = Counter()
        self.protos: list[int] = []
        self.chosen_at = 0  # the person's size when its prototypes were last chosen afresh


class IncrementalGrouper:
    def __init__(
        self,
        dim: int,
        knn: NeighbourFn,
        allocate: Callable[[], int],
        params: GroupingParams | None = None,
        allow_new: bool = True,
        repair_limit: int = REPAIR_LIMIT,
    ) -> None:
        self.p = params or GroupingParams()
        self.repair_limit = repair_limit
        # False where only consented people may exist (organisation libraries).
        self.allow_new = allow_new
        self.dim = dim
        self._knn = knn
        self._allocate = allocate
        self.row: dict[int, int] = {}
        self.ids: list[int] = []
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self.photo: list[Keys] = []  # each face's scene keys: its photo, or its video moments
        self.low: list[bool] = []
        self.owner: list[bool] = []  # the owner put this face in its person
        self.person: list[int] = []
        self.rejected: dict[int, set[int]] = defaultdict(set)  # row -> persons
        self.people: dict[int, _Person] = {}

    # --- state ---------------------------------------------------------------------------

    def load(
        self,
        ids: Sequence[int],
        vectors: Vectors,
        photos: Sequence[int],
        low: Sequence[bool],
        persons: Sequence[int],
        rejected: Mapping[int, Iterable[int]] | None = None,
        owner: Sequence[bool] | None = None,
        scenes: Mapping[int, Keys] | None = None,
    ) -> None:
        """Take in faces that are already grouped (from the catalog), without deciding.
        `scenes`: {face id: scene keys} of faces of videos."""
        owners = owner if owner is not None else [False] * len(ids)
        scenes = scenes or {}
        for fid, vec, ph, lo, per, own in zip(
            ids, vectors, photos, low, persons, owners, strict=True
        ):
            keys = _keys(int(ph), scenes.get(int(fid)))
            row = self._remember(int(fid), vec, keys, bool(lo))
            self.owner[row] = bool(own)
            if per:
                self._assign(row, int(per), refresh=False)
        for person in self.people.values():
            self._refresh(person)
        for fid, persons_ in (rejected or {}).items():
            if int(fid) in self.row:
                self.rejected[self.row[int(fid)]].update(persons_)

    def _remember(self, face_id: int, vector: Vectors, photo: Keys | int, low: bool) -> int:
        if isinstance(photo, int):
            photo = frozenset((photo,))
        row = len(self.ids)
        if row >= len(self._vectors):
            grown = np.zeros((max(64, 2 * len(self._vectors)), self.dim), dtype=np.float32)
            grown[:row] = self._vectors[:row]
            self._vectors = grown
        self._vectors[row] = vector
        self.row[face_id] = row
        self.ids.append(face_id)
        self.photo.append(photo)
        self.low.append(low)
        self.owner.append(False)
        self.person.append(0)
        return row

    def _assign(self, row: int, person: int, refresh: bool = True) -> None:
        if self.person[row] == person:
            return
        if self.person[row]:
            self._detach(row)
        self.person[row] = person
        st = self.people.get(person)
        if st is None:
            st = self.people[person] = _Person(person, self.dim)
        st.members.add(row)
        st.sum += self._vectors[row]
        st.photos.update(self.photo[row])
        if refresh:
            self._joined(st, row)

    def _joined(self, st: _Person, row: int) -> None:
        """Keep `st`'s prototypes covering its faces now that `row` joined."""
        n = len(st.members)
        if len(st.protos) < self.p.prototypes:
            st.protos.append(row)
        elif n <= FULL_REFRESH_UP_TO or n >= st.chosen_at * REFRESH_GROWTH:
            self._refresh(st)
        else:
            protos = self._vectors[st.protos]
            gram = protos @ protos.T
            np.fill_diagonal(gram, -np.inf)
            # The first prototype is the most typical face: it stays.
            redundant = 1 + int(np.argmax(gram[1:].max(axis=1)))
            if float((protos @ self._vectors[row]).max()) < float(gram[redundant].max()):
                st.protos[redundant] = row

    def _detach(self, row: int) -> None:
        st = self.people[self.person[row]]
        st.members.discard(row)
        st.sum -= self._vectors[row]
        for key in self.photo[row]:
            st.photos[key] -= 1
            if st.photos[key] <= 0:
                del st.photos[key]
        self.person[row] = 0
        if not st.members:
            del self.people[st.id]
        elif row in st.protos:
            st.protos.remove(row)
            if len(st.protos) < min(len(st.members), self.p.prototypes):
                self._refresh(st)

    def _refresh(self, st: _Person) -> None:
        st.protos = prototypes(self._vectors, sorted(st.members), self.p.prototypes)
        st.chosen_at = len(st.members)

    def set_person(self, face_id: int, person: int, by_owner: bool = True) -> None:
        """The owner (or a regrouping) put a face in a person (0: none)."""
        row = self.row[face_id]
        self.owner[row] = by_owner and bool(person)
        if person:
            self._assign(row, person)
        elif self.person[row]:
            self._detach(row)

    def reject(self, face_id: int, person: int) -> None:
        row = self.row[face_id]
        self.rejected[row].add(person)
        if self.person[row] == person:
            self._detach(row)
            self.owner[row] = False

    def forget(self, face_id: int) -> None:
        """A face left the library (its photo was removed or erased)."""
        row = self.row.pop(face_id, None)
        if row is not None and self.person[row]:
            self._detach(row)

    # --- deciding ----------------------------------------------------------------------------

    def add(
        self, face_id: int, vector: Vectors, photo: int, low: bool, scene: Keys | None = None
    ) -> Decision:
        """Decide for one new face: join a person, form a new one, or wait. `scene`: a face
        of a video's scene keys (`domain.appearance.scene_keys`)."""
        keys = _keys(photo, scene)
        row = self._remember(face_id, vector, keys, low)
        neighbours = [
            self.row[fid]
            for fid, sim in self._knn(vector, self.p.neighbours + 1)
            if fid != face_id
            and fid in self.row
            and sim >= self.p.link
            and not (self.photo[self.row[fid]] & keys)
        ]
        candidates = {self.person[r] for r in neighbours} - {0}
        person = self._best_person(row, candidates)
        if person is None:
            clash = [c for c in candidates if self._fits(row, c, ignore_photo=True)]
            if clash:
                return self._repair(row, max(clash, key=lambda c: self._closeness(row, c)))
        created = False
        changes: dict[int, int] = {}
        if person is None and not low and self.allow_new:
            group = self._form_group(
                row, [r for r in neighbours if not self.person[r] and not self.low[r]]
            )
            if group:
                person = self._allocate()
                created = True
                for r in group:
                    if r != row:
                        self._assign(r, person)
                        changes[r] = person
        if person is None:
            return Decision(face_id, 0)
        self._assign(row, person)
        # Unassigned neighbours that now fit the person come along.
        for r in neighbours:
            if not self.person[r] and self._fits(r, person):
                self._assign(r, person)
                changes[r] = person
        return Decision(
            face_id, person, created, tuple((self.ids[r], p) for r, p in changes.items())
        )

    def _closeness(self, row: int, person: int) -> float:
        st = self.people[person]
        return top3_mean(self._vectors[st.protos] @ self._vectors[row])

    def _fits(self, row: int, person: int, ignore_photo: bool = False) -> bool:
        st = self.people.get(person)
        if st is None or person in self.rejected.get(row, ()):
            return False
        if not ignore_photo and any(st.photos.get(k, 0) > 0 for k in self.photo[row]):
            return False
        m = self.p.low_quality_margin if self.low[row] else 0.0
        v = self._vectors[row]
        if float(v @ st.sum) / len(st.members) < self.p.average + m:
            return False
        return self._closeness(row, person) >= self.p.local + m

    def _best_person(self, row: int, candidates: Iterable[int]) -> int | None:
        scored = sorted(
            ((self._closeness(row, c), c) for c in candidates if self._fits(row, c)),
            reverse=True,
        )
        if not scored:
            return None
        if len(scored) > 1 and scored[0][0] - scored[1][0] < self.p.ambiguity:
            return None  # two people fit almost equally: let the owner or a regroup decide
        return scored[0][1]

    def _form_group(self, row: int, unassigned: list[int]) -> list[int]:
        """Agglomerate the face with its unassigned neighbours under the regrouping rules;
        the face's group becomes a person if it is big enough."""
        if len(unassigned) + 1 < self.p.min_size:
            return []
        labels = self._regroup([row, *unassigned], person=0)
        mine = labels[0]
        return [
            r for r, lab in zip([row, *unassigned], labels, strict=True) if mine and lab == mine
        ]

    def _regroup(self, rows: list[int], person: int) -> list[int]:
        local = FaceSet(
            ids=np.arange(len(rows), dtype=np.int64),
            vectors=self._vectors[rows],
            photos=np.zeros(len(rows), dtype=np.int64),
            scenes={i: self.photo[r] for i, r in enumerate(rows)},
            low=np.array([self.low[r] for r in rows], dtype=bool),
            owner=np.array([person if self.owner[r] else 0 for r in rows], dtype=np.int64),
            rejected={
                i: frozenset(self.rejected[r]) for i, r in enumerate(rows) if self.rejected.get(r)
            },
        )
        return [int(x) for x in regroup(local, exact_knn(local.vectors), self.p).person]

    def _repair(self, row: int, person: int) -> Decision:
        """The new face fits `person` but a face of `person` is already in its photo: regroup
        the person's automatic faces with it, splitting the person if the evidence says so."""
        st = self.people[person]
        whole = len(st.members) < self.repair_limit
        rows = [row, *(sorted(st.members) if whole else self._evidence(row, st))]
        labels = self._regroup(rows, person)
        sizes = Counter(lab for lab in labels if lab)
        # The person keeps the owner's group, else its own biggest group (of a part of it: the
        # group most like the whole person, as the faces not regrouped stay in it).
        if person in sizes:
            keep = person
        elif whole:
            keep = max(
                (lab for lab in sizes if lab < 0), key=lambda lab: (sizes[lab], -lab), default=0
            )
        else:
            keep = max(
                (lab for lab in sizes if lab < 0),
                key=lambda lab: (self._likeness(rows, labels, lab, st), -lab),
                default=0,
            )
        mapping = {keep: person} if keep else {}
        changes: dict[int, int] = {}
        for r, lab in zip(rows, labels, strict=True):
            if not lab or (lab not in mapping and not self.allow_new):
                target = 0
            else:
                if lab not in mapping:
                    mapping[lab] = self._allocate()
                target = mapping[lab]
            if self.person[r] != target:
                if target:
                    self._assign(r, target)
                else:
                    self._detach(r)
                changes[r] = target
        created = any(p != person for p in mapping.values())
        mine = self.person[row]
        return Decision(
            self.ids[row],
            mine,
            created and mine not in (0, person),
            tuple((self.ids[r], p) for r, p in changes.items() if r != row),
        )

    def _evidence(self, row: int, st: _Person) -> list[int]:
        """Fewer than `REPAIR_LIMIT` of a big person's faces: those in the new face's photo,
        then equal shares of those nearest the new face and nearest them."""
        members = np.fromiter(sorted(st.members), dtype=np.int64, count=len(st.members))
        clash = [int(r) for r in members if self.photo[r] & self.photo[row]]
        probes = [self._vectors[row]] + ([self._vectors[clash].sum(axis=0)] if clash else [])
        share = (self.repair_limit - 1 - len(clash)) // len(probes)
        vectors = self._vectors[members]
        chosen = set(clash)
        for probe in probes:
            nearest = np.argpartition(-(vectors @ probe), share - 1)[:share]
            chosen.update(int(r) for r in members[nearest])
        return sorted(chosen)

    def _likeness(self, rows: list[int], labels: list[int], lab: int, st: _Person) -> float:
        """How like the whole person `st` the faces labelled `lab` are, on average."""
        group = [r for r, g in zip(rows, labels, strict=True) if g == lab]
        return float((self._vectors[group] @ st.sum).mean()) / len(st.members)
