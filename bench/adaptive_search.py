"""Does search keep its promise for every kind of probe? Today's global threshold against the
probe- and library-adaptive score (`regard.pipeline.adaptive`), in the same run.

    .venv/bin/python bench/adaptive_search.py            # measure
    .venv/bin/python bench/adaptive_search.py --write    # and write the table Regard ships

The library is every lfw-dev face (5,843) plus every face found in ../shared/data/camera (family
and group photos, children and babies among them). The searches:

* every lfw-dev image of a person with two or more images, searching the whole library
  (recall: the person's other images; strangers: anyone else's). The threshold is calibrated on
  one half of the identities and measured on the other half (and the other way round), as
  `bench/search.py` does. The probes are split into four groups by how crowded their
  neighbourhood is: the mean of the probe's 10 best scores against *other people's* faces of
  the library. That uses the labels of the strangers only to say who is a stranger, not the
  probe's own matches (a probe whose own photos score high is not "crowded"); the method itself
  never sees a label. The most crowded 10 % and 2 % are reported too.
* every face of the camera photos, searching the whole library: nobody in them is in lfw-dev,
  so every lfw-dev face returned is a stranger (hits among the camera photos themselves are
  unlabelled and listed apart). These are the only children's and babies' faces here; no
  childhood-and-adult pairs of one person are available locally, so recall across ages
  cannot be measured here.

Rules compared in the same run, each calibrated for 0.05 expected strangers per search:
  * global: today's threshold (one similarity for every probe);
  * adaptive (shift only): the similarity less the mean of the probe's top 5 % scores
    against a cohort (a fixed random sample of 1,000 library faces), calibrated on that;
  * shift + quality: the same, with low-quality faces asked the stricter score low-quality
    strangers need and today's threshold (those between go to the "possible matches" tier);
  * Regard (what ships): shift + quality, and never looser than today's global threshold;
  * Z-norm: the shifted score divided by the spread of those cohort scores as well (measured
    to see whether it pays; it does not).
The possible tier (up to 5 faces beyond the threshold, from where 2 strangers per search
would be expected) is measured on the probes whose matches tier missed all of their photos.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, REPO, lfw_images, regard_embeddings, shared_data

F = npt.NDArray[np.float32]
ALIASES = [("Joseph_Blatter", "Sepp_Blatter"), ("Nan_Wang", "Wang_Nan")]
EXPECTED = 0.05
SEED = 17


@dataclass
class CameraFaces:
    photo: list[str]
    vectors: F
    low: npt.NDArray[np.bool_]
    size: npt.NDArray[np.float32]


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


def hash_half(name: str) -> int:
    return sum(name.encode()) % 2


def fmr_threshold(impostor: F, library: int, expected: float = EXPECTED) -> float:
    """The score above which `expected / library` of the impostor scores lie."""
    imp = np.sort(impostor)
    k = int(np.floor(expected / library * len(imp)))
    return float(imp[len(imp) - 1 - k]) + 1e-6


def main() -> None:
    from regard.pipeline.adaptive import COHORT_SIZE, TOP_FRACTION, cohort_stats

    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="write the shipped adaptive table")
    args = ap.parse_args()
    t_start = time.perf_counter()
    root = shared_data()
    images = lfw_images(root)
    emb = regard_embeddings([p for p, _ in images], "lfw-dev")
    alias = {a: b for a, b in ALIASES} | {b: a for a, b in ALIASES}
    names = np.array([min(n, alias.get(n, n)) for _, n in images])[emb.found]
    lfw = emb.vectors[emb.found].astype(np.float32)
    lfw_low = emb.low_quality[emb.found]
    cam = camera_faces(root)
    n_lfw, n_cam = len(lfw), len(cam.vectors)
    lib = np.vstack([lfw, cam.vectors])
    lib_low = np.concatenate([lfw_low, cam.low])
    ids = np.concatenate([names, np.array([f"camera:{p}" for p in cam.photo])])
    N = len(lib)  # noqa: N806  (the library's size, as the README writes it)
    rng = np.random.default_rng(SEED)
    cohort_rows = np.sort(rng.choice(N, size=min(COHORT_SIZE, N), replace=False))
    cohort = lib[cohort_rows]
    print(
        f"library: {n_lfw} lfw-dev faces of {len(set(names))} people + {n_cam} faces of "
        f"{len(set(cam.photo))} camera photos = {N}; cohort: {len(cohort)} library faces, "
        f"top {TOP_FRACTION:.0%} of its scores"
    )

    sims = lib @ lib.T  # float32, N x N
    # Each face's cohort statistics, itself left out (as a probe new to the library would be).
    from regard.inference.calibration import load_calibration
    from regard.inference.registry import SFACE

    # What would match by the global threshold is not the probe's unrelated neighbourhood.
    mu, sd = cohort_stats(lib, cohort, load_calibration(SFACE.id).search_threshold(N))
    shifted = sims - mu[:, None]  # what Regard ships: row = probe
    z = shifted / sd[:, None]  # Z-norm proper (measured, not shipped)

    same = ids[:, None] == ids[None, :]
    lfw_rows = np.arange(n_lfw)
    counts = {n: int((names == n).sum()) for n in set(names)}
    multi = np.array([counts[n] > 1 for n in names])
    half = np.array([hash_half(n) for n in names])

    # How crowded each lfw probe's neighbourhood is: its 10 best stranger scores, mean.
    stranger_sims = np.where(same, -1.0, sims)
    np.fill_diagonal(stranger_sims, -1.0)
    crowd = np.sort(stranger_sims[:n_lfw], axis=1)[:, -10:].mean(axis=1)
    del stranger_sims

    def impostors(score: F, rows: npt.NDArray[np.bool_]) -> F:
        sub = score[np.ix_(rows, rows)]
        sid = ids[:n_lfw][rows]
        mask = sid[:, None] != sid[None, :]
        return sub[mask]

    rules: dict[str, F] = {"global": sims, "adaptive": shifted, "Z-norm": z}
    # Per rule and fold: thresholds calibrated on the other half's identities.
    thresholds: dict[str, list[float]] = {}
    lq_margin: dict[str, list[float]] = {}
    for rule, score in rules.items():
        thresholds[rule], lq_margin[rule] = [], []
        for calib_half in (0, 1):
            rows = half == calib_half
            imp = impostors(score[:n_lfw, :n_lfw], rows)
            t = fmr_threshold(imp, N)
            thresholds[rule].append(t)
            # Low-quality library faces: the margin that keeps their share of strangers at
            # the rate of the rest (where there are enough of them to measure).
            sub = score[:n_lfw, :n_lfw][np.ix_(rows, rows)]
            sid = ids[:n_lfw][rows]
            low_cols = lfw_low[rows]
            m = (sid[:, None] != sid[None, :]) & low_cols[None, :]
            lq = sub[m]
            frac = float((lq >= t).mean()) if len(lq) else 0.0
            base = EXPECTED / N
            margin = 0.0
            if len(lq) and frac > base:
                margin = fmr_threshold(lq, N) - t
            lq_margin[rule].append(max(0.0, margin))

    # A match is never below the 1:1 verification point, whatever the normalised score.
    raw_floor = load_calibration(SFACE.id).min_threshold

    def matched(
        score: F,
        probes: npt.NDArray[np.int64],
        t: float,
        margin: float,
        quality: bool = False,
        fold: int = 0,
        never_looser: bool = False,
    ) -> npt.NDArray[np.bool_]:
        # Against a low-quality face, or with a low-quality probe, the stricter score.
        low = lib_low[None, :] | lib_low[probes][:, None]
        need = np.where(low, t + margin, t)
        got = score[probes] >= need
        if score is not sims:
            got &= sims[probes] >= raw_floor
            if quality:
                # ... and never less than today's global threshold asks.
                got &= ~low | (sims[probes] >= thresholds["global"][fold])
            if never_looser:
                got &= sims[probes] >= thresholds["global"][fold]
        return got

    def searches(
        score: F,
        probes: npt.NDArray[np.int64],
        t: float,
        margin: float,
        quality: bool,
        fold: int,
        never_looser: bool,
    ) -> dict[str, npt.NDArray[np.float64]]:
        got = matched(score, probes, t, margin, quality, fold, never_looser)
        got[np.arange(len(probes)), probes] = False
        mates = same[probes].copy()
        mates[np.arange(len(probes)), probes] = False
        return {
            "tp": (got & mates).sum(axis=1).astype(np.float64),
            "fp": (got & ~mates).sum(axis=1).astype(np.float64),
            "mates": mates.sum(axis=1).astype(np.float64),
        }

    groups: dict[str, npt.NDArray[np.bool_]] = {}
    probes_all = lfw_rows[multi]
    qs = np.quantile(crowd[probes_all], [0.25, 0.5, 0.75, 0.9, 0.98])
    groups["lfw: all probes"] = multi
    for i, (lo, hi) in enumerate(
        [(-2, qs[0]), (qs[0], qs[1]), (qs[1], qs[2]), (qs[2], 2)], start=1
    ):
        groups[f"lfw: crowding quartile {i} ({lo:.2f}-{hi:.2f})".replace("-2.00", "")] = (
            multi & (crowd > lo) & (crowd <= hi)
        )
    groups["lfw: most crowded 10 %"] = multi & (crowd > qs[3])
    groups["lfw: most crowded 2 %"] = multi & (crowd > qs[4])
    # The same split by what the method itself sees (no label at all): the mean of the
    # probe's best cohort scores.
    m = mu[:n_lfw]
    ms = np.quantile(m[probes_all], [0.25, 0.5, 0.75, 0.9, 0.98])
    for i, (lo, hi) in enumerate(
        [(-2, ms[0]), (ms[0], ms[1]), (ms[1], ms[2]), (ms[2], 2)], start=1
    ):
        groups[f"lfw: cohort quartile {i} ({lo:.2f}-{hi:.2f})".replace("-2.00", "")] = (
            multi & (m > lo) & (m <= hi)
        )
    groups["lfw: cohort's most crowded 10 %"] = multi & (m > ms[3])
    groups["lfw: cohort's most crowded 2 %"] = multi & (m > ms[4])
    groups["lfw: low-quality probes"] = multi & lfw_low

    full_rules = [
        ("global (today)", "global", False),
        ("adaptive (shift only)", "adaptive", False),
        ("shift + quality", "adaptive", True),
        ("Regard: never looser", "adaptive+", True),
        ("Z-norm + quality", "Z-norm", True),
    ]
    print(
        "\nthresholds (fold 0 / fold 1): "
        + "; ".join(
            f"{r} {thresholds[r][0]:.3f}/{thresholds[r][1]:.3f} "
            f"(low quality +{lq_margin[r][0]:.2f}/+{lq_margin[r][1]:.2f})"
            for r in rules
        )
    )
    header = f"{'probe group':<42} {'searches':>8}"
    for label, *_ in full_rules:
        header += f" | {label[:22]:>22} {'':>7}"
    print("\nstrangers per search and recall (matches tier), lfw-dev probes:")
    print(header)
    print(
        f"{'':<42} {'':>8}"
        + " | {:>22} {:>7}".format("strangers/search", "recall") * len(full_rules)
    )
    table: dict[str, dict[str, tuple[float, float, int]]] = {}
    for gname, gmask in groups.items():
        line = f"{gname:<42}"
        agg_line: dict[str, tuple[float, float, int]] = {}
        for label, rule_name, quality in full_rules:
            rule, stricter = rule_name.rstrip("+"), rule_name.endswith("+")
            tp = fp = mates = 0.0
            n = 0
            for calib_half in (0, 1):
                probes = lfw_rows[gmask & (half != calib_half)]
                r = searches(
                    rules[rule],
                    probes,
                    thresholds[rule][calib_half],
                    lq_margin[rule][calib_half] if quality else 0.0,
                    quality,
                    calib_half,
                    stricter,
                )
                tp += r["tp"].sum()
                fp += r["fp"].sum()
                mates += r["mates"].sum()
                n += len(probes)
            agg_line[label] = (fp / max(n, 1), tp / max(mates, 1), n)
        table[gname] = agg_line
        n = next(iter(agg_line.values()))[2]
        line += f" {n:>8}"
        for label, *_ in full_rules:
            s, rc, _ = agg_line[label]
            line += f" | {s:>22.3f} {rc:>7.4f}"
        print(line)

    # Camera faces as probes: every lfw-dev face they return is a stranger.
    print("\ncamera photos' faces as probes (children and babies among them; no labels):")
    cam_rows = np.arange(n_lfw, N)
    cam_groups = {
        "camera: all faces": np.ones(n_cam, dtype=bool),
        "camera: sharp faces": ~cam.low,
        "camera: low-quality faces": cam.low,
    }
    print(
        f"{'probe group':<42} {'searches':>8}"
        + "".join(f" | {label[:22]:>22}" for label, *_ in full_rules)
        + "   (strangers per search: lfw-dev faces + faces of the probe's own photo (those))"
    )
    for gname, gmask in cam_groups.items():
        probes = cam_rows[gmask]
        line = f"{gname:<42} {len(probes):>8}"
        for _label, rule_name, quality in full_rules:
            rule, stricter = rule_name.rstrip("+"), rule_name.endswith("+")
            vals = []
            for calib_half in (0, 1):
                t = thresholds[rule][calib_half]
                margin = lq_margin[rule][calib_half] if quality else 0.0
                got = matched(rules[rule], probes, t, margin, quality, calib_half, stricter)
                got[np.arange(len(probes)), probes] = False
                strangers = got[:, :n_lfw].sum(axis=1).mean() if len(probes) else 0.0
                # Two faces of one photo are two people: a hit between them is a stranger.
                in_photo = same[probes][:, n_lfw:]
                same_photo = (got[:, n_lfw:] & in_photo).sum(axis=1).mean() if len(probes) else 0
                vals.append((strangers + same_photo, same_photo))
            s = float(np.mean([v[0] for v in vals]))
            c = float(np.mean([v[1] for v in vals]))
            line += f" | {s:>14.3f} ({c:>5.3f})"
        print(line)

    # The second tier: beyond the threshold, how often the right person is among the
    # first few "possible" candidates, for probes whose mates were all missed.
    print("\npossible-matches tier (Regard's rule, up to 5 candidates beyond the threshold):")
    lo_by_fold = []
    for calib_half in (0, 1):
        rule = "adaptive"
        t = thresholds[rule][calib_half]
        rows = half == calib_half
        floor = fmr_threshold(impostors(shifted[:n_lfw, :n_lfw], rows), N, POSSIBLE_EXPECTED)
        probes = lfw_rows[multi & (half != calib_half)]
        sc = rules[rule][probes].copy()
        sc[np.arange(len(probes)), probes] = -np.inf
        got = matched(rules[rule], probes, t, lq_margin[rule][calib_half], True, calib_half, True)
        got[np.arange(len(probes)), probes] = False
        mates = same[probes].copy()
        mates[np.arange(len(probes)), probes] = False
        missed_all = ~(got & mates).any(axis=1)
        beyond = np.where(got, -np.inf, sc)
        top = np.argsort(-beyond, axis=1)[:, :5]
        top_sc = np.take_along_axis(beyond, top, axis=1)
        top_ok = top_sc >= floor
        right = np.take_along_axis(mates, top, axis=1) & top_ok
        strangers = (~np.take_along_axis(mates, top, axis=1) & top_ok).sum(axis=1)
        lo_by_fold.append(
            (
                int(missed_all.sum()),
                int((right.any(axis=1) & missed_all).sum()),
                float(strangers.mean()),
                float(top_ok.sum(axis=1).mean()),
            )
        )
    missed = sum(x[0] for x in lo_by_fold)
    found = sum(x[1] for x in lo_by_fold)
    print(
        f"  probes whose matches tier missed every other photo of them: {missed}; the right "
        f"person among the possible ones for {found} ({found / max(missed, 1):.0%}); "
        f"possible candidates shown per search {np.mean([x[3] for x in lo_by_fold]):.2f}, "
        f"of them strangers {np.mean([x[2] for x in lo_by_fold]):.2f}"
    )

    # Cost: building the cohort statistics for one probe.
    q = lib[:200]
    t0 = time.perf_counter()
    cohort_stats(q, cohort)
    per = (time.perf_counter() - t0) / len(q) * 1000
    print(f"\ncost: cohort statistics {per:.3f} ms a probe ({len(cohort)} cohort faces)")

    if args.write:
        write_table(shifted[:n_lfw, :n_lfw], ids[:n_lfw], lfw_low, len(cohort))
    print(f"({time.perf_counter() - t_start:.0f} s)")


#: The possible tier starts where this many strangers per search would be expected.
POSSIBLE_EXPECTED = 2.0


def write_table(z: F, ids: npt.NDArray[np.str_], low: npt.NDArray[np.bool_], cohort: int) -> None:
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
            f"of the probe's top {TOP_FRACTION:.0%} scores against a cohort of {cohort} faces"
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
