"""ONNX files as Regard runs them through onnxruntime: block-quantised weights folded to
float32 once (at set-up, see `prepared`), with the formula their `DequantizeLinear` nodes
apply, and a CPU session set up as indexing wants it.

The shipped YuNet and SFace files store each weight as int8 and turn it back into float32 by
a `DequantizeLinear` node; `fold_constant_weights` does that once, ((q - zero point) x scale,
per block), so the network that runs is the one the file describes, with its float32 weights
as constants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import onnx


def _dequantized(
    q: npt.NDArray[Any],
    scale: npt.NDArray[Any],
    zero: npt.NDArray[Any] | None,
    axis: int,
    block: int,
) -> npt.NDArray[np.float32]:
    """What `DequantizeLinear` (opset 21) computes for constant inputs."""
    if zero is None:
        zero = np.zeros_like(scale, dtype=q.dtype)
    # (q - z) is a small integer, exact in float32 either way round: subtracting after the
    # conversion gives the bits the int32 subtraction would, without int32 copies.
    if scale.size == 1:  # per tensor
        s, z = scale.reshape(()), zero.astype(np.float32).reshape(())
    else:
        ax = axis % q.ndim
        if block:  # per block of `block` values along `ax`: each block against its own
            last = np.moveaxis(q, ax, -1)
            size, blocks = last.shape[-1], scale.shape[ax]
            padded = np.zeros((*last.shape[:-1], blocks * block), dtype=np.float32)
            padded[..., :size] = last
            grouped = padded.reshape(*last.shape[:-1], blocks, block)
            zs = np.moveaxis(zero, ax, -1)[..., None].astype(np.float32)
            grouped -= zs
            grouped *= np.moveaxis(scale, ax, -1)[..., None].astype(np.float32)
            return np.ascontiguousarray(np.moveaxis(padded[..., :size], -1, ax))
        # per channel along `ax`
        shape = [1] * q.ndim
        shape[ax] = -1
        s, z = scale.reshape(shape), zero.astype(np.float32).reshape(shape)
    return np.asarray((q.astype(np.float32) - z) * s, dtype=np.float32)


def fold_constant_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every `DequantizeLinear` (and `Reshape`) of constants computed once into a
    float32 constant, and the graph inputs nothing reads dropped."""
    import onnx  # only preparing a model needs onnx (see `prepared`)
    from onnx import helper, numpy_helper

    const: dict[str, npt.NDArray[Any]] = {
        i.name: numpy_helper.to_array(i) for i in model.graph.initializer
    }
    kept = []
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and all(x in const for x in node.input if x):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            zero = const[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            const[node.output[0]] = _dequantized(
                const[node.input[0]],
                const[node.input[1]],
                zero,
                int(attrs.get("axis", 1)),
                int(attrs.get("block_size", 0)),
            )
        elif node.op_type == "Reshape" and all(x in const for x in node.input):
            const[node.output[0]] = const[node.input[0]].reshape(const[node.input[1]])
        else:
            kept.append(node)
    read = {x for node in kept for x in node.input}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    del out.graph.initializer[:]
    out.graph.initializer.extend(
        numpy_helper.from_array(v, name) for name, v in const.items() if name in read
    )
    inputs = [i for i in model.graph.input if i.name in read and i.name not in const]
    del out.graph.input[:]
    out.graph.input.extend(inputs)
    return out


def prepared_from(shipped: bytes, edit: Callable[[onnx.ModelProto], None]) -> bytes:
    """A shipped file's bytes as they are run: its weights folded (`fold_constant_weights`),
    then `edit`ed in place (what each model needs besides)."""
    import onnx

    model = fold_constant_weights(onnx.load_from_string(shipped))
    edit(model)
    return bytes(model.SerializeToString())


def cpu_session(model: bytes, threads: int = 0) -> Any:
    """An onnxruntime CPU session of `model`: one thread, as OpenCV's (indexing workers set
    one; the parallelism is theirs), unless told; never spinning, which burns a core that
    others wait for."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or max(1, cv2.getNumThreads())
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
