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
