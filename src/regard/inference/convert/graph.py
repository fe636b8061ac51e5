"""A small graph of ONNX nodes that the converters build, tidy and serialise deterministically.

Both converters (Darknet and TF.js) emit plain ONNX operators into a `Graph`; `Graph.tidy()`
removes the transpose pairs that layout conversion leaves behind and folds a convolution's
bias add into the convolution, and `Graph.to_bytes()` writes the model with everything that
could vary between runs fixed (IR version, opset, producer, node and initialiser order), so
the same inputs always give the same bytes and their sha256 can be pinned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

#: The ONNX operator set and IR version every converted model declares. Opset 13 is what
#: OpenCV 5.0's importer and onnxruntime both read fully; 8 is the IR version of that era.
OPSET = 13
IR_VERSION = 8

Attr = int | float | str | list[int] | list[float]
Shape = tuple[int | str, ...]


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Attr] = field(default_factory=dict)

    def ints(self, key: str, default: list[int] | None = None) -> list[int]:
        value = self.attrs.get(key, default)
        if not isinstance(value, list):
            raise TypeError(f"{self.op} attribute {key} is {value!r}, not a list")
        return [int(v) for v in value]

    def int(self, key: str) -> int:
        value = self.attrs[key]
        if not isinstance(value, int):
            raise TypeError(f"{self.op} attribute {key} is {value!r}, not an int")
        return value


@dataclass
class Graph:
    """Nodes in execution order, constant tensors, and the named inputs and outputs."""

    name: str
    nodes: list[Node] = field(default_factory=list)
    consts: dict[str, npt.NDArray[np.generic]] = field(default_factory=dict)
    inputs: list[tuple[str, Shape]] = field(default_factory=list)
    outputs: list[tuple[str, Shape]] = field(default_factory=list)
    _serial: int = 0

    def const(self, name: str, value: npt.ArrayLike, dtype: npt.DTypeLike | None = None) -> str:
        """A constant tensor under a unique name derived from `name`."""
        arr = np.array(value, dtype=dtype, order="C")  # a copy; 0-d stays 0-d
        unique = self.unique(name)
        self.consts[unique] = arr
        return unique

    def unique(self, name: str) -> str:
        taken = {o for n in self.nodes for o in n.outputs} | set(self.consts)
        taken |= {i for i, _ in self.inputs}
        if name not in taken:
            return name
        while True:
            self._serial += 1
            candidate = f"{name}__{self._serial}"
            if candidate not in taken:
                return candidate

    def add(self, op: str, inputs: Sequence[str], outputs: Sequence[str], **attrs: Attr) -> Node:
        node = Node(op, list(inputs), list(outputs), dict(attrs))
        self.nodes.append(node)
        return node

    # --- tidying ---------------------------------------------------------------------------

    def tidy(self) -> None:
        """Exact rewrites only (no numerical change beyond float rounding of a bias add):
        fold Conv -> Transpose -> Add(bias) into the Conv, merge chains of transposes, drop
        identity transposes, move a zero Pad into the Conv after it (and a -inf Pad into the
        MaxPool after it), and drop whatever no output needs any more."""
        changed = True
        while changed:
            changed = self._fold_conv_bias() | self._merge_transposes() | self._fold_pads()
            self._drop_unused()

    def _consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                users.setdefault(name, []).append(node)
        return users

    def _producer(self) -> dict[str, Node]:
        return {o: n for n in self.nodes for o in n.outputs}

    def _is_output(self, name: str) -> bool:
        return any(name == o for o, _ in self.outputs)

    def _fold_conv_bias(self) -> bool:
        """Conv(x) [-> Transpose] -> Add(c), with `c` a constant holding one value per output
        channel on the channel axis, becomes one Conv with bias `c` [-> the same Transpose]."""
        users = self._consumers()
        made = self._producer()
        for add in self.nodes:
            if add.op != "Add":
                continue
            for data, bias in ((add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])):
                tail = made.get(data)
                if bias not in self.consts or tail is None or len(users[data]) != 1:
                    continue
                if self._is_output(data):
                    continue
                conv, axis = tail, 1
                if tail.op == "Transpose":
                    perm = tail.ints("perm")
                    conv, axis = made.get(tail.inputs[0], tail), perm.index(1)
                    if conv is tail or len(users[conv.outputs[0]]) != 1:
                        continue
                    if self._is_output(conv.outputs[0]):
                        continue
                weight = self.consts.get(conv.inputs[1]) if conv.op == "Conv" else None
                if weight is None:
                    continue
                c = self.consts[bias]
                channels, after = weight.shape[0], 3 - axis
                if (
                    c.ndim < after + 1
                    or list(c.shape) != [1] * (c.ndim - after - 1) + [channels] + [1] * after
                ):
                    continue
                total = c.reshape(channels).astype(np.float32)
                if len(conv.inputs) > 2:
                    total = self.consts[conv.inputs[2]].astype(np.float32) + total
                    conv.inputs[2] = self.const(f"{conv.inputs[2]}+", total)
                else:
                    conv.inputs.append(self.const(f"{conv.inputs[1]}/bias", total))
                tail.outputs[0] = add.outputs[0]
                self.nodes.remove(add)
                return True
        return False

    def _merge_transposes(self) -> bool:
        """Transpose(Transpose(x, a), b) is Transpose(x, a∘b); an identity one is dropped."""
        made = self._producer()
        for node in self.nodes:
            if node.op != "Transpose":
                continue
            perm = node.ints("perm")
            if perm == sorted(perm) and not self._is_output(node.outputs[0]):
                self.nodes.remove(node)
                for other in self.nodes:
                    other.inputs = [
                        node.inputs[0] if i == node.outputs[0] else i for i in other.inputs
                    ]
                return True
            src = made.get(node.inputs[0])
            if src is not None and src.op == "Transpose":
                inner = src.ints("perm")
                node.attrs["perm"] = [inner[p] for p in perm]
                node.inputs[0] = src.inputs[0]
                return True
        return False

    def _fold_pads(self) -> bool:
        """Pad(x, spatial only, 0) -> Conv is Conv with larger pads; Pad(-inf) -> MaxPool
        likewise (a max never picks a -inf cell)."""
        users = self._consumers()
        made = self._producer()
        for node in self.nodes:
            if node.op not in ("Conv", "MaxPool") or node.inputs[0] not in made:
                continue
            pad = made[node.inputs[0]]
            if pad.op != "Pad" or pad.attrs.get("mode", "constant") != "constant":
                continue
            if len(users[pad.outputs[0]]) != 1 or pad.inputs[1] not in self.consts:
                continue
            amounts = [int(v) for v in self.consts[pad.inputs[1]]]
            value = float(self.consts[pad.inputs[2]]) if len(pad.inputs) > 2 else 0.0
            wanted = 0.0 if node.op == "Conv" else -np.inf
            if len(amounts) != 8 or any(amounts[i] for i in (0, 1, 4, 5)) or min(amounts) < 0:
                continue
            if value != wanted:
                continue
            old = node.ints("pads", [0, 0, 0, 0])
            extra = [amounts[2], amounts[3], amounts[6], amounts[7]]
            pads = [a + b for a, b in zip(old, extra, strict=True)]
            if node.op == "MaxPool" and max(pads) >= min(node.ints("kernel_shape")):
                continue  # ONNX wants a pool's pads smaller than its window
            node.attrs["pads"] = pads
            node.inputs[0] = pad.inputs[0]
            return True
        return False

    def _drop_unused(self) -> None:
        needed = {o for o, _ in self.outputs}
        kept: list[Node] = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.outputs):
                kept.append(node)
                needed.update(i for i in node.inputs if i)
        self.nodes = kept[::-1]
        self.consts = {k: v for k, v in self.consts.items() if k in needed}

    # --- serialising -----------------------------------------------------------------------

    def to_bytes(self, producer: str, doc: str = "") -> bytes:
        """The ONNX model, byte-for-byte the same for the same graph."""
        import onnx  # only the converters need onnx; the run-time detectors never import it
        from onnx import helper, numpy_helper

        def value_info(name: str, shape: Shape) -> onnx.ValueInfoProto:
            return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, list(shape))

        nodes = []
        for i, n in enumerate(self.nodes):
            node = helper.make_node(n.op, n.inputs, n.outputs, name=f"{n.op}_{i}")
            node.attribute.extend(helper.make_attribute(k, v) for k, v in sorted(n.attrs.items()))
            nodes.append(node)
        used = {i for n in self.nodes for i in n.inputs}
        inits = [numpy_helper.from_array(v, k) for k, v in self.consts.items() if k in used]
        graph = helper.make_graph(
            nodes,
            self.name,
            [value_info(n, s) for n, s in self.inputs],
            [value_info(n, s) for n, s in self.outputs],
            initializer=inits,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name=producer,
            producer_version="1",
            doc_string=doc,
        )
        onnx.checker.check_model(model)
        return bytes(model.SerializeToString())
