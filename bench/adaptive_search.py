"""Does search keep its promise for every kind of probe? Today's global threshold against the
probe- and library-adaptive score (`regard.pipeline.adaptive`), in the same run.

    .venv/bin/python bench/adaptive_search.py              # measure
    .venv/bin/python bench/adaptive_search.py --explore    # and the variants not shipped
    .venv/bin/python bench/adaptive_search.py --write      # and write the table Regard ships

The library is every lfw-dev face (5,843) plus every face found in ../shared/data/camera (family
and group photos, children and babies among them). Searches, each against the whole library:

* every lfw-dev image of a person with two or more images (recall: the person's other images;
  strangers: anyone else's). Every threshold is calibrated on one half of the identities and
  measured on searches of the other half (and the other way round): nobody is calibrated and
  measured on. The probes are split by how crowded their neighbourhood is: the mean of the
  probe's 10 best scores against *other people's* faces (the labels say only who is a
  stranger; the method never sees a label), in tenths and the most crowded 2 %; by what the
  method itself sees (its neighbourhood statistic); and by image statistics (greyscale-looking:
  little colour in the middle of the photo; low contrast; low-quality faces). Nothing about
  the person is inferred (no age, gender or origin).
* every face of the camera photos: nobody in them is in lfw-dev, so every lfw-dev face
  returned is a stranger, and so is another face of the same photo (two faces of one photo are
  two people). Split by sharp / low quality, small (< 40 px), and the camera's maker.
* cross-condition probes, a PROXY for old prints and far-away faces (not real old photos):
  lfw-dev images of 300 people (a seeded sample) made greyscale, an "old print" (sepia, faded,
  soft, half size, a coarse JPEG), small (a third of the size), tiny (a fifth) and blurred, each
  searching the library without the photo it was made from. For these the second tier is
  measured too: is the right person among the "possible matches" when the matches tier
  missed every other photo of them?

No photos of one person as a child and as an adult are available here: how well a child's
photo finds the adult they became is NOT measured by this script; `bench/cross_age.py DIR`
measures it on a cross-age set laid out in DIR, with the shipped thresholds.

Rules compared in the same run, each calibrated for 0.05 expected strangers per search:
  * global: one similarity for every probe (before issue 17);
  * before: the similarity less the mean of the probe's best 5 % scores against a cohort of
    1,000 random library faces, and never looser than the global threshold (session 5);
  * session 6: the same shift, and a named person more than `RIVAL_MARGIN` below the best
    named person's score only possible;
  * Regard (what ships, session 7): the global threshold for sharp faces, the shift for
    low-quality faces and the possible tier, the named look-alike rule, and the other faces
    of the photo searched with never results;
  * (--explore) other statistics, two-sided (probe and candidate) normalisation, Z-norm, and
    rules allowed to be looser than the global threshold.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, REPO, lfw_images, regard_embeddings, shared_data

F = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]
ALIASES = [("Joseph_Blatter", "Sepp_Blatter"), ("Nan_Wang", "Wang_Nan")]
#: lfw-dev images whose label is wrong, seen by eye: Michael_Schumacher_0008 shows his team-mate
#: Rubens Barrichello (it scores 0.199 at best against the other nine Schumacher photos, up to
#: 0.718 against Barrichello's). Under the published label, one search returns ten "strangers"
#: that are the right person, and a tenth of the most crowded 2 % probes' strangers come from
#: it; `--published-labels` measures with the label as published.
RELABELLED = {"Michael_Schumacher_0008.jpg": "Rubens_Barrichello"}
EXPECTED = 0.05
#: The possible tier starts where this many strangers per search would be expected.
POSSIBLE_EXPECTED = 2.0
SEED = 17
VARIANT_PEOPLE = 300
GONE = np.float32(-2.0)  # a library face left out of one search (the probe's own photo)


# --- data ----------------------------------------------------------------------------------


@dataclass
class CameraFaces:
    photo: list[str]
    vectors: F
    low: B
    size: F


def camera_faces(root: Path) -> CameraFaces:
    """Every face Regard finds in the camera photos, with its quality (cached)."""
    from regard.domain.photo import PhotoAnalysis
    from regard.inference.registry import SFACE, YUNET
    from regard.jobs.pool import AnalysisPool
    from regard.pipeline.analyse import ANALYSIS_VERSION, AnalysisSettings

    cache = CACHE / f"camera-all-{YUNET.id}-{SFACE.id}-a{ANALYSIS_VERSION}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        return CameraFaces(list(z["photo"]), z["vectors"], z["low"], z["size"])
    paths = sorted((root / "camera").glob("*.jpg"))
    photo, vecs, low, size = [], [], [], []
    with AnalysisPool(2, AnalysisSettings()) as pool:
        for path, result in pool.map_unordered(paths):
            if not isinstance(result, PhotoAnalysis):
                continue
            for f in result.faces:
                photo.append(Path(path).name)
                vecs.append(f.embedding)
                low.append(f.quality.low)
                size.append(f.quality.size_px)
    out = CameraFaces(
        photo,
        np.array(vecs, dtype=np.float32).reshape(-1, SFACE.dim),
        np.array(low, dtype=bool),
        np.array(size, dtype=np.float32),
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, photo=np.array(photo), vectors=out.vectors, low=out.low, size=out.size)
    return out


def image_stats(paths: list[str]) -> tuple[F, F]:
    """(colour, contrast) of the middle of each image (where the face is): the mean HSV
    saturation (0-1) and the standard deviation of brightness (0-1). Cached."""
    from PIL import Image

    cache = CACHE / "lfw-dev-image-stats.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        if list(z["paths"]) == paths:
            return z["colour"], z["contrast"]
    colour = np.zeros(len(paths), dtype=np.float32)
    contrast = np.zeros(len(paths), dtype=np.float32)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            w, h = im.size
            mid = im.convert("RGB").crop((w * 0.3, h * 0.25, w * 0.7, h * 0.75))
            hsv = np.asarray(mid.convert("HSV"), dtype=np.float32) / 255.0
        colour[i] = hsv[..., 1].mean()
        contrast[i] = hsv[..., 2].std()
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, paths=np.array(paths), colour=colour, contrast=contrast)
    return colour, contrast


def degrade(src: Path, kind: str, out: Path) -> None:
    """One cross-condition copy of `src` (a proxy: these are not real old prints)."""
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps

    with Image.open(src) as im:
        img = im.convert("RGB")
    w, h = img.size
    quality = 90
    if kind == "greyscale":
        img = ImageOps.grayscale(img).convert("RGB")
    elif kind == "old print":
        grey = ImageOps.grayscale(img)
        img = ImageOps.colorize(grey, black=(40, 26, 13), white=(236, 222, 190))
        img = ImageEnhance.Contrast(img).enhance(0.6)
        img = img.filter(ImageFilter.GaussianBlur(1.0)).resize((w // 2, h // 2), Image.BILINEAR)
        quality = 35
    elif kind == "small":
        img = img.resize((w // 3, h // 3), Image.BILINEAR)
    elif kind == "tiny":
        img = img.resize((w // 5, h // 5), Image.BILINEAR)
    elif kind == "blurred":
        img = img.filter(ImageFilter.GaussianBlur(3.0))
    else:
        raise ValueError(kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, quality=quality)


VARIANTS = ("greyscale", "old print", "small", "tiny", "blurred")


# --- rules -----------------------------------------------------------------------------------


def neighbourhood(
    rows: F, cohort: npt.NDArray[np.int64], fraction: float, unrelated_below: float, skip: int = 0
) -> tuple[F, F]:
    """Per row of similarities to the library: (mean, spread) of its best `fraction` of the
    scores against the `cohort` columns, leaving out what scores `unrelated_below` or more
    (itself, what would match anyway) — as `regard.pipeline.adaptive.cohort_stats` does —
    and then the `skip` best (explored: robust to a few of the probe's own photos)."""
    sub = rows[:, cohort]
    sub = np.where(sub >= unrelated_below, GONE, sub)
    k = max(1, math.ceil(fraction * len(cohort)))
    top = -np.partition(-sub, k + skip - 1, axis=1)[:, : k + skip]
    if skip:
        top = -np.sort(-top, axis=1)[:, skip:]
    return top.mean(axis=1).astype(np.float32), np.maximum(top.std(axis=1), 0.01).astype(np.float32)


@dataclass
class Rule:
    label: str
    #: (probe similarities to the library) -> (mean, spread) of its neighbourhood; None: global
    stat: Callable[[F], tuple[F, F]] | None = None
    two_sided: bool = False
    divide: bool = False
    never_looser: bool = True
    #: Where not never looser: how much lower than the global threshold a similarity may be
    #: (None: down to the 1:1 verification point).
    looser_by: float | None = None
    library_stat: F | None = None  # each library face's own mean (two-sided)
    #: The possible tier from the 1:1 verification point (a similarity) instead of from the
    #: normalised score where 2 strangers per search are expected.
    possible_from_verification: bool = False
    #: A face is a match only if its person's best score is within this of the best
    #: person's (the people as the library groups them; here their labels): a look-alike
    #: relative of the person searched for is only possible. None: no such rule.
    compete: float | None = None
    #: Whether a sharp face's match needs the normalised score too (else only the global
    #: threshold; low-quality faces and probes always need it).
    sharp_normalised: bool = True
    #: Another face of the photo searched with is never a match (two faces of one photo are
    #: two people): measurable on the camera probes, whose photos are in the library.
    same_photo: bool = False
    # per fold: (threshold, low-quality margin, possible floor)
    cal: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class Probes:
    name: str
    sims: F  # (P, N) to every library face; GONE where a face is left out of its search
    ids: npt.NDArray[np.str_]  # "" when unlabelled (camera faces)
    low: B
    half: npt.NDArray[np.int64]  # identity half (0/1); -1: measured in both folds
    photo: npt.NDArray[np.str_] | None = None  # unlabelled probes: "camera:<their photo>"
    stats: dict[str, tuple[F, F]] = field(default_factory=dict)


def stats_of(rule: Rule, probes: Probes) -> tuple[F, F]:
    if rule.label not in probes.stats:
        assert rule.stat is not None
        probes.stats[rule.label] = rule.stat(probes.sims)
    return probes.stats[rule.label]


def score(rule: Rule, probes: Probes, rows: npt.NDArray[np.int64]) -> F:
    s = probes.sims[rows]
    if rule.stat is None:
        return s
    mean, spread = stats_of(rule, probes)
    if rule.two_sided:
        assert rule.library_stat is not None
        return s - 0.5 * (mean[rows][:, None] + rule.library_stat[None, :])
    out = s - mean[rows][:, None]
    return out / spread[rows][:, None] if rule.divide else out


def fmr_threshold(impostor: F, library: int, expected: float = EXPECTED) -> float:
    """The score above which `expected / library` of the impostor scores lie."""
    imp = np.sort(impostor)
    k = int(np.floor(expected / library * len(imp)))
    return float(imp[len(imp) - 1 - k]) + 1e-6


def global_rule() -> Rule:
    """One similarity for every probe (before issue 17)."""
    return Rule("global (before issue 17)")


def shipped_rule(stat: Callable[[F], tuple[F, F]]) -> Rule:
    """The rule Regard ships (`regard.services.tiers`, session 7), over the neighbourhood
    statistic `stat`."""
    from regard.pipeline.adaptive import RIVAL_MARGIN

    return Rule(
        f"Regard: global + no named person {RIVAL_MARGIN} closer + not the probe's own "
        "photo (neighbourhood for low-quality faces and the possible tier)",
        stat,
        compete=RIVAL_MARGIN,
        sharp_normalised=False,
        same_photo=True,
    )


# --- the measurement -------------------------------------------------------------------------


@dataclass
class Library:
    vectors: F
    ids: npt.NDArray[np.str_]  # person, or "camera:<photo>"
    low: B
    n_lfw: int
    global_t: list[float]  # per fold
    verification: float

    def __len__(self) -> int:
        return len(self.vectors)

    #: The person each face is in as the library groups them ("": in none); None: the labels
    #: of the lfw-dev faces, and every other face in none.
    people: npt.NDArray[np.str_] | None = None

    def near_best_person(self, raw: F, within: float) -> B:
        """Per probe row: the faces not outscored by another person, as
        `regard.pipeline.adaptive.outscored` judges them: a face of a person whose best score
        is more than `within` below the best person's is not. The people are `people` (by
        default the labels of the lfw-dev faces) with 2 or more faces (a face alone, and every
        face in no person, is never outscored, and outscores nobody)."""
        if self.people is None:
            person = self.ids.copy()
            person[self.n_lfw :] = ""
        else:
            person = self.people.copy()
        names, counts = np.unique(person, return_counts=True)
        alone = np.isin(person, names[counts == 1]) | (person == "")
        person[alone] = ""
        order = np.argsort(person, kind="stable")
        _keys, starts, inverse = np.unique(person[order], return_index=True, return_inverse=True)
        best_of = np.maximum.reduceat(np.where(alone[None, :], GONE, raw)[:, order], starts, axis=1)
        keep = best_of >= best_of.max(axis=1, keepdims=True) - within
        out = np.empty_like(raw, dtype=bool)
        out[:, order] = keep[:, inverse]
        return out | alone[None, :]


@dataclass
class Tally:
    searches: int = 0
    strangers: float = 0.0
    found: float = 0.0
    mates: float = 0.0
    missed_all: int = 0
    possible_right: int = 0
    possible_shown: float = 0.0
    possible_strangers: float = 0.0
    either: int = 0
    with_mates: int = 0

    def add(self, other: Tally) -> None:
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)


def decide(
    rule: Rule, lib: Library, probes: Probes, rows: npt.NDArray[np.int64], fold: int
) -> tuple[B, F, F]:
    """(the matches tier, the rule's score, the similarity) of the searches of `rows`, one row
    each, under `rule` calibrated on the other half (`fold`)."""
    t, margin, _floor = rule.cal[fold]
    s = score(rule, probes, rows)
    raw = probes.sims[rows]
    low = lib.low[None, :] | probes.low[rows][:, None]
    got = s >= np.where(low, t + margin, t if rule.sharp_normalised else -np.inf)
    if rule.stat is not None:
        if rule.never_looser:
            got &= raw >= lib.global_t[fold]
        elif rule.looser_by is not None:
            got &= raw >= lib.global_t[fold] - rule.looser_by
        else:
            got &= raw >= lib.verification
        # A low-quality face or probe is never trusted more than the global threshold did.
        got &= ~low | (raw >= lib.global_t[fold])
    got &= raw > GONE
    if rule.compete is not None:
        got &= lib.near_best_person(raw, rule.compete)
    return got, s, raw


def possible(
    rule: Rule, lib: Library, got: B, s: F, raw: F, fold: int
) -> tuple[npt.NDArray[np.int64], B]:
    """The second tier: up to `POSSIBLE_LIMIT` faces beyond the matches `got`, best similarity
    first, from the floor where 2 strangers per search would be expected; per row (the
    library columns of the faces, whether each is shown)."""
    from regard.pipeline.adaptive import POSSIBLE_LIMIT

    floor = rule.cal[fold][2]
    below = raw < lib.verification if rule.possible_from_verification else s < floor
    beyond = np.where(got | below | (raw <= GONE), -np.inf, raw)
    top = np.argpartition(-beyond, POSSIBLE_LIMIT - 1, axis=1)[:, :POSSIBLE_LIMIT]
    shown = np.isfinite(np.take_along_axis(beyond, top, axis=1))
    return top, shown


def search(
    rule: Rule, lib: Library, probes: Probes, rows: npt.NDArray[np.int64], fold: int
) -> Tally:
    """The searches of `rows` under `rule` calibrated on the other half (`fold`)."""
    if len(rows) == 0:
        return Tally()
    got, s, raw = decide(rule, lib, probes, rows, fold)
    if probes.photo is None:
        mates = (probes.ids[rows][:, None] == lib.ids[None, :]) & (raw > GONE)
    else:
        # Camera faces: nobody is in lfw-dev; another face of the same photo is a stranger
        # too; other camera photos' faces are unlabelled (not counted either way).
        mates = np.zeros_like(got)
        unknown = np.zeros_like(got)
        unknown[:, lib.n_lfw :] = lib.ids[None, lib.n_lfw :] != probes.photo[rows][:, None]
        got &= ~unknown
        if rule.same_photo:
            got &= lib.ids[None, :] != probes.photo[rows][:, None]
    strangers = (got & ~mates).sum(axis=1)
    found = (got & mates).sum(axis=1)
    n_mates = mates.sum(axis=1)
    out = Tally(
        searches=len(rows),
        strangers=float(strangers.sum()),
        found=float(found.sum()),
        mates=float(n_mates.sum()),
    )
    if rule.stat is not None and n_mates.any():
        top, shown = possible(rule, lib, got, s, raw, fold)
        right = np.take_along_axis(mates, top, axis=1) & shown
        has = n_mates > 0
        missed = has & (found == 0)
        out.missed_all = int(missed.sum())
        out.possible_right = int((missed & right.any(axis=1)).sum())
        out.possible_shown = float(shown[missed].sum())
        out.possible_strangers = float((shown & ~right)[missed].sum())
        out.either = int((has & ((found > 0) | right.any(axis=1))).sum())
        out.with_mates = int(has.sum())
    return out


def measure(rule: Rule, lib: Library, probes: Probes, mask: B) -> Tally:
    """A group's searches: labelled probes under the other half's calibration; unlabelled
    ones (camera faces) under both, averaged."""
    total = Tally()
    if probes.photo is not None:
        rows = np.flatnonzero(mask)
        for fold in (0, 1):
            part = search(rule, lib, probes, rows, fold)
            total.strangers += part.strangers / 2
        total.searches = len(rows)
        return total
    for fold in (0, 1):
        total.add(search(rule, lib, probes, np.flatnonzero(mask & (probes.half != fold)), fold))
    return total


def calibrate(rule: Rule, lib: Library, lfw: Probes, lfw_low: B) -> None:
    """Per fold: the rule's threshold, low-quality margin and possible floor, from the
    impostor scores among the identities of that half only."""
    rule.cal = []
    n_lfw = lib.n_lfw
    for fold in (0, 1):
        rows = np.flatnonzero(lfw.half == fold)
        s = score(rule, lfw, rows)[:, :n_lfw][:, rows]
        sid = lfw.ids[rows]
        stranger = sid[:, None] != sid[None, :]
        imp = s[stranger]
        t = fmr_threshold(imp, len(lib))
        lq = s[stranger & lfw_low[rows][None, :]]
        margin = 0.0  # the global rule asks low-quality faces nothing more (as it ships)
        if rule.stat is not None and len(lq) and float((lq >= t).mean()) > EXPECTED / len(lib):
            margin = max(0.0, fmr_threshold(lq, len(lib)) - t)
        floor = fmr_threshold(imp, len(lib), POSSIBLE_EXPECTED)
        rule.cal.append((t, margin, floor))


def fmt(t: Tally) -> str:
    s = t.strangers / max(t.searches, 1)
    if t.mates:
        return f"{s:6.3f} {100 * t.found / t.mates:5.1f}"
    return f"{s:6.3f}   -  "


def main() -> None:
    from regard.inference.calibration import load_calibration
    from regard.inference.registry import SFACE
    from regard.pipeline.adaptive import COHORT_SIZE, RIVAL_MARGIN, TOP_FRACTION

    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="write the shipped adaptive table")
    ap.add_argument("--explore", action="store_true", help="measure the variants not shipped")
    ap.add_argument("--all", action="store_true", help="with --explore: every variant tried")
    ap.add_argument(
        "--published-labels",
        action="store_true",
        help="lfw-dev's labels as published (one image's label is wrong: RELABELLED)",
    )
    args = ap.parse_args()
    t_start = time.perf_counter()
    root = shared_data()
    images = lfw_images(root)
    emb = regard_embeddings([p for p, _ in images], "lfw-dev")
    alias = {a: b for a, b in ALIASES} | {b: a for a, b in ALIASES}
    fixed = {} if args.published_labels else RELABELLED
    names = np.array(
        [min(n, alias.get(n, n)) for p, n in [(p, fixed.get(p.name, n)) for p, n in images]]
    )[emb.found]
    paths = [str(p) for (p, _), ok in zip(images, emb.found, strict=True) if ok]
    lfw = emb.vectors[emb.found].astype(np.float32)
    lfw_low = emb.low_quality[emb.found]
    cam = camera_faces(root)
    n_lfw, n_cam = len(lfw), len(cam.vectors)
    vectors = np.vstack([lfw, cam.vectors])
    cal = load_calibration(SFACE.id)
    N = len(vectors)  # noqa: N806  (the library's size, as the README writes it)
    half = np.array([sum(n.encode()) % 2 for n in names], dtype=np.int64)
    lib = Library(
        vectors=vectors,
        ids=np.concatenate([names, np.array([f"camera:{p}" for p in cam.photo])]),
        low=np.concatenate([lfw_low, cam.low]),
        n_lfw=n_lfw,
        global_t=[],
        verification=cal.min_threshold,
    )
    unrelated = cal.search_threshold(N)  # what would match anyway is not the neighbourhood
    rng = np.random.default_rng(SEED)
    every = np.arange(N)
    cohort = np.sort(rng.choice(N, size=min(COHORT_SIZE, N), replace=False))
    print(
        f"library: {n_lfw} lfw-dev faces of {len(set(names))} people + {n_cam} faces of "
        f"{len(set(cam.photo))} camera photos = {N}; shipped neighbourhood: the best "
        f"{TOP_FRACTION:.1%} of {len(cohort)} library faces' scores"
    )

    sims = vectors @ vectors.T
    np.fill_diagonal(sims, GONE)  # a probe is not its own result, nor its own neighbour
    counts = {n: int((names == n).sum()) for n in set(names)}
    multi = np.array([counts[n] > 1 for n in names])
    lfw_probes = Probes("lfw-dev", sims[:n_lfw], names, lfw_low, half)

    def stat(
        cols: npt.NDArray[np.int64], fraction: float, skip: int = 0
    ) -> Callable[[F], tuple[F, F]]:
        return lambda rows: neighbourhood(rows, cols, fraction, unrelated, skip)

    rules = [
        global_rule(),
        Rule("neighbourhood, never looser (session 5)", stat(cohort, TOP_FRACTION)),
        Rule(
            f"neighbourhood + no named person {RIVAL_MARGIN} closer (session 6)",
            stat(cohort, TOP_FRACTION),
            compete=RIVAL_MARGIN,
        ),
        shipped_rule(stat(cohort, TOP_FRACTION)),
    ]
    own = np.zeros(0, dtype=np.float32)
    if args.explore:
        own = neighbourhood(sims, every, 0.002, unrelated)[0]
        rules += [
            Rule("global + no person 0.05 closer", compete=0.05),
            Rule("neighbourhood + no person 0.10 closer", stat(cohort, TOP_FRACTION), compete=0.1),
            Rule("library top 0.2 % + no person 0.05 closer", stat(every, 0.002), compete=0.05),
            Rule(
                "Z-norm top 1 % + no person 0.05 closer",
                stat(every, 0.01),
                compete=0.05,
                divide=True,
            ),
        ]
    if args.explore and args.all:
        rules += [
            Rule("library top 0.1 %", stat(every, 0.001)),
            Rule("library top 0.5 %", stat(every, 0.005)),
            Rule("library top 1 %", stat(every, 0.01)),
            Rule("library top 0.2 % after the 5 best", stat(every, 0.002, 5)),
            Rule(
                "library top 0.2 %, possible from the 1:1 point",
                stat(every, 0.002),
                possible_from_verification=True,
            ),
            Rule("library top 0.2 %, looser", stat(every, 0.002), never_looser=False),
            Rule("two-sided top 0.2 %", stat(every, 0.002), two_sided=True, library_stat=own),
            Rule(
                "two-sided 0.2 %, looser",
                stat(every, 0.002),
                two_sided=True,
                library_stat=own,
                never_looser=False,
            ),
            Rule("Z-norm top 1 %", stat(every, 0.01), divide=True),
            Rule(
                "library top 0.2 %, looser by <= 0.02",
                stat(every, 0.002),
                never_looser=False,
                looser_by=0.02,
            ),
            Rule(
                "library top 0.2 %, looser by <= 0.04",
                stat(every, 0.002),
                never_looser=False,
                looser_by=0.04,
            ),
        ]
    # The global threshold, per fold, first: the adaptive rules are never looser than it.
    calibrate(rules[0], lib, lfw_probes, lfw_low)
    lib.global_t = [c[0] for c in rules[0].cal]
    for rule in rules[1:]:
        calibrate(rule, lib, lfw_probes, lfw_low)
    print(
        "thresholds (fold 0 / fold 1): "
        + "; ".join(f"{r.label} {r.cal[0][0]:.3f}/{r.cal[1][0]:.3f}" for r in rules)
    )

    # --- probe groups ---
    groups: list[tuple[Probes, str, B]] = []
    strangers_only = np.where(names[:, None] == lib.ids[None, :], GONE, sims[:n_lfw])
    crowd = -np.partition(-strangers_only, 9, axis=1)[:, :10].mean(axis=1)
    del strangers_only
    groups.append((lfw_probes, "lfw-dev: all probes", multi))
    qs = np.quantile(crowd[multi], np.linspace(0.1, 0.9, 9))
    edges = [-2.0, *qs.tolist(), 2.0]
    for i in range(10):
        g = multi & (crowd > edges[i]) & (crowd <= edges[i + 1])
        note = {0: " (strangers score least)", 9: " (strangers score most)"}.get(i, "")
        groups.append((lfw_probes, f"crowding tenth {i + 1}{note}", g))
    top2 = multi & (crowd > np.quantile(crowd[multi], 0.98))
    groups.append((lfw_probes, "most crowded 2 %", top2))
    shipped = rules[2]
    seen = stats_of(shipped, lfw_probes)[0]
    sq = np.quantile(seen[multi], [0.9, 0.98])
    groups.append((lfw_probes, "label-free: most crowded 10 %", multi & (seen > sq[0])))
    groups.append((lfw_probes, "label-free: most crowded 2 %", multi & (seen > sq[1])))
    colour, contrast = image_stats(paths)
    groups.append((lfw_probes, "greyscale-looking (colour < 0.06)", multi & (colour < 0.06)))
    flat = contrast <= np.quantile(contrast, 0.1)
    groups.append((lfw_probes, "low contrast (lowest tenth)", multi & flat))
    groups.append((lfw_probes, "low-quality probes", multi & lfw_low))

    # Camera faces as probes.
    cam_probes = Probes(
        "camera",
        sims[n_lfw:],
        np.array([""] * n_cam),
        cam.low,
        np.full(n_cam, -1),
        photo=np.array([f"camera:{p}" for p in cam.photo]),
    )
    maker = np.array([p.split()[0].split("(")[0].lower() for p in cam.photo])
    every_cam = np.ones(n_cam, dtype=bool)
    groups += [
        (cam_probes, "camera: all faces", every_cam),
        (cam_probes, "camera: sharp faces", ~cam.low),
        (cam_probes, "camera: low-quality faces", cam.low),
        (cam_probes, "camera: small faces (< 40 px)", cam.size < 40),
    ]
    for m in sorted(set(maker)):
        if (maker == m).sum() >= 8:
            groups.append((cam_probes, f"camera: {m} photos", maker == m))
    rest = ~np.isin(maker, [m for m in set(maker) if (maker == m).sum() >= 8])
    groups.append((cam_probes, "camera: other makers' photos", rest))

    # Cross-condition copies (a proxy for old prints and far-away faces).
    pick_rng = np.random.default_rng(SEED)
    people = sorted(n for n in set(names) if counts[n] > 1)
    chosen = set(pick_rng.choice(people, size=min(VARIANT_PEOPLE, len(people)), replace=False))
    first: dict[str, int] = {}
    for i, n in enumerate(names):
        first.setdefault(n, i)
    src_rows = np.array(sorted(first[n] for n in chosen))
    for kind in VARIANTS:
        folder = CACHE / "variants" / kind.replace(" ", "-")
        out_paths = [folder / Path(paths[i]).parent.name / Path(paths[i]).name for i in src_rows]
        for s_i, o in zip(src_rows, out_paths, strict=True):
            if not o.exists():
                degrade(Path(paths[s_i]), kind, o)
        v = regard_embeddings(out_paths, f"lfw-variant-{kind.replace(' ', '-')}")
        ok = v.found
        rows = src_rows[ok]
        vs = v.vectors[ok].astype(np.float32) @ vectors.T
        vs[np.arange(len(rows)), rows] = GONE  # the photo it was made from is not searched
        pr = Probes(f"proxy: {kind}", vs, names[rows], v.low_quality[ok], half[rows])
        groups.append((pr, f"proxy {kind} ({ok.mean():.0%} found)", np.ones(len(rows), dtype=bool)))

    # --- report ---
    width = 44
    print(f"\nstrangers per search / recall (%) of the matches tier ({EXPECTED} aimed for)")
    for i, r in enumerate(rules):
        print(f"  R{i}: {r.label}")
    heads = "".join(f" | {f'R{i}':>12}" for i in range(len(rules)))
    print(f"{'probe group':<{width}} {'searches':>8}{heads}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for probes, gname, mask in groups:
        line = ""
        results[gname] = {}
        n = 0
        for r in rules:
            t = measure(r, lib, probes, mask)
            n = t.searches
            line += f" | {fmt(t)}"
            results[gname][r.label] = {
                "searches": t.searches,
                "strangers_per_search": t.strangers / max(t.searches, 1),
                "recall": t.found / t.mates if t.mates else float("nan"),
                "missed_all": t.missed_all,
                "possible_right": t.possible_right,
                "possible_shown_per_missed": t.possible_shown / max(t.missed_all, 1),
                "possible_strangers_per_missed": t.possible_strangers / max(t.missed_all, 1),
                "either_tier": t.either / max(t.with_mates, 1),
            }
        print(f"{gname[:width]:<{width}} {n:>8}{line}")

    print("\nthe second tier (possible matches, up to 5 beyond the matches), per rule:")
    print("  probes whose matches tier missed every other photo of them -> right person among")
    print("  the possible ones; the right person in either tier, of all probes with photos")
    for _probes, gname, _mask in groups:
        if not (gname.startswith("proxy") or gname.endswith("all probes")):
            continue
        cells = []
        for i, r in list(enumerate(rules))[1:]:
            x = results[gname][r.label]
            cells.append(
                f"R{i}: {x['possible_right']}/{x['missed_all']} "
                f"({x['possible_right'] / max(x['missed_all'], 1):.0%}; "
                f"{x['possible_strangers_per_missed']:.1f} strangers shown), "
                f"either {x['either_tier']:.0%}"
            )
        print(f"  {gname}:\n    " + "\n    ".join(cells))

    # Cost: the neighbourhood of one probe against the shipped cohort.
    from regard.pipeline.adaptive import cohort_stats

    q = vectors[:200]
    c = vectors[cohort]
    t0 = time.perf_counter()
    for row in q:
        cohort_stats(row[None, :], c, unrelated)
    per = (time.perf_counter() - t0) / len(q) * 1000
    print(f"\ncost: the neighbourhood statistics {per:.3f} ms a search ({len(c)} cohort faces)")
    out = CACHE / "adaptive_search.json"
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"(all figures in {out.relative_to(REPO)})")

    if args.write:
        mean, _ = neighbourhood(sims[:n_lfw], cohort, TOP_FRACTION, unrelated)
        write_table(sims[:n_lfw, :n_lfw] - mean[:, None], names, lfw_low, len(cohort))
    print(f"({time.perf_counter() - t_start:.0f} s)")


def write_table(z: F, ids: npt.NDArray[np.str_], low: B, cohort: int) -> None:
    """The false-match rate of the normalised score over every lfw-dev impostor pair (both
    directions: the score is the probe's), as the table `regard.inference.calibration`
    reads under "adaptive"."""
    from regard.inference.registry import SFACE
    from regard.pipeline.adaptive import COHORT_SIZE, TOP_FRACTION

    mask = ids[:, None] != ids[None, :]
    imp = np.sort(z[mask])
    n = len(imp)
    low_imp = np.sort(z[mask & low[None, :]])
    rows = []
    for t in np.round(np.arange(-0.1, 0.801, 0.005), 3):
        above = n - int(np.searchsorted(imp, t, side="left"))
        if above < 3:
            break
        rows.append({"threshold": float(t), "fmr": above / n, "impostor_pairs_above": above})
    doc_path = REPO / "src" / "regard" / "inference" / "calibration" / f"{SFACE.id}.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    low_rows = []
    for t in [r["threshold"] for r in rows]:
        above = len(low_imp) - int(np.searchsorted(low_imp, t, side="left"))
        low_rows.append(above / max(1, len(low_imp)))
    doc["adaptive"] = {
        "source": (
            f"lfw-dev: {n} impostor scores (each probe against each stranger), less the mean "
            f"of the probe's top {TOP_FRACTION:.1%} scores against a cohort of {cohort} faces"
        ),
        "measured_on": datetime.now(UTC).date().isoformat(),
        "cohort_size": COHORT_SIZE,
        "top_fraction": TOP_FRACTION,
        "possible_expected": POSSIBLE_EXPECTED,
        "table": rows,
        "low_quality_fmr": low_rows,
        "low_quality_pairs": len(low_imp),
    }
    doc_path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote the adaptive table ({len(rows)} rows) into {doc_path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
