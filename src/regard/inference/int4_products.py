"""Dot products of one query with many rows of 4-bit codes, by onnxruntime's `MatMulNBits`.

The rows are block-quantised to 4 bits (one float32 scale a block of `BLOCK` dimensions);
the query is put on an int8 grid of its own (one scale a block, `QUERY_LEVELS` steps each
side). With `accuracy_level=4`, MLAS quantises the query to exactly that grid (its own
scale, max|a| / 127, gives back the grid's integers) and multiplies int8 by int4 with VNNI
where the CPU has it: the product of a grid query with a row is then its integer dot product
times the two scales, to float32 rounding. `storage.bounded_scan` relies on that to bound the
error of every product, checks it on every set of rows it builds (against numpy, on a probe
query) and scans exactly any set that fails the check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

BLOCK = 128  # dimensions a scale (block_size): 128 reads a quarter less than 32 (~25 % faster
# at a million faces), for a looser bound (||x - x~|| 0.12 against 0.10 on average)
QUERY_LEVELS = 127  # MLAS's int8 grid for the query: max|a| / 127 a step
CODE_LEVELS = 7  # 4-bit codes -7..7 (symmetric; MatMulNBits' zero point is 8)

Matrix = npt.NDArray[np.float32]


def padded_dim(dim: int) -> int:
    return -(-dim // BLOCK) * BLOCK


def quantised(rows: Matrix, dim: int) -> tuple[npt.NDArray[np.uint8], Matrix, Matrix]:
    """4-bit codes of `rows` (n x dim, zero-padded to whole blocks): the packed bytes
    (n, blocks, BLOCK / 2), the scales (n, blocks), and the dequantised rows (n, padded)."""
    k = padded_dim(dim)
    n = len(rows)
    x = np.zeros((n, k), dtype=np.float32)
    x[:, :dim] = rows
    xb = x.reshape(n, k // BLOCK, BLOCK)
    scale = (np.abs(xb).max(axis=2) / CODE_LEVELS).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
    code = np.clip(np.rint(xb / safe[..., None]), -CODE_LEVELS, CODE_LEVELS).astype(np.int8)
    nibble = (code + 8).astype(np.uint8)
    packed = (nibble[..., 0::2] | (nibble[..., 1::2] << 4)).astype(np.uint8)
    dequantised = (code.astype(np.float32) * scale[..., None]).reshape(n, k)
    return np.ascontiguousarray(packed), scale, dequantised


def query_grid(query: npt.NDArray[np.float32], dim: int) -> Matrix:
    """`query` (zero-padded to whole blocks) rounded to MLAS's int8 grid, block by block."""
    k = padded_dim(dim)
    q = np.zeros(k, dtype=np.float32)
    q[:dim] = query
    qb = q.reshape(-1, BLOCK)
    step = (np.abs(qb).max(axis=1, keepdims=True) / QUERY_LEVELS).astype(np.float32)
    safe = np.where(step > 0, step, 1.0).astype(np.float32)
    grid: Matrix = (np.rint(qb / safe) * step).astype(np.float32).reshape(k)
    return grid


class Int4Products:
    """The products of a (grid) query with a fixed set of 4-bit rows (plus a fixed `bias` a
    row, if given), on one thread."""

    def __init__(
        self, packed: npt.NDArray[np.uint8], scales: Matrix, dim: int, bias: Matrix | None = None
    ) -> None:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper  # only when codes are built

        self.rows = len(packed)
        self.k = padded_dim(dim)
        inputs, weights = (
            ["A", "B", "S"],
            [
                numpy_helper.from_array(packed, "B"),
                numpy_helper.from_array(np.ascontiguousarray(scales.reshape(-1)), "S"),
            ],
        )
        if bias is not None:  # MatMulNBits' sixth input: added to each product as it is written
            inputs += ["", "", "bias"]
            weights.append(numpy_helper.from_array(np.ascontiguousarray(bias, np.float32), "bias"))
        node = helper.make_node(
            "MatMulNBits",
            inputs,
            ["Y"],
            domain="com.microsoft",
            K=self.k,
            N=self.rows,
            bits=4,
            block_size=BLOCK,
            accuracy_level=4,
        )
        graph = helper.make_graph(
            [node],
            "int4_products",
            [helper.make_tensor_value_info("A", TensorProto.FLOAT, [1, self.k])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, self.rows])],
            initializer=weights,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
        )
        model.ir_version = 8
        options = ort.SessionOptions()
        # One core a query (the caller's); never spinning, which burns a core others wait for.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session: Any = ort.InferenceSession(
            model.SerializeToString(),
            options,
            providers=["CPUExecutionProvider"],
        )

    def __call__(self, grid: Matrix) -> Matrix:
        """The products of a grid query (`query_grid`) with every row (plus its bias)."""
        out = self._session.run(None, {"A": grid.reshape(1, self.k)})[0]
        return np.asarray(out, dtype=np.float32).reshape(self.rows)
