"""Schemathesis fuzzes every operation in the HTTP API's OpenAPI schema, in process (ASGI),
signed in as an owner (session cookie and CSRF token on every call) on a small library indexed
from the demo sample: whatever the input, valid or not, the server never answers 5xx.

No operation is left out. Those that can end the test's session (logout, a password change
or disabling of the test's own account, its demotion once the fuzzer has created another
owner) are fuzzed too: before each call the owner is put back as it was and, if its session
was ended, signed in again (past any lock the fuzzer's wrong current passwords put on it).

A second test sends each operation ids, offsets and person/face references one past what
SQLite stores, which a fuzzer draws only now and then."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import schemathesis
from annotated_types import Le
from argon2 import PasswordHasher
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from regard.engine import EngineConfig
from regard.errors import LoginError, NotSignedInError
from regard.interfaces.http.api import COOKIE
from regard.interfaces.http.app import create_app
from regard.interfaces.http.host import EngineHost
from regard.interfaces.http.routes import router
from regard.services.accounts import Session

pytestmark = pytest.mark.slow

OWNER, PASSWORD = "Fuzz Owner", "a long and boring passphrase"
# Enough to reach every operation's validation and its engine call with many shapes of input,
# valid and not, while the whole run stays near a minute on two cores.
MAX_EXAMPLES = 50
HUGE = 2**63  # one past the largest integer SQLite stores
EDGE_REFS = {
    "person": f"P{HUGE}",
    "keep": f"P{HUGE}",
    "other": f"P{HUGE}",
    "face": f"F{HUGE}",
    "faces": f"F1,F{HUGE}",
}
#: Streams answer for as long as the client listens: a fuzzer's call would never end. The
#: events' stream takes no input but its Last-Event-ID header (tests/e2e/test_http_events.py).
STREAMS = {"/api/events/stream"}
ROUTES = sorted(
    (
        (method, route)
        for route in router.routes
        if isinstance(route, APIRoute) and route.path not in STREAMS
        for method in route.methods
    ),
    key=lambda mr: (mr[1].path, mr[0]),
)

# 5xx found by these tests and not fixed yet: api.py must refuse such input with a 4xx. Until
# then the fuzzer does not send them, and the edge test of each operation is expected to fail;
# once fixed it passes, and strict xfail asks for its line here to be removed.
OVERFLOW = "an id, offset or P/F reference past 2**63-1 reaches SQLite: OverflowError, 500"
KNOWN_OVERFLOWS: set[tuple[str, str]] = set()  # none left


def is_int(annotation: Any) -> bool:
    return annotation is int or int in get_args(annotation)


def has_edges(route: APIRoute) -> bool:
    """Whether an operation takes an id, an unbounded integer or a person/face reference."""
    d = route.dependant
    if any(is_int(f.field_info.annotation) or f.name == "ref" for f in d.path_params):
        return True
    for f in d.query_params:
        bounded = any(isinstance(m, Le) for m in f.field_info.metadata)
        if is_int(f.field_info.annotation) and not bounded:
            return True
    body = route.body_field.field_info.annotation if route.body_field else None
    if not (isinstance(body, type) and issubclass(body, BaseModel)):
        return False
    return any(name in EDGE_REFS and f.annotation is str for name, f in body.model_fields.items())


def param(method: str, path: str, known: bool) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=OVERFLOW)] if known else []
    return pytest.param(method, path, id=f"{method} {path}", marks=marks)


OPERATIONS = [param(m, r.path, False) for m, r in ROUTES]
EDGES = [param(m, r.path, (m, r.path) in KNOWN_OVERFLOWS) for m, r in ROUTES if has_edges(r)]


class Owner:
    """The signed-in owner the fuzzer acts as, restored before every call."""

    def __init__(self, host: EngineHost) -> None:
        self.host = host
        with host.use():
            self.session = host.accounts.create_first_owner(
                host.accounts.setup_token(), OWNER, PASSWORD
            )
        self.user_id = self.session.user.id

    def fresh(self) -> Session:
        accounts = self.host.accounts
        with self.host.use():
            user = accounts.db.user(self.user_id)
            assert user is not None, "the owner's own account cannot be deleted"
            if user.role != "owner" or user.disabled:
                with accounts.catalog.transaction():
                    accounts.db.update_user(self.user_id, role="owner", disabled=False)
            try:
                accounts.session(self.session.token)
                return self.session
            except NotSignedInError:
                pass
            # Wrong current passwords the fuzzer sent to change the owner's count as failed
            # sign-ins; they must not lock the test out.
            with accounts.catalog.transaction():
                accounts.db.clear_failures(OWNER.casefold())
            try:
                self.session = accounts.login(OWNER, PASSWORD)
            except LoginError:  # the fuzzer changed the password
                with accounts.catalog.transaction():
                    accounts.db.update_user(
                        self.user_id, password_hash=PasswordHasher().hash(PASSWORD)
                    )
                self.session = accounts.login(OWNER, PASSWORD)
        return self.session

    def call(self, case: Any) -> int:
        """Send `case` as the owner; fail on a 5xx with a command that replays it."""
        session = self.fresh()
        headers = {"X-CSRF-Token": session.csrf}
        replay = case.as_curl_command(headers=headers)
        try:
            response = case.call(headers=headers, cookies={COOKIE: session.token})
        except Exception as exc:
            # In process, Starlette re-raises after sending its 500 response (a real server
            # logs it instead): the same failure.
            raise AssertionError(
                f"{case.method} {case.formatted_path} failed with {exc!r} (a 500 response)\n"
                f"To reproduce: {replay}"
            ) from exc
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} answered {response.status_code}: "
            f"{response.text[:300]}\nTo reproduce: {replay}"
        )
        return int(response.status_code)


def overflows(case: Any) -> bool:
    """Whether a case holds a number (or a P/F reference) that may not fit SQLite's integers."""
    values = [*(case.path_parameters or {}).values(), *(case.query or {}).values()]
    if isinstance(case.body, dict):
        values += case.body.values()
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
            return True
        if isinstance(v, str) and re.search(r"\d{19,}", v):
            return True
    return False


def unbounded_integers(operation: Any) -> dict[str, str]:
    """The integer parameters (path or query) that the schema gives no maximum."""
    found = {}
    for p in operation.definition.raw.get("parameters", []):
        schema = p.get("schema", {})
        if any(
            o.get("type") == "integer" and "maximum" not in o for o in schema.get("anyOf", [schema])
        ):
            found[p["name"]] = p["in"]
    return found


def at_the_edges(operation: Any) -> Any:
    """Valid cases whose ids, offsets and references are one past what SQLite stores."""
    integers = unbounded_integers(operation)

    def push(case: Any) -> Any:
        for name, where in integers.items():
            if where == "path":
                case.path_parameters[name] = HUGE
            elif where == "query":
                case.query = {**(case.query or {}), name: HUGE}
        if "ref" in (case.path_parameters or {}):
            case.path_parameters["ref"] = f"P{HUGE}"
        if isinstance(case.body, dict):
            for name, value in EDGE_REFS.items():
                if isinstance(case.body.get(name), str):
                    case.body[name] = value
        return case

    return operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE).map(push)


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=True,
        # No shrinking: a failure is reported as found, with a curl command to replay it.
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Iterator[EngineHost]:
    # Analysis in process: the library is small, and uploads the fuzzer gets accepted (if
    # any) are indexed in the job thread without starting worker processes.
    host = EngineHost(tmp_path_factory.mktemp("fuzz") / "lib", EngineConfig(workers=0))
    with host.use() as engine:
        report = engine.index([sample_dir / "photos"])
        assert report.counts.faces_found >= 20
        assert engine.people.summaries()
    yield host
    host.close()


@pytest.fixture(scope="module")
def owner(host: EngineHost) -> Owner:
    return Owner(host)


@pytest.fixture(scope="module")
def api_schema(host: EngineHost) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(host))


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_input_makes_the_server_fail(
    method: str, path: str, api_schema: Any, owner: Owner
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )

    statuses: list[int] = []

    @given(case=cases)
    @examples(MAX_EXAMPLES)
    def call(case: Any) -> None:
        if (method, path) in KNOWN_OVERFLOWS:
            assume(not overflows(case))  # known: test_ids_past_what_sqlite_stores
        statuses.append(owner.call(case))

    call()
    # The session and CSRF token got the calls past the sign-in check (422 comes after it).
    assert set(statuses) - {401, 403}, f"every call was refused: {sorted(set(statuses))}"


@pytest.mark.parametrize(("method", "path"), EDGES)
def test_ids_past_what_sqlite_stores(method: str, path: str, api_schema: Any, owner: Owner) -> None:
    statuses: list[int] = []

    @given(case=at_the_edges(api_schema[path][method]))
    @examples(5)
    def call(case: Any) -> None:
        statuses.append(owner.call(case))

    call()
    # Refused at the door, the ids would never have reached SQLite: not a pass.
    assert set(statuses) - {401, 403}, f"every call was refused: {sorted(set(statuses))}"
