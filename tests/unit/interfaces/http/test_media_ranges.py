"""Reading a Range header (RFC 9110) for the viewer's video and originals: one `bytes=` range
is served as the bytes Python would slice; one past the end is refused (416); anything else
gets the whole file."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from regard.interfaces.http.routes.media import parse_range

SIZES = st.integers(min_value=0, max_value=10_000)
POSITIONS = st.integers(min_value=0, max_value=20_000)


@given(size=SIZES, first=POSITIONS, last=POSITIONS)
def test_a_closed_range_is_the_bytes_it_names(size: int, first: int, last: int) -> None:
    got = parse_range(f"bytes={first}-{last}", size)
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    if first >= size or last < first:
        assert got == "unsatisfiable"
    else:
        assert isinstance(got, tuple)
        a, b = got
        assert data[a : b + 1] == data[first : last + 1]


@given(size=SIZES, first=POSITIONS)
def test_an_open_range_runs_to_the_end(size: int, first: int) -> None:
    got = parse_range(f"bytes={first}-", size)
    assert got == ("unsatisfiable" if first >= size else (first, size - 1))


@given(size=SIZES, n=POSITIONS)
def test_a_suffix_is_the_last_bytes(size: int, n: int) -> None:
    got = parse_range(f"bytes=-{n}", size)
    if n == 0 or size == 0:
        assert got == "unsatisfiable"
    else:
        assert got == (max(0, size - n), size - 1)


def test_what_is_not_one_byte_range_gets_the_whole_file() -> None:
    for header in ("bytes=0-1,4-5", "items=0-4", "bytes=a-b", "bytes=-", "0-4", ""):
        assert parse_range(header, 100) is None
