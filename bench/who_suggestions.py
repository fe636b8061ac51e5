""" "Who is this?" suggestions on lfw-dev: right and wrong suggestions, for known people and for
strangers, against the plain nearest-named-face rule, same run.

    .venv/bin/python bench/who_suggestions.py        # prints the table; .cache/bench/who.json

A library of KNOWN people (5 photos each, named by the truth once grouped) and STRANGERS (2-4
photos each, never named); then one more photo of each known person and each stranger, whose
faces are taken out of any person, as grouping leaves a face it is unsure of. The queue
(`engine.faces.who_is_this`) is read whole; each group's truth is its faces' identity.

Both sides: for a known person's group, a suggestion is right (their name), wrong (someone
else) or missing; for a stranger's group any suggestion is wrong. The peer is the rule without
search's calibrated threshold and vote: the name of the single nearest named face, whatever
its similarity (what a naive "suggest the closest person" does), on the same groups.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, shared_data

from regard.engine import Engine, EngineConfig

KNOWN, STRANGERS, SEED = 25, 25, 7


def identity_of(path: str) -> str:
    return Path(path).parent.name


def main() -> None:
    root = shared_data() / "lfw-dev"
    people = sorted(
        (d for d in root.iterdir() if d.is_dir() and d.name != "meta"),
        key=lambda d: d.name,
    )
    rich = [d for d in people if len(list(d.glob("*.jpg"))) >= 6]
    rng = random.Random(SEED)
    rng.shuffle(rich)
    known, strangers = rich[:KNOWN], rich[KNOWN : KNOWN + STRANGERS]
    work = Path(tempfile.mkdtemp(prefix="regard-who-"))
    album, later = work / "album", work / "later"
    held: set[str] = set()
    for d in known:
        files = sorted(d.glob("*.jpg"))
        (album / d.name).mkdir(parents=True)
        for f in files[:5]:
            shutil.copy(f, album / d.name / f.name)
        (later / d.name).mkdir(parents=True)
        shutil.copy(files[5], later / d.name / files[5].name)
        held.add(files[5].name)
    for d in strangers:
        files = sorted(d.glob("*.jpg"))
        (later / d.name).mkdir(parents=True)
        for f in files[: rng.randint(2, 4)]:
            shutil.copy(f, later / d.name / f.name)
    try:
        with Engine(work / "lib", create=True, config=EngineConfig(workers=1)) as engine:
            engine.index([album])
            named = 0
            for p in engine.people.summaries():
                faces = engine.catalog.people.faces_of(p["id"])
                who = Counter(identity_of(f.path) for f in faces).most_common(1)[0][0]
                if engine.catalog.people.by_name(who) is None:
                    engine.people.name(p["person"], who)
                    named += 1
            engine.index([later])
            # The held-out photos of known people: as grouping might leave them, alone.
            with engine.catalog.transaction():
                for r in engine.catalog.faces.rows():
                    if Path(r["path"]).name in held:
                        engine.catalog.people.put_face(int(r["id"]), None, None)
            started = time.perf_counter()
            queue = engine.faces.who_is_this(limit=100_000)
            seconds = time.perf_counter() - started
            ours, peer = tally(engine, queue["groups"], {d.name for d in known})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {
        "known_people": KNOWN,
        "strangers": STRANGERS,
        "named_people": named,
        "groups": len(queue["groups"]),
        "queue_seconds": round(seconds, 3),
        "threshold": queue["threshold"],
        "regard": ours,
        "nearest_named_face": peer,
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "who.json").write_text(json.dumps(out, indent=2))
    print(f"{out['groups']} groups in the queue ({named} people named), read in {seconds:.2f} s")
    print(f"{'':24}{'right':>8}{'wrong':>8}{'none':>8}{'strangers named':>18}")
    for label, t in (("Regard (calibrated)", ours), ("nearest named face", peer)):
        print(
            f"{label:24}{t['right']:>8}{t['wrong']:>8}{t['none']:>8}"
            f"{t['stranger_suggested']:>12} of {t['stranger_groups']}"
        )
    r, p = ours, peer
    print(
        f"right suggestions: {r['right']}/{r['known_groups']} vs {p['right']}/{p['known_groups']}; "
        f"wrong (known + strangers): {r['wrong'] + r['stranger_suggested']} vs "
        f"{p['wrong'] + p['stranger_suggested']}"
    )


def tally(
    engine: Engine, groups: list[dict[str, Any]], known: set[str]
) -> tuple[dict[str, int], dict[str, int]]:
    names = {p.id: p.name for p in engine.catalog.people.live_people() if p.name}
    named_ids, named_vecs = engine.catalog.faces.embeddings(
        engine.vectors.model.id,
        [f for pid in names for f in engine.catalog.people.face_ids_of(pid)],
    )
    owner = {int(f): engine.catalog.people.face_person(int(f)) for f in named_ids}
    ours = Counter[str]()
    peer = Counter[str]()
    for g in groups:
        truth = Counter(
            identity_of(engine.catalog.faces.row(f)["path"]) for f in g["face_ids"]
        ).most_common(1)[0][0]
        is_known = truth in known
        ours["known_groups" if is_known else "stranger_groups"] += 1
        peer["known_groups" if is_known else "stranger_groups"] += 1
        s = g["suggestion"]
        ours[verdict(s["name"] if s else None, truth, is_known)] += 1
        _ids, vecs = engine.catalog.faces.embeddings(engine.vectors.model.id, g["face_ids"][:5])
        nearest = None
        if len(vecs) and len(named_vecs):
            sims = vecs @ named_vecs.T
            best = np.unravel_index(int(np.argmax(sims)), sims.shape)[1]
            nearest = names.get(owner[int(named_ids[best])] or 0)
        peer[verdict(nearest, truth, is_known)] += 1
    keys = ("known_groups", "right", "wrong", "none", "stranger_groups", "stranger_suggested")
    return {k: ours[k] for k in keys}, {k: peer[k] for k in keys}


def verdict(suggested: str | None, truth: str, is_known: bool) -> str:
    if not is_known:
        return "stranger_suggested" if suggested else "stranger_quiet"
    if suggested is None:
        return "none"
    return "right" if suggested == truth else "wrong"


if __name__ == "__main__":
    main()
