"""Plain numpy implementations of the layers the converters translate, written from each
framework's own definition (Darknet's C, TensorFlow's kernels), to check the converted ONNX
models against. Slow and simple on purpose: loops over kernel taps, no cleverness."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from regard.inference.convert.tfjs import TfjsGraph, TfNode


def conv_nchw(x, w, bias=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """x [N, C, H, W], w [O, C/groups, kh, kw], pads (top, left, bottom, right)."""
    n, _c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pads[1] + pads[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow), dtype=np.float64)
    og = o // groups
    for g in range(groups):
        xs = xp[:, g * cg : (g + 1) * cg].astype(np.float64)
        ws = w[g * og : (g + 1) * og].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                y0, x0 = i * dilation[0], j * dilation[1]
                patch = xs[:, :, y0 : y0 + stride[0] * (oh - 1) + 1 : stride[0],
                           x0 : x0 + stride[1] * (ow - 1) + 1 : stride[1]]  # fmt: skip
                out[:, g * og : (g + 1) * og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64).reshape(1, -1, 1, 1)
    return out


def maxpool_nchw(x, size, stride, pads):
    """Max over windows; cells outside the input never win. pads (top, left, bottom, right)."""
    xp = np.pad(
        x.astype(np.float64),
        ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])),
        constant_values=-np.inf,
    )
    h, w = xp.shape[2:]
    oh, ow = (h - size[0]) // stride[0] + 1, (w - size[1]) // stride[1] + 1
    out = np.full((*x.shape[:2], oh, ow), -np.inf)
    for i in range(size[0]):
        for j in range(size[1]):
            out = np.maximum(
                out,
                xp[
                    :,
                    :,
                    i : i + stride[0] * (oh - 1) + 1 : stride[0],
                    j : j + stride[1] * (ow - 1) + 1 : stride[1],
                ],
            )
    return out


def leaky(x, alpha):
    return np.where(x > 0, x, x * alpha)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --- Darknet ---------------------------------------------------------------------------------


def darknet_forward(cfg_text: str, weights: bytes, x: np.ndarray) -> dict[int, np.ndarray]:
    """Each [yolo] layer's input, by layer index, as Darknet computes it (forward_*_layer)."""
    from regard.inference.convert.darknet import parse_cfg

    sections = parse_cfg(cfg_text)
    major, minor = np.frombuffer(weights[:8], "<i4")
    header = 20 if major * 10 + minor >= 2 else 16
    floats = np.frombuffer(weights, "<f4", offset=header)
    pos = 0

    def take(count):
        nonlocal pos
        out = floats[pos : pos + count].astype(np.float64)
        pos += count
        return out

    outs: list[np.ndarray] = []
    heads = {}
    cur = x.astype(np.float64)
    for i, s in enumerate(sections[1:]):
        o = s.options
        if s.kind == "convolutional":
            f, k = int(o["filters"]), int(o.get("size", 1))
            st, groups = int(o.get("stride", 1)), int(o.get("groups", 1))
            pad = k // 2 if int(o.get("pad", 0)) else int(o.get("padding", 0))
            c = cur.shape[1]
            bias = take(f)
            bn = int(o.get("batch_normalize", 0))
            if bn:
                scale, mean, var = take(f), take(f), take(f)
            w = take(f * c // groups * k * k).reshape(f, c // groups, k, k)
            y = conv_nchw(cur, w, None, (st, st), (pad,) * 4, (1, 1), groups)
            if bn:
                y = (y - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-6)
                y = y * scale[None, :, None, None]
            y = y + bias[None, :, None, None]
            act = o.get("activation", "logistic")
            cur = leaky(y, 0.1) if act == "leaky" else y if act == "linear" else sigmoid(y)
        elif s.kind == "maxpool":
            size = int(o.get("size", 1))
            st = int(o.get("stride", 1))
            padding = int(o.get("padding", size - 1))
            n, c, h, w = cur.shape
            oh, ow = (h + padding - size) // st + 1, (w + padding - size) // st + 1
            off = -(padding // 2)
            y = np.full((n, c, oh, ow), -np.inf)
            for r in range(oh):
                for q in range(ow):
                    for di in range(size):
                        for dj in range(size):
                            yy, xx = off + r * st + di, off + q * st + dj
                            if 0 <= yy < h and 0 <= xx < w:
                                y[:, :, r, q] = np.maximum(y[:, :, r, q], cur[:, :, yy, xx])
            cur = y
        elif s.kind == "route":
            idx = [int(v) if int(v) >= 0 else i + int(v) for v in o["layers"].split(",")]
            cur = np.concatenate([outs[j] for j in idx], axis=1)
        elif s.kind == "upsample":
            st = int(o.get("stride", 2))
            cur = cur.repeat(st, axis=2).repeat(st, axis=3)
        elif s.kind == "yolo":
            heads[i] = cur
        outs.append(cur)
    assert pos == floats.size, "weights not used up"
    return heads


# --- TensorFlow -------------------------------------------------------------------------------


def tf_resize_bilinear(x, size, align_corners, half_pixel_centers):
    """tf.raw_ops.ResizeBilinear on NHWC, as image_resizer_state.h / resize_bilinear_op.cc."""
    _n, h, w, _c = x.shape
    oh, ow = size

    def weights(out_size, in_size):
        if align_corners and out_size > 1:
            scale = (in_size - 1) / (out_size - 1)
        else:
            scale = in_size / out_size
        pos = np.arange(out_size, dtype=np.float64)
        src = (pos + 0.5) * scale - 0.5 if half_pixel_centers else pos * scale
        lower = np.floor(src)
        lerp = src - lower
        lo = np.clip(lower, 0, in_size - 1).astype(int)
        hi = np.minimum(np.ceil(src), in_size - 1).astype(int)
        hi = np.maximum(hi, 0)
        return lo, hi, lerp

    ylo, yhi, ly = weights(oh, h)
    xlo, xhi, lx = weights(ow, w)
    x = x.astype(np.float64)
    top = (
        x[:, ylo][:, :, xlo] * (1 - lx)[None, None, :, None]
        + x[:, ylo][:, :, xhi] * lx[None, None, :, None]
    )
    bottom = (
        x[:, yhi][:, :, xlo] * (1 - lx)[None, None, :, None]
        + x[:, yhi][:, :, xhi] * lx[None, None, :, None]
    )
    return top * (1 - ly)[None, :, None, None] + bottom * ly[None, :, None, None]


def _tf_pads(padding, size, kernel, strides, dilations, explicit, nhwc):
    if padding == "VALID":
        return (0, 0, 0, 0)
    if padding == "EXPLICIT":
        e = explicit[2:6] if nhwc else explicit[4:8]
        return (e[0], e[2], e[1], e[3])
    pads = []
    for n, k, s, d in zip(size, kernel, strides, dilations, strict=True):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return (pads[0][0], pads[1][0], pads[0][1], pads[1][1])


def run_tfjs(model: TfjsGraph, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Evaluate a TF.js graph with TensorFlow's semantics for each op."""
    values: dict[str, Any] = {k: np.asarray(v) for k, v in model.consts.items()}
    values.update({k: np.asarray(v, dtype=np.float64) for k, v in feeds.items()})
    pending = list(model.nodes)

    def ref(name: str) -> str:
        base, _, idx = name.partition(":")
        return base if idx in ("", "0") else f"{base}:{idx}"

    while pending:
        progressed = False
        for node in list(pending):
            ins = [ref(i) for i in node.inputs if not i.startswith("^")]
            if node.op in ("Const", "Placeholder") or all(i in values for i in ins):
                if node.op not in ("Const", "Placeholder"):
                    _run_node(node, [values[i] for i in ins], values)
                pending.remove(node)
                progressed = True
        assert progressed, "graph has unresolved inputs"
    return {o: values[o] for o in model.outputs}


def _run_node(node: TfNode, v: Sequence[Any], values: dict[str, Any]) -> None:
    op, name = node.op, node.name
    nhwc = node.attr("data_format", "NHWC") == "NHWC"
    if op == "SparseToDense":
        idx, shape, vals, default = v
        out = np.full([int(d) for d in shape], default, dtype=np.asarray(vals).dtype)
        idx = np.asarray(idx).reshape(-1, len(shape)) if np.asarray(idx).size else []
        for k, row in enumerate(idx):
            out[tuple(row)] = np.broadcast_to(vals, (len(idx),))[k]
        values[name] = out
    elif op in ("Add", "AddV2"):
        values[name] = np.add(v[0], v[1])
    elif op == "Sub":
        values[name] = np.subtract(v[0], v[1])
    elif op == "Mul":
        values[name] = np.multiply(v[0], v[1])
    elif op in ("Pad", "PadV2"):
        cval = float(v[2]) if op == "PadV2" else 0.0
        values[name] = np.pad(v[0], np.asarray(v[1]).reshape(-1, 2), constant_values=cval)
    elif op == "Transpose":
        values[name] = np.transpose(v[0], [int(p) for p in v[1]])
    elif op == "Reshape":
        values[name] = np.reshape(v[0], [int(d) for d in v[1]])
    elif op == "Identity":
        values[name] = v[0]
    elif op == "LeakyRelu":
        values[name] = leaky(v[0], node.attr("alpha", 0.2))
    elif op == "Sigmoid":
        values[name] = sigmoid(v[0])
    elif op == "ConcatV2":
        values[name] = np.concatenate(v[:-1], axis=int(v[-1]))
    elif op == "SplitV":
        sizes = [int(s) for s in v[1]]
        parts = np.split(v[0], np.cumsum(sizes)[:-1], axis=int(v[2]))
        for k, part in enumerate(parts):
            values[name if k == 0 else f"{name}:{k}"] = part
    elif op in ("Conv2D", "MaxPool"):
        x = np.transpose(v[0], (0, 3, 1, 2)) if nhwc else v[0]
        four = (
            (lambda key: [node.attr(key, [1] * 4)[1], node.attr(key, [1] * 4)[2]])
            if nhwc
            else (lambda key: [node.attr(key, [1] * 4)[2], node.attr(key, [1] * 4)[3]])
        )
        strides = four("strides")
        if op == "Conv2D":
            filt = np.asarray(v[1], dtype=np.float64)  # HWIO
            kernel = list(filt.shape[:2])
            dil = four("dilations")
        else:
            kernel, dil = four("ksize"), [1, 1]
        pads = _tf_pads(
            node.attr("padding"), x.shape[2:], kernel, strides, dil,
            node.attr("explicit_paddings", []), nhwc,
        )  # fmt: skip
        if op == "Conv2D":
            groups = x.shape[1] // filt.shape[2]
            y = conv_nchw(x, filt.transpose(3, 2, 0, 1), None, strides, pads, dil, groups)
        else:
            y = maxpool_nchw(x, kernel, strides, pads)
        values[name] = np.transpose(y, (0, 2, 3, 1)) if nhwc else y
    elif op == "ResizeBilinear":
        values[name] = tf_resize_bilinear(
            v[0], [int(s) for s in v[1]], node.attr("align_corners", False),
            node.attr("half_pixel_centers", False),
        )  # fmt: skip
    else:
        raise NotImplementedError(op)
