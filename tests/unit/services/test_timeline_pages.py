"""The timeline's cursors and month names, and the names and dates uploads may carry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.errors import InvalidRequestError
from regard.services.timeline import check_month, decode_cursor, encode_cursor, zip_names
from regard.services.uploads import folder_name, sent_date

# On SQLite and on PostgreSQL (tests/backends.py).
pytestmark = pytest.mark.usefixtures("backend")


@given(st.text(max_size=40), st.integers(min_value=1, max_value=2**62))
def test_a_cursor_gives_back_the_key_it_was_made_from(key: str, photo_id: int) -> None:
    assert decode_cursor(encode_cursor(key, photo_id)) == (key, photo_id)


@pytest.mark.parametrize("cursor", ["!!", "bm90IGEgY3Vyc29y", "fA", ""])
def test_a_cursor_the_timeline_did_not_give_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidRequestError, match="This cursor is not one the timeline gave"):
        decode_cursor(cursor)


def test_months() -> None:
    assert check_month("2019-05") == "2019-05"
    assert check_month("undated") == "undated"
    assert check_month(None) is None
    for bad in ("2019-5", "19-05", "2019-00", "2019/05", "May"):
        with pytest.raises(InvalidRequestError):
            check_month(bad)


def test_names_in_a_zip_are_unique_whatever_their_case() -> None:
    named = [("a.jpg", "/1"), ("A.jpg", "/2"), ("a.jpg", "/3"), ("b", "/4"), ("b", "/5")]
    assert [n for n, _p in zip_names(named)] == ["a.jpg", "A (2).jpg", "a (3).jpg", "b", "b (2)"]


@pytest.mark.parametrize(
    ("given_name", "kept"),
    [
        (None, None),
        ("   ", None),
        ("Holiday 2019", "Holiday 2019"),
        ("  Été   à Paris ", "Été à Paris"),
        ("Kids' party (2)", "Kids' party (2)"),
    ],
)
def test_folder_names_that_are_kept(given_name: str | None, kept: str | None) -> None:
    assert folder_name(given_name) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "..",
        "../up",
        "a/b",
        "a\\b",
        ".hidden",
        "name.",
        "x" * 81,
        "a..b",
        "nul\x00here",
        "new\u202eline",
    ],
)
def test_folder_names_that_are_paths_or_tricks_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="cannot be a folder name"):
        folder_name(bad)


def test_dates_sent_by_browsers() -> None:
    assert sent_date(1_560_000_000_000) == "2019-06-08T13:20:00"
    assert sent_date(None) is None
    assert sent_date(0) is None  # unknown
    assert sent_date(300_000_000_000) is None  # 1979: before digital photos, not plausible
    assert sent_date(99_999_999_999_999) is None  # in the future
