"""Recaps: events, trips, "on this day", a person's year, people together and a year in review,
found in the library's dates and places — pure functions over `Shot`s, no I/O.

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
import itertools
import math
import statistics
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

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
    """A recap found, before its photos are chosen."""

    id: str
    kind: RecapKind
    title: str
    start: date
    end: date
    shots: tuple[Shot, ...]
    score: float
    place: str | None = None
    people: tuple[int, ...] = ()  # the people it is about (a person's year, people together)
    where: tuple[float, float] | None = None  # a representative point, to name the place


def _spanning(
    id: str,
    kind: RecapKind,
    title: str,
    shots: Sequence[Shot],
    score: float,
    people: tuple[int, ...] = (),
) -> Draft:
    """A draft over `shots` (in time order): from the first to the last, placed at their centre."""
    return Draft(
        id=id,
        kind=kind,
        title=title,
        start=_taken(shots[0]).date(),
        end=_taken(shots[-1]).date(),
        shots=tuple(shots),
        score=score,
        people=people,
        where=centre(shots),
    )


# --- events --------------------------------------------------------------------------------


def _taken(shot: Shot) -> datetime:
    assert shot.taken is not None  # spans are made of dated shots only
    return shot.taken


def dated(shots: Iterable[Shot]) -> list[Shot]:
    """The shots with a capture time, oldest first."""
    return sorted((s for s in shots if s.taken is not None), key=lambda s: (_taken(s), s.id))


def split_events(shots: Sequence[Shot]) -> list[Span]:
    """Dated shots (oldest first, as `dated` gives them) cut into events where the gap in
    capture time is long for this photographer (see the module's docstring)."""
    if not shots:
        return []
    gaps = [(_taken(b) - _taken(a)).total_seconds() for a, b in itertools.pairwise(shots)]
    events: list[Span] = []
    first = 0
    for i, gap in enumerate(gaps):
        if _ends_event(gaps, i, gap):
            events.append(Span(tuple(shots[first : i + 1])))
            first = i + 1
    events.append(Span(tuple(shots[first:])))
    return events


def _ends_event(gaps: Sequence[float], i: int, gap: float) -> bool:
    if gap <= EVENT_GAP_MIN.total_seconds():
        return False
    if gap > EVENT_GAP_MAX.total_seconds():
        return True
    # The gaps around it (not itself), within events: what is usual for this photographer.
    around = [
        g
        for j, g in enumerate(gaps[max(0, i - EVENT_GAP_WINDOW) : i + EVENT_GAP_WINDOW + 1])
        if j + max(0, i - EVENT_GAP_WINDOW) != i and g <= EVENT_GAP_MAX.total_seconds()
    ]
    # Bursts (several photos a second) would make every pause look long: a floor of 30 s.
    typical = max(30.0, statistics.median(around)) if around else 30.0
    return gap > EVENT_GAP_FACTOR * typical


# --- home and trips ------------------------------------------------------------------------


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine), in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _farther_than(home: tuple[float, float], p: tuple[float, float], km: float) -> bool:
    """Whether `p` is over `km` from home: a flat-earth bound first (cheap: a hundred
    thousand photos are measured), the great circle only near the threshold."""
    dy = abs(p[0] - home[0]) * 111.2
    dx = abs(p[1] - home[1]) % 360
    dx = min(dx, 360 - dx) * 111.3 * math.cos(math.radians(max(abs(home[0]), abs(p[0]))))
    if max(dx, dy) > km * 1.2:
        return True
    if dx + dy < km * 0.8:
        return False
    return km_between(home, p) > km


def find_home(shots: Iterable[Shot]) -> tuple[float, float] | None:
    """Where most photos are taken: the cell with photos on the most days (a week away
    gives many photos but few days), and in it the median point. None without GPS."""
    days: dict[tuple[int, int], set[date]] = defaultdict(set)
    points: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for s in shots:
        if s.lat is None or s.lon is None:
            continue
        cell = (math.floor(s.lat / HOME_CELL), math.floor(s.lon / HOME_CELL))
        days[cell].add(s.taken.date() if s.taken else date.min)
        points[cell].append((s.lat, s.lon))
    if not days:
        return None
    best = max(days, key=lambda c: (len(days[c]), len(points[c]), c))
    here = points[best]
    return (statistics.median(p[0] for p in here), statistics.median(p[1] for p in here))


def find_trips(shots: Sequence[Shot], home: tuple[float, float] | None) -> list[Span]:
    """Runs of days away from home (see the module's docstring), from dated shots oldest
    first; each with every shot taken during it, located or not."""
    if home is None or not shots:
        return []
    by_day: dict[date, list[Shot]] = defaultdict(list)
    for s in shots:
        by_day[_taken(s).date()].append(s)
    away: dict[date, bool] = {}
    for day, day_shots in by_day.items():
        located = [(s.lat, s.lon) for s in day_shots if s.lat is not None and s.lon is not None]
        if located:
            far = sum(_farther_than(home, p, TRIP_KM) for p in located)
            away[day] = far * 2 > len(located)
    runs: list[list[date]] = []
    for day in sorted(away):
        if not away[day]:
            continue
        # Days with no located photo between two days away are part of the trip, up to
        # TRIP_BRIDGE_DAYS of them (more, and it is two trips: home between them unseen).
        if (
            runs
            and (day - runs[-1][-1]).days <= TRIP_BRIDGE_DAYS + 1
            and all(d not in away or away[d] for d in _days_between(runs[-1][-1], day))
        ):
            runs[-1].append(day)
        else:
            runs.append([day])
    days = [_taken(s).date() for s in shots]
    trips = []
    for run in runs:
        first, last = run[0], run[-1]
        inside = tuple(shots[bisect_left(days, first) : bisect_right(days, last)])
        if len(inside) >= TRIP_MIN_PHOTOS:
            trips.append(Span(inside))
    return trips


def _days_between(a: date, b: date) -> list[date]:
    return [a + timedelta(days=n) for n in range(1, (b - a).days)]


def centre(shots: Iterable[Shot]) -> tuple[float, float] | None:
    """The median point of the located shots (a representative place, not an average of two
    ends of a trip)."""
    pts = [(s.lat, s.lon) for s in shots if s.lat is not None and s.lon is not None]
    if not pts:
        return None
    return (statistics.median(p[0] for p in pts), statistics.median(p[1] for p in pts))


def far_point(
    shots: Iterable[Shot], home: tuple[float, float] | None
) -> tuple[float, float] | None:
    """Where a trip went: its located point the most days were spent near, away from home."""
    pts = [(s.lat, s.lon) for s in shots if s.lat is not None and s.lon is not None]
    if home is not None:
        pts = [p for p in pts if km_between(home, p) > TRIP_KM] or pts
    if not pts:
        return None
    cells = Counter((math.floor(p[0] / HOME_CELL), math.floor(p[1] / HOME_CELL)) for p in pts)
    cell = cells.most_common(1)[0][0]
    here = [p for p in pts if (math.floor(p[0] / HOME_CELL), math.floor(p[1] / HOME_CELL)) == cell]
    return (statistics.median(p[0] for p in here), statistics.median(p[1] for p in here))


# --- the recaps ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Names:
    """Who may be named in titles ({person id: name}); the people hidden from recaps."""

    shown: Mapping[int, str] = field(default_factory=dict)
    hidden: frozenset[int] = frozenset()


def find_recaps(shots: Sequence[Shot], names: Names, today: date) -> list[Draft]:
    """Every recap the library holds, best first (place names are added later). Shots with
    a face of a person hidden from recaps are left out of all of them."""
    kept = (
        [s for s in shots if not any(f.person in names.hidden for f in s.faces)]
        if names.hidden
        else list(shots)
    )
    ordered = dated(kept)
    home = find_home(ordered)
    trips = find_trips(ordered, home)
    drafts: list[Draft] = []
    drafts += _trip_drafts(trips, home, today)
    drafts += _event_drafts(split_events(ordered), trips, today)
    drafts += _on_this_day(ordered, today)
    drafts += _person_years(ordered, names, today)
    drafts += _together(ordered, names, today)
    drafts += _years(ordered, today)
    drafts.sort(key=lambda d: (-d.score, d.id))
    return drafts


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


def _faces_shown(shots: Iterable[Shot]) -> int:
    return sum(1 for s in shots for f in s.faces if f.shown and not f.low_quality)


def _recency(end: date, today: date) -> float:
    """1 for this month, falling to 0.5 five years back and on: recent recaps first, old ones
    still in the running."""
    years = max(0.0, (today - end).days / 365.25)
    return 0.5 + 0.5 * math.exp(-years / 2.5)


def _base_score(shots: Sequence[Shot], end: date, today: date) -> float:
    return (math.log1p(len(shots)) + 0.3 * math.log1p(_faces_shown(shots))) * _recency(end, today)


def _trip_drafts(
    trips: Sequence[Span], home: tuple[float, float] | None, today: date
) -> list[Draft]:
    out = []
    for t in trips:
        start, end = t.start.date(), t.end.date()
        days = (end - start).days + 1
        score = (_base_score(t.shots, end, today) + 0.5 * math.log1p(days)) * 1.3
        out.append(
            Draft(
                id=f"TRIP-{start.isoformat()}",
                kind=RecapKind.TRIP,
                title=_span_title(start, end),  # "Trip to <place>" once the place is known
                start=start,
                end=end,
                shots=t.shots,
                score=score,
                where=far_point(t.shots, home),
            )
        )
    return out


def _event_drafts(events: Sequence[Span], trips: Sequence[Span], today: date) -> list[Draft]:
    in_trips = {s.id for t in trips for s in t.shots}
    out = []
    for e in events:
        if len(e.shots) < EVENT_MIN_PHOTOS or all(s.id in in_trips for s in e.shots):
            continue  # too small, or part of a trip (the trip's recap shows it)
        start, end = e.start.date(), e.end.date()
        out.append(
            Draft(
                id=f"EVENT-{e.start.strftime('%Y-%m-%d-%H%M')}",
                kind=RecapKind.EVENT,
                title=_span_title(start, end),
                start=start,
                end=end,
                shots=e.shots,
                score=_base_score(e.shots, end, today),
                where=centre(e.shots),
            )
        )
    return out


def _on_this_day(shots: Sequence[Shot], today: date) -> list[Draft]:
    """Photos of today's day and month in past years (29 February's on the 28th in years
    without one)."""
    wanted = {(today.month, today.day)}
    if (today.month, today.day) == (2, 28) and not _leap(today.year):
        wanted.add((2, 29))
    past = [s for s in shots if _taken(s).year < today.year and _md(s) in wanted]
    if len(past) < ON_THIS_DAY_MIN:
        return []
    years = sorted({_taken(s).year for s in past})
    ago = today.year - years[0]
    title = (
        f"On this day, {ago} year{'s' if ago > 1 else ''} ago"
        if len(years) == 1
        else f"On this day: {', '.join(str(y) for y in years)}"
    )
    score = (math.log1p(len(past)) + 0.6 * len(years)) * 1.5  # today's: near the top
    return [
        _spanning(
            f"DAY-{today.month:02d}-{today.day:02d}", RecapKind.ON_THIS_DAY, title, past, score
        )
    ]


def _md(s: Shot) -> tuple[int, int]:
    return (_taken(s).month, _taken(s).day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _person_years(shots: Sequence[Shot], names: Names, today: date) -> list[Draft]:
    by: dict[tuple[int, int], list[Shot]] = defaultdict(list)
    for s in shots:
        for person in {f.person for f in s.faces if f.shown and f.person is not None}:
            if person in names.shown:
                by[(person, _taken(s).year)].append(s)
    out = []
    for (person, year), mine in by.items():
        if len(mine) < PERSON_YEAR_MIN:
            continue
        out.append(
            _spanning(
                f"PERSON-P{person}-{year}",
                RecapKind.PERSON_YEAR,
                f"{names.shown[person]} in {year}",
                mine,
                _base_score(mine, _taken(mine[-1]).date(), today) * 0.9,
                people=(person,),
            )
        )
    return out


def _together(shots: Sequence[Shot], names: Names, today: date) -> list[Draft]:
    by: dict[tuple[int, int], list[Shot]] = defaultdict(list)
    for s in shots:
        people = sorted(
            {f.person for f in s.faces if f.shown and f.person is not None} & names.shown.keys()
        )
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                by[(a, b)].append(s)
    out = []
    for (a, b), both in by.items():
        if len(both) < TOGETHER_MIN:
            continue
        out.append(
            _spanning(
                f"TOGETHER-P{a}-P{b}",
                RecapKind.TOGETHER,
                f"{names.shown[a]} and {names.shown[b]}",
                both,
                _base_score(both, _taken(both[-1]).date(), today) * 0.85,
                people=(a, b),
            )
        )
    return out


def _years(shots: Sequence[Shot], today: date) -> list[Draft]:
    by: dict[int, list[Shot]] = defaultdict(list)
    for s in shots:
        by[_taken(s).year].append(s)
    out = []
    for year, mine in by.items():
        if len(mine) < YEAR_MIN:
            continue
        # A year in review looks back: this year's is there, below the finished ones.
        finished = 1.0 if year < today.year else 0.6
        out.append(
            _spanning(
                f"YEAR-{year}",
                RecapKind.YEAR,
                f"{year} in review",
                mine,
                _base_score(mine, date(year, 12, 31), today) * 0.8 * finished,
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
    return Draft(
        id=draft.id,
        kind=draft.kind,
        title=title,
        start=draft.start,
        end=draft.end,
        shots=draft.shots,
        score=draft.score,
        place=place,
        people=draft.people,
        where=draft.where,
    )


def short_hash(*parts: object) -> str:
    """Eight hex digits standing for `parts` (stable from run to run)."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8]
