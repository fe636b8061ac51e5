"""The HTTP API documents every answer: each route that answers in JSON names the shape of
its answer, field by field, in /openapi.json (the library's typed results are the routes'
response models)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regard.engine import EngineConfig
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.testing import FakeModels


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    lib = Path(tmp_path_factory.mktemp("schema")) / "lib"
    host = EngineHost(lib, EngineConfig(workers=0), models=FakeModels())
    try:
        yield create_app(host).openapi()
    finally:
        host.close()


def answers(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, the JSON schema of its success) for each /api route answering JSON."""
    out = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if not path.startswith("/api/"):
                continue
            ok = next(r for code, r in op["responses"].items() if code.startswith("2"))
            content = ok.get("content", {})
            # Images and zips are files, not JSON answers.
            if any(kind != "application/json" for kind in content):
                continue
            out.append((method.upper(), path, content["application/json"]["schema"]))
    return out


def named(schema: dict[str, Any], shape: dict[str, Any]) -> bool:
    """Whether `shape` says what is in the answer: a named model, a list of them, or a map of
    typed values; not an object of anything."""
    if "$ref" in shape:
        ref = shape["$ref"].rsplit("/", 1)[1]
        return bool(schema["components"]["schemas"][ref].get("properties"))
    if shape.get("type") == "array":
        return named(schema, shape.get("items", {}))
    if shape.get("type") == "object":
        if shape.get("properties"):
            return True
        values = shape.get("additionalProperties")
        return isinstance(values, dict) and bool(values)
    return False


def test_the_walk_finds_the_json_routes(schema: dict[str, Any]) -> None:
    found = {(m, p) for m, p, _ in answers(schema)}
    assert len(found) >= 40, sorted(found)
    assert ("GET", "/api/status") in found and ("POST", "/api/search/face") in found
    assert ("GET", "/api/photos/{photo_id}/image") not in found  # a JPEG


def test_every_json_answer_is_documented_field_by_field(schema: dict[str, Any]) -> None:
    untyped = [f"{m} {p}: {shape}" for m, p, shape in answers(schema) if not named(schema, shape)]
    assert untyped == [], "\n".join(untyped)


def test_a_reshaped_answer_is_documented_by_its_json_form(schema: dict[str, Any]) -> None:
    """A search answer's fields are not its JSON's: the documentation shows the JSON."""
    models = schema["components"]["schemas"]
    search = next(
        shape for m, p, shape in answers(schema) if (m, p) == ("POST", "/api/search/face")
    )
    shown = models[search["$ref"].rsplit("/", 1)[1]] if "$ref" in search else search
    shown = shown["properties"]
    assert {"probe", "threshold", "photos", "matches"} <= set(shown)
    assert "probe_path" not in shown
