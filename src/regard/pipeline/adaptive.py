"""The probe- and library-adaptive score: how far a face's similarity stands out from the
similarities the probe gets from the library's bulk of unrelated faces.

Some faces sit in crowded parts of the embedding space (children, babies, old prints, some
groups): every stranger scores higher against them, so one global similarity threshold
returns many strangers for them and few for others. Regard normalises each score against
the probe's own neighbourhood in a cohort (a fixed random sample of the library's faces):
the normalised score is the similarity less the mean of the probe's best cohort scores (its
top 5 %). A match is a face that stands that far beyond what the probe gets from the
library's bulk of unrelated faces, wherever the probe sits. (Dividing by the spread of those
scores as well, Z-norm proper, was measured too: it cost a third of the recall,
`bench/adaptive_search.py`.) Nothing about the person is estimated (no age, gender or origin):
only where the probe falls among the library's faces.

The same normalised score is calibrated on lfw-dev (`bench/adaptive_search.py --write`) for
the promise search makes: at most 0.05 strangers expected per search, for the library's size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

#: How many library faces the cohort samples; below `MIN_COHORT` faces the library is too
#: small to say where a probe sits, and the global threshold is used.
COHORT_SIZE = 1000
MIN_COHORT = 100
#: The share of the probe's best cohort scores its statistics are taken over.
TOP_FRACTION = 0.05
#: A cohort face scoring this much is the probe itself (its photo is in the library).
SELF_SCORE = 0.999
#: The spread is never taken as smaller than this (a degenerate cohort must not blow up).
MIN_SPREAD = 0.01


def top_count(cohort_size: int) -> int:
    return max(1, math.ceil(TOP_FRACTION * cohort_size))


def cohort_stats(queries: F32, cohort: F32, unrelated_below: float = SELF_SCORE) -> tuple[F32, F32]:
    """Per query row: (mean, spread) of its best `TOP_FRACTION` scores against `cohort`,
    counting only the unrelated: a cohort face scoring `unrelated_below` or more (the query
    itself; a face that would match it anyway, one of the person's own photos in a family
    library where they are a fifth of the faces) is left out."""
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    c = np.asarray(cohort, dtype=np.float32)
    if len(c) == 0:
        raise ValueError("an empty cohort has no statistics")
    scores = q @ c.T
    scores = np.where(scores >= min(unrelated_below, SELF_SCORE), np.float32(-2.0), scores)
    k = min(top_count(len(c)), len(c))
    top = -np.partition(-scores, k - 1, axis=1)[:, :k]
    mean = top.mean(axis=1).astype(np.float32)
    spread = np.maximum(top.std(axis=1), MIN_SPREAD).astype(np.float32)
    return mean, spread


def normalise(scores: npt.ArrayLike, mean: float, spread: float = 1.0) -> F32:
    """Similarities of one probe as how far (in spreads: 1 unless given) they stand beyond
    its cohort's best."""
    s = np.asarray(scores, dtype=np.float32)
    return ((s - np.float32(mean)) / np.float32(max(spread, MIN_SPREAD))).astype(np.float32)


# --- look-alike people ---------------------------------------------------------------------------

#: A face of a person is a match only if that person's best score is within this of the best
#: person's: most strangers a search returns are the look-alike relatives of the person
#: searched for (brothers, sisters, a mother), who score high, but lower than the person's own
#: photos (measured on lfw-dev, `bench/adaptive_search.py`).
RIVAL_MARGIN = 0.05


def outscored(scores: Iterable[tuple[int | None, float]], margin: float = RIVAL_MARGIN) -> set[int]:
    """The people (ids) among (person, score) pairs whose best score is more than `margin`
    below the best person's. A face in no person is never outscored and outscores nobody (the
    library has not said who it is)."""
    best: dict[int, float] = {}
    for person, score in scores:
        if person is not None:
            best[person] = max(best.get(person, -2.0), score)
    if not best:
        return set()
    top = max(best.values())
    return {person for person, score in best.items() if score < top - margin}


# --- the two tiers ------------------------------------------------------------------------------

MATCH, POSSIBLE = "match", "possible"
#: At most this many faces in the "possible matches" tier of one search.
POSSIBLE_LIMIT = 5
#: Why a face is only possible (shown with it).
LOOK_ALIKE = (
    "looks alike, but not enough to be sure: perhaps the same person at another age, or a relative"
)
SMALL_FACE = "a small face: too few pixels to be sure"
UNCLEAR_FACE = (
    "a blurry, turned or unclear face (a scanned print, a far-away face): not trusted like a "
    "sharp one"
)
UNCLEAR_PROBE = "the face searched with is small or blurry: not trusted like a sharp one"
RIVAL = (
    "looks alike, but another person in the library looks more like the face searched with: "
    "perhaps a relative"
)
#: Below this many pixels wide a face is "small" (as `regard.pipeline.quality` marks it).
SMALL_PX = 24.0


@dataclass(frozen=True, slots=True)
class Verdict:
    tier: str  # MATCH or POSSIBLE
    reason: str | None  # why only possible
    normalised: float | None  # the adaptive score, where one was used


@dataclass(frozen=True, slots=True)
class Judge:
    """How one probe's similarities are judged.

    Adaptive (`mean` set): a sharp face (with a sharp probe) is a match when its similarity
    reaches `raw_floor`, the global threshold for the library's size (session 7: asking a
    crowded probe's sharp faces for the normalised score too cost 0.4 points of recall and
    was not what kept the crowded probes' promise; the look-alike rule and the photo searched
    with do, `bench/adaptive_search.py`). A low-quality face, or any face with a low-quality
    probe, needs the normalised score to reach `match_low` as well, and `raw_low`. A face is
    possible when its normalised score reaches `floor`. Not adaptive (the library is too
    small to judge a probe's neighbourhood, or the user gave a threshold): similarities
    against `match` / `match_low`, possible from `floor`.
    """

    match: float
    match_low: float
    floor: float
    raw_floor: float
    probe_low: bool = False
    mean: float | None = None
    spread: float = 1.0
    #: The similarity a low-quality match needs as well (today's global threshold): a
    #: blurry or tiny face is never trusted more than before.
    raw_low: float = -1.0

    @property
    def adaptive(self) -> bool:
        return self.mean is not None

    def similarity(self, normalised: float) -> float:
        """The similarity at which a face reaches `normalised` for this probe."""
        return normalised if self.mean is None else self.mean + normalised * self.spread

    def threshold(self) -> float:
        """The similarity a sharp face needs to be a match for this probe."""
        return self.match if self.mean is None else self.raw_floor

    def search_floor(self) -> float:
        """The lowest similarity worth looking at: the possible tier's."""
        return min(self.similarity(self.floor), self.similarity(self.match), self.raw_floor)

    def judge(self, score: float, face_low: bool, face_px: float) -> Verdict | None:
        """The tier of a face that scored `score`, and why it is only possible; None when it
        is not even possible."""
        z = None if self.mean is None else (score - self.mean) / max(self.spread, MIN_SPREAD)
        value = score if z is None else z
        low = face_low or self.probe_low
        sharp_match = score >= self.threshold()
        if low:
            raw_need = max(self.raw_floor, self.raw_low)
            if sharp_match and value >= self.match_low and score >= raw_need:
                return Verdict(MATCH, None, z)
        elif sharp_match:
            return Verdict(MATCH, None, z)
        if value < self.floor:
            return None
        if sharp_match:
            if self.probe_low and not face_low:
                reason = UNCLEAR_PROBE
            else:
                reason = SMALL_FACE if face_px < SMALL_PX else UNCLEAR_FACE
        else:
            reason = LOOK_ALIKE
        return Verdict(POSSIBLE, reason, z)
