"""The Darknet converter on small hand-made networks, against Darknet's semantics in numpy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from regard.errors import ConversionError
from regard.inference.convert import darknet
from tests.reference_ops import darknet_forward

TINY_CFG = textwrap.dedent(
    """\
    [net]
    # a comment
    width=32
    height=32
    channels=3

    [convolutional]
    batch_normalize=1
    filters=4
    size=3
    stride=1
    pad=1
    activation=leaky

    [maxpool]
    size=2
    stride=2

    [convolutional]
    batch_normalize=1
    filters=8
    size=3
    stride=1
    pad=1
    activation=leaky

    [maxpool]
    size=2
    stride=1

    [convolutional]
    filters=18
    size=1
    stride=1
    pad=1
    activation=linear

    [yolo]
    mask = 3,4,5
    anchors = 2,3, 4,5, 6,7, 8,9, 10,11, 12,13
    classes=1
    num=6

    [route]
    layers = -4

    [upsample]
    stride=2

    [route]
    layers = -1, 0

    [convolutional]
    batch_normalize=1
    filters=12
    size=3
    stride=1
    pad=1
    groups=2
    activation=leaky

    [convolutional]
    filters=18
    size=1
    stride=1
    pad=1
    activation=linear

    [yolo]
    mask = 0,1,2
    anchors = 2,3, 4,5, 6,7, 8,9, 10,11, 12,13
    classes=1
    num=6
    """
)

#: floats per layer of TINY_CFG, in Darknet's order (bias, [bn scale, mean, var], weights)
TINY_FLOATS = (
    (4 * 4 + 4 * 3 * 9)  # conv 3->4, bn
    + (8 * 4 + 8 * 4 * 9)  # conv 4->8, bn
    + (18 + 18 * 8)  # conv 8->18 1x1
    + (12 * 4 + 12 * 6 * 9)  # conv 12->12 in 2 groups, bn
    + (18 + 18 * 12)  # conv 12->18 1x1
)


def tiny_weights(seed: int = 0, minor: int = 2, floats: int = TINY_FLOATS) -> bytes:
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 0.5, floats).astype("<f4")
    # Variances must be positive: every BN layer's variance block gets |value| + 0.5.
    pos = 0
    for filters, c_in, k, bn in (
        (4, 3, 3, 1),
        (8, 4, 3, 1),
        (18, 8, 1, 0),
        (12, 6, 3, 1),
        (18, 12, 1, 0),
    ):
        pos += filters
        if bn:
            values[pos + 2 * filters : pos + 3 * filters] = (
                np.abs(values[pos + 2 * filters : pos + 3 * filters]) + 0.5
            )
            pos += 3 * filters
        pos += filters * c_in * k * k
    assert pos == floats or floats != TINY_FLOATS
    seen = np.array([0], "<i8").tobytes() if minor >= 2 else np.array([0], "<i4").tobytes()
    return np.array([0, minor, 0], "<i4").tobytes() + seen + values.tobytes()


def run_onnx(model: bytes, x: np.ndarray, names: list[str]) -> list[np.ndarray]:
    net = cv2.dnn.readNetFromONNX(np.frombuffer(model, np.uint8))
    net.setInput(x.astype(np.float32), "input")
    return [np.asarray(o) for o in net.forward(names)]


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("minor", [1, 2])
def test_the_converted_network_computes_what_darknet_computes(size, minor):
    weights = tiny_weights(minor=minor)
    model = darknet.convert(TINY_CFG, weights)
    x = np.random.default_rng(1).random((1, 3, size, size))
    expected = darknet_forward(TINY_CFG, weights, x)
    got = run_onnx(model.onnx, x, ["yolo0", "yolo1"])
    for (index, want), have in zip(sorted(expected.items()), got, strict=True):
        assert have.shape == want.shape, index
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-4)


def test_the_heads_carry_what_decoding_needs():
    model = darknet.convert(TINY_CFG, tiny_weights())
    assert [h.output for h in model.heads] == ["yolo0", "yolo1"]
    assert model.heads[0].anchors == ((8, 9), (10, 11), (12, 13))
    assert model.heads[1].anchors == ((2, 3), (4, 5), (6, 7))
    assert {h.classes for h in model.heads} == {1}
    assert model.stride == 2


def test_conversion_is_deterministic_across_processes():
    weights = tiny_weights()
    here = darknet.convert(TINY_CFG, weights).onnx
    assert darknet.convert(TINY_CFG, weights).onnx == here
    # Another interpreter with another hash seed (dict and set order) makes the same bytes.
    code = (
        "import sys; from regard.inference.convert import darknet; "
        "sys.stdout.buffer.write(darknet.convert(sys.argv[1], sys.stdin.buffer.read()).onnx)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", code, TINY_CFG], input=weights, capture_output=True, env=env,
        check=True,
    ).stdout  # fmt: skip
    assert other == here


def test_weights_that_run_out_are_refused():
    short = tiny_weights(floats=TINY_FLOATS)[:-40]
    with pytest.raises(ConversionError) as err:
        darknet.convert(TINY_CFG, short)
    assert str(err.value) == (
        "the weights file ends early: [convolutional] at line 62 weights needs 216 floats at "
        "float 1320, 206 are left (cfg and weights do not belong together)"
    )


def test_weights_left_over_are_refused():
    with pytest.raises(ConversionError) as err:
        darknet.convert(TINY_CFG, tiny_weights() + b"\0" * 8)
    assert str(err.value) == (
        "the weights file has 8 bytes the cfg does not use (cfg and weights do not belong together)"
    )


def test_an_unknown_layer_is_refused_by_name_and_line():
    cfg = TINY_CFG.replace("[upsample]", "[dropout]")
    with pytest.raises(ConversionError) as err:
        darknet.convert(cfg, tiny_weights())
    assert str(err.value) == "[dropout] at line 47: Darknet layer type 'dropout' is not supported"


def test_a_cfg_without_net_section_is_refused():
    with pytest.raises(ConversionError, match=r"^the cfg does not start with a \[net\] section$"):
        darknet.parse_cfg("[convolutional]\nfilters=1\n")
