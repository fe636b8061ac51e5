"""`regard` is the library's public face: what a program needs, named in `__all__`, and
nothing loaded until it is used (as httpx tests its `__all__`)."""

import subprocess
import sys

import pytest

import regard


def test_all_is_sorted_and_every_name_is_there() -> None:
    assert regard.__all__ == sorted(regard.__all__)
    assert set(regard.__all__) == set(regard._HOME)
    for name in regard.__all__:
        assert getattr(regard, name) is not None, name
    assert {"Engine", "EngineConfig", "RegardError", "SearchResult", "Result"} <= set(
        regard.__all__
    )


def test_the_public_names_are_the_library_s_own() -> None:
    from regard.engine import Engine
    from regard.errors import RegardError

    assert regard.Engine is Engine and regard.RegardError is RegardError


def test_importing_regard_loads_nothing() -> None:
    code = "import sys, regard; print(sorted(m for m in sys.modules if m.startswith('regard.')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Nothing"):
        regard.Nothing  # noqa: B018
