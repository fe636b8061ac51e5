"""`positions`: a dict's lookups done on arrays (grouping maps a million neighbour ids to rows)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from regard.storage.arrays import positions

ids = st.integers(min_value=-5, max_value=10_000)


@given(
    keys=st.lists(ids, unique=True, max_size=60),
    wanted=st.lists(ids, max_size=40),
    width=st.integers(min_value=1, max_value=4),
)
def test_positions_are_a_dicts_lookups(keys: list[int], wanted: list[int], width: int) -> None:
    where = {k: i for i, k in enumerate(keys)}
    grid = np.array(wanted[: len(wanted) - len(wanted) % width], dtype=np.int64).reshape(-1, width)
    got = positions(np.array(keys, dtype=np.int64), grid)
    assert got.shape == grid.shape and got.dtype == np.int64
    assert got.tolist() == [[where.get(k, -1) for k in line] for line in grid.tolist()]
