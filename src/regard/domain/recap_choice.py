"""Choosing a recap's photos: the good ones, no near-duplicates, people spread fairly, named
people favoured, across the recap's time, with short moments of its videos.

1. `shortlist`: the recap's time is cut into slices and the most promising shots of each
   kept, by what the catalog knows (faces, their quality, who they are): only these are
   looked at (`Look`: a small copy's hash, sharpness and exposure), however large the recap.
2. `candidates`: each photo once; each video as up to `MOMENTS_PER_VIDEO` moments of
   `MOMENT_S` seconds around its people's best moments (or one from early in it).
3. `choose`: greedily the best candidate each time, its score raised for people not shown
   yet (less for each photo a person already has) and for a slice of time not shown yet,
   skipping any whose difference hash is within `DUPLICATE_BITS` of one chosen (or, without a
   hash, taken by the same camera within `BURST_S`).

Faces that may not be shown count against a photo (it is shown with them blurred).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from regard.domain.recap_table import Columns, Floats, Ints
from regard.domain.recaps import Look, RecapKind, Shot, ShotFace

#: Photos (and moments) a recap shows, by kind.
PHOTOS_FOR = {
    RecapKind.ON_THIS_DAY: 12,
    RecapKind.EVENT: 16,
    RecapKind.TRIP: 24,
    RecapKind.PERSON_YEAR: 16,
    RecapKind.TOGETHER: 12,
    RecapKind.YEAR: 24,
}
#: Shots kept per slice of time for a closer look; slices per photo shown.
SHORTLIST_PER_SLICE = 3
SLICES_PER_PHOTO = 2
#: A video moment's length, and how many one video gives at most.
MOMENT_S = 3.0
MOMENTS_PER_VIDEO = 2
#: Difference hashes this close (of 64 bits) are near-duplicates.
DUPLICATE_BITS = 10
#: Without hashes: shots of one camera this close in time are a burst (near-duplicates).
BURST_S = 2.0
BURST_US = round(BURST_S * 1_000_000)


@dataclass(frozen=True, slots=True)
class Pick:
    """A photo, or a moment of a video (`start`..`end`), that a recap may show."""

    shot: Shot
    faces: tuple[ShotFace, ...]  # in view: a video's appearances during the moment
    score: float
    start: float | None = None
    end: float | None = None
    dhash: int | None = None
    #: The people shown in it (worked out once: a listing asks a pick many times).
    people: frozenset[int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        shown = frozenset(f.person for f in self.faces if f.shown and f.person is not None)
        object.__setattr__(self, "people", shown)


def prior(shot: Shot, named: Mapping[int, str]) -> float:
    """How promising a shot is from the catalog alone: good faces that may be shown, named
    people most; faces to blur count against it."""
    shown = [f for f in shot.faces if f.shown]
    good = [f.quality for f in shown if not f.low_quality]
    people = {f.person for f in shown if f.person in named}
    blurred = sum(1 for f in shot.faces if not f.shown)
    return (
        (0.6 * max(good) if good else 0.0)
        + 0.25 * math.log1p(len(shown))
        + 0.4 * min(3, len(people))
        - 0.15 * min(4, blurred)
        + (0.1 if shot.video else 0.0)
    )


def shortlist(
    shots: Sequence[Shot],
    count: int,
    named: Mapping[int, str],
    priors: dict[int, float] | None = None,
) -> list[Shot]:
    """The shots worth a closer look for a recap of `count` photos (oldest first in,
    oldest first out). `priors`: shots' priors worked out before (kept in it)."""
    memo = {} if priors is None else priors

    def promise(s: Shot) -> float:
        if s.id not in memo:
            memo[s.id] = prior(s, named)
        return memo[s.id]

    slices = max(1, count * SLICES_PER_PHOTO)
    if len(shots) <= slices * SHORTLIST_PER_SLICE:
        return list(shots)
    out: list[Shot] = []
    for i in range(slices):
        part = range(i * len(shots) // slices, (i + 1) * len(shots) // slices)
        best = sorted(part, key=lambda j: (-promise(shots[j]), shots[j].id))
        out += [shots[j] for j in sorted(best[:SHORTLIST_PER_SLICE])]
    return out


def priors_of(cols: Columns, named: Mapping[int, str]) -> Floats:
    """`prior` of every shot of a library's columns at once."""
    n = len(cols)
    shown = cols.face_shown
    rows = cols.face_shot
    good = shown & ~cols.face_low
    best = np.zeros(n, dtype=np.float64)
    np.maximum.at(best, rows[good], cols.face_quality[good])  # qualities are 0..1
    has_good = np.bincount(rows[good], minlength=n) > 0
    n_shown = np.bincount(rows[shown], minlength=n)
    blurred = np.bincount(rows[~shown], minlength=n)
    ids = np.fromiter(named.keys(), np.int64, len(named))
    _, who = cols.people_rows(ids)
    n_people = np.bincount(who, minlength=n)
    return np.asarray(
        np.where(has_good, 0.6 * best, 0.0)
        + 0.25 * np.log1p(n_shown)
        + 0.4 * np.minimum(3, n_people)
        - 0.15 * np.minimum(4, blurred)
        + np.where(cols.video, 0.1, 0.0),
        dtype=np.float64,
    )


def shortlist_rows(rows: Ints, count: int, priors: Floats, ids: Ints) -> Ints:
    """`shortlist` on columns: which of a recap's `rows` (oldest first) are worth a closer
    look (positions in `rows`, in order), from every shot's prior and id."""
    n = len(rows)
    slices = max(1, count * SLICES_PER_PHOTO)
    if n <= slices * SHORTLIST_PER_SLICE:
        return np.arange(n, dtype=np.int64)
    starts = np.arange(slices, dtype=np.int64) * n // slices
    part = np.searchsorted(starts, np.arange(n), "right") - 1
    order = np.lexsort((ids[rows], -priors[rows], part))
    # Sorted by slice, each slice keeps its place: a position's rank in its slice.
    rank = np.arange(n) - starts[part[order]]
    return np.sort(order[rank < SHORTLIST_PER_SLICE]).astype(np.int64)


def look_score(look: Look | None) -> float:
    """0..1 from a small copy's sharpness and exposure; 0.5 when unknown."""
    if look is None:
        return 0.5
    return 0.6 * look.sharpness + 0.4 * look.exposure


def candidates(
    shots: Sequence[Shot],
    looks: Mapping[int, Look],
    named: Mapping[int, str],
    priors: Mapping[int, float] | None = None,
) -> list[Pick]:
    out: list[Pick] = []
    for shot in shots:
        look = looks.get(shot.id)
        known = priors.get(shot.id) if priors else None
        base = (prior(shot, named) if known is None else known) + 0.8 * look_score(look)
        if shot.width and shot.height and shot.width * shot.height < 300_000:
            base -= 0.3  # too small to fill a tile
        if not shot.video:
            out.append(Pick(shot, shot.faces, base, dhash=look.dhash if look else None))
            continue
        for start, end, faces, score in video_picks(shot, named):
            out.append(Pick(shot, faces, score, start, end))
    return out


def video_picks(
    shot: Shot, named: Mapping[int, str]
) -> list[tuple[float, float, tuple[ShotFace, ...], float]]:
    """A video's moments (`video_moments`), each with the faces in view and its score."""
    out = []
    for start, end in video_moments(shot):
        faces = tuple(
            f for f in shot.faces if f.span is None or (f.span[0] < end and f.span[1] > start)
        )
        moment = Shot(
            id=shot.id,
            path=shot.path,
            taken=shot.taken,
            width=shot.width,
            height=shot.height,
            video=True,
            duration=shot.duration,
            faces=faces,
        )
        out.append((start, end, faces, prior(moment, named) + 0.4))
    return out


def video_moments(shot: Shot) -> list[tuple[float, float]]:
    """Up to `MOMENTS_PER_VIDEO` windows of `MOMENT_S` seconds, around the best moments of
    the best appearances (apart from each other); a video with nobody in it gives one, a
    fifth of the way in."""
    duration = shot.duration or 0.0
    if duration <= 0:
        return []
    half = MOMENT_S / 2
    ranked = sorted(
        (f for f in shot.faces if f.span is not None),
        key=lambda f: (not f.shown, f.low_quality, -f.quality, f.face_id),
    )
    centres: list[float] = []
    for f in ranked:
        assert f.span is not None
        best = f.span[2]
        if all(abs(best - c) >= MOMENT_S for c in centres):
            centres.append(best)
        if len(centres) == MOMENTS_PER_VIDEO:
            break
    if not centres:
        centres = [min(duration / 5 + half, duration / 2)]
    out = []
    for c in centres:
        start = max(0.0, min(c - half, duration - MOMENT_S))
        out.append((round(start, 3), round(min(duration, start + MOMENT_S), 3)))
    return out


def _bits(a: int, b: int) -> int:
    return (a ^ b).bit_count()


#: `choose_among`'s bonus for k people none of whom is shown yet, summed as it sums it.
_NOBODY_SHOWN = [sum(0.35 / (1 + 0) for _ in range(k)) for k in range(64)]


def _nobody_shown(k: int) -> float:
    if k < len(_NOBODY_SHOWN):
        return _NOBODY_SHOWN[k]
    return sum(0.35 / (1 + 0) for _ in range(k))


#: Sorts before any capture time (a shot without one).
_UNDATED = -(1 << 62)


@dataclass(slots=True)
class Options:
    """A recap's candidates as parallel lists (one place each): what `choose_among` needs of
    them, and nothing it does not, so that a hundred candidates cost no objects. `t`: capture
    time in microseconds (any fixed origin), None if unknown."""

    key: list[int] = field(default_factory=list)  # the shot's id
    score: list[float] = field(default_factory=list)
    people: list[frozenset[int]] = field(default_factory=list)  # shown in it
    t: list[int | None] = field(default_factory=list)
    video: list[bool] = field(default_factory=list)
    dhash: list[int | None] = field(default_factory=list)
    camera: list[str | None] = field(default_factory=list)

    def add(
        self,
        key: int,
        score: float,
        people: frozenset[int],
        t: int | None,
        video: bool,
        dhash: int | None,
        camera: str | None,
    ) -> None:
        self.key.append(key)
        self.score.append(score)
        self.people.append(people)
        self.t.append(t)
        self.video.append(video)
        self.dhash.append(dhash)
        self.camera.append(camera)

    def __len__(self) -> int:
        return len(self.key)


def _time_us(when: datetime | None) -> int | None:
    return None if when is None else (when - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def options_of(picks: Sequence[Pick]) -> Options:
    out = Options()
    for p in picks:
        s = p.shot
        out.add(s.id, p.score, p.people, _time_us(s.taken), s.video, p.dhash, s.camera)
    return out


def choose(picks: Sequence[Pick], count: int) -> list[Pick]:
    """The best `count` picks, best first (see the module's docstring and `choose_among`)."""
    return [picks[i] for i in choose_among(options_of(picks), count)]


def _duplicate(o: Options, i: int, chosen: Sequence[int]) -> bool:
    key, dhash, video = o.key, o.dhash, o.video
    mine, t = dhash[i], o.t[i]
    for c in chosen:
        if key[i] == key[c]:
            return True  # a video's second moment is not a duplicate of a photo, but of itself
        theirs = dhash[c]
        if mine is not None and theirs is not None:
            if (mine ^ theirs).bit_count() <= DUPLICATE_BITS:
                return True
            continue
        other = o.t[c]
        if (
            t is not None
            and other is not None
            and not video[i]
            and not video[c]
            and o.camera[i] == o.camera[c]
            and abs(t - other) <= BURST_US
        ):
            return True
    return False


def choose_among(o: Options, count: int) -> list[int]:
    """Which candidates to show (their places in `o`), best first (see the module's
    docstring). A candidate's score only falls as others are chosen (its people and its
    slice of time are shown already), so the greedy choice is made lazily: one whose score,
    brought up to date, is still the best is the one to take (the same choice as scoring
    every candidate each time, far faster)."""
    n = len(o)
    if not n:
        return []
    t, key = o.t, o.key
    order = sorted(range(n), key=lambda i: (_UNDATED if t[i] is None else t[i], key[i]))
    slices = max(1, count)
    slice_of = [0] * n
    for rank, i in enumerate(order):
        slice_of[i] = rank * slices // n
    people, score = o.people, o.score
    shown: dict[int, int] = {}  # photos chosen so far that each person is in
    slices_used: set[int] = set()
    moments_of: Counter[int] = Counter()

    def gain(i: int) -> float:
        up = score[i]
        if people[i]:  # (nobody: the sum would add an exact 0)
            up += sum(0.35 / (1 + shown.get(person, 0)) for person in people[i])
        return up + (0.25 if slice_of[i] not in slices_used else 0.0)

    # At first nobody is shown and every slice is free: each gain is its score, 0.35 a
    # person (summed as `gain` sums them) and 0.25.
    first = [score[i] + _nobody_shown(len(p)) if p else score[i] for i, p in enumerate(people)]
    heap = [(-(first[i] + 0.25), key[i], i) for i in range(n)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < count:
        _, k, i = heapq.heappop(heap)
        now = -gain(i)
        if heap and (now, k) > heap[0][:2]:
            heapq.heappush(heap, (now, k, i))  # it fell behind another: look again
            continue
        if o.video[i] and moments_of[k] > 0:
            if moments_of[k] >= MOMENTS_PER_VIDEO:
                continue
        elif _duplicate(o, i, chosen):
            continue
        chosen.append(i)
        moments_of[k] += 1
        for person in people[i]:
            shown[person] = shown.get(person, 0) + 1
        slices_used.add(slice_of[i])
    return chosen
