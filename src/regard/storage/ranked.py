"""A search's answers: neighbours (an id and its similarity), ordered best first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import NamedTuple, overload

import numpy as np
import numpy.typing as npt

from regard.collector import collector_paused

_ID_BITS = np.uint64(32)
_ID_LIMIT = 1 << 32
_SIGN = np.uint32(1 << 31)
_KEYED = 1024  # matches from which one key sorts faster than two (~20 us either way)


class Neighbour(NamedTuple):
    # A named tuple, not a frozen dataclass: a search of a large person returns tens of
    # thousands, and a frozen dataclass takes 3x as long to make each.
    id: int
    score: float  # cosine similarity, -1..1


def best_first(
    ids: npt.NDArray[np.int64], scores: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """`ids` and their `scores`, best first, ties by id (`np.lexsort((ids, -scores))`).

    Ids of 32 bits or less (a catalog's) are sorted in one key with the score: its float32
    bits, made to sort as the numbers do and inverted, above the id. One sort of one
    integer key takes a tenth of a sort by two keys (20,000 matches: 0.1 against 1.3 ms),
    and the scores come back out of the key. Fewer than `_KEYED` matches (most searches), a
    zero score (+0 and -0 tie as numbers, not as bits) or a larger id take the sort by two
    keys."""
    if len(ids) < _KEYED or ids.min() < 0 or ids.max() >= _ID_LIMIT or not np.all(scores):
        order = np.lexsort((ids, -scores))
        return ids[order], scores[order]
    bits = np.ascontiguousarray(scores, dtype=np.float32).view(np.uint32)
    # Negative floats sort backwards as unsigned bits (flip them all); positive ones after.
    rising = np.where(bits >> 31 != 0, ~bits, bits | _SIGN)
    key = (~rising).astype(np.uint64) << _ID_BITS | ids.astype(np.uint64)
    key.sort()
    rising = ~(key >> _ID_BITS).astype(np.uint32)
    bits = np.where(rising >> 31 != 0, rising ^ _SIGN, ~rising)
    return (key & (_ID_LIMIT - 1)).astype(np.int64), bits.view(np.float32)


class Matches(Sequence[Neighbour]):
    """A search's answers, best first: the ids and scores as two read-only arrays (`ids`,
    `scores`), `Neighbour`s made only when they are read.

    A search of a person with thousands of faces answers tens of thousands: as a list of
    named tuples that cost ~1.4 ms to make and ~0.5 ms to free at 20,000 (up to 5 ms at
    p99, allocating fresh memory), a third of the search. Callers that need the ids only
    (or how many) read `ids`; indexing makes one, iterating makes them all (as the list
    did, when it is read)."""

    __slots__ = ("ids", "scores")

    def __init__(self, ids: npt.NDArray[np.int64], scores: npt.NDArray[np.float32]) -> None:
        if len(ids) != len(scores):
            raise ValueError(f"{len(ids)} ids for {len(scores)} scores")
        # Views: read-only for the caller, whatever arrays they were made from.
        self.ids = np.asarray(ids, dtype=np.int64).view()
        self.scores = np.asarray(scores, dtype=np.float32).view()
        self.ids.flags.writeable = False
        self.scores.flags.writeable = False

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Neighbour: ...

    @overload
    def __getitem__(self, index: slice) -> Matches: ...

    def __getitem__(self, index: int | slice) -> Neighbour | Matches:
        if isinstance(index, slice):
            return Matches(self.ids[index], self.scores[index])
        return Neighbour(int(self.ids[index]), float(self.scores[index]))

    def __iter__(self) -> Iterator[Neighbour]:
        # All made at once, as tuples (no Python-level call each), with the collector paused:
        # tens of thousands kept by a caller would otherwise set off collections of the
        # whole process (~15 ms each with a million-face index loaded).
        with collector_paused():
            pairs = zip(self.ids.tolist(), self.scores.tolist(), strict=True)
            made = list(map(tuple.__new__, repeat(Neighbour), pairs))
        return iter(made)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Matches):
            return bool(
                np.array_equal(self.ids, other.ids) and np.array_equal(self.scores, other.scores)
            )
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Matches({list(self)!r})"


#: No answers.
NONE = Matches(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
