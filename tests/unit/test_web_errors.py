"""Errors speak to web users of pages and buttons, never of commands to type.

Every error the HTTP API can send carries the words a web user reads (`web_text`): the error's
own message, or its web wording where the message names a command. Two walks check them all:
every error class of the tree, built with sample values; and every place in the library (not
the command line) where an error is raised with a message of its own.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import regard
from regard.errors import ImageError, RegardError

SRC = Path(regard.__file__).resolve().parent
#: What only a command line user can act on: a command in backticks, an option, the program's
#: name as typed, or the HTTP API's field for a face (a web user clicks the face instead).
COMMAND_WORDS = re.compile(r"`|--|\bregard |face_index")
#: Not reached from the web app, or owned elsewhere (and why).
NOT_WEB = {
    "interfaces/cli",  # the command line itself
    "sample.py",  # builds the demo sample for scripts/setup
    "inference/convert",  # converts the object models at set-up (`python -m ...convert`)
    "jobs/ray_pool.py",  # `regard index --ray` only: the web app indexes uploads locally
    "domain/cluster.py",  # the --ray address and --workers, options of `regard index`
}
#: The setup page's token message names the command its reader typed to start the server;
#: the setup-token work (issue 9, section 1) owns that message and its wording.
OWNED_ELSEWHERE = {("services/accounts.py", "The setup token is wrong")}


def all_error_classes() -> list[type[RegardError]]:
    for info in pkgutil.walk_packages([str(SRC)], prefix="regard."):
        if not info.name.startswith(("regard.interfaces.cli", "regard.__main__")):
            importlib.import_module(info.name)
    seen: list[type[RegardError]] = []
    todo: list[type[RegardError]] = [RegardError]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return seen


class _Face:
    def as_dict(self) -> dict[str, Any]:
        return {}


def sample(name: str, annotation: Any) -> Any:
    text = str(annotation)
    if name == "faces":
        return [_Face(), _Face()]
    if name in {"path", "photo"} or "Path" in text:
        return Path("/photos/holiday.jpg")
    if "int" in text and "str" not in text:
        return 2
    if "Iterable" in text or "Sequence" in text:
        return ["DateTimeOriginal"]
    return "Grandma"


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_speaks_web(cls: type[RegardError]) -> None:
    init = cls.__init__
    if init in (Exception.__init__, RegardError.__init__):
        return  # its message is given where it is raised: the walk below checks those
    params = list(inspect.signature(init).parameters.values())[1:]
    args = [sample(p.name, p.annotation) for p in params if p.default is inspect.Parameter.empty]
    args = [a for a, p in zip(args, params, strict=False) if p.kind is p.POSITIONAL_OR_KEYWORD]
    exc = cls(*args)
    text = exc.web_message or str(exc)  # what the HTTP API sends (app.py)
    assert not COMMAND_WORDS.search(text), f"{cls.__name__}: {text}"


def literal(node: ast.AST | None) -> str:
    """The text written in a string expression (constants, f-string parts, + and ( ))."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(literal(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return "{}"
    if isinstance(node, ast.BinOp):
        return literal(node.left) + literal(node.right)
    if isinstance(node, ast.IfExp):
        return literal(node.body) + " " + literal(node.orelse)
    return ""


def raise_sites() -> list[tuple[str, int, str, ast.Call, ast.AST]]:
    """(file, line, error class, the call, the function it is in) for every error built
    with a message outside the command line."""
    names = {c.__name__: c for c in all_error_classes()}
    sites: dict[tuple[str, int], tuple[str, int, str, ast.Call, ast.AST]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if any(rel.startswith(skip) for skip in NOT_WEB):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for scope in ast.walk(tree):
            if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                continue
            for node in ast.walk(scope):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in names and (node.args or node.keywords):
                    # Scopes come outermost first: the function a call is in has the last word.
                    sites[(rel, node.col_offset * 100000 + node.lineno)] = (
                        rel,
                        node.lineno,
                        name,
                        node,
                        scope,
                    )
    return list(sites.values())


def web_words_of(call: ast.Call, scope: ast.AST, cls: type[RegardError]) -> tuple[str, str] | None:
    """(what a CLI user reads, what a web user reads) where the call's words differ."""
    keywords = {k.arg: k.value for k in call.keywords}
    if issubclass(cls, ImageError):
        advice = call.args[2] if len(call.args) > 2 else keywords.get("advice")
        if "web_advice" in keywords:
            return literal(advice), literal(keywords["web_advice"])
        return literal(advice), literal(advice)
    message = literal(call.args[0]) if call.args else ""
    if "web" in keywords:
        return message, literal(keywords["web"])
    # Or: err = SomeError(...); err.web_message = "..." in the same function.
    for node in ast.walk(scope):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr == "web_message"
        ):
            holder = node.targets[0].value
            for assign in ast.walk(scope):
                if (
                    isinstance(assign, ast.Assign)
                    and assign.value is call
                    and isinstance(holder, ast.Name)
                    and any(isinstance(t, ast.Name) and t.id == holder.id for t in assign.targets)
                ):
                    return message, literal(node.value)
    return message, message


def test_every_raised_message_speaks_web() -> None:
    classes = {c.__name__: c for c in all_error_classes()}
    problems = []
    checked = 0
    for rel, line, name, call, scope in raise_sites():
        words = web_words_of(call, scope, classes[name])
        if words is None:
            continue
        cli, web = words
        checked += 1
        if any(rel == f and cli.startswith(start) for f, start in OWNED_ELSEWHERE):
            continue
        if COMMAND_WORDS.search(web):
            problems.append(f"{rel}:{line} {name}: {web!r}")
    assert checked > 60, f"only {checked} raise sites found: is the walk still working?"
    assert problems == [], "\n".join(problems)
