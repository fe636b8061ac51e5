"""How well does search link a child and the adult they became? One command, the day a
cross-age face set is on this machine (none is today: issue 17 is blocked on data).

    .venv/bin/python bench/cross_age.py DIR                      # measure
    .venv/bin/python bench/cross_age.py --make-pseudo-set OUT    # a stand-in made of lfw-dev

DIR holds `<person>/<group>/<image>`: one folder per person, one folder per group of their
photos, named by the data set's own labels (`child` / `adult`, or the publisher's age bands:
Regard never estimates anyone's age). Keep the set outside the repository (e.g.
`../shared/data/cross-age/<set>`), under its own licence.

The library is every lfw-dev face (less the lfw-dev people whose folder name is one of DIR's
people: the same celebrity in both would count as a stranger), every face found in
../shared/data/camera, and every face found in DIR. The probes are DIR's images with exactly one
face (images with none or several are skipped and counted; the faces of an image with several
stay in the library, unlabelled: counted neither as the person nor as a stranger). Each probe
searches the whole library without its own image. The thresholds are the ones Regard ships for
the library's size (`regard.inference.calibration`, measured on lfw-dev): the set is held
out, nothing is calibrated on it.

Per probe group (DIR's group name of the probe), for the rule Regard ships and, in the same
run, the global threshold before issue 17:
  * strangers per search: library faces of anyone but the person, in the matches tier;
  * recall in the matches tier of the person's photos in the probe's group, and of their
    photos in the other groups (across the ages);
  * the second tier (possible matches, shipped rule): of the probes whose matches tier missed
    every other-group photo of them, those with one among the possible matches, and the
    strangers shown beside it;
  * the rank of the person's best-scoring other-group photo among the set's other-group
    faces (the issue's "first other-age result is the right person": top 1 / within 5), and
    among the whole library less the person's same-group photos (what a search lists).

The look-alike rule (a face is a match only if its person's best score is within
`RIVAL_MARGIN` of the best named person's) weighs the people the owner named, so the shipped
rule is measured three ways in the same run: the set's people unnamed (a fresh library), each
person's groups named as people apart (a child and the adult named, not linked yet), and each
person named as one (the ages linked by the owner's confirmations). lfw-dev's people are named
(their labels) throughout, as in `bench/adaptive_search.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adaptive_search import (
    ALIASES,
    GONE,
    RELABELLED,
    SEED,
    B,
    F,
    Library,
    Probes,
    camera_faces,
    decide,
    global_rule,
    neighbourhood,
    possible,
    shipped_rule,
)
from common import CACHE, lfw_images, regard_embeddings, shared_data

#: The rules measured, each row of the report: the shipped rule as the set's people are named
#: (the look-alike rule weighs named people only), and the global threshold.
NAMED = (
    "Regard, the set's people unnamed",
    "Regard, each person's groups named apart",
    "Regard, each person named (ages linked)",
)
GLOBAL = "global threshold (before issue 17)"
#: Probes searched at once.
CHUNK = 256
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".heic"}
Ints = npt.NDArray[np.int64]


# --- the set ---------------------------------------------------------------------------------


def scan(root: Path) -> list[tuple[Path, str, str]]:
    """(image, person, group) for every image of `root`/<person>/<group>/, sorted."""
    out: list[tuple[Path, str, str]] = []
    for person in sorted(p for p in root.iterdir() if p.is_dir()):
        for group in sorted(g for g in person.iterdir() if g.is_dir()):
            out.extend(
                (img, person.name, group.name)
                for img in sorted(group.iterdir())
                if img.is_file() and img.suffix.lower() in IMAGE_SUFFIXES
            )
    return out


@dataclass
class SetFaces:
    count: Ints  # faces found per image (-1: not readable)
    vectors: F  # every face found, image by image
    low: B
    image: Ints  # the image each face is from


def set_faces(paths: list[Path], cache: Path) -> SetFaces:
    """Every face Regard finds in each image (cached in `cache` per image list and models)."""
    from regard.domain.photo import PhotoAnalysis
    from regard.inference.registry import SFACE, YUNET
    from regard.jobs.pool import AnalysisPool
    from regard.pipeline.analyse import ANALYSIS_VERSION, AnalysisSettings

    strs = [str(p) for p in paths]
    key = hashlib.sha256("\n".join(strs).encode()).hexdigest()[:16]
    file = cache / f"cross-age-{key}-{YUNET.id}-{SFACE.id}-a{ANALYSIS_VERSION}.npz"
    if file.exists():
        z = np.load(file, allow_pickle=False)
        if list(z["paths"]) == strs:
            return SetFaces(z["count"], z["vectors"], z["low"], z["image"])
    row = {s: i for i, s in enumerate(strs)}
    count = np.full(len(paths), -1, dtype=np.int64)
    found: dict[int, list[tuple[npt.NDArray[np.float32], bool]]] = {}
    with AnalysisPool(2, AnalysisSettings()) as pool:
        for path, result in pool.map_unordered(paths):
            if not isinstance(result, PhotoAnalysis):
                continue
            i = row[str(path)]
            count[i] = len(result.faces)
            found[i] = [(f.embedding, f.quality.low) for f in result.faces]
    image = [i for i in sorted(found) for _ in found[i]]
    out = SetFaces(
        count,
        np.array([v for i in sorted(found) for v, _ in found[i]], dtype=np.float32).reshape(
            -1, SFACE.dim
        ),
        np.array([low for i in sorted(found) for _, low in found[i]], dtype=bool),
        np.array(image, dtype=np.int64),
    )
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(
        file, paths=np.array(strs), count=count, vectors=out.vectors, low=out.low, image=out.image
    )
    return out


def same_name(name: str) -> str:
    """A person's folder name as compared with lfw-dev's (`Ann_Smith` = `ann smith`)."""
    return "_".join(name.replace("-", " ").replace("_", " ").lower().split())


def pseudo_set(root: Path, out: Path, people: int, per_person: int = 4) -> list[str]:
    """A stand-in for a cross-age set made of lfw-dev, as symbolic links in `out`: the first
    `people` lfw-dev people (in name order) with `per_person` images or more, each image in
    group `first` or `second` by file order (the first half, the rest) — NOT ages: it checks
    the measurement, not Regard. Returns the people."""
    chosen: list[str] = []
    for folder in sorted((root / "lfw-dev").iterdir()):
        if len(chosen) == people:
            break
        images = sorted(folder.glob("*.jpg")) if folder.name != "meta" else []
        if len(images) < per_person:
            continue
        chosen.append(folder.name)
        half = len(images) // 2
        for i, img in enumerate(images):
            dest = out / folder.name / ("first" if i < half else "second") / img.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(img)
    return chosen


# --- counting ----------------------------------------------------------------------------------


@dataclass
class Counts:
    """One probe group's searches under one rule."""

    searches: int = 0
    strangers: int = 0
    same_found: int = 0
    same_photos: int = 0
    other_found: int = 0
    other_photos: int = 0
    #: Probes with one other-group photo or more; those whose matches tier missed all of
    #: them; of those, the ones with one among the possible matches; strangers shown beside.
    with_other: int = 0
    missed_other: int = 0
    possible_right: int = 0
    possible_strangers: int = 0

    def add(self, other: Counts) -> None:
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)

    def figures(self) -> dict[str, float | None]:
        def share(a: int, b: int) -> float | None:
            return a / b if b else None

        return {
            "strangers_per_search": share(self.strangers, self.searches),
            "recall_same_group": share(self.same_found, self.same_photos),
            "recall_other_groups": share(self.other_found, self.other_photos),
            "possible_right_when_missed": share(self.possible_right, self.missed_other),
            "possible_strangers_per_missed": share(self.possible_strangers, self.missed_other),
        }


def count(
    got: B, same: B, other: B, stranger: B, top: Ints | None = None, shown: B | None = None
) -> Counts:
    """Counts of searches, one row each: `got` the matches tier over the library's columns;
    `same` / `other` the person's photos in the probe's group / the other groups; `stranger`
    anyone else's faces (a face in none of the three is not counted); `top` / `shown` the
    possible tier (`adaptive_search.possible`), where the rule has one."""
    c = Counts(
        searches=len(got),
        strangers=int((got & stranger).sum()),
        same_found=int((got & same).sum()),
        same_photos=int(same.sum()),
        other_found=int((got & other).sum()),
        other_photos=int(other.sum()),
    )
    has = other.any(axis=1)
    c.with_other = int(has.sum())
    if top is not None and shown is not None:
        missed = has & ~(got & other).any(axis=1)
        right = np.take_along_axis(other, top, axis=1) & shown
        wrong = np.take_along_axis(stranger, top, axis=1) & shown
        c.missed_other = int(missed.sum())
        c.possible_right = int((missed & right.any(axis=1)).sum())
        c.possible_strangers = int(wrong[missed].sum())
    return c


def first_rank(raw: F, candidates: B, mates: B) -> Ints:
    """Per row: how many candidates that are not mates score above the best-scoring mate
    (0: the first result among the candidates is the right person); -1 without a mate."""
    best = np.where(mates, raw, -np.inf).max(axis=1)
    above = (candidates & ~mates & (raw > best[:, None])).sum(axis=1)
    return np.where(np.isfinite(best), above, -1).astype(np.int64)


def ranks(rank: Ints) -> dict[str, float | int | None]:
    with_mate = rank >= 0
    n = int(with_mate.sum())
    return {
        "probes": n,
        "top1": float((rank == 0).sum() / n) if n else None,
        "top5": float(((rank >= 0) & (rank < 5)).sum() / n) if n else None,
    }


# --- the measurement ---------------------------------------------------------------------------


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished workers (the embeddings run in those)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def pct(x: float | int | None) -> str:
    return "  -  " if x is None else f"{100 * x:5.1f}"


def measure(folder: Path, *, work: Path, quick: bool) -> dict[str, object]:
    from regard.inference.calibration import load_calibration
    from regard.inference.registry import SFACE
    from regard.pipeline.adaptive import COHORT_SIZE, TOP_FRACTION

    t_start = time.perf_counter()
    cpu_start = cpu_seconds()
    images = scan(folder)
    if not images:
        sys.exit(
            f"no images found in {folder}: a cross-age set is laid out as "
            "<person>/<group>/<image> (e.g. ann/child/1.jpg, ann/adult/2.jpg)"
        )
    loose = [
        f
        for person in folder.iterdir()
        if person.is_dir()
        for f in person.iterdir()
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
    ]
    if loose:
        print(f"ignored: {len(loose)} images in a person's folder but in no group folder")
    set_people = {same_name(p) for _, p, _ in images}
    faces = set_faces([p for p, _, _ in images], work)

    root = shared_data()
    lfw_all = lfw_images(root)
    if quick:
        # The first 100 lfw-dev people (in name order): a smaller library for a quick check.
        first = sorted({n for _, n in lfw_all})[:100]
        lfw_all = [(p, n) for p, n in lfw_all if n in set(first)]
    emb = regard_embeddings([p for p, _ in lfw_all], "lfw-dev-quick" if quick else "lfw-dev")
    alias = {a: b for a, b in ALIASES} | {b: a for a, b in ALIASES}
    names = np.array(
        [min(n, alias.get(n, n)) for p, n in [(p, RELABELLED.get(p.name, n)) for p, n in lfw_all]]
    )
    keep = emb.found & np.array([same_name(n) not in set_people for _, n in lfw_all])
    overlap = sorted({n for _, n in lfw_all if same_name(n) in set_people})
    cam = camera_faces(root)

    # Library columns: lfw-dev | camera | the set.
    n_lfw, n_cam, n_set = int(keep.sum()), len(cam.vectors), len(faces.vectors)
    person_of = np.array([images[i][1] for i in faces.image], dtype=str).reshape(-1)
    group_of = np.array([images[i][2] for i in faces.image], dtype=str).reshape(-1)
    alone = faces.count[faces.image] == 1
    set_ids = np.where(
        alone, np.char.add("set:", person_of), np.char.add("unknown:", faces.image.astype(str))
    )
    ids = np.concatenate([names[keep], [f"camera:{p}" for p in cam.photo], set_ids]).astype(str)
    groups = np.concatenate([np.full(n_lfw + n_cam, ""), np.where(alone, group_of, "")])
    known = ~np.char.startswith(ids, "unknown:")
    in_set = np.zeros(len(ids), dtype=bool)
    in_set[n_lfw + n_cam :] = alone
    vectors = np.vstack([emb.vectors[keep], cam.vectors, faces.vectors]).astype(np.float32)
    N = len(vectors)  # noqa: N806  (the library's size, as the README writes it)
    cal = load_calibration(SFACE.id)
    table = cal.adaptive
    if table is None:
        sys.exit(f"the shipped calibration of {SFACE.id} has no adaptive table")
    t_global = cal.search_threshold(N)
    rng = np.random.default_rng(SEED)
    cohort = np.sort(rng.choice(N, size=min(COHORT_SIZE, N), replace=False))
    unrelated = t_global  # what would match anyway is not the neighbourhood

    def stat(rows: F) -> tuple[F, F]:
        return neighbourhood(rows, cohort, TOP_FRACTION, unrelated)

    match = table.threshold(N)
    margin = table.threshold(N, low_quality=True) - match
    floor = min(table.threshold(N, table.possible_expected), match)

    # The look-alike rule weighs the people the owner named: lfw-dev's (its labels) and,
    # for the set, nobody / each person's groups as people apart / each person as one.
    def library(set_people_ids: npt.NDArray[np.str_]) -> Library:
        people = np.concatenate([names[keep], np.full(n_cam, ""), set_people_ids]).astype(str)
        return Library(
            vectors=vectors,
            ids=ids,
            low=np.concatenate([emb.low_quality[keep], cam.low, faces.low]),
            n_lfw=n_lfw,
            global_t=[t_global, t_global],
            verification=cal.min_threshold,
            people=people,
        )

    apart = np.char.add(np.char.add(set_ids, "/"), group_of)
    rules = []
    for label, set_people_ids in (
        (NAMED[0], np.full(n_set, "")),
        (NAMED[1], np.where(alone, apart, "")),
        (NAMED[2], np.where(alone, set_ids, "")),
    ):
        rule = shipped_rule(stat)
        rule.cal = [(match, margin, floor)] * 2
        rules.append((label, rule, library(set_people_ids)))
    glob = global_rule()
    glob.cal = [(t_global, 0.0, t_global)] * 2
    rules.append((GLOBAL, glob, rules[0][2]))

    skipped = {
        "images": len(images),
        "no_face": int((faces.count == 0).sum()),
        "several_faces": int((faces.count > 1).sum()),
        "unreadable": int((faces.count < 0).sum()),
    }
    print(
        f"set {folder}: {len(images)} images of {len(set_people)} people in groups "
        f"{', '.join(sorted({g for _, _, g in images}))}; {int(alone.sum())} probes (one face "
        f"each); skipped: {skipped['no_face']} with no face, {skipped['several_faces']} with "
        f"several (their faces in the library, unlabelled), {skipped['unreadable']} unreadable"
    )
    print(
        f"library: {n_lfw} lfw-dev faces ({len(overlap)} lfw-dev people also in the set left "
        f"out) + {n_cam} camera faces + {n_set} faces of the set = {N}"
    )
    print(
        f"shipped thresholds for {N} faces: global similarity {t_global:.3f}; adaptive "
        f"{match:.3f} (+{margin:.3f} low quality), possible from {floor:.3f}"
    )

    # Probes: the set's one-face images, each its face's library column; in chunks (a set of
    # tens of thousands of photos against as large a library does not fit at once).
    probe_col = n_lfw + n_cam + np.flatnonzero(alone)
    # Who and which group as numbers: comparing strings over a large library is slow.
    id_code = np.unique(ids, return_inverse=True)[1].reshape(-1)
    group_code = np.unique(groups, return_inverse=True)[1].reshape(-1)
    probe_group = groups[probe_col]
    names_of_groups = ["all probes", *sorted(set(probe_group.tolist()))]
    counts = {(g, label): Counts() for g in names_of_groups for label, _, _ in rules}
    rank_set: list[Ints] = []
    rank_library: list[Ints] = []
    for lo in range(0, len(probe_col), CHUNK):
        cols = probe_col[lo : lo + CHUNK]
        sims = (vectors[cols] @ vectors.T).astype(np.float32)
        sims[np.arange(len(cols)), cols] = GONE  # not its own result
        pg = groups[cols]
        low = faces.low[cols - n_lfw - n_cam]
        probes = Probes("cross-age", sims, ids[cols], low, np.zeros(len(cols), dtype=np.int64))
        live = sims > GONE
        person = (id_code[None, :] == id_code[cols][:, None]) & live
        in_group = group_code[None, :] == group_code[cols][:, None]
        same = person & in_group
        other_group = in_set[None, :] & ~in_group & live
        other = person & other_group
        stranger = known[None, :] & ~person & live
        rank_set.append(first_rank(sims, other_group, other))
        rank_library.append(first_rank(sims, known[None, :] & live & ~same, other))
        every = np.arange(len(cols))
        for label, rule, lib in rules:
            got, sc, raw = decide(rule, lib, probes, every, 0)
            top, shown = possible(rule, lib, got, sc, raw, 0) if rule.stat else (None, None)
            for g in names_of_groups:
                m = np.ones(len(cols), dtype=bool) if g == "all probes" else pg == g
                counts[(g, label)].add(
                    count(
                        got[m],
                        same[m],
                        other[m],
                        stranger[m],
                        None if top is None else top[m],
                        None if shown is None else shown[m],
                    )
                )
    ranks_set = np.concatenate([np.zeros(0, dtype=np.int64), *rank_set])
    ranks_lib = np.concatenate([np.zeros(0, dtype=np.int64), *rank_library])

    print(
        "\nper probe group: strangers per search; recall (%) of the matches tier of the "
        "person's same-group photos and of their other-group photos; the probes whose matches "
        "tier missed every other-group photo of them -> the right person among the possible "
        "matches (strangers shown beside)"
    )
    results: dict[str, object] = {}
    for g in names_of_groups:
        m = np.ones(len(probe_col), dtype=bool) if g == "all probes" else probe_group == g
        rs, rl = ranks(ranks_set[m]), ranks(ranks_lib[m])
        entry: dict[str, object] = {
            "searches": int(m.sum()),
            "rank_among_other_group_faces": rs,
            "rank_among_library": rl,
        }
        print(f"\n{g} ({int(m.sum())} searches)")
        print(f"  {'rule':<42} strangers  same% other%   missed all -> possible (strangers)")
        for label, rule, _lib in rules:
            c = counts[(g, label)]
            f = c.figures()
            entry[label] = {"counts": asdict(c), **f}
            tier = (
                f"{c.missed_other} -> {c.possible_right} ({c.possible_strangers})"
                if rule.stat
                else "-"
            )
            print(
                f"  {label:<42} {f['strangers_per_search'] or 0.0:9.3f} "
                f"{pct(f['recall_same_group'])} {pct(f['recall_other_groups'])}   {tier}"
            )
        if rs["probes"]:
            print(
                f"  the right person is the first other-group result for {pct(rs['top1'])} % "
                f"(within 5: {pct(rs['top5'])} %) of {rs['probes']} probes with other-group "
                f"photos; among the whole library less their same-group photos "
                f"{pct(rl['top1'])} % / {pct(rl['top5'])} %"
            )
        else:
            print("  no probe of this group has a photo of them in another group")
        results[g] = entry
    cpu = cpu_seconds() - cpu_start
    wall = time.perf_counter() - t_start
    doc = {
        "set": str(folder),
        "quick": quick,
        "skipped": skipped,
        "library": {"lfw_dev": n_lfw, "camera": n_cam, "set": n_set, "total": N},
        "lfw_dev_people_left_out": overlap,
        "thresholds": {
            "global": t_global,
            "adaptive": match,
            "adaptive_low_quality_margin": margin,
            "possible_floor": floor,
        },
        "groups": results,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
    }
    out = work / "cross_age.json"
    work.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    print(f"\n(all figures in {out}; {cpu:.0f} CPU s with the workers, {wall:.0f} s)")
    return doc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("set", nargs="?", type=Path, help="<person>/<group>/<image> folders")
    ap.add_argument(
        "--work", type=Path, default=CACHE, help="the set's embeddings and the JSON (.cache/bench)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="only the first 100 lfw-dev people in the library"
    )
    ap.add_argument(
        "--make-pseudo-set",
        type=Path,
        metavar="OUT",
        help="write a stand-in made of lfw-dev (symbolic links, NOT ages) into OUT and stop",
    )
    ap.add_argument("--people", type=int, default=40, help="with --make-pseudo-set: how many")
    args = ap.parse_args(argv)
    if args.make_pseudo_set is not None:
        if args.make_pseudo_set.exists():
            sys.exit(f"{args.make_pseudo_set} exists: give a new folder")
        chosen = pseudo_set(shared_data(), args.make_pseudo_set, args.people)
        print(f"wrote {len(chosen)} lfw-dev people into {args.make_pseudo_set} (by file order)")
        return
    if args.set is None:
        ap.error("give the set's folder (or --make-pseudo-set OUT)")
    if not args.set.is_dir():
        sys.exit(f"{args.set} is not a folder")
    measure(args.set, work=args.work, quick=args.quick)


if __name__ == "__main__":
    main()
