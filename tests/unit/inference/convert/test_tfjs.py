"""The TF.js converter on a small hand-made graph in NanoDet's style (NCHW input, NHWC
convolutions between transposes, SparseToDense shape plumbing), against TensorFlow's
semantics in numpy."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import cv2
import numpy as np
import onnx
import pytest

from regard.errors import ConversionError
from regard.inference.convert import tfjs
from tests.reference_ops import run_tfjs


class GraphBuilder:
    """Writes a tfjs graph model: model.json text plus one weight shard."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.weights: list[dict[str, Any]] = []
        self.blob = b""
        self.rng = np.random.default_rng(0)

    def const(self, name: str, value: Any, quant: str | None = None) -> str:
        arr = np.asarray(value)
        spec: dict[str, Any] = {"name": name, "shape": list(arr.shape)}
        if arr.dtype.kind in "iu":
            spec["dtype"] = "int32"
            self.blob += arr.astype("<i4").tobytes()
        elif quant == "uint8":
            lo, hi = float(arr.min()), float(arr.max())
            scale = (hi - lo) / 255
            spec.update(dtype="float32", quantization={"dtype": "uint8", "scale": scale, "min": lo})
            self.blob += np.round((arr - lo) / scale).astype(np.uint8).tobytes()
        else:
            spec.update(
                dtype="float32", quantization={"dtype": "float16", "original_dtype": "float32"}
            )
            self.blob += arr.astype("<f2").tobytes()
        self.weights.append(spec)
        self.nodes.append({"name": name, "op": "Const", "attr": {}})
        return name

    def random(self, name: str, shape: tuple[int, ...], quant: str | None = None) -> str:
        return self.const(name, self.rng.normal(0, 0.5, shape), quant)

    def op(self, op: str, name: str, inputs: list[str], **attr: Any) -> str:
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name

    def json(self, outputs: list[str], inputs: dict[str, list[int]]) -> bytes:
        for name, shape in inputs.items():
            dims = [{"size": str(d)} for d in shape]
            self.nodes.insert(0, {"name": name, "op": "Placeholder", "attr": {
                "shape": {"shape": {"dim": dims}}, "dtype": {"type": "DT_FLOAT"}}})  # fmt: skip
        # tfjs does not promise an order: the converter must sort (reverse it to make sure).
        doc = {
            "format": "graph-model",
            "modelTopology": {"node": self.nodes[::-1], "library": {}, "versions": {}},
            "signature": {"outputs": {f"{o}:0": {"name": f"{o}:0"} for o in outputs}},
            "weightsManifest": [{"paths": ["w.bin"], "weights": self.weights}],
        }
        return json.dumps(doc).encode()


def s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def ints(*values: int) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


NHWC = s("NHWC")
TO_NHWC, TO_NCHW = [0, 2, 3, 1], [0, 3, 1, 2]


def nanodet_like() -> tuple[bytes, dict[str, bytes]]:
    g = GraphBuilder()
    g.op("Pad", "pad0", ["input_1", g.const("pads0", [[0, 0], [0, 0], [1, 1], [1, 1]])])
    g.op("Transpose", "t0", ["pad0", g.const("perm0", TO_NHWC)])
    g.op("Conv2D", "conv0", ["t0", g.random("w0", (3, 3, 3, 8))], padding=s("VALID"),
         strides=ints(1, 2, 2, 1), data_format=NHWC, dilations=ints(1, 1, 1, 1))  # fmt: skip
    g.op("Add", "add0", ["conv0", g.random("b0", (8,))])
    g.op("Transpose", "t1", ["add0", g.const("perm1", TO_NCHW)])
    g.op("LeakyRelu", "lr0", ["t1"], alpha={"f": 0.1})
    g.op("PadV2", "padv2", ["lr0", g.const("pads1", [[0, 0], [0, 0], [1, 1], [1, 1]]),
         g.const("ninf", np.float32(-np.inf))])  # fmt: skip
    g.op("Transpose", "t2", ["padv2", g.const("perm2", TO_NHWC)])
    g.op("MaxPool", "mp", ["t2"], ksize=ints(1, 3, 3, 1), strides=ints(1, 2, 2, 1),
         padding=s("VALID"), data_format=NHWC)  # fmt: skip
    # SAME with stride 2 on an even size: TF pads the odd pixel at the end only.
    g.op("Conv2D", "conv1", ["mp", g.random("w1", (3, 3, 8, 8))], padding=s("SAME"),
         strides=ints(1, 2, 2, 1), data_format=NHWC)  # fmt: skip
    g.op("AddV2", "add1", ["conv1", g.random("b1", (8,))])
    g.op("ResizeBilinear", "up", ["add1", g.const("size4", [4, 4])],
         half_pixel_centers={"b": True}, align_corners={"b": False})  # fmt: skip
    g.op("ResizeBilinear", "up7", ["mp", g.const("size7", [7, 7])],
         align_corners={"b": True}, half_pixel_centers={"b": False})  # fmt: skip
    g.op("ConcatV2", "cat", ["up", "mp", g.const("axis", np.int32(-1))], N={"i": "2"})
    # A grouped, dilated convolution with explicit padding.
    g.op("Conv2D", "convg", ["cat", g.random("wg", (3, 3, 4, 8))], padding=s("EXPLICIT"),
         explicit_paddings=ints(0, 0, 2, 2, 2, 2, 0, 0), strides=ints(1, 1, 1, 1),
         dilations=ints(1, 2, 2, 1), data_format=NHWC)  # fmt: skip
    g.op("Conv2D", "conv2", ["cat", g.random("w2", (1, 1, 16, 6), quant="uint8")],
         padding=s("VALID"), strides=ints(1, 1, 1, 1), data_format=NHWC)  # fmt: skip
    g.op("SplitV", "split", ["conv2", g.const("sizes", [2, 4]), g.const("dim", np.int32(-1))],
         num_split={"i": "2"})  # fmt: skip
    g.op("Sigmoid", "sig", ["split"])
    # tfjs's shape plumbing: an empty SparseToDense plus a constant is the shape [1, 16, 2].
    g.op("SparseToDense", "std", [g.const("where", np.zeros((0, 1), np.int32)),
         g.const("dense_shape", [3]), g.const("gather", np.zeros(0, np.int32)),
         g.const("zero", np.int32(0))])  # fmt: skip
    g.op("AddV2", "shape", [g.const("base", [1, 16, 2]), "std"])
    g.op("Reshape", "r", ["sig", "shape"])
    g.op("Identity", "Identity", ["r"])
    g.op("Identity", "Identity_1", ["split:1"])
    g.op("Identity", "Identity_2", ["up7"])
    g.op("Identity", "Identity_3", ["convg"])
    outputs = ["Identity", "Identity_1", "Identity_2", "Identity_3"]
    return g.json(outputs, {"input_1": [1, 3, 16, 16]}), {"w.bin": g.blob}


def run_onnx(model: bytes, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    net = cv2.dnn.readNetFromONNX(np.frombuffer(model, np.uint8))
    for name, value in feeds.items():
        net.setInput(value.astype(np.float32), name)
    return [np.asarray(o) for o in net.forward(names)]


def test_the_converted_graph_computes_what_tensorflow_computes():
    model_json, shards = nanodet_like()
    x = np.random.default_rng(1).normal(0, 1, (1, 3, 16, 16))
    expected = run_tfjs(tfjs.load(model_json, shards), {"input_1": x})
    converted = tfjs.convert(model_json, shards)
    names = sorted(expected)
    for name, got in zip(names, run_onnx(converted, {"input_1": x}, names), strict=True):
        assert got.shape == expected[name].shape, name
        np.testing.assert_allclose(got, expected[name], rtol=1e-4, atol=1e-4, err_msg=name)


def test_layout_transposes_cancel_and_pads_move_into_the_convolutions():
    model = onnx.load_from_string(tfjs.convert(*nanodet_like()))
    ops = Counter(n.op_type for n in model.graph.node)
    # Left: the two transposes around the NHWC resizes/concat the graph really computes in.
    assert ops["Pad"] == 0 and ops["Add"] == 0
    assert ops["Conv"] == 4 and ops["MaxPool"] == 1
    assert [o.name for o in model.graph.output] == [
        "Identity",
        "Identity_1",
        "Identity_2",
        "Identity_3",
    ]
    first = model.graph.node[0]
    assert first.op_type == "Conv" and next(iter(first.input)) == "input_1"
    assert list(
        onnx.helper.get_attribute_value(a) for a in first.attribute if a.name == "pads"
    ) == [[1, 1, 1, 1]]


def test_weights_decode_from_float16_and_uint8():
    model_json, shards = nanodet_like()
    graph = tfjs.load(model_json, shards)
    w0 = np.random.default_rng(0).normal(0, 0.5, (3, 3, 3, 8))
    np.testing.assert_array_equal(graph.consts["w0"], w0.astype(np.float16).astype(np.float32))
    assert graph.consts["w2"].dtype == np.float32 and graph.consts["sizes"].dtype == np.int32
    assert graph.consts["ninf"].shape == () and graph.consts["ninf"] == -np.inf


def test_conversion_is_deterministic():
    model_json, shards = nanodet_like()
    assert tfjs.convert(model_json, shards) == tfjs.convert(model_json, shards)


def test_an_unsupported_op_is_refused_by_name():
    g = GraphBuilder()
    g.op("Softmax", "soft", ["input_1"])
    g.op("Identity", "Identity", ["soft"])
    with pytest.raises(ConversionError) as err:
        tfjs.convert(g.json(["Identity"], {"input_1": [1, 4]}), {"w.bin": b""})
    assert str(err.value) == "TF op Softmax ('soft') is not supported"


def test_shards_that_do_not_match_the_manifest_are_refused():
    model_json, shards = nanodet_like()
    with pytest.raises(ConversionError) as err:
        tfjs.load(model_json, {"w.bin": shards["w.bin"] + b"\0\0"})
    assert str(err.value) == (
        f"the weight shards ['w.bin'] hold {len(shards['w.bin']) + 2} bytes, the manifest "
        f"describes {len(shards['w.bin'])}"
    )
    with pytest.raises(ConversionError, match=r"^the weight shard 'w.bin' was not given$"):
        tfjs.load(model_json, {})
