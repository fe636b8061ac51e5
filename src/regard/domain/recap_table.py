"""Recaps' arithmetic on columns: a library's dated shots as arrays (one row a shot, oldest
first; one row a face), and the searches `regard.domain.recaps` makes in them — events cut at
long gaps, home, days away, trips, people's photos — each a few passes of numpy over a hundred
thousand rows instead of a Python loop over as many objects. Nothing here knows a `Shot`: the
rules (thresholds, what is kept) are given by the caller.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

#: Microseconds: capture times are kept as whole microseconds (exact, as `datetime` is).
SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
EARTH_KM = 6371.0


@dataclass(frozen=True, eq=False)
class Columns:
    """Dated shots, oldest first (ties by id), and their faces, as columns. Times are
    microseconds since 1970-01-01 of the local time the camera wrote; a shot without GPS has
    NaN for its latitude and longitude; a face in no person has person -1."""

    ids: Ints
    t: Ints
    lat: Floats
    lon: Floats
    video: Bools
    face_shot: Ints  # the row of each face's shot
    face_person: Ints
    face_shown: Bools
    face_low: Bools
    face_quality: Floats
    _people_rows: dict[bytes, tuple[Ints, Ints]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def located(self) -> Bools:
        return ~(np.isnan(self.lat) | np.isnan(self.lon))

    @cached_property
    def days(self) -> Ints:
        """Days since 1970-01-01 (the date the photo was taken)."""
        return self.t // DAY_US

    @cached_property
    def calendar(self) -> tuple[Ints, Ints, Ints]:
        """Each shot's year, month and day of the month."""
        d = self.days.astype("datetime64[D]")
        months = d.astype("datetime64[M]")
        year = d.astype("datetime64[Y]").astype(np.int64) + 1970
        month = months.astype(np.int64) % 12 + 1
        day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
        return year, month, day

    @cached_property
    def good_faces(self) -> Ints:
        """Per shot: its faces that may be shown and are not of low quality."""
        keep = self.face_shown & ~self.face_low
        return np.bincount(self.face_shot[keep], minlength=len(self)).astype(np.int64)

    @cached_property
    def _good_before(self) -> Ints:
        return np.concatenate(([0], np.cumsum(self.good_faces)))

    def good_in(self, rows: Ints | slice) -> int:
        """Good faces (see `good_faces`) in these rows."""
        if isinstance(rows, slice):
            return int(self._good_before[rows.stop] - self._good_before[rows.start])
        return int(self.good_faces[rows].sum())

    def people_rows(self, named: Ints) -> tuple[Ints, Ints]:
        """(person, row) once for each shot a person is in and may be shown in, for the
        persons in `named`; by person, then row (kept: finding recaps and choosing their
        photos both ask)."""
        key = named.tobytes()
        if key not in self._people_rows:
            self._people_rows[key] = self._find_people_rows(named)
        return self._people_rows[key]

    def _find_people_rows(self, named: Ints) -> tuple[Ints, Ints]:
        keep = self.face_shown & (self.face_person >= 0) & np.isin(self.face_person, named)
        rows, people = self.face_shot[keep], self.face_person[keep]
        n = max(1, len(self))
        key = np.unique(people * n + rows)
        return key // n, key % n


def event_cuts(t: Ints, gap_min: float, gap_max: float, factor: float, window: int) -> Ints:
    """Where events start (rows, the first 0): after a gap over `gap_max` seconds, or over
    `gap_min` and over `factor` times the median of the `window` gaps on each side of it (not
    itself, nor gaps over `gap_max`), floored at 30 s."""
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64)
    gaps = np.diff(t) / SECOND_US  # as timedelta.total_seconds() gives them
    ends = gaps > gap_max
    maybe = np.flatnonzero((gaps > gap_min) & ~ends)
    if maybe.size:
        values = gaps.tolist()
        for i in maybe.tolist():
            lo = max(0, i - window)
            around = [
                g for j, g in enumerate(values[lo : i + window + 1], lo) if j != i and g <= gap_max
            ]
            # Bursts (several photos a second) would make every pause look long: a floor.
            typical = max(30.0, statistics.median(around)) if around else 30.0
            ends[i] = values[i] > factor * typical
    return np.concatenate(([0], np.flatnonzero(ends) + 1)).astype(np.int64)


def haversine_km(lat: float, lon: float, lats: Floats, lons: Floats) -> Floats:
    """Great-circle distances from one point to many, in kilometres."""
    p1, l1 = np.radians(lat), np.radians(lon)
    p2, l2 = np.radians(lats), np.radians(lons)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return np.asarray(2 * EARTH_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))), dtype=np.float64)


def farther_than(home: tuple[float, float], lats: Floats, lons: Floats, km: float) -> Bools:
    """Which points are over `km` from home: a flat-earth bound first, the great circle
    only near the threshold."""
    dy = np.abs(lats - home[0]) * 111.2
    dx = np.abs(lons - home[1]) % 360
    dx = (
        np.minimum(dx, 360 - dx)
        * 111.3
        * np.cos(np.radians(np.maximum(abs(home[0]), np.abs(lats))))
    )
    far = np.maximum(dx, dy) > km * 1.2
    unsure = ~far & ~(dx + dy < km * 0.8)
    if unsure.any():
        far[unsure] = haversine_km(home[0], home[1], lats[unsure], lons[unsure]) > km
    return np.asarray(far, dtype=np.bool_)


def cells(lats: Floats, lons: Floats, size: float) -> tuple[Ints, Ints]:
    """The grid cell of each point (cells of `size` degrees)."""
    return (
        np.floor(lats / size).astype(np.int64),
        np.floor(lons / size).astype(np.int64),
    )


def median_point(lats: Floats, lons: Floats) -> tuple[float, float] | None:
    if len(lats) == 0:
        return None
    return (float(np.median(lats)), float(np.median(lons)))


def home_of(c: Columns, cell: float) -> tuple[float, float] | None:
    """The cell with located photos on the most days (then the most photos, then the
    greatest cell), and in it the median point."""
    m = c.located
    if not m.any():
        return None
    lats, lons, days = c.lat[m], c.lon[m], c.days[m]
    ci, cj = cells(lats, lons, cell)
    grid, which = np.unique(np.stack([ci, cj], axis=1), axis=0, return_inverse=True)
    which = which.reshape(-1)
    span = int(days.max() - days.min()) + 1
    cell_days = np.unique(which * span + (days - days.min())) // span
    on_days = np.bincount(cell_days, minlength=len(grid))
    photos = np.bincount(which, minlength=len(grid))
    best = int(np.lexsort((grid[:, 1], grid[:, 0], photos, on_days))[-1])
    here = which == best
    return median_point(lats[here], lons[here])


def away_days(c: Columns, home: tuple[float, float], km: float) -> tuple[Ints, Bools]:
    """The days with a located photo, and for each whether most of that day's located photos
    are over `km` from home."""
    m = c.located
    far = farther_than(home, c.lat[m], c.lon[m], km)
    days, which = np.unique(c.days[m], return_inverse=True)
    which = which.reshape(-1)
    n_far = np.bincount(which, weights=far.astype(np.float64), minlength=len(days))
    n_all = np.bincount(which, minlength=len(days))
    return days.astype(np.int64), n_far * 2 > n_all


def trip_days(days: Ints, away: Bools, bridge: int) -> list[tuple[int, int]]:
    """Runs of days away (first and last day): a run goes on over up to `bridge` days with no
    located photo, never over a day seen at home."""
    runs: list[list[int]] = []
    home_since = False  # a day at home since the last day away
    for day, far in zip(days.tolist(), away.tolist(), strict=True):
        if not far:
            home_since = True
            continue
        if runs and day - runs[-1][1] <= bridge + 1 and not home_since:
            runs[-1][1] = day
        else:
            runs.append([day, day])
        home_since = False
    return [(a, b) for a, b in runs]


def pairs_together(people: Ints, rows: Ints) -> tuple[Ints, Ints, Ints]:
    """From (person, row) once each: every two people (a < b) in one shot, as (a, b, row),
    by a, b, then row."""
    if len(rows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    p = int(people.max()) + 1
    key = np.unique(rows * p + people)  # by row, then person
    r, who = key // p, key % p
    a_parts, b_parts, r_parts = [], [], []
    d = 1
    while d < len(key):
        same = r[:-d] == r[d:]
        if not same.any():
            break
        a_parts.append(who[:-d][same])
        b_parts.append(who[d:][same])
        r_parts.append(r[:-d][same])
        d += 1
    if not a_parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    a, b, rr = np.concatenate(a_parts), np.concatenate(b_parts), np.concatenate(r_parts)
    order = np.lexsort((rr, b, a))
    return a[order], b[order], rr[order]


def runs_of(*keys: Ints) -> list[tuple[int, int]]:
    """[start, stop) of each run of equal keys (the keys sorted so equal ones are together)."""
    n = len(keys[0])
    if n == 0:
        return []
    change = np.zeros(n - 1, dtype=np.bool_)
    for k in keys:
        change |= k[1:] != k[:-1]
    edges = [0, *(np.flatnonzero(change) + 1).tolist(), n]
    return list(itertools.pairwise(edges))
