"""Row stores shared by the vector indexes: growing them, padding them to whole groups."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from regard.storage.bounded_scan import whole_groups

Matrix = npt.NDArray[np.float32]


def grown(
    vectors: np.ndarray, ids: np.ndarray, used: int, need: int, floor: int, no_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """`vectors` and their `ids` (the first `used` rows in use) moved into arrays with room
    for `need` rows: at least double, at least `floor`; free id slots hold `no_id`."""
    capacity = whole_groups(max(need, 2 * len(vectors), floor))
    rows = np.zeros((capacity, vectors.shape[1]), dtype=vectors.dtype)
    rows[:used] = vectors[:used]
    row_ids = np.full(capacity, no_id, dtype=ids.dtype)
    row_ids[:used] = ids[:used]
    return rows, row_ids


def in_groups(vectors: Matrix) -> Matrix:
    """`vectors` with zero rows after them up to whole groups of 16 (for `scan`)."""
    pad = whole_groups(len(vectors)) - len(vectors)
    if not pad:
        return vectors
    return np.concatenate([vectors, np.zeros((pad, vectors.shape[1]), dtype=np.float32)])


def positions(keys: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Where each of `wanted` (any shape) stands in `keys` (distinct), or -1 where it is not
    there: a dict's lookups, a million at a time, without a Python call each."""
    if not len(keys):
        return np.full(wanted.shape, -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    at = np.minimum(np.searchsorted(ranked, wanted), len(ranked) - 1)
    return np.where(ranked[at] == wanted, order[at], -1).astype(np.int64)
