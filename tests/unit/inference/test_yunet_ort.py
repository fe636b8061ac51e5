"""YuNet through onnxruntime: weights folded as DequantizeLinear computes them (the same
detections as OpenCV's: tests/integration/test_yunet_ort_real.py)."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from regard.inference.onnx_models import fold_constant_weights


def _block_quantised_conv() -> onnx.ModelProto:
    rng = np.random.default_rng(3)
    q = rng.integers(-128, 128, (4, 6, 1, 1), dtype=np.int8)
    scale = rng.uniform(0.01, 0.1, (4, 2, 1, 1)).astype(np.float32)  # blocks of 3 channels
    zero = rng.integers(-3, 3, (4, 2, 1, 1), dtype=np.int8)
    nodes = [
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=1, block_size=3),
        helper.make_node("Conv", ["x", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 5, 5]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 6, 1, 1]),  # unread
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(a, n) for a, n in ((q, "q"), (scale, "s"), (zero, "z"))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def test_folded_weights_are_what_dequantize_linear_computes() -> None:
    model = _block_quantised_conv()
    folded = fold_constant_weights(model)
    assert [n.op_type for n in folded.graph.node] == ["Conv"]
    assert [i.name for i in folded.graph.input] == ["x"]  # the unread "w" input is dropped
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    q, s, z = init["q"].astype(np.float32), init["s"], init["z"].astype(np.float32)
    # By the operator's definition: channel c of the input axis uses block c // 3.
    want = np.empty_like(q)
    for c in range(6):
        want[:, c] = (q[:, c] - z[:, c // 3]) * s[:, c // 3]
    (weight,) = folded.graph.initializer
    assert weight.name == "w"
    np.testing.assert_array_equal(numpy_helper.to_array(weight), want)
