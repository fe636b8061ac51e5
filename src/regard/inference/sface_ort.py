"""SFace run by onnxruntime: the same network and weights as through OpenCV, the same vectors
(within 2.1e-6), in 1.34x less CPU time (bench/sface_runtimes.py measures it).

As for YuNet, the file's int8 block-quantised weights are folded to float32 with the formula
its `DequantizeLinear` nodes apply (`onnx_models`), once, at set-up (`prepared`). One more
step: onnxruntime runs `PRelu` with a per-channel slope slowly (two thirds of SFace's time went
to its 27 `PRelu`s, which is why SFace was slower here than in OpenCV), so each is written as
the same arithmetic in operators it runs fast: PRelu(x) = Relu(x) + slope x Min(x, 0) — for
x >= 0, x + slope x 0; for x < 0, 0 + slope x x: the very products `PRelu` takes, nothing
rounded differently.
The batch dimension is made free; faces are still run one at a time (a batch of 8 took longer
a face on this machine's caches).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from regard.inference.onnx_models import cpu_session, prepared_from
from regard.inference.prepared import PreparedModel, prepared_bytes
from regard.inference.registry import SFACE
from regard.inference.sessions import SFaceEmbedder, unit_rows

if TYPE_CHECKING:
    import onnx

_ZERO = "regard_prelu_zero"


def prepare(shipped: bytes) -> bytes:
    """The shipped file's bytes as they are run: weights folded, `PRelu`s rewritten, the
    batch dimension free."""
    return prepared_from(shipped, _as_run)


def _as_run(model: onnx.ModelProto) -> None:
    rewritten = prelu_as_elementwise(model)
    _free_batch(rewritten)
    model.CopyFrom(rewritten)


SFACE_PREPARED = PreparedModel(
    source=SFACE,
    resource="sface-2021dec-int8bq.prepared.onnx",
    sha256="45764cee37e302819e82f8460ce75838200212eaf086f71e7d6d0dc9f4210140",
    prepare=prepare,
)


def prelu_as_elementwise(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every `PRelu(x, slope)` replaced by `Relu(x) + slope x Min(x, 0)`."""
    import onnx
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    nodes: list[onnx.NodeProto] = []
    changed = False
    for node in model.graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        changed = True
        x, slope = node.input
        y = node.output[0]
        nodes += [
            helper.make_node("Relu", [x], [f"{y}.positive"]),
            helper.make_node("Min", [x, _ZERO], [f"{y}.negative"]),
            helper.make_node("Mul", [f"{y}.negative", slope], [f"{y}.sloped"]),
            helper.make_node("Add", [f"{y}.positive", f"{y}.sloped"], [y]),
        ]
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    if changed:
        out.graph.initializer.append(numpy_helper.from_array(np.zeros(1, np.float32), _ZERO))
    return out


def _free_batch(model: onnx.ModelProto) -> None:
    for value in (model.graph.input[0], model.graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "faces"


class SFaceOrtEmbedder:
    """SFace (the int8 block-quantised file, weights folded to float32) via onnxruntime; the
    aligned crops, template and vectors are `SFaceEmbedder`'s."""

    spec = SFACE
    input_size = SFaceEmbedder.input_size
    template = SFaceEmbedder.template

    def __init__(self, threads: int = 0) -> None:
        self._session = cpu_session(prepared_bytes(SFACE_PREPARED), threads)
        self._input = self._session.get_inputs()[0].name

    def twin(self) -> SFaceOrtEmbedder:
        """The embedder for another thread: this one (a session may be run by several
        threads at once, and `embed` keeps nothing between calls)."""
        return self

    def embed(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """L2-normalised vectors of aligned `input_size` RGB crops (N, H, W, 3)."""
        out = np.zeros((len(crops), self.spec.dim), dtype=np.float32)
        for i, crop in enumerate(crops):
            blob = np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.float32)
            out[i] = np.asarray(self._session.run(None, {self._input: blob})[0]).reshape(-1)
        return unit_rows(out)
