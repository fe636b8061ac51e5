"""The collage layout and the crops: every tile inside the collage, none overlapping, each
cell's shape one its faces allow; a crop holds what it must."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from regard.pipeline.recap_layout import Shape, layout
from regard.pipeline.recap_tiles import aspect_range, fit_crop, zoomed

sizes = st.tuples(st.integers(40, 6000), st.integers(40, 6000))


@st.composite
def photo_and_faces(draw: st.DrawFn) -> tuple[tuple[int, int], tuple[float, float, float, float]]:
    w, h = draw(sizes)
    x0 = draw(st.floats(0, w - 1))
    y0 = draw(st.floats(0, h - 1))
    x1 = draw(st.floats(x0, w))
    y1 = draw(st.floats(y0, h))
    return (w, h), (x0, y0, x1, y1)


@settings(deadline=None)
@given(photo_and_faces(), st.floats(0.2, 5.0))
def test_a_crop_of_an_allowed_shape_holds_the_faces(
    case: tuple[tuple[int, int], tuple[float, float, float, float]], aspect: float
) -> None:
    size, must = case
    lo, hi = aspect_range(size, must)
    crop = fit_crop(size, aspect, must, ((must[0] + must[2]) / 2, (must[1] + must[3]) / 2))
    if lo * 1.001 <= aspect <= hi / 1.001:
        assert crop is not None
    if crop is None:
        return
    eps = 1e-6 * max(size)
    assert crop[0] >= -eps and crop[1] >= -eps
    assert crop[2] <= size[0] + eps and crop[3] <= size[1] + eps
    assert crop[0] <= must[0] + eps and crop[1] <= must[1] + eps
    assert crop[2] >= must[2] - eps and crop[3] >= must[3] - eps
    assert abs((crop[2] - crop[0]) / (crop[3] - crop[1]) - aspect) < 1e-6 * aspect
    near = zoomed(crop, 1.12, must, (must[0], must[1]))
    assert near[0] >= crop[0] - eps and near[2] <= crop[2] + eps
    assert near[0] <= must[0] + eps and near[2] >= must[2] - eps
    assert near[1] <= must[1] + eps and near[3] >= must[3] - eps


shapes = st.lists(
    st.tuples(st.floats(0.2, 3.0), st.floats(1.0, 4.0), st.floats(0.0, 1.0)).map(
        lambda t: Shape(t[0], t[0] * t[1], t[0] * t[1] ** t[2])
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(200, 3000), st.integers(200, 3000))
def test_cells_fill_the_collage_without_overlap_in_shapes_they_allow(
    tiles: list[Shape], width: int, height: int
) -> None:
    cells = layout(tiles, width, height, 6)
    if cells is None:
        return
    assert len(cells) == len(tiles)
    for (x, y, w, h), shape in zip(cells, tiles, strict=True):
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        assert w > 0 and h > 0
        # Rounding to whole pixels moves an aspect by a pixel's worth at most.
        slack = 1 / min(w, h) * 2.5
        assert shape.lo * (1 - slack) <= w / h <= shape.hi * (1 + slack)
    for i, a in enumerate(cells):
        for b in cells[i + 1 :]:
            apart = (
                a[0] + a[2] <= b[0]
                or b[0] + b[2] <= a[0]
                or a[1] + a[3] <= b[1]
                or b[1] + b[3] <= a[1]
            )
            assert apart, (a, b)


def test_photos_of_ordinary_shapes_always_find_a_layout() -> None:
    photo = Shape(0.3, 6.0, 4 / 3)
    portrait = Shape(0.3, 6.0, 3 / 4)
    for n in range(1, 25):
        tiles = [photo if i % 3 else portrait for i in range(n)]
        assert layout(tiles, 2048, 1536, 8) is not None, n


def test_faces_spread_across_a_panorama_keep_it_wide() -> None:
    wide = Shape(3.5, 4.0, 3.8)
    cells = layout([wide, Shape(0.3, 6, 1.5), Shape(0.3, 6, 1.5)], 2048, 1536, 8)
    assert cells is not None
    _, _, w, h = cells[0]
    assert w / h >= 3.5 * 0.99
