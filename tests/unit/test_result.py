"""The library's typed answers: their JSON form, their mapping view, and FastAPI's use."""

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from regard.domain.people import PersonCorrected, PersonInfo
from regard.domain.result import Result
from regard.domain.search import PersonSearch


@dataclass(frozen=True, slots=True, eq=False)
class Inner(Result):
    score: float


@dataclass(frozen=True, slots=True, eq=False)
class Outer(Result):
    name: str
    inner: list[Inner]
    extra: dict[str, Any]


def info(**kw: Any) -> PersonInfo:
    fields: dict[str, Any] = dict(
        person="P2", id=2, name=None, confirmed=True, faces=4, photos=3, cover_face="F7"
    )
    return PersonInfo(**(fields | kw))


def test_the_json_form_is_the_fields_in_order_at_every_depth() -> None:
    answer = Outer("a", [Inner(0.5)], {"k": Inner(1.0)})
    assert list(answer.as_dict()) == ["name", "inner", "extra"]
    assert answer.as_dict() == {
        "name": "a",
        "inner": [{"score": 0.5}],
        "extra": {"k": {"score": 1.0}},
    }


def test_an_answer_reads_as_the_dict_it_used_to_be() -> None:
    answer = Outer("a", [Inner(0.5)], {})
    assert answer["inner"][0]["score"] == 0.5 and answer.get("missing") is None
    assert answer == {"name": "a", "inner": [{"score": 0.5}], "extra": {}}
    assert dict(answer) == answer.as_dict() and "name" in answer and len(answer) == 3
    assert answer | {"name": "b"} == {"name": "b", "inner": [{"score": 0.5}], "extra": {}}
    assert answer.name == "a" and answer.inner[0].score == 0.5


def test_a_correction_says_removed_only_when_the_person_went() -> None:
    kept = PersonCorrected(**info().as_dict(), undo=9)
    gone = PersonCorrected(**info(cover_face=None).as_dict(), undo=9, removed=True)
    assert list(kept.as_dict())[-2:] == ["cover_face", "undo"] and "removed" not in kept
    assert list(gone.as_dict())[-3:] == ["cover_face", "removed", "undo"] and gone["removed"]


def test_fastapi_sends_the_json_form_and_documents_the_fields() -> None:
    app = FastAPI()

    @app.get("/outer")
    def outer() -> Outer:
        return Outer("a", [Inner(0.123)], {"x": 1})

    @app.get("/search")
    def search() -> PersonSearch:
        return PersonSearch(info(), 0.81234, (), refused="withdrawn")

    client = TestClient(app)
    assert client.get("/outer").json() == {
        "name": "a",
        "inner": [{"score": 0.123}],
        "extra": {"x": 1},
    }
    assert client.get("/search").json() == {
        "person": info().as_dict(),
        "threshold": 0.8123,
        "photos": 0,
        "matches": [],
        "videos": 0,
        "moments": [],
        "possible_photos": 0,  # the second tier (issue 17)
        "possible": [],
        "refused": "withdrawn",
    }
    models = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(models["Outer"]["properties"]) == {"name", "inner", "extra"}
    # A reshaped answer is documented by its JSON form, not by its fields.
    assert set(models["PersonSearchJson"]["properties"]) >= {"person", "threshold", "photos"}
