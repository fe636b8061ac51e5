"""Match thresholds that hold for the search a user actually runs.

A threshold right for comparing two photos is wrong for searching a library: every stored
face is another chance of a false match, so the expected number of strangers returned by one
search is about (faces in the library) x (false-match rate per comparison). Regard picks the
threshold whose per-comparison false-match rate keeps that expectation at a stated target,
using the impostor score distribution measured on lfw-dev (`bench/calibrate.py` writes the
table this module reads; it ships inside the package).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

#: Expected strangers per search that Regard's default threshold aims for.
DEFAULT_EXPECTED_FALSE_MATCHES = 0.05


def _interpolated_threshold(ts: tuple[float, ...], fs: tuple[float, ...], fmr: float) -> float:
    """The lowest threshold of an ascending table whose false-match rate is at most `fmr`
    (log-linear between rows); the last row's when the table never gets that low."""
    target = math.log(max(fmr, 1e-12))
    for i in range(1, len(ts)):
        if fs[i] <= fmr:
            lo, hi = math.log(max(fs[i - 1], 1e-12)), math.log(max(fs[i], 1e-12))
            w = 0.0 if hi == lo else (target - lo) / (hi - lo)
            return ts[i - 1] + min(1.0, max(0.0, w)) * (ts[i] - ts[i - 1])
    return ts[-1]


def _interpolated_fmr(ts: tuple[float, ...], fs: tuple[float, ...], threshold: float) -> float:
    """The false-match rate of an ascending table at `threshold` (log-linear between rows)."""
    if threshold <= ts[0]:
        return fs[0]
    if threshold >= ts[-1]:
        return fs[-1]
    for i in range(1, len(ts)):
        if threshold <= ts[i]:
            w = (threshold - ts[i - 1]) / (ts[i] - ts[i - 1])
            lo, hi = math.log(max(fs[i - 1], 1e-12)), math.log(max(fs[i], 1e-12))
            return math.exp(lo + w * (hi - lo))
    return fs[-1]


@dataclass(frozen=True, slots=True)
class AdaptiveCalibration:
    """The false-match rate of the adaptive score (`regard.pipeline.adaptive`): a similarity
    normalised against the probe's best scores in a cohort of the library's faces."""

    source: str
    thresholds: tuple[float, ...]  # ascending normalised scores
    fmr: tuple[float, ...]  # impostor scores at or above each, per comparison
    low_quality_fmr: tuple[float, ...]  # the same, against low-quality faces only
    #: Strangers per search expected at the floor of the "possible matches" tier.
    possible_expected: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AdaptiveCalibration:
        rows = d["table"]
        order = sorted(range(len(rows)), key=lambda i: rows[i]["threshold"])
        low = d.get("low_quality_fmr") or [r["fmr"] for r in rows]
        return cls(
            source=d["source"],
            thresholds=tuple(float(rows[i]["threshold"]) for i in order),
            fmr=tuple(float(rows[i]["fmr"]) for i in order),
            low_quality_fmr=tuple(float(low[i]) for i in order),
            possible_expected=float(d["possible_expected"]),
        )

    def threshold(
        self,
        library_faces: int,
        expected_false_matches: float = DEFAULT_EXPECTED_FALSE_MATCHES,
        *,
        low_quality: bool = False,
    ) -> float:
        """The normalised score a match needs for at most `expected_false_matches` strangers
        per search of `library_faces` faces; against a low-quality face, the score at which
        low-quality strangers are that rare (never less than a sharp face needs)."""
        fmr = expected_false_matches / max(1, library_faces)
        t = _interpolated_threshold(self.thresholds, self.fmr, fmr)
        if low_quality:
            t = max(t, _interpolated_threshold(self.thresholds, self.low_quality_fmr, fmr))
        return round(t, 3)

    def expected_false_matches(self, threshold: float, library_faces: int) -> float:
        return _interpolated_fmr(self.thresholds, self.fmr, threshold) * library_faces


@dataclass(frozen=True, slots=True)
class Calibration:
    model_id: str
    source: str
    thresholds: tuple[float, ...]  # ascending
    fmr: tuple[float, ...]  # impostor pairs scoring >= threshold, per comparison (descending)
    tmr: tuple[float, ...]  # genuine pairs scoring >= threshold
    min_threshold: float  # never search below this, whatever the library size
    max_threshold: float  # beyond the measured tail: the strictest threshold we trust
    low_quality_margin: float  # extra similarity asked of faces marked low quality
    #: The adaptive score's table, where one was measured for this model.
    adaptive: AdaptiveCalibration | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        rows = sorted(d["table"], key=lambda r: r["threshold"])
        return cls(
            model_id=d["model_id"],
            source=d["source"],
            thresholds=tuple(float(r["threshold"]) for r in rows),
            fmr=tuple(float(r["fmr"]) for r in rows),
            tmr=tuple(float(r["tmr"]) for r in rows),
            min_threshold=float(d["min_threshold"]),
            max_threshold=float(d["max_threshold"]),
            low_quality_margin=float(d["low_quality_margin"]),
            adaptive=AdaptiveCalibration.from_dict(d["adaptive"]) if d.get("adaptive") else None,
        )

    def fmr_at(self, threshold: float) -> float:
        """Per-comparison false-match rate at `threshold` (log-linear interpolation)."""
        return _interpolated_fmr(self.thresholds, self.fmr, threshold)

    def threshold_for_fmr(self, fmr: float) -> float:
        """The lowest threshold whose false-match rate is at most `fmr`."""
        if self.fmr[-1] > fmr:
            return self.max_threshold
        return _interpolated_threshold(self.thresholds, self.fmr, fmr)

    def search_threshold(
        self, library_faces: int, expected_false_matches: float = DEFAULT_EXPECTED_FALSE_MATCHES
    ) -> float:
        """Threshold for searching `library_faces` faces with at most `expected_false_matches`
        strangers returned per search, on average."""
        fmr = expected_false_matches / max(1, library_faces)
        t = self.threshold_for_fmr(fmr)
        return round(min(self.max_threshold, max(self.min_threshold, t)), 4)

    def expected_false_matches(self, threshold: float, library_faces: int) -> float:
        return self.fmr_at(threshold) * library_faces


def load_calibration(model_id: str) -> Calibration:
    text = (
        resources.files("regard.inference")
        .joinpath("calibration", f"{model_id}.json")
        .read_text(encoding="utf-8")
    )
    return Calibration.from_dict(json.loads(text))
