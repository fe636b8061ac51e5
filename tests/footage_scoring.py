"""Scoring appearances against the truth: recall (is every person who is visible long and large
enough covered by one appearance of theirs, for at least 90 % of the time?) and purity (does any
appearance mix two people?).

Two kinds of truth: the exact frame-by-frame truth of a video made from photos
(`footage_maker.Truth`), and the by-eye truth of the real videos in tests/data/video_truth.csv
(visible intervals with a few reference boxes each). An appearance is someone's when its box
overlaps theirs (IoU >= 0.3) at the moments compared.

Used by bench/video_index.py and tests/integration/test_footage_real.py.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from regard.domain.appearance import Appearance
from regard.domain.face import Box

from .footage_maker import Truth

TRUTH_CSV = Path(__file__).resolve().parent / "data" / "video_truth.csv"
MATCH_IOU = 0.3
NEAR_SIGHTING = 0.6  # seconds from a reference box a sighting may be to be compared with it
COVERED = 0.9


@dataclass(slots=True)
class Visible:
    """One stretch of time one person is visible, and how well the appearances cover it."""

    person: str
    start: float
    end: float
    required: bool
    coverage: float = 0.0  # the best share of the stretch one appearance of theirs covers
    notes: str = ""

    @property
    def covered(self) -> bool:
        return self.coverage >= COVERED


@dataclass(slots=True)
class Score:
    visible: list[Visible] = field(default_factory=list)
    mixed: list[tuple[int, list[str]]] = field(default_factory=list)  # appearance, people
    unmatched: int = 0  # appearances of nobody in the truth (false detections, strangers)
    appearances: int = 0

    @property
    def required(self) -> list[Visible]:
        return [v for v in self.visible if v.required]

    @property
    def recall(self) -> float:
        req = self.required
        return sum(v.covered for v in req) / len(req) if req else 1.0

    def missed(self) -> list[Visible]:
        return [v for v in self.required if not v.covered]

    def line(self) -> str:
        req = self.required
        return (
            f"recall {sum(v.covered for v in req)}/{len(req)} covered >= {COVERED:.0%}, "
            f"purity {self.appearances - len(self.mixed)}/{self.appearances} appearances of one "
            f"person ({len(self.mixed)} mixed), {self.unmatched} of nobody in the truth"
        )


def overlap(a: Appearance, start: float, end: float) -> float:
    return max(0.0, min(a.end, end) - max(a.start, start))


# --- made videos: exact truth ------------------------------------------------------------------


def score_made(
    appearances: tuple[Appearance, ...], truth: Truth, min_px: float = 40.0, min_s: float = 1.0
) -> Score:
    """Each path point of each appearance is matched to the truth face it overlaps in that
    frame; an appearance whose points fall on two people is mixed."""
    fps = truth.fps
    by_frame: dict[int, list[tuple[str, str, Box]]] = {}
    for t in truth.tracks:
        for f, b in t.boxes.items():
            by_frame.setdefault(f, []).append((t.id, t.person, Box(*b)))
    hits: list[Counter[str]] = []
    score = Score(appearances=len(appearances))
    for k, a in enumerate(appearances):
        people: Counter[str] = Counter()
        tracks: Counter[str] = Counter()
        for p in a.path:
            frame = round(p.time * fps)
            best = max(
                ((p.box.iou(b), tid, person) for tid, person, b in by_frame.get(frame, [])),
                default=(0.0, "", ""),
            )
            if best[0] >= MATCH_IOU:
                people[best[2]] += 1
                tracks[best[1]] += 1
        hits.append(tracks)
        if len(people) > 1:
            score.mixed.append((k, sorted(people)))
        if not people:
            score.unmatched += 1
    for tid, person, start, end in truth.visible(min_px, min_s):
        best = 0.0
        for a, tracks in zip(appearances, hits, strict=True):
            if tid in tracks:
                best = max(best, overlap(a, start, end) / (end - start))
        score.visible.append(Visible(person, start, end, True, best, tid))
    return score


# --- real videos: by-eye truth -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TruthRow:
    video: str
    person: str
    start: float
    end: float
    required: bool
    refs: tuple[tuple[float, Box], ...]
    notes: str


def read_truth(path: Path = TRUTH_CSV) -> dict[str, list[TruthRow]]:
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    out: dict[str, list[TruthRow]] = {}
    for r in csv.DictReader(lines):
        refs = []
        for part in r["refs"].split(";"):
            t, x, y, w, h = (float(v) for v in part.split(":"))
            refs.append((t, Box(x, y, w, h)))
        row = TruthRow(
            r["video"],
            r["person"],
            float(r["start"]),
            float(r["end"]),
            r["required"] == "yes",
            tuple(refs),
            r["notes"],
        )
        out.setdefault(row.video, []).append(row)
    return out


def score_real(appearances: tuple[Appearance, ...], rows: list[TruthRow]) -> Score:
    score = Score(appearances=len(appearances))
    owners: list[set[str]] = []
    for a in appearances:
        people = {row.person for row in rows if _matches(a, row)}
        owners.append(people)
    for k, people in enumerate(owners):
        if len(people) > 1:
            score.mixed.append((k, sorted(people)))
        if not people:
            score.unmatched += 1
    for row in rows:
        best = 0.0
        for a, people in zip(appearances, owners, strict=True):
            if people == {row.person} and _matches(a, row):
                best = max(best, overlap(a, row.start, row.end) / (row.end - row.start))
        score.visible.append(Visible(row.person, row.start, row.end, row.required, best, row.notes))
    return score


def _matches(a: Appearance, row: TruthRow) -> bool:
    for t, ref in row.refs:
        box = _box_for(a, t, row)
        if box is not None and box.iou(ref) >= MATCH_IOU:
            return True
    return False


def _box_for(a: Appearance, t: float, row: TruthRow) -> Box | None:
    """The appearance's box at `t` where it was seen: interpolated between its sightings, or,
    just outside them, its nearest sighting if that falls within the row's own stretch (so a
    sighting from before a cut is never compared with someone seen after it)."""
    first, last = a.path[0], a.path[-1]
    if first.time <= t <= last.time:
        return a.box_at(t)
    p = first if t < first.time else last
    if abs(p.time - t) <= NEAR_SIGHTING and row.start - 0.005 <= p.time < row.end:
        return p.box
    return None
