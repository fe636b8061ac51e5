"""usearch's HNSW graph, made and loaded in one place.

Loading onnxruntime's library after usearch's crashes the process (a segmentation fault in
the import; usearch 2.26.6, onnxruntime 1.32.0), and a library's threshold searches build
their codes in onnxruntime: onnxruntime is loaded first, whoever opens a graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from usearch.index import Index


def usearch_index() -> type[Index]:
    """usearch's `Index`, with onnxruntime loaded before it (see the module docstring)."""
    import onnxruntime  # noqa: F401  (first)
    from usearch.index import Index

    return Index


def new_graph(
    dim: int, dtype: str, connectivity: int, expansion_add: int, expansion_search: int
) -> Any:
    return usearch_index()(
        ndim=dim,
        # usearch scales int8 vectors by their norms under "cos"; for unit vectors the
        # float32 scores (inner products) are the cosine similarities all the same.
        metric="cos" if dtype == "i8" else "ip",
        dtype=dtype,
        connectivity=connectivity,
        expansion_add=expansion_add,
        expansion_search=expansion_search,
    )
