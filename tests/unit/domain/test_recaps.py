"""Finding recaps in dates and places: events by adaptive gaps, home, trips, on this day,
people's years and people together; choosing their photos."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from regard.domain.recap_choice import (
    DUPLICATE_BITS,
    Pick,
    candidates,
    choose,
    shortlist,
    video_moments,
)
from regard.domain.recaps import (
    Look,
    Names,
    RecapKind,
    Shot,
    ShotFace,
    dated,
    find_home,
    find_recaps,
    find_trips,
    km_between,
    split_events,
)

HOME = (45.76, 4.83)  # Lyon
AWAY = (43.30, 5.37)  # Marseille, 280 km south
T0 = datetime(2024, 5, 4, 10, 0)


def shot(n: int, when: datetime | None, where: tuple[float, float] | None = None, **kw) -> Shot:
    lat, lon = where if where else (None, None)
    return Shot(
        id=n, path=f"/p/{n}.jpg", taken=when, lat=lat, lon=lon, width=4000, height=3000, **kw
    )


def face(fid: int, person: int | None, shown: bool = True, q: float = 0.8, span=None) -> ShotFace:
    return ShotFace(fid, person, (10, 10, 100, 100), q, False, shown, span)


def burst(start: int, at: datetime, count: int, every: timedelta, where=None) -> list[Shot]:
    return [shot(start + i, at + i * every, where) for i in range(count)]


def test_events_split_at_gaps_long_for_this_photographer() -> None:
    # Someone shooting every 20 s at a party: a 15-minute pause is a new moment of the
    # evening only when it is long for them; three hours later is another event.
    party = burst(0, T0, 30, timedelta(seconds=20))
    later = burst(100, party[-1].taken + timedelta(minutes=50), 10, timedelta(seconds=20))
    walk = burst(200, later[-1].taken + timedelta(hours=3), 10, timedelta(minutes=6))
    events = split_events(dated(party + later + walk))
    assert [len(e.shots) for e in events] == [30, 10, 10]
    # Sparse: one photo every 25 minutes along a hike is one event (no gap is long for them).
    hike = burst(300, T0, 12, timedelta(minutes=25))
    assert [len(e.shots) for e in split_events(dated(hike))] == [12]
    # ...but not across a night.
    two_days = hike + burst(400, T0 + timedelta(days=1), 6, timedelta(minutes=25))
    assert [len(e.shots) for e in split_events(dated(two_days))] == [12, 6]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=80))
def test_events_cover_every_dated_photo_once_in_order(seconds: list[int]) -> None:
    shots = dated(shot(i, T0 + timedelta(seconds=s)) for i, s in enumerate(seconds))
    events = split_events(shots)
    assert [s.id for e in events for s in e.shots] == [s.id for s in shots]
    for a, b in itertools.pairwise(events):
        assert b.start - a.end > timedelta(minutes=45)


def test_home_is_where_photos_are_taken_on_most_days_and_trips_are_away() -> None:
    days_home = [shot(i, T0 + timedelta(days=i * 3), HOME) for i in range(20)]
    # Four days in Marseille: 60 photos, many more than on any day at home, and photos
    # without GPS taken during the trip join it.
    trip = [
        shot(1000 + i, datetime(2024, 7, 1, 9) + timedelta(hours=i * 1.2), AWAY) for i in range(60)
    ]
    no_gps = [shot(2000 + i, datetime(2024, 7, 2, 12, i)) for i in range(5)]
    everything = dated(days_home + trip + no_gps)
    home = find_home(everything)
    assert home is not None and km_between(home, HOME) < 1
    trips = find_trips(everything, home)
    assert len(trips) == 1
    ids = {s.id for s in trips[0].shots}
    assert ids == {s.id for s in trip} | {s.id for s in no_gps}
    assert trips[0].start.date() == date(2024, 7, 1) and trips[0].end.date() == date(2024, 7, 4)
    drafts = find_recaps(everything, Names(), date(2024, 12, 1))
    [t] = [d for d in drafts if d.kind is RecapKind.TRIP]
    assert t.id == "TRIP-2024-07-01" and km_between(t.where, AWAY) < 5
    # The trip's events are in the trip's recap, not recaps of their own.
    assert not [d for d in drafts if d.kind is RecapKind.EVENT and set(d.shots) <= set(trip)]


def test_a_day_trip_50_km_away_counts_and_20_km_does_not() -> None:
    base = [shot(i, T0 + timedelta(days=i * 2), HOME) for i in range(15)]
    near = burst(500, datetime(2024, 8, 3, 10), 8, timedelta(minutes=30), (45.90, 4.90))  # 17 km
    far = burst(600, datetime(2024, 9, 3, 10), 8, timedelta(minutes=30), (45.76, 5.60))  # 60 km
    trips = find_trips(dated(base + near + far), find_home(dated(base + near + far)))
    assert [t.start.date() for t in trips] == [date(2024, 9, 3)]


def test_no_gps_no_home_no_trips() -> None:
    shots = dated(burst(0, T0, 10, timedelta(minutes=1)))
    assert find_home(shots) is None and find_trips(shots, None) == []


def test_on_this_day_takes_past_years_only() -> None:
    shots = [
        *burst(0, datetime(2019, 12, 1, 12), 3, timedelta(minutes=1)),
        *burst(10, datetime(2022, 12, 1, 18), 2, timedelta(minutes=1)),
        *burst(20, datetime(2026, 12, 1, 9), 5, timedelta(minutes=1)),  # today: not a memory
        *burst(30, datetime(2021, 12, 2, 9), 5, timedelta(minutes=1)),  # another day
    ]
    [d] = [
        x for x in find_recaps(shots, Names(), date(2026, 12, 1)) if x.kind is RecapKind.ON_THIS_DAY
    ]
    assert d.id == "DAY-12-01" and d.title == "On this day: 2019, 2022"
    assert {s.id for s in d.shots} == {0, 1, 2, 10, 11}
    # 29 February is remembered on the 28th in years without one.
    leap = burst(0, datetime(2024, 2, 29, 12), 4, timedelta(minutes=1))
    [m] = [
        x for x in find_recaps(leap, Names(), date(2025, 2, 28)) if x.kind is RecapKind.ON_THIS_DAY
    ]
    assert m.title == "On this day, 1 year ago"


def test_people_recaps_name_only_people_who_may_be_shown_and_leave_out_the_hidden() -> None:
    shots = []
    for i in range(12):
        faces = (face(3 * i, 1), face(3 * i + 1, 2), face(3 * i + 2, 3))
        shots.append(shot(i, T0 + timedelta(days=i * 7), faces=faces))
    names = Names(shown={1: "Grandma", 2: "Ben"}, hidden=frozenset({3}))
    drafts = find_recaps(shots, names, date(2024, 12, 1))
    assert not drafts  # every photo has person 3, hidden from recaps: none is used
    names = Names(shown={1: "Grandma", 2: "Ben"})
    titles = {d.id: d.title for d in find_recaps(shots, names, date(2024, 12, 1))}
    assert titles["PERSON-P1-2024"] == "Grandma in 2024"
    assert titles["TOGETHER-P1-P2"] == "Grandma and Ben"
    assert "PERSON-P3-2024" not in titles  # not named (may not be): no recap of their own


def test_recaps_are_best_first_and_their_ids_stable() -> None:
    shots = dated(
        burst(0, T0, 40, timedelta(minutes=2))
        + burst(100, T0 + timedelta(days=30), 8, timedelta(minutes=2))
    )
    a = find_recaps(shots, Names(), date(2024, 12, 1))
    b = find_recaps(list(reversed(shots)), Names(), date(2024, 12, 1))
    assert [d.id for d in a] == [d.id for d in b]
    assert [d.score for d in a] == sorted((d.score for d in a), reverse=True)
    events = [d for d in a if d.kind is RecapKind.EVENT]
    assert events[0].id == "EVENT-2024-05-04-1000" and len(events[0].shots) == 40


def look(bits: int) -> Look:
    return Look(dhash=bits, sharpness=0.9, exposure=0.9)


def test_choosing_drops_near_duplicates_and_spreads_people() -> None:
    shots = [
        shot(i, T0 + timedelta(minutes=i * 10), faces=(face(i, 1 if i < 8 else 2),))
        for i in range(10)
    ]
    looks = {i: look((0xFFFF << (i * 4)) & (2**64 - 1)) for i in range(10)}
    looks[1] = look(looks[0].dhash ^ 0b111)  # 3 bits from photo 0: a near-duplicate
    picks = candidates(shots, looks, {1: "Ann", 2: "Bo"})
    chosen = choose(picks, 4)
    ids = [p.shot.id for p in chosen]
    assert not {0, 1} <= set(ids)
    assert {p.shot.faces[0].person for p in chosen} == {1, 2}  # Bo is in 2 of 10, still shown
    assert len(ids) == 4
    for p in chosen:
        for q in chosen:
            if p is not q and p.dhash is not None and q.dhash is not None:
                assert (p.dhash ^ q.dhash).bit_count() > DUPLICATE_BITS


def test_without_hashes_a_burst_of_one_camera_is_one_photo() -> None:
    shots = [shot(i, T0 + timedelta(seconds=i), camera="X") for i in range(3)]
    shots.append(shot(9, T0 + timedelta(minutes=20), camera="X"))
    chosen = choose(candidates(shots, {}, {}), 4)
    assert sorted(p.shot.id for p in chosen)[1:] == [9] and len(chosen) == 2


def test_faces_to_blur_count_against_a_photo() -> None:
    clear = shot(1, T0, faces=(face(1, 1),))
    blurred = shot(
        2, T0 + timedelta(hours=1), faces=(face(2, 2, shown=False), face(3, 3, shown=False))
    )
    [first, _] = choose(candidates([blurred, clear], {}, {1: "Ann"}), 2)
    assert first.shot.id == 1


def test_videos_give_short_moments_around_their_people() -> None:
    v = shot(
        5,
        T0,
        video=True,
        duration=60.0,
        faces=(face(1, 1, span=(10.0, 20.0, 14.0)), face(2, 2, span=(40.0, 50.0, 41.0))),
    )
    assert video_moments(v) == [(12.5, 15.5), (39.5, 42.5)]
    picks = candidates([v], {}, {1: "Ann"})
    assert [(p.start, p.end) for p in picks] == [(12.5, 15.5), (39.5, 42.5)]
    assert [{f.face_id for f in p.faces} for p in picks] == [{1}, {2}]
    # Nobody in it: one moment a fifth of the way in; a video shorter than a moment: all of it.
    assert video_moments(shot(6, T0, video=True, duration=20.0)) == [(4.0, 7.0)]
    assert video_moments(shot(7, T0, video=True, duration=2.0)) == [(0.0, 2.0)]


def test_shortlist_keeps_each_slice_of_time() -> None:
    shots = dated(burst(0, T0, 500, timedelta(minutes=3)))
    few = shortlist(shots, 10, {})
    assert len(few) == 60 and few == sorted(few, key=lambda s: s.taken)
    assert few[0].id < 25 and few[-1].id > 475


def test_pick_people_are_those_shown() -> None:
    p = Pick(shot(1, T0), (face(1, 1), face(2, 2, shown=False), face(3, None)), 1.0)
    assert p.people == {1}


def test_two_trips_with_no_photo_between_them_for_weeks_are_two() -> None:
    base = [shot(i, T0 + timedelta(days=i * 2), HOME) for i in range(15)]
    rome = burst(500, datetime(2024, 8, 3, 10), 12, timedelta(hours=5), (41.90, 12.49))
    lisbon = burst(600, datetime(2024, 8, 24, 10), 12, timedelta(hours=5), (38.72, -9.14))
    everything = dated(base + rome + lisbon)
    trips = find_trips(everything, find_home(everything))
    assert [(t.start.date(), len(t.shots)) for t in trips] == [
        (date(2024, 8, 3), 12),
        (date(2024, 8, 24), 12),
    ]
