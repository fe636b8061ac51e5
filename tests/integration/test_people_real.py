"""People formed from real photos with the real models."""

from collections import defaultdict

import pytest

from tests.integration.conftest import labelled_photos

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]


def test_labelled_people_each_form_one_person_and_none_mix(photo_library, shared_data):
    people_of = labelled_photos(shared_data)
    persons = photo_library.people.summaries()
    identity_in: dict[str, set[str]] = defaultdict(set)  # identity -> persons holding it
    for p in persons:
        info = photo_library.people.show(p["person"])
        singles = {
            next(iter(people_of[ph["path"]]))
            for ph in info["photo_list"]
            if len(people_of.get(ph["path"], ())) == 1
        }
        assert len(singles) <= 1, f"{p['person']} mixes {sorted(singles)}"
        for identity in singles:
            identity_in[identity].add(p["person"])
    for identity in {next(iter(ids)) for ids in people_of.values() if len(ids) == 1}:
        photos = [path for path, ids in people_of.items() if ids == {identity}]
        if len(photos) >= 2:
            assert len(identity_in[identity]) == 1, f"{identity} is split or missing"
    # Obama's 14 photos (4 portraits, 8 variants of one, 2 group photos) are one person.
    obama = next(iter(identity_in["obama"]))
    assert photo_library.people.show(obama)["photos"] == 14


def test_search_by_person_lists_their_photos(photo_library, shared_data):
    people_of = labelled_photos(shared_data)
    biden_photos = {p for p, ids in people_of.items() if "biden" in ids}
    probe = next(p for p in biden_photos if people_of[p] == {"biden"})
    person = next(
        p["person"]
        for p in photo_library.people.summaries()
        if any(ph["path"] == probe for ph in photo_library.people.show(p["person"])["photo_list"])
    )
    found = photo_library.search_person(person)
    assert {m.path for m in found.matches} >= biden_photos
    assert {m.path for m in found.matches if m.faces[0].source != "suggested"} == biden_photos
