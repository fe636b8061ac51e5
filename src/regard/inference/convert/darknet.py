"""Darknet (cfg + weights) to ONNX, for the YOLO family's layer types, with numpy and onnx only.

OpenCV 5.0 no longer reads Darknet files, so the weights are converted once at set-up.

What the ONNX model computes: the network up to, not including, each `[yolo]` layer. Input
`input` is [1, 3, H, W] RGB scaled to 0..1 (Darknet's own input), H and W any multiple of the
network's total stride (32 for YOLOv3-tiny) — they are left symbolic, so one file serves 320 and
416. There is one output per `[yolo]` layer, named `yolo0`, `yolo1`, … in cfg order, holding
the raw [1, anchors*(5+classes), H/stride, W/stride] map that the `[yolo]` layer would read.
`YoloHead` records what decoding it needs (anchors, classes); `regard.inference.objects`
decodes exactly as Darknet's yolo layer does (logistic x, y, objectness and classes;
exp(w, h) times the anchor).

Layers: convolutional (batch_normalize, filters, size, stride, pad/padding, groups;
activation leaky, linear, relu, logistic), maxpool (size, stride, padding, Darknet's
asymmetric edge), route (layers), shortcut (from, activation linear), upsample (stride) and
yolo. Anything else is refused with the section's name and line, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from regard.errors import ConversionError
from regard.inference.convert.graph import Graph

#: Darknet's batch-norm epsilon (`normalize_cpu`: sqrt(variance + .000001f)).
BN_EPSILON = 1e-6
PRODUCER = "regard.inference.convert.darknet"


@dataclass(frozen=True, slots=True)
class Section:
    kind: str
    line: int
    options: dict[str, str]

    def text(self, key: str, default: str | None = None) -> str:
        if key in self.options:
            return self.options[key]
        if default is None:
            raise ConversionError(f"[{self.kind}] at line {self.line} has no {key}=")
        return default

    def number(self, key: str, default: int | None = None) -> int:
        return int(self.text(key, None if default is None else str(default)))

    def numbers(self, key: str) -> list[int]:
        return [int(v) for v in self.text(key).split(",") if v.strip()]


@dataclass(frozen=True, slots=True)
class YoloHead:
    output: str  # ONNX output name
    anchors: tuple[tuple[float, float], ...]  # (w, h) in input pixels at the cfg's size
    classes: int
    cfg_size: tuple[int, int]  # (width, height) of the cfg's [net]


@dataclass(frozen=True, slots=True)
class DarknetModel:
    onnx: bytes
    heads: tuple[YoloHead, ...]
    stride: int  # input sides must be multiples of this


def parse_cfg(text: str) -> list[Section]:
    sections: list[Section] = []
    current: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ConversionError(f"cfg line {number}: {raw.strip()!r} is not a [section]")
            current = {}
            sections.append(Section(line[1:-1].strip(), number, current))
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current[key.strip()] = value.strip()
        else:
            raise ConversionError(f"cfg line {number}: {raw.strip()!r} is not key=value")
    if not sections or sections[0].kind not in ("net", "network"):
        raise ConversionError("the cfg does not start with a [net] section")
    return sections


class _Weights:
    """Darknet's .weights: a header, then each layer's float32 arrays in layer order."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 16:
            raise ConversionError(f"the weights file is {len(data)} bytes, too short")
        major, minor, _revision = np.frombuffer(data[:12], "<i4")
        # From format 0.2 on, `seen` is a size_t (8 bytes); before, an int.
        header = 20 if (major * 10 + minor) >= 2 and major < 1000 and minor < 1000 else 16
        self._floats = np.frombuffer(data, "<f4", offset=header, count=(len(data) - header) // 4)
        self._pos = 0
        self._extra = (len(data) - header) % 4

    def take(self, count: int, what: str) -> npt.NDArray[np.float32]:
        if self._pos + count > self._floats.size:
            raise ConversionError(
                f"the weights file ends early: {what} needs {count} floats at float "
                f"{self._pos}, {self._floats.size - self._pos} are left (cfg and weights do not "
                "belong together)"
            )
        out = self._floats[self._pos : self._pos + count]
        self._pos += count
        return out

    def finish(self) -> None:
        left = self._floats.size - self._pos
        if left or self._extra:
            raise ConversionError(
                f"the weights file has {left * 4 + self._extra} bytes the cfg does not use "
                "(cfg and weights do not belong together)"
            )


def convert(cfg_text: str, weights: bytes) -> DarknetModel:
    """The ONNX model of `cfg_text` with `weights` (see the module docstring)."""
    sections = parse_cfg(cfg_text)
    net, layers = sections[0], sections[1:]
    cfg_size = (net.number("width"), net.number("height"))
    in_channels = net.number("channels", 3)
    graph = Graph("darknet")
    graph.inputs.append(("input", (1, in_channels, "height", "width")))
    data = _Weights(weights)
    yolo_inputs = {i - 1 for i, s in enumerate(layers) if s.kind == "yolo"}
    out_names: list[str] = []  # each layer's output tensor
    out_channels: list[int] = []
    strides: list[int] = []  # each layer's total stride relative to the input
    heads: list[YoloHead] = []
    current, current_c, stride = "input", in_channels, 1

    def name(i: int, kind: str) -> str:
        if i in yolo_inputs:
            return f"yolo{sorted(yolo_inputs).index(i)}"
        return f"layer{i}_{kind}"

    for i, sec in enumerate(layers):
        where = f"[{sec.kind}] at line {sec.line}"
        out = name(i, sec.kind)
        if sec.kind in ("convolutional", "conv"):
            current, current_c = _conv(graph, sec, data, current, current_c, out, where)
            stride *= sec.number("stride", 1)
        elif sec.kind in ("maxpool", "max"):
            size = sec.number("size", 1)
            step = sec.number("stride", 1)
            padding = sec.number("padding", size - 1)
            graph.add(
                "DarknetMaxPool",
                [current],
                [out],
                kernel=size,
                stride=step,
                padding=padding,
            )
            current = out
            stride *= step
        elif sec.kind == "route":
            picked = [j if j >= 0 else i + j for j in sec.numbers("layers")]
            if any(j < 0 or j >= i for j in picked) or set(sec.options) - {"layers"}:
                raise ConversionError(f"{where}: unsupported route {sec.options}")
            if len(picked) == 1:
                graph.add("Identity", [out_names[picked[0]]], [out])
            else:
                graph.add("Concat", [out_names[j] for j in picked], [out], axis=1)
            current, current_c = out, sum(out_channels[j] for j in picked)
            stride = strides[picked[0]]
        elif sec.kind == "shortcut":
            j = sec.number("from")
            j = j if j >= 0 else i + j
            if sec.text("activation", "linear") != "linear" or not 0 <= j < i:
                raise ConversionError(f"{where}: unsupported shortcut {sec.options}")
            graph.add("Add", [current, out_names[j]], [out])
            current = out
        elif sec.kind == "upsample":
            factor = sec.number("stride", 2)
            if float(sec.text("scale", "1")) != 1.0 or factor < 1:
                raise ConversionError(f"{where}: unsupported upsample {sec.options}")
            scales = graph.const(f"{out}/scales", [1, 1, factor, factor], np.float32)
            graph.add(
                "Resize",
                [current, "", scales],
                [out],
                mode="nearest",
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
            )
            current = out
            stride //= factor
        elif sec.kind in ("yolo", "region"):
            if sec.kind == "region" or i - 1 not in yolo_inputs:
                raise ConversionError(f"{where}: only [yolo] after a layer is supported")
            all_anchors = [float(v) for v in sec.text("anchors").split(",") if v.strip()]
            pairs = list(zip(all_anchors[::2], all_anchors[1::2], strict=True))
            mask = sec.numbers("mask") if "mask" in sec.options else list(range(len(pairs)))
            classes = sec.number("classes", 20)
            # YOLOv4's box variants change the decoding, which Regard does not implement.
            if float(sec.text("scale_x_y", "1")) != 1 or sec.number("new_coords", 0):
                raise ConversionError(f"{where}: scale_x_y / new_coords are not supported")
            if current_c != len(mask) * (5 + classes):
                raise ConversionError(
                    f"{where}: the layer before has {current_c} channels, the head needs "
                    f"{len(mask)} x (5 + {classes})"
                )
            heads.append(
                YoloHead(
                    output=out_names[i - 1],
                    anchors=tuple(pairs[m] for m in mask),
                    classes=classes,
                    cfg_size=cfg_size,
                )
            )
            out = out_names[i - 1]  # a yolo layer passes its input through
        else:
            raise ConversionError(f"{where}: Darknet layer type {sec.kind!r} is not supported")
        out_names.append(out)
        out_channels.append(current_c)
        strides.append(stride)
    data.finish()
    if not heads:
        raise ConversionError("the cfg has no [yolo] layer")
    graph.outputs.extend((h.output, (1, len(h.anchors) * (5 + h.classes), "h", "w")) for h in heads)
    _lower_maxpools(graph)
    graph.tidy()
    total_stride = max(strides)
    return DarknetModel(
        onnx=graph.to_bytes(PRODUCER, "Darknet network up to its [yolo] layers; input RGB 0..1"),
        heads=tuple(heads),
        stride=total_stride,
    )


def _conv(
    graph: Graph, sec: Section, data: _Weights, x: str, c_in: int, out: str, where: str
) -> tuple[str, int]:
    filters = sec.number("filters")
    size = sec.number("size", 1)
    stride = sec.number("stride", 1)
    groups = sec.number("groups", 1)
    pad = size // 2 if sec.number("pad", 0) else sec.number("padding", 0)
    bn = sec.number("batch_normalize", 0)
    activation = sec.text("activation", "logistic")
    if c_in % groups or filters % groups:
        raise ConversionError(f"{where}: {c_in} channels cannot be split into {groups} groups")
    # Darknet's order: biases, [scales, rolling mean, rolling variance], weights.
    bias = data.take(filters, f"{where} biases").astype(np.float64)
    weight_count = filters * (c_in // groups) * size * size
    if bn:
        scales = data.take(filters, f"{where} scales").astype(np.float64)
        mean = data.take(filters, f"{where} means").astype(np.float64)
        var = data.take(filters, f"{where} variances").astype(np.float64)
    w = data.take(weight_count, f"{where} weights").astype(np.float64)
    w = w.reshape(filters, c_in // groups, size, size)
    if bn:
        # y = scale * (conv - mean) / sqrt(var + eps) + bias, folded into the convolution.
        k = scales / np.sqrt(var + BN_EPSILON)
        w = w * k[:, None, None, None]
        bias = bias - mean * k
    w_name = graph.const(f"{out}/weight", w.astype(np.float32))
    b_name = graph.const(f"{out}/bias", bias.astype(np.float32))
    pre = out if activation == "linear" else f"{out}/conv"
    graph.add(
        "Conv",
        [x, w_name, b_name],
        [pre],
        kernel_shape=[size, size],
        strides=[stride, stride],
        pads=[pad, pad, pad, pad],
        group=groups,
    )
    if activation == "leaky":
        graph.add("LeakyRelu", [pre], [out], alpha=0.1)
    elif activation == "relu":
        graph.add("Relu", [pre], [out])
    elif activation == "logistic":
        graph.add("Sigmoid", [pre], [out])
    elif activation != "linear":
        raise ConversionError(f"{where}: activation {activation!r} is not supported")
    return out, filters


def _lower_maxpools(graph: Graph) -> None:
    """Darknet's maxpool gives (in + padding - size) // stride + 1 cells per side, its windows
    starting at -(padding // 2) and skipping cells outside the input. ONNX MaxPool with
    padding // 2 before and the rest after computes the same windows for any input size."""
    for node in graph.nodes:
        if node.op != "DarknetMaxPool":
            continue
        size, step, padding = node.int("kernel"), node.int("stride"), node.int("padding")
        node.attrs.clear()
        begin = padding // 2
        end = padding - begin
        node.op = "MaxPool"
        node.attrs.update(kernel_shape=[size, size], strides=[step, step])
        node.attrs["pads"] = [begin, begin, end, end]
