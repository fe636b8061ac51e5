"""A viewer's previous and next: the photos on either side of one in the timeline's order
(newest first, undated last, then by id), whatever the dates, ties and failures."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from regard.domain.photo import (
    FileFingerprint,
    PhotoAnalysis,
    PhotoFailure,
    PhotoMetadata,
)
from regard.storage.catalog import Catalog

DATES = st.one_of(
    st.none(),
    st.sampled_from(["2019-05-01T10:00:00", "2020-01-02T03:04:05", "2021-12-31T23:59:59"]),
)


def stored(catalog: Catalog, path: str, taken_at: str | None) -> int:
    meta = PhotoMetadata("JPEG", 640, 480, taken_at=taken_at)
    a = PhotoAnalysis(FileFingerprint(path, 1, 1), "h" + path, meta, (), "p1")
    return catalog.photos.store_analysis(a, 0)


@settings(max_examples=40, deadline=None)
@given(
    photos=st.lists(
        st.tuples(st.text("abcé_", min_size=1, max_size=4), DATES),
        min_size=1,
        max_size=12,
        unique_by=lambda p: p[0],
    ),
    failed=st.lists(st.text("xyz", min_size=1, max_size=3), max_size=2, unique=True),
)
def test_previous_and_next_walk_the_timeline(photos, failed) -> None:
    with tempfile.TemporaryDirectory() as folder:
        catalog = Catalog(Path(folder) / "c.sqlite")
        try:
            with catalog.transaction():
                for name, taken in photos:
                    stored(catalog, f"/p/{name}.jpg", taken)
                broken = [
                    catalog.photos.store_failure(
                        PhotoFailure(FileFingerprint(f"/p/{n}.bad", 1, 1), "unreadable", "x"), 0
                    )
                    for n in failed
                ]
            order = [r["id"] for r in catalog.timeline.page(None, 100)]
            assert len(order) == len(photos)  # failures are not in the timeline
            for i, pid in enumerate(order):
                before = order[i - 1] if i else None
                after = order[i + 1] if i + 1 < len(order) else None
                assert catalog.timeline.neighbours(pid) == (before, after)
            for pid in broken:  # a failed file still has neighbours, from where it would be
                prev, nxt = catalog.timeline.neighbours(pid)
                assert prev is None or prev in order
                assert nxt is None or nxt in order
        finally:
            catalog.close()
