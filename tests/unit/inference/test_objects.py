"""Decoding, suppression and letterboxing of the object detectors, without the models."""

from __future__ import annotations

import numpy as np
import pytest

from regard.domain.objects import COCO80, KINDS, kind_of
from regard.inference.objects import Placement, decode_gfl, decode_yolo, letterbox, nms


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_gfl_decode_follows_upstream_nanodet_cell_by_cell():
    # gfl_head.py: centre ((col + 0.5) * stride, (row + 0.5) * stride); distances are the
    # softmax over 0..reg_max, projected onto 0..reg_max, times the stride; l, t, r, b.
    rng = np.random.default_rng(0)
    stride, size, reg_max = 16, 64, 10
    cells = (size // stride) ** 2
    cls = rng.random((cells, 80)).astype(np.float32) * 0.5
    cls[5, 15] = 0.9
    cls[11, 0] = 0.7
    reg = rng.normal(0, 2, (cells, 4 * (reg_max + 1))).astype(np.float32)
    boxes, scores, classes = decode_gfl(cls, reg, stride, size, reg_max, 0.6)
    assert sorted(zip(classes.tolist(), scores.tolist(), strict=False)) == [
        (0, pytest.approx(0.7)),
        (15, pytest.approx(0.9)),
    ]
    for box, cell in zip(boxes, [5, 11] if classes[0] == 15 else [11, 5], strict=True):
        row, col = divmod(cell, size // stride)
        cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
        d = [softmax(reg[cell, k * 11 : (k + 1) * 11]) @ np.arange(11) * stride for k in range(4)]
        want = np.clip([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], 0, size)
        np.testing.assert_allclose(box, want, rtol=1e-5, atol=1e-4)


def test_gfl_decode_with_nothing_above_the_threshold():
    boxes, scores, classes = decode_gfl(
        np.zeros((4, 80), np.float32), np.zeros((4, 44), np.float32), 32, 64, 10, 0.35
    )
    assert boxes.shape == (0, 4) and scores.shape == (0,) and classes.shape == (0,)


def test_yolo_decode_follows_darknet_cell_by_cell():
    # yolo_layer.c get_yolo_box: x = (col + sigmoid(tx)) / cols, w = exp(tw) * anchor_w /
    # net_w; objectness sigmoid(to); class probability sigmoid(to) * sigmoid(tc).
    rng = np.random.default_rng(1)
    anchors = ((10.0, 14.0), (23.0, 27.0), (37.0, 58.0))
    raw = rng.normal(-2, 1, (1, 3 * 85, 4, 5)).astype(np.float32)
    raw[0, 85 + 4, 2, 3] = 6.0  # anchor 1, row 2, col 3: confident
    raw[0, 85 + 5 : 170, 2, 3] = -4.0
    raw[0, 85 + 5 + 16, 2, 3] = 5.0  # ...that it is a dog
    boxes, scores, classes = decode_yolo(raw, anchors, 16, 0.9)
    assert classes.tolist() == [16]
    t = raw[0, 85:170, 2, 3].astype(np.float64)
    sig = 1 / (1 + np.exp(-t))
    assert scores[0] == pytest.approx(sig[4] * sig[5 + 16], rel=1e-6)
    cx, cy = (3 + sig[0]) * 16, (2 + sig[1]) * 16
    w, h = np.exp(t[2]) * 23, np.exp(t[3]) * 27
    np.testing.assert_allclose(
        boxes[0], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], rtol=1e-5
    )


def test_nms_suppresses_overlaps_within_a_class_only():
    boxes = np.array(
        [[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], dtype=np.float32
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    classes = np.array([0, 0, 15, 0])
    # Box 1 overlaps box 0 (IoU 0.68) in the same class; box 2 is the same place, another class.
    assert nms(boxes, scores, classes, 0.45) == [0, 2, 3]
    assert nms(boxes, scores, classes, 0.7) == [0, 1, 2, 3]
    assert nms(boxes[:0], scores[:0], classes[:0], 0.45) == []


def test_nms_keeps_classes_apart_when_boxes_reach_past_the_edges():
    # Boxes of a YOLO head may start left of the input; two classes must still never meet.
    boxes = np.array([[-60, -60, 40, 40], [-60, -60, 40, 40]], dtype=np.float32)
    scores = np.array([0.9, 0.8], dtype=np.float32)
    assert nms(boxes, scores, np.array([0, 1]), 0.1) == [0, 1]


def test_letterbox_keeps_the_aspect_and_centres_the_image():
    rgb = np.zeros((300, 600, 3), np.uint8)
    resized, place = letterbox(rgb, 416)
    assert resized.shape == (208, 416, 3)
    assert (place.offset_x, place.offset_y) == (0, 104)
    # A box around the whole resized image maps back to the whole image.
    back = place.to_image(np.array([[0, 104, 416, 312]], np.float32))
    np.testing.assert_allclose(back, [[0, 0, 600, 300]], atol=1e-3)


def test_boxes_are_clipped_to_the_image():
    place = Placement(0.5, 0.5, 0, 10, 200, 100)
    back = place.to_image(np.array([[-20, 0, 120, 80]], np.float32))
    np.testing.assert_allclose(back, [[0, 0, 200, 100]])


def test_kinds_cover_the_alert_classes():
    assert len(COCO80) == 80 and len(set(COCO80)) == 80
    assert set(KINDS) <= set(COCO80)
    assert [kind_of(n) for n in ("person", "cat", "dog", "bird", "car", "truck", "horse")] == [
        "person", "pet", "pet", "pet", "vehicle", "vehicle", "other",
    ]  # fmt: skip
