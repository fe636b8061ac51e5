"""The shape of the code, checked: arrows point one way, skins stay thin, modules stay small.

The floors, lowest first; a module imports its own floor and the floors below it, never above:

    errors, files, atomic, logs          the ground: no library imports but each other
    domain                               pure data and rules
    inference                            the only place models run
    pipeline, storage                    one job each: decode, detect, ...; the catalog and vectors
    jobs, privacy                        ingest and workers; consent, opt-out, erasure, audit
    context                              the references a service is handed
    services                             search, people, export, anonymise, uploads, ...
    engine                               the library API
    regard (the package), testing, sample
    interfaces                           the skins: cli, http

Skins (interfaces/*) import from the library only its public face: `regard`, `regard.engine`,
`regard.errors` and `regard.domain` (and the skins' own modules).

The rules are checked on a tree of made-up modules first, so a checker that sees nothing cannot
pass the real tree by accident.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 600

FLOORS = {
    "errors": 0,
    "files": 0,
    "atomic": 0,
    "logs": 0,
    "collector": 0,
    "domain": 1,
    "inference": 2,
    "pipeline": 3,
    "storage": 3,
    "jobs": 4,
    "cameras": 4,
    "privacy": 4,
    "context": 5,
    "services": 6,
    "engine": 7,
    "": 8,  # the package itself: regard/__init__.py
    "testing": 8,
    "testing_objects": 8,
    "sample": 8,
    "interfaces": 9,
    "__main__": 10,
}
PUBLIC_FACE = ("regard", "regard.engine", "regard.errors", "regard.domain")


def sources(root: Path = SRC) -> dict[str, str]:
    """Module name -> source text, for every module of the package."""
    out = {}
    for path in sorted((root / "regard").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        out[name] = path.read_text()
    return out


def imports(tree: Mapping[str, str]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at any depth of its body: an import inside
    a function is still an arrow)."""
    edges: dict[str, set[str]] = defaultdict(set)
    packages = {m.rsplit(".", 1)[0] for m in tree if "." in m}
    for module, text in tree.items():
        package = module if module in packages else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(text)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = parts[: len(parts) - node.level + 1]
                    name = ".".join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ""
                # `from regard.storage import catalog` is an arrow to the module it names.
                targets = [
                    f"{name}.{a.name}" if f"{name}.{a.name}" in tree else name for a in node.names
                ]
            for target in targets:
                while target not in tree and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in tree and target != module:
                    edges[module].add(target)
    return edges


def floor_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def upward(edges: Mapping[str, set[str]]) -> list[str]:
    return sorted(
        f"{a} -> {b}"
        for a, targets in edges.items()
        for b in targets
        if FLOORS[floor_of(b)] > FLOORS[floor_of(a)]
    )


def past_the_face(edges: Mapping[str, set[str]]) -> list[str]:
    """Skin modules importing library modules other than the public face."""
    out = []
    for a, targets in edges.items():
        if floor_of(a) != "interfaces":
            continue
        for b in targets:
            public = b in PUBLIC_FACE or b.startswith("regard.domain.")
            # A skin may use another (the CLI's `serve` starts the web server).
            if not public and floor_of(b) != "interfaces":
                out.append(f"{a} -> {b}")
    return sorted(out)


def too_long(tree: Mapping[str, str]) -> list[str]:
    return sorted(
        f"{m}: {n} lines" for m, text in tree.items() if (n := len(text.splitlines())) > MAX_LINES
    )


# --- the checker, on a made-up tree that breaks every rule ------------------------------------

BROKEN = {
    "regard": "",
    "regard.errors": "",
    "regard.domain": "",
    "regard.domain.face": "from regard.storage.catalog import Catalog\n",  # upward
    "regard.storage": "",
    "regard.storage.catalog": "from regard.domain import face\n",
    "regard.pipeline": "",
    "regard.pipeline.a": "from . import b\n",  # a cycle through a relative import
    "regard.pipeline.b": "def f():\n    from regard.pipeline.a import x\n",
    "regard.engine": "",
    "regard.interfaces": "",
    "regard.interfaces.cli": "",
    "regard.interfaces.cli.app": (
        "from regard.engine import Engine\nfrom regard.storage import catalog\n"
    ),
    "regard.interfaces.cli.render": "from regard.domain.face import Box\nfrom .app import x\n",
    "regard.interfaces.http": "",
    "regard.interfaces.http.api": "from regard.jobs import pool\n" + "x = 1\n" * 601,
    "regard.jobs": "",
    "regard.jobs.pool": "",
}


def test_the_checker_sees_each_kind_of_break():
    edges = imports(BROKEN)
    assert cycles(edges) == [
        ["regard.domain.face", "regard.storage.catalog"],
        ["regard.pipeline.a", "regard.pipeline.b"],
    ]
    assert upward(edges) == ["regard.domain.face -> regard.storage.catalog"]
    assert past_the_face(edges) == [
        "regard.interfaces.cli.app -> regard.storage.catalog",
        "regard.interfaces.http.api -> regard.jobs.pool",
    ]
    assert too_long(BROKEN) == ["regard.interfaces.http.api: 602 lines"]


# --- the real tree -----------------------------------------------------------------------------

TREE = sources()
EDGES = imports(TREE)


def test_the_walk_sees_the_tree():
    assert len(TREE) > 80 and sum(len(t) for t in EDGES.values()) > 200
    assert "regard.engine" in EDGES["regard.interfaces.cli.common"]


def test_every_module_has_a_floor():
    assert {m for m in TREE if floor_of(m) not in FLOORS} == set()


def test_no_import_cycle():
    assert cycles(EDGES) == []


def test_no_arrow_points_up():
    assert upward(EDGES) == []


def test_skins_import_only_the_public_face():
    assert past_the_face(EDGES) == []


def test_no_module_over_600_lines():
    assert too_long(TREE) == [], "split these by what their parts do"
