"""Rectangles merged by a rule of the caller's: overlapping for redaction, near for gating."""

from regard.domain.face import merge_rects


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_chain_of_overlaps_becomes_one_rectangle_and_the_rest_stay_as_they_were():
    rects = [(0, 0, 10, 10), (50, 50, 60, 60), (8, 8, 20, 20), (18, 0, 30, 9)]
    assert merge_rects(rects, overlap) == [(0, 0, 30, 20), (50, 50, 60, 60)]


def test_touching_is_not_overlapping_unless_the_rule_says_so():
    rects = [(0, 0, 10, 10), (10, 0, 20, 10)]
    assert merge_rects(rects, overlap) == rects
    assert merge_rects(rects, lambda a, b: a[2] >= b[0] and b[2] >= a[0]) == [(0, 0, 20, 10)]
