"""Recaps on columns (`regard.domain.recap_table`, `recaps.Library`) against the same rules
on `Shot` objects: the order, the calendar, each shot's prior and the shortlist must be the
ones the object code gives, photo for photo."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.domain.recap_choice import (
    PHOTOS_FOR,
    candidates,
    choose,
    choose_among,
    prior,
    priors_of,
    shortlist,
    shortlist_rows,
)
from regard.domain.recap_rows import Looks, base_scores, library_of, options_of, pick_of
from regard.domain.recap_table import pairs_together, runs_of
from regard.domain.recaps import (
    Library,
    Look,
    Names,
    RecapKind,
    Shot,
    ShotFace,
    dated,
    find_recaps,
)

T0 = datetime(1969, 12, 30, 23, 0)  # before 1970 too: days and years must floor

faces_st = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(1, 5)),  # person
        st.floats(0.0, 1.0),  # quality
        st.booleans(),  # low quality
        st.booleans(),  # shown
    ),
    max_size=4,
)
shots_st = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 3 * 365 * 86400)),  # seconds after T0, or undated
        st.booleans(),  # video
        st.one_of(st.none(), st.sampled_from([(45.76, 4.83), (43.30, 5.37)])),
        faces_st,
    ),
    max_size=60,
)


def make(spec: list) -> list[Shot]:
    out = []
    for i, (sec, video, where, faces) in enumerate(spec):
        fs = tuple(
            ShotFace(10 * i + k, p, (0, 0, 10, 10), q, low, shown)
            for k, (p, q, low, shown) in enumerate(faces)
        )
        lat, lon = where or (None, None)
        when = None if sec is None else T0 + timedelta(seconds=sec, microseconds=i % 3)
        out.append(Shot(i, f"/p/{i}.jpg", when, lat, lon, 10, 10, video, 5.0, fs))
    return out


@settings(max_examples=60, deadline=None)
@given(shots_st)
def test_columns_say_what_the_shots_say(spec: list) -> None:
    shots = make(spec)
    named = {1: "Ann", 2: "Bo", 4: "Di"}
    lib = Library.of(shots, frozenset({5}))
    kept = dated(s for s in shots if not any(f.person == 5 for f in s.faces))
    assert [s.id for s in lib.shots] == [s.id for s in kept]
    c = lib.cols
    year, month, day = c.calendar
    for row, s in enumerate(lib.shots):
        assert s.taken is not None
        assert (year[row], month[row], day[row]) == (s.taken.year, s.taken.month, s.taken.day)
        assert c.days[row] == (s.taken.date() - date(1970, 1, 1)).days
        assert c.good_faces[row] == sum(f.shown and not f.low_quality for f in s.faces)
    priors = priors_of(c, named)
    assert np.allclose(priors, [prior(s, named) for s in lib.shots], rtol=0, atol=1e-12)
    rows = np.arange(len(c), dtype=np.int64)
    for count in (2, 6):
        memo = {s.id: float(p) for s, p in zip(lib.shots, priors, strict=True)}
        want = [s.id for s in shortlist(lib.shots, count, named, memo)]
        got = [lib.shots[p].id for p in shortlist_rows(rows, count, priors, c.ids).tolist()]
        assert got == want


def test_pairs_and_runs() -> None:
    people = np.array([1, 1, 2, 2, 3, 3], dtype=np.int64)
    rows = np.array([0, 4, 0, 4, 0, 7], dtype=np.int64)
    a, b, r = pairs_together(people, rows)
    assert list(zip(a.tolist(), b.tolist(), r.tolist(), strict=True)) == [
        (1, 2, 0),
        (1, 2, 4),
        (1, 3, 0),
        (2, 3, 0),
    ]
    assert runs_of(a, b) == [(0, 2), (2, 3), (3, 4)]
    assert runs_of(np.zeros(0, dtype=np.int64)) == []


def test_a_big_library_is_searched_as_the_small_one_is() -> None:
    # Events, a trip, people together and years at once: each draft's rows are its shots.
    shots = []
    for day in range(40):
        at = datetime(2023, 3, 1, 10) + timedelta(days=3 * day)
        where = (43.30, 5.37) if 20 <= day < 22 else (45.76, 4.83)
        for k in range(8):
            fs = (ShotFace(100 * day + k, 1, (0, 0, 9, 9), 0.7, False, True),)
            if k % 2:
                fs += (ShotFace(100 * day + k + 50, 2, (0, 0, 9, 9), 0.7, False, True),)
            shots.append(
                Shot(100 * day + k, "/x.jpg", at + timedelta(minutes=5 * k), *where, faces=fs)
            )
    drafts = find_recaps(shots, Names(shown={1: "Ann", 2: "Bo"}), date(2024, 6, 1))
    kinds = {d.kind for d in drafts}
    assert {RecapKind.EVENT, RecapKind.TRIP, RecapKind.TOGETHER, RecapKind.YEAR} <= kinds
    lib = Library.of(shots)
    for d in drafts:
        assert d.rows is not None and [lib.shots[i].id for i in d.rows] == [s.id for s in d.shots]
        assert len(d.shots) >= 1 and d.kind in PHOTOS_FOR


def catalog_rows(shots: list[Shot], spec: list) -> tuple[list[tuple], list[tuple]]:
    """The shots as the catalog's rows (`SqliteRecaps.photo_rows`, `face_rows`), in its
    order; a few of the faces' photos missing from the photo rows (trashed)."""
    photos = []
    for s, (_, _, _, _) in zip(shots, spec, strict=True):
        taken = None if s.taken is None else s.taken.isoformat()
        media = "video" if s.video else "photo"
        photos.append(
            (s.id, s.path, taken, s.lat, s.lon, s.width, s.height, media, s.duration, " ", None)
        )
    faces = [
        (s.id, f.face_id, f.person, *f.box, f.quality, int(f.low_quality), "kept", None, None, None)
        for s in shots
        for f in s.faces
    ]
    return photos, faces


@settings(max_examples=60, deadline=None)
@given(shots_st, st.sets(st.integers(1, 5)), st.booleans())
def test_the_catalog_rows_make_the_library_the_shots_make(
    spec: list, allowed: set[int], household: bool
) -> None:
    """`recap_rows.library_of` (columns straight from the rows, a Shot only when asked) is
    `Library.of` on the shots the rows say; and choosing on rows chooses what `choose` does
    on the shots' picks."""
    made = make(spec)
    shots = [
        s._replace(
            faces=tuple(
                f._replace(shown=(f.person in allowed) if f.person is not None else household)
                for f in s.faces
            ),
            camera=None,
        )
        for s in made
    ]
    photos, faces = catalog_rows(shots, spec)
    gone = photos[1::7]  # trashed: its faces still come, and are left out
    photos = [p for p in photos if p not in gone]
    lib, source = library_of(photos, faces, allowed=allowed, household=household, hidden={5})
    want = Library.of([s for s in shots if s.id not in {p[0] for p in gone}], frozenset({5}))
    assert [s for s in lib.shots] == [s for s in want.shots]
    for name in ("ids", "t", "video", "face_shot", "face_person", "face_shown", "face_low"):
        assert np.array_equal(getattr(lib.cols, name), getattr(want.cols, name)), name
    for name in ("lat", "lon", "face_quality"):
        assert np.array_equal(getattr(lib.cols, name), getattr(want.cols, name), equal_nan=True)
    named = {1: "Ann", 2: "Bo", 4: "Di"}
    priors = priors_of(lib.cols, named)
    looks = Looks(len(lib.cols))
    for row in range(0, len(lib.cols), 2):
        looks.put(row, Look(row * 0x9E3779B97F4A7C15 % (1 << 64), 0.5, 0.25))
    base = base_scores(priors, looks, source.small).tolist()
    rows = list(range(len(lib.cols)))
    options, built = options_of(rows, lib, source, base, looks, named)
    got = [pick_of(built[i], options, i, source) for i in choose_among(options, 6)]
    kept = {lib.shot(r).id: looks_of(looks, r) for r in rows if looks.has[r]}
    memo = {s.id: float(p) for s, p in zip(lib.shots, priors, strict=True)}
    assert got == choose(candidates(lib.shots, kept, named, memo), 6)


def looks_of(looks: Looks, row: int) -> Look:
    return Look(looks.dhash[row], float(looks.sharpness[row]), float(looks.exposure[row]))
