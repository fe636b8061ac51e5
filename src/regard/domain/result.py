"""`Result`: the base of the library's typed answers.

Each answer is a frozen dataclass whose fields are the keys of its JSON form, in order;
`as_dict()` gives that form (what `--json` prints and the HTTP API sends). An answer whose
JSON form leaves a key out, or rounds, says so in its own `as_dict()`.

Answers also read as read-only mappings of their JSON form (`answer["faces"]`,
`dict(answer)`, `answer == {...}`): the library's answers were plain dicts before they were
typed, and code written against them keeps working. New code reads the attributes.

For FastAPI, an answer is a response model like any dataclass, sent as its `as_dict()`. Its
fields document the route in `/openapi.json`; an answer whose JSON form is shaped otherwise
names a dataclass of that shape as its `json_form`, which documents it instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar


def plain(value: Any) -> Any:
    """`value` with every answer in it (at any depth) in its JSON form."""
    if isinstance(value, Result):
        return value.as_dict()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def vars_of(answer: Result) -> dict[str, Any]:
    """The fields of `answer` as they are (to build a larger answer from a smaller one)."""
    return {
        f.name: getattr(answer, f.name)
        for f in dataclasses.fields(answer)  # type: ignore[arg-type]  # answers are dataclasses
    }


class Result(Mapping[str, Any]):
    """Subclasses are `@dataclass(frozen=True, slots=True, eq=False)`: equality is the
    mapping's (an answer equals a dict of the same JSON form)."""

    __slots__ = ()

    #: A dataclass with the fields of the JSON form, if they are not the answer's own.
    json_form: ClassVar[type | None] = None

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]  # subclasses are dataclasses
        }

    # --- read as a mapping of the JSON form ---------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    def __or__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.as_dict(), **other}

    # --- as a FastAPI response model ----------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """The dataclass's own schema (fields, for validation and the documentation), sent
        as `as_dict()`."""
        from pydantic_core import core_schema

        sent = core_schema.plain_serializer_function_ser_schema(plain)
        if cls.json_form is None:
            return {**handler(source), "serialization": sent}
        # Only an answer itself is one (its fields are not its JSON form's).
        return core_schema.json_or_python_schema(
            json_schema=handler.generate_schema(cls.json_form),
            python_schema=core_schema.is_instance_schema(cls),
            serialization=sent,
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
        # Documented by its fields, not by the serialiser (which would say "any").
        return handler({k: v for k, v in schema.items() if k != "serialization"})
