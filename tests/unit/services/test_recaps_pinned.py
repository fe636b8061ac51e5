"""The recaps of a small synthetic library (`recap_library`), pinned: every recap found, its
title, place, score and people, and every photo chosen for it with its faces and which are
blurred — in a household library, after a person is hidden and another withdraws, and after
one is erased. Made faster, recaps must stay exactly these.

`REGARD_PIN_RECAPS=1` writes the pinned file again (only when recaps are meant to change:
say why in the commit)."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from regard.engine import Engine, EngineConfig
from regard.testing import FakeModels
from tests.unit.services.recap_library import PINNED, build, pinned_form, summary

TODAY = date(2026, 6, 1)


def listings(engine: Engine) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["all"] = summary(engine.recaps.listing("all", today=TODAY))
    out["today"] = summary(engine.recaps.listing("today", today=TODAY))
    out["trips"] = summary(engine.recaps.listing("trips", today=TODAY))
    engine.recaps.hide_person("Person 3")
    engine.privacy.withdraw("Person 5", "recaps")
    engine.recaps.hide(out["all"][0]["id"])
    out["changed"] = summary(engine.recaps.listing("all", hidden=True, today=TODAY))
    out["changed_shown"] = [r["id"] for r in summary(engine.recaps.listing("all", today=TODAY))]
    engine.privacy.erase_person("Person 2")
    out["erased"] = summary(engine.recaps.listing("all", today=TODAY))
    return out


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    lib = tmp_path_factory.mktemp("pinned") / "lib"
    with Engine(lib, create=True, models=FakeModels(), config=EngineConfig(workers=0)) as e:
        build(e)
        return listings(e)


def test_recaps_are_the_pinned_ones(found: dict[str, Any]) -> None:
    now = {name: pinned_form(r) if name != "changed_shown" else r for name, r in found.items()}
    if os.environ.get("REGARD_PIN_RECAPS"):
        PINNED.write_text(json.dumps(now, separators=(",", ":"), sort_keys=True) + "\n")
    pinned = json.loads(PINNED.read_text())
    assert set(pinned) == set(now)
    for name in pinned:
        assert now[name] == pinned[name], name


def test_the_pinned_library_has_every_kind_and_the_changes_show(found: dict[str, Any]) -> None:
    """The pin is worth having: every kind is there, photos were chosen, faces blurred."""
    kinds = {r["kind"] for r in found["all"]}
    assert kinds == {"on-this-day", "event", "trip", "person-year", "people-together", "year"}
    assert sum(len(r["photos"]) for r in found["all"]) > 1000
    assert any(r["place"] for r in found["trips"])
    assert not any("Person 3" in r["people"] or "Person 5" in r["people"] for r in found["changed"])
    blurred = sum(f["blur"] for r in found["changed"] for p in r["photos"] for f in p["faces"])
    assert blurred > 0
    hidden = [r["id"] for r in found["changed"] if r["hidden"]]
    assert hidden == [found["all"][0]["id"]] and hidden[0] not in found["changed_shown"]
    assert not any("Person 2" in r["people"] for r in found["erased"])
    assert Path(PINNED).stat().st_size < 400_000
