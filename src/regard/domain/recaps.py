"""Recaps: events, trips, "on this day", a person's year, people together and a year in review,
found in the library's dates and places — pure functions over `Shot`s, no I/O. A library is
searched as columns (`Library`: its shots oldest first, and `regard.domain.recap_table`'s
arrays of them), so a hundred thousand photos take a few numpy passes, not Python loops.

* **Events** are runs of photos with no long gap in capture time. What counts as long adapts
  to how densely the owner shoots: a gap ends an event when it is over `EVENT_GAP_FACTOR`
  times the median gap around it, and always past `EVENT_GAP_MAX`, never under
  `EVENT_GAP_MIN`.
* **Home** is the place (a cell of about 11 km) where photos were taken on the most days.
* **Trips** are runs of days whose located photos are mostly over `TRIP_KM` from home; days
  with no located photo between two such days (up to `TRIP_BRIDGE_DAYS`) belong to the trip,
  and photos without GPS join the trip they were taken during.
* Each recap gets a **score** (how many good photos, how many people, how recent, and for on
  this day how many years back), so the best come first.

Which photos a recap shows is chosen by `regard.domain.recap_choice`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from regard.domain.recap_table import (
    Columns,
    Ints,
    away_days,
    cells,
    event_cuts,
    haversine_km,
    home_of,
    median_point,
    pairs_together,
    runs_of,
    trip_days,
)

#: A gap in capture time never ends an event under this, and always does over the maximum.
EVENT_GAP_MIN = timedelta(minutes=45)
EVENT_GAP_MAX = timedelta(hours=8)
#: ... in between, it does when it is this many times the median of the gaps around it.
EVENT_GAP_FACTOR = 12.0
#: Gaps on each side the median is taken over.
EVENT_GAP_WINDOW = 12
#: Photos an event needs to be a recap.
EVENT_MIN_PHOTOS = 6
#: How far from home a trip is, and the cell home is found in (degrees, ~11 km).
TRIP_KM = 50.0
HOME_CELL = 0.1
#: Days without a located photo a trip goes on through.
TRIP_BRIDGE_DAYS = 3
#: Photos a trip needs to be a recap.
TRIP_MIN_PHOTOS = 5
#: Photos of a person (or two together) in a year (all years) to make their recap.
PERSON_YEAR_MIN = 8
TOGETHER_MIN = 5
YEAR_MIN = 20
ON_THIS_DAY_MIN = 3
DASH = "\N{EN DASH}"


class RecapKind(StrEnum):
    ON_THIS_DAY = "on-this-day"
    EVENT = "event"
    TRIP = "trip"
    PERSON_YEAR = "person-year"
    TOGETHER = "people-together"
    YEAR = "year"


class ShotFace(NamedTuple):
    """A face of a photo (or an appearance in a video), as recaps see it."""

    face_id: int
    person: int | None  # its person's id, if it is in one
    box: tuple[float, float, float, float]  # x, y, w, h in the upright picture's pixels
    quality: float  # 0..1, the catalog's face quality
    low_quality: bool
    #: May be shown as it is (the policy and the person's consent allow it); else blurred.
    shown: bool
    #: A video's appearance: when it starts, ends and is best (seconds).
    span: tuple[float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class Look:
    """What a small copy of a photo says of it: a 64-bit difference hash (near-duplicates
    differ in a few bits), sharpness (variance of the Laplacian, normalised to 0..1) and
    exposure (0..1: 1 is neither dark nor blown out)."""

    dhash: int
    sharpness: float
    exposure: float


class Shot(NamedTuple):
    """A photo or video of the library as recaps see it (a named tuple, not a dataclass: a
    library has a hundred thousand, made each time recaps are asked for)."""

    id: int
    path: str
    taken: datetime | None  # local time as the camera wrote it
    lat: float | None = None
    lon: float | None = None
    width: int = 0
    height: int = 0
    video: bool = False
    duration: float | None = None
    faces: tuple[ShotFace, ...] = ()
    camera: str | None = None

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class Span:
    """A run of shots (an event, a trip), oldest first."""

    shots: tuple[Shot, ...]

    @property
    def start(self) -> datetime:
        return _taken(self.shots[0])

    @property
    def end(self) -> datetime:
        return _taken(self.shots[-1])


@dataclass(frozen=True, slots=True)
class Draft:
    """A recap found, before its photos are chosen: its shots are `rows` of the `Library` it
    was found in (oldest first), made into `Shot`s only when asked for (`shots`): choosing
    photos works on the rows."""

    id: str
    kind: RecapKind
    title: str
    start: date
    end: date
    score: float
    rows: Ints = field(compare=False, repr=False)
    lib: Library = field(compare=False, repr=False)
    place: str | None = None
    people: tuple[int, ...] = ()  # the people it is about (a person's year, people together)
    where: tuple[float, float] | None = None  # a representative point, to name the place

    @property
    def shots(self) -> tuple[Shot, ...]:
        return self.lib.rows(self.rows)

    @property
    def total(self) -> int:
        """How many photos and videos it is made of."""
        return len(self.rows)


def _taken(shot: Shot) -> datetime:
    assert shot.taken is not None  # spans are made of dated shots only
    return shot.taken


def dated(shots: Iterable[Shot]) -> list[Shot]:
    """The shots with a capture time, oldest first."""
    return sorted((s for s in shots if s.taken is not None), key=lambda s: (_taken(s), s.id))


# --- the library as columns ------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, eq=False)
class Library:
    """A library's dated shots, oldest first (as `dated` gives them), as columns
    (`regard.domain.recap_table.Columns`): what recaps are found in. `shot` makes the `Shot`
    of a row when one is wanted (a listing wants a few thousand of a hundred thousand)."""

    cols: Columns
    shot: Callable[[int], Shot]

    @classmethod
    def of(cls, shots: Iterable[Shot], hidden: AbstractSet[int] = frozenset()) -> Library:
        """The dated shots, without those showing a person in `hidden`."""
        if hidden:
            shots = [s for s in shots if not any(f.person in hidden for f in s.faces)]
        have = [s for s in shots if s.taken is not None]
        t, ids = _times(have), np.fromiter((s.id for s in have), np.int64, len(have))
        order = np.lexsort((ids, t))  # as `dated` sorts them
        ordered = [have[i] for i in order.tolist()]
        return cls(columns_of(ordered, t[order]), ordered.__getitem__)

    @property
    def shots(self) -> list[Shot]:
        """Every shot, oldest first (made all at once: for tests and small libraries)."""
        return [self.shot(i) for i in range(len(self.cols))]

    def rows(self, rows: Ints | slice) -> tuple[Shot, ...]:
        if isinstance(rows, slice):
            return tuple(self.shot(i) for i in range(len(self.cols))[rows])
        shot = self.shot
        return tuple([shot(i) for i in rows.tolist()])

    def taken(self, row: int) -> datetime:
        """When the shot of a row was taken (from the columns: no `Shot` made)."""
        return _EPOCH + timedelta(microseconds=int(self.cols.t[row]))


def _times(shots: Sequence[Shot]) -> Ints:
    """Capture times in whole microseconds since 1970 (exact, and ordered as the times)."""
    return np.fromiter(((_taken(s) - _EPOCH) // _MICROSECOND for s in shots), np.int64, len(shots))


def columns_of(shots: Sequence[Shot], t: Ints | None = None) -> Columns:
    """Dated shots (in their order) as columns; `t`: their `_times`, if known."""
    n = len(shots)
    flat = [f for s in shots for f in s.faces]
    per = np.fromiter((len(s.faces) for s in shots), np.int64, n)
    fields: list[tuple[object, ...]] = list(zip(*flat, strict=True)) if flat else [()] * 7
    person = np.array(fields[1], dtype=np.float64).reshape(len(flat))  # None: NaN
    return Columns(
        ids=np.fromiter((s.id for s in shots), np.int64, n),
        t=_times(shots) if t is None else t,
        lat=np.array([s.lat for s in shots], dtype=np.float64).reshape(n),
        lon=np.array([s.lon for s in shots], dtype=np.float64).reshape(n),
        video=np.fromiter((s.video for s in shots), np.bool_, n),
        face_shot=np.repeat(np.arange(n, dtype=np.int64), per),
        face_person=np.where(np.isnan(person), -1, person).astype(np.int64),
        face_shown=np.array(fields[5], dtype=np.bool_).reshape(len(flat)),
        face_low=np.array(fields[4], dtype=np.bool_).reshape(len(flat)),
        face_quality=np.array(fields[3], dtype=np.float64).reshape(len(flat)),
    )


# --- events, home and trips --------------------------------------------------------------------


def split_events(shots: Sequence[Shot]) -> list[Span]:
    """Dated shots (oldest first, as `dated` gives them) cut into events where the gap in
    capture time is long for this photographer (see the module's docstring)."""
    if not shots:
        return []
    return [Span(tuple(shots[a:b])) for a, b in _events(columns_of(shots))]


def _events(c: Columns) -> list[tuple[int, int]]:
    if not len(c):
        return []
    starts = event_cuts(
        c.t,
        EVENT_GAP_MIN.total_seconds(),
        EVENT_GAP_MAX.total_seconds(),
        EVENT_GAP_FACTOR,
        EVENT_GAP_WINDOW,
    ).tolist()
    return list(zip(starts, [*starts[1:], len(c)], strict=True))


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine), in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def find_home(shots: Iterable[Shot]) -> tuple[float, float] | None:
    """Where most photos are taken: the cell with photos on the most days (a week away
    gives many photos but few days), and in it the median point. None without GPS. Dated
    shots only count."""
    return home_of(columns_of(dated(shots)), HOME_CELL)


def find_trips(shots: Sequence[Shot], home: tuple[float, float] | None) -> list[Span]:
    """Runs of days away from home (see the module's docstring), from dated shots oldest
    first; each with every shot taken during it, located or not."""
    return [Span(tuple(shots[a:b])) for a, b in _trips(columns_of(shots), home)]


def _trips(c: Columns, home: tuple[float, float] | None) -> list[tuple[int, int]]:
    if home is None or not len(c):
        return []
    days, away = away_days(c, home, TRIP_KM)
    # Days with no located photo between two days away are part of the trip, up to
    # TRIP_BRIDGE_DAYS of them (more, and it is two trips: home between them unseen).
    out = []
    for first, last in trip_days(days, away, TRIP_BRIDGE_DAYS):
        a = int(np.searchsorted(c.days, first, "left"))
        b = int(np.searchsorted(c.days, last, "right"))
        if b - a >= TRIP_MIN_PHOTOS:
            out.append((a, b))
    return out


def _centre(c: Columns, rows: Ints | slice) -> tuple[float, float] | None:
    """The median point of the located shots (a representative place, not an average of
    two ends of a trip)."""
    m = c.located[rows]
    return median_point(c.lat[rows][m], c.lon[rows][m])


def _far_point(
    c: Columns, rows: slice, home: tuple[float, float] | None
) -> tuple[float, float] | None:
    """Where a trip went: its located point the most days were spent near, away from home."""
    m = c.located[rows]
    lats, lons = c.lat[rows][m], c.lon[rows][m]
    if home is not None:
        far = haversine_km(home[0], home[1], lats, lons) > TRIP_KM
        if far.any():
            lats, lons = lats[far], lons[far]
    if not len(lats):
        return None
    ci, cj = cells(lats, lons, HOME_CELL)
    _, first, which, count = np.unique(
        np.stack([ci, cj], axis=1),
        axis=0,
        return_index=True,
        return_inverse=True,
        return_counts=True,
    )
    # The most photos; of cells as full, the one photographed first.
    best = int(np.lexsort((first, -count))[0])
    here = which.reshape(-1) == best
    return median_point(lats[here], lons[here])


# --- the recaps ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Names:
    """Who may be named in titles ({person id: name}); the people hidden from recaps."""

    shown: Mapping[int, str] = field(default_factory=dict)
    hidden: frozenset[int] = frozenset()


def find_recaps(shots: Iterable[Shot], names: Names, today: date) -> list[Draft]:
    """Every recap the library holds, best first (place names are added later). Shots with
    a face of a person hidden from recaps are left out of all of them."""
    return recaps_in(Library.of(shots, names.hidden), names, today)


def recaps_in(lib: Library, names: Names, today: date) -> list[Draft]:
    """Every recap in `lib` (made without the shots of people hidden from recaps), best
    first; each draft's `rows` are its shots' rows in `lib`."""
    c = lib.cols
    home = home_of(c, HOME_CELL)
    trips = _trips(c, home)
    named = np.fromiter(names.shown.keys(), np.int64, len(names.shown))
    people, rows = c.people_rows(named)
    drafts: list[Draft] = []
    drafts += _trip_drafts(lib, trips, home, today)
    drafts += _event_drafts(lib, trips, today)
    drafts += _on_this_day(lib, today)
    drafts += _person_years(lib, people, rows, names, today)
    drafts += _together(lib, people, rows, names, today)
    drafts += _years(lib, today)
    drafts.sort(key=lambda d: (-d.score, d.id))
    return drafts


def _spanning(
    lib: Library,
    id: str,
    kind: RecapKind,
    title: str,
    rows: Ints,
    score: float,
    people: tuple[int, ...] = (),
) -> Draft:
    """A draft over `rows` (in time order): from the first to the last, placed at their centre."""
    return Draft(
        id=id,
        kind=kind,
        title=title,
        start=lib.taken(int(rows[0])).date(),
        end=lib.taken(int(rows[-1])).date(),
        score=score,
        rows=rows,
        lib=lib,
        people=people,
        where=_centre(lib.cols, rows),
    )


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _span_title(start: date, end: date) -> str:
    if start == end:
        return _day(start)
    if start.year == end.year and start.month == end.month:
        return f"{start.day}{DASH}{end.day} {start.strftime('%B')} {start.year}"
    if start.year == end.year:
        return f"{start.day} {start.strftime('%B')} {DASH} {_day(end)}"
    return f"{_day(start)} {DASH} {_day(end)}"


def _recency(end: date, today: date) -> float:
    """1 for this month, falling to 0.5 five years back and on: recent recaps first, old ones
    still in the running."""
    years = max(0.0, (today - end).days / 365.25)
    return 0.5 + 0.5 * math.exp(-years / 2.5)


def _base_score(c: Columns, rows: Ints | slice, end: date, today: date) -> float:
    n = (rows.stop - rows.start) if isinstance(rows, slice) else len(rows)
    return (math.log1p(n) + 0.3 * math.log1p(c.good_in(rows))) * _recency(end, today)


def _trip_drafts(
    lib: Library, trips: Sequence[tuple[int, int]], home: tuple[float, float] | None, today: date
) -> list[Draft]:
    out = []
    for a, b in trips:
        rows = slice(a, b)
        start, end = lib.taken(a).date(), lib.taken(b - 1).date()
        days = (end - start).days + 1
        score = (_base_score(lib.cols, rows, end, today) + 0.5 * math.log1p(days)) * 1.3
        out.append(
            Draft(
                id=f"TRIP-{start.isoformat()}",
                kind=RecapKind.TRIP,
                title=_span_title(start, end),  # "Trip to <place>" once the place is known
                start=start,
                end=end,
                score=score,
                rows=np.arange(a, b, dtype=np.int64),
                lib=lib,
                where=_far_point(lib.cols, rows, home),
            )
        )
    return out


def _event_drafts(lib: Library, trips: Sequence[tuple[int, int]], today: date) -> list[Draft]:
    c = lib.cols
    in_trips = np.zeros(len(c) + 1, dtype=np.int64)
    for a, b in trips:
        in_trips[a] += 1
        in_trips[b] -= 1
    # Shots in no trip, counted up to each row: an event wholly in trips has none.
    free = np.concatenate(([0], np.cumsum(np.cumsum(in_trips[:-1]) == 0)))
    out = []
    for a, b in _events(c):
        if b - a < EVENT_MIN_PHOTOS or free[b] == free[a]:
            continue  # too small, or part of a trip (the trip's recap shows it)
        rows = slice(a, b)
        first, last = lib.taken(a), lib.taken(b - 1)
        start, end = first.date(), last.date()
        out.append(
            Draft(
                id=f"EVENT-{first.strftime('%Y-%m-%d-%H%M')}",
                kind=RecapKind.EVENT,
                title=_span_title(start, end),
                start=start,
                end=end,
                score=_base_score(c, rows, end, today),
                rows=np.arange(a, b, dtype=np.int64),
                lib=lib,
                where=_centre(c, rows),
            )
        )
    return out


def _on_this_day(lib: Library, today: date) -> list[Draft]:
    """Photos of today's day and month in past years (29 February's on the 28th in years
    without one)."""
    year, month, day = lib.cols.calendar
    wanted = (month == today.month) & (day == today.day)
    if (today.month, today.day) == (2, 28) and not _leap(today.year):
        wanted |= (month == 2) & (day == 29)
    rows = np.flatnonzero(wanted & (year < today.year)).astype(np.int64)
    if len(rows) < ON_THIS_DAY_MIN:
        return []
    years = sorted(set(year[rows].tolist()))
    ago = today.year - years[0]
    title = (
        f"On this day, {ago} year{'s' if ago > 1 else ''} ago"
        if len(years) == 1
        else f"On this day: {', '.join(str(y) for y in years)}"
    )
    score = (math.log1p(len(rows)) + 0.6 * len(years)) * 1.5  # today's: near the top
    return [
        _spanning(
            lib, f"DAY-{today.month:02d}-{today.day:02d}", RecapKind.ON_THIS_DAY, title, rows, score
        )
    ]


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _person_years(lib: Library, people: Ints, rows: Ints, names: Names, today: date) -> list[Draft]:
    years = lib.cols.calendar[0][rows]
    out = []
    for a, b in runs_of(people, years):
        if b - a < PERSON_YEAR_MIN:
            continue
        person, year, mine = int(people[a]), int(years[a]), rows[a:b]
        out.append(
            _spanning(
                lib,
                f"PERSON-P{person}-{year}",
                RecapKind.PERSON_YEAR,
                f"{names.shown[person]} in {year}",
                mine,
                _base_score(lib.cols, mine, lib.taken(int(mine[-1])).date(), today) * 0.9,
                people=(person,),
            )
        )
    return out


def _together(lib: Library, people: Ints, rows: Ints, names: Names, today: date) -> list[Draft]:
    first, second, shared = pairs_together(people, rows)
    out = []
    for a, b in runs_of(first, second):
        if b - a < TOGETHER_MIN:
            continue
        one, two, both = int(first[a]), int(second[a]), shared[a:b]
        out.append(
            _spanning(
                lib,
                f"TOGETHER-P{one}-P{two}",
                RecapKind.TOGETHER,
                f"{names.shown[one]} and {names.shown[two]}",
                both,
                _base_score(lib.cols, both, lib.taken(int(both[-1])).date(), today) * 0.85,
                people=(one, two),
            )
        )
    return out


def _years(lib: Library, today: date) -> list[Draft]:
    years = lib.cols.calendar[0]
    out = []
    for a, b in runs_of(years):
        if b - a < YEAR_MIN:
            continue
        year = int(years[a])
        # A year in review looks back: this year's is there, below the finished ones.
        finished = 1.0 if year < today.year else 0.6
        out.append(
            _spanning(
                lib,
                f"YEAR-{year}",
                RecapKind.YEAR,
                f"{year} in review",
                np.arange(a, b, dtype=np.int64),
                _base_score(lib.cols, slice(a, b), date(year, 12, 31), today) * 0.8 * finished,
            )
        )
    return out


def with_place(draft: Draft, place: str | None) -> Draft:
    """The draft with its place, and a title that says it."""
    if place is None:
        return draft
    title = draft.title
    if draft.kind is RecapKind.TRIP:
        title = f"Trip to {place.split(',')[0]}, {title}"
    elif draft.kind is RecapKind.EVENT:
        title = f"{title} in {place.split(',')[0]}"
    return replace(draft, title=title, place=place)


def short_hash(*parts: object) -> str:
    """Eight hex digits standing for `parts` (stable from run to run)."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8]
