"""Recap layout: where each tile of a collage goes.

Tiles are laid in rows, in their order (best first), each row as wide as the collage and the
rows as tall as it together, with a gap around every tile. A tile can take any shape between
the aspects its faces allow (`regard.pipeline.recap_tiles.aspect_range`: a crop of that shape
still holds every head) and prefers its own photo's shape; the layout tries every number of
rows (the tiles split into rows of about equal total aspect) and keeps the one that changes the
tiles' shapes least. A layout in which some tile would have to cut a face is not used.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

#: A cell: x, y, w, h in the collage's pixels.
Cell = tuple[int, int, int, int]
#: How much a tile may be stretched beyond its preferred shape before a layout counts it bad
#: (log of the aspect ratio, squared, is the cost); nothing stops it within its range.
_MAX_ROWS = 8


@dataclass(frozen=True)
class Shape:
    """What a tile can be: aspects (width / height) from `lo` to `hi`, best at `pref`."""

    lo: float
    hi: float
    pref: float


def layout(shapes: Sequence[Shape], width: int, height: int, gap: int) -> list[Cell] | None:
    """The cells, one per shape and in order, or None if no arrangement in rows lets every
    tile keep its faces whole."""
    n = len(shapes)
    if n == 0:
        return []
    best: tuple[float, list[Cell]] | None = None
    for rows in range(1, min(n, _MAX_ROWS) + 1):
        for split in _splits(shapes, rows):
            cells = _fit(shapes, split, width, height, gap)
            if cells is None:
                continue
            cost = _cost(shapes, cells)
            if best is None or cost < best[0]:
                best = (cost, cells)
    return best[1] if best else None


def _splits(shapes: Sequence[Shape], rows: int) -> list[list[int]]:
    """Ways of cutting the tiles into `rows` rows (each a count of tiles): about equal total
    preferred aspect per row, and the same moved one tile either way at each cut."""
    n = len(shapes)
    total = sum(s.pref for s in shapes)
    cuts, acc, k = [], 0.0, 1
    for i, s in enumerate(shapes):
        acc += s.pref
        if k < rows and acc >= total * k / rows and i + 1 < n:
            cuts.append(i + 1)
            k += 1
    while len(cuts) < rows - 1:  # too few tiles after the even cut: one per row at the end
        cuts.append((cuts[-1] if cuts else 0) + 1)
    candidates = {tuple(cuts)}
    for j in range(len(cuts)):
        for d in (-1, 1):
            moved = list(cuts)
            moved[j] += d
            candidates.add(tuple(moved))
    out = []
    for c in candidates:
        edges = [0, *c, n]
        counts = [b - a for a, b in itertools.pairwise(edges)]
        if all(x > 0 for x in counts):
            out.append(counts)
    return out


def _fit(
    shapes: Sequence[Shape], counts: list[int], width: int, height: int, gap: int
) -> list[Cell] | None:
    rows: list[list[Shape]] = []
    start = 0
    for c in counts:
        rows.append(list(shapes[start : start + c]))
        start += c
    inner_h = height - gap * (len(rows) + 1)
    if inner_h <= len(rows):
        return None
    spans = []  # per row: its content width, natural height and allowed heights
    for row in rows:
        inner_w = width - gap * (len(row) + 1)
        if inner_w <= len(row):
            return None
        spans.append(
            (
                inner_w,
                inner_w / sum(s.pref for s in row),
                inner_w / sum(s.hi for s in row),
                inner_w / sum(s.lo for s in row),
            )
        )
    heights = _share(inner_h, [(nat, lo, hi) for _, nat, lo, hi in spans])
    if heights is None:
        return None
    cells: list[Cell] = []
    y = float(gap)
    for row, (inner_w, *_), h in zip(rows, spans, heights, strict=True):
        widths = _share(inner_w, [(s.pref * h, s.lo * h, s.hi * h) for s in row])
        if widths is None:
            return None
        x = float(gap)
        top, bottom = round(y), round(y + h)
        for w in widths:
            cells.append((round(x), top, round(x + w) - round(x), bottom - top))
            x += w + gap
        y += h + gap
    return cells


def _share(total: float, parts: list[tuple[float, float, float]]) -> list[float] | None:
    """Sizes that add up to `total`: each `natural` size times one common factor, clamped to
    its [lo, hi]; None if the ranges cannot add up to `total`."""
    if sum(lo for _, lo, _ in parts) > total + 1e-6 or sum(hi for _, _, hi in parts) < total - 1e-6:
        return None

    def sizes(k: float) -> list[float]:
        return [min(hi, max(lo, nat * k)) for nat, lo, hi in parts]

    lo_k, hi_k = 1e-6, 1e6
    for _ in range(100):
        mid = math.sqrt(lo_k * hi_k)
        if sum(sizes(mid)) < total:
            lo_k = mid
        else:
            hi_k = mid
    out = sizes(math.sqrt(lo_k * hi_k))
    scale = total / sum(out)  # the last rounding: at most a pixel's fraction
    return [s * scale for s in out]


def _cost(shapes: Sequence[Shape], cells: list[Cell]) -> float:
    cost = 0.0
    for s, (_, _, w, h) in zip(shapes, cells, strict=True):
        cost += math.log((w / max(h, 1)) / s.pref) ** 2
    # Very unequal tiles look accidental: a tile under a quarter of the mean area costs too.
    areas = [w * h for *_, w, h in cells]
    mean = sum(areas) / len(areas)
    cost += sum(max(0.0, math.log(mean / max(a, 1) / 4)) for a in areas)
    return cost
