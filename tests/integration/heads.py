"""The hand-labelled heads of the counted group photos (tests/data/head_boxes.csv), and the
rule by which a detection in an anonymised copy is a face found again."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from regard.domain.face import Box
from regard.pipeline.anonymise.blur import pixel_rect

HEAD_BOXES = Path(__file__).resolve().parents[1] / "data" / "head_boxes.csv"


def labelled_heads() -> dict[str, list[Box]]:
    """Photo path (relative to ../shared/data) -> its heads, in the order of the file."""
    lines = [ln for ln in HEAD_BOXES.read_text().splitlines() if not ln.startswith("#")]
    heads: dict[str, list[Box]] = defaultdict(list)
    for row in csv.DictReader(lines):
        heads[row["path"]].append(Box(*(float(row[k]) for k in "xywh")))
    return dict(heads)


HEADS = labelled_heads()


def where_there_was_a_face(box: Box, heads: list[Box]) -> bool:
    """A detection centred in one of `heads` and at most half as big again: that face, found
    again (not a detection of a group of blurred heads, or of a shoulder beside one)."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    return any(
        h.x <= cx <= h.x + h.w
        and h.y <= cy <= h.y + h.h
        and max(box.w, box.h) <= 1.5 * max(h.w, h.h)
        for h in heads
    )


def head_mask(heads: list[Box], w: int, h: int) -> np.ndarray:
    """The pixels of a `w` x `h` image inside any of `heads`."""
    mask = np.zeros((h, w), bool)
    for b in heads:
        x0, y0, x1, y1 = pixel_rect(b)
        mask[max(0, y0) : y1, max(0, x0) : x1] = True
    return mask
