"""PRelu written as Relu + slope x Min(x, 0) computes what PRelu computes, bit for bit."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from onnx import TensorProto, helper, numpy_helper

from regard.inference.sface_ort import prelu_as_elementwise

# onnxruntime flushes subnormals to zero in the process, so none are drawn.
FLOATS = st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_subnormal=False)


def _prelu_model(slope: np.ndarray) -> onnx.ModelProto:
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
            helper.make_node("PRelu", ["c", "slope"], ["y"]),
        ],
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 3, 5])],
        [
            numpy_helper.from_array(np.eye(4, dtype=np.float32).reshape(4, 4, 1, 1), "w"),
            numpy_helper.from_array(slope.reshape(4, 1, 1), "slope"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


@settings(max_examples=40, deadline=None)
@given(
    x=arrays(np.float32, (1, 4, 3, 5), elements=FLOATS),
    slope=arrays(np.float32, (4,), elements=st.floats(-2, 2, width=32, allow_subnormal=False)),
)
def test_the_rewritten_prelu_is_prelu(x, slope) -> None:
    model = _prelu_model(slope)
    rewritten = prelu_as_elementwise(model)
    assert "PRelu" not in {n.op_type for n in rewritten.graph.node}
    assert [n.op_type for n in model.graph.node] == ["Conv", "PRelu"]  # the input is kept
    want, got = _run(model, x), _run(rewritten, x)
    assert np.array_equal(got, want)  # values; +0 and -0 are equal, as they compute alike


def test_a_model_without_prelu_is_unchanged() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph)
    assert prelu_as_elementwise(model) == model
