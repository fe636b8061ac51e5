"""The adaptive score and the two tiers: normalisation against a cohort, and the split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.inference.calibration import AdaptiveCalibration
from regard.pipeline.adaptive import (
    LOOK_ALIKE,
    MATCH,
    MIN_SPREAD,
    POSSIBLE,
    SELF_SCORE,
    SMALL_FACE,
    UNCLEAR_FACE,
    UNCLEAR_PROBE,
    Judge,
    cohort_stats,
    normalise,
    outscored,
    top_count,
)


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_the_statistics_are_those_of_the_best_twentieth_of_the_cohort():
    rng = np.random.default_rng(0)
    cohort = unit(rng.normal(size=(200, 16)))
    probe = unit(rng.normal(size=(1, 16)))
    mean, spread = cohort_stats(probe, cohort)
    scores = np.sort(cohort @ probe[0])[::-1][: top_count(200)]
    assert top_count(200) == 10
    assert mean[0] == pytest.approx(scores.mean(), abs=1e-5)
    assert spread[0] == pytest.approx(scores.std(), abs=1e-5)


def test_a_probe_already_in_the_cohort_is_not_its_own_neighbour():
    rng = np.random.default_rng(1)
    cohort = unit(rng.normal(size=(100, 16)))
    with_itself = cohort_stats(cohort[:1], cohort)
    without = cohort_stats(cohort[:1], cohort[1:])
    assert with_itself[0][0] == pytest.approx(without[0][0], abs=1e-5)


def test_a_crowded_probe_needs_a_higher_similarity_than_a_lonely_one():
    """Children, babies, old prints: strangers score higher against them, so the same
    similarity stands out less."""
    rng = np.random.default_rng(2)
    cohort = unit(rng.normal(size=(500, 16)))
    crowded = unit(cohort[:50].mean(axis=0, keepdims=True))  # in the thick of the cohort
    lonely = unit(rng.normal(size=(1, 16)))
    (m_c,), (s_c,) = cohort_stats(crowded, cohort)
    (m_l,), (s_l,) = cohort_stats(lonely, cohort)
    assert m_c > m_l
    score = 0.7
    assert normalise([score], m_c, s_c)[0] < normalise([score], m_l, s_l)[0]
    assert normalise([score], m_c)[0] < normalise([score], m_l)[0]  # the shift Regard uses


def test_an_empty_cohort_is_refused():
    with pytest.raises(ValueError, match="empty cohort"):
        cohort_stats(np.ones((1, 4), dtype=np.float32), np.zeros((0, 4), dtype=np.float32))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    dim=st.integers(min_value=2, max_value=32),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_normalising_is_defined_and_puts_the_cohorts_best_near_zero(n, dim, seed):
    rng = np.random.default_rng(seed)
    cohort = unit(rng.normal(size=(n, dim)))
    probe = unit(rng.normal(size=(1, dim)))
    mean, spread = cohort_stats(probe, cohort)
    assert np.isfinite(mean).all() and (spread >= MIN_SPREAD - 1e-7).all()
    assert normalise([mean[0]], mean[0], spread[0])[0] == pytest.approx(0.0, abs=1e-5)
    scores = cohort @ probe[0]
    scores = np.where(scores >= SELF_SCORE, -2.0, scores)  # a copy of the probe is left out
    top = np.sort(scores)[::-1][: top_count(n)]
    z = normalise(top, mean[0], spread[0])
    # The top of the cohort lies within a few spreads of its mean, never far beyond.
    assert z.max() <= np.sqrt(max(1, len(top) - 1)) + 1e-3


#: The global threshold for the library's size is 0.45: 5 spreads beyond this probe's
#: neighbourhood (mean 0.2, spread 0.05).
JUDGE = Judge(match=5.0, match_low=6.0, floor=2.5, raw_floor=0.45, mean=0.2, spread=0.05)


def test_the_tiers_of_one_probe():
    at = JUDGE.similarity
    assert JUDGE.judge(at(5.0) + 1e-4, False, 80).tier == MATCH
    v = JUDGE.judge(at(4.0), False, 80)
    assert (v.tier, v.reason) == (POSSIBLE, LOOK_ALIKE)
    assert JUDGE.judge(at(2.0), False, 80) is None
    # Sharp enough for a match, but the face is small or blurry: only possible, and why.
    assert JUDGE.judge(at(5.5), True, 18).reason == SMALL_FACE
    assert JUDGE.judge(at(5.5), True, 60).reason == UNCLEAR_FACE
    assert JUDGE.judge(at(6.0) + 1e-4, True, 60).tier == MATCH
    probe_low = Judge(**{**JUDGE_ARGS, "probe_low": True})
    assert probe_low.judge(at(5.5), False, 80).reason == UNCLEAR_PROBE


JUDGE_ARGS = dict(match=5.0, match_low=6.0, floor=2.5, raw_floor=0.45, mean=0.2, spread=0.05)


def test_a_sharp_face_at_the_global_threshold_is_a_match_however_crowded_the_probe():
    """Session 7 (issue 17): a sharp face needs the global threshold only. Asking it to stand
    out from a crowded probe's neighbourhood as well cost 0.4 points of recall on lfw-dev
    and did not keep the most crowded probes' promise (the look-alike rule does)."""
    crowded = Judge(**{**JUDGE_ARGS, "mean": 0.42})  # the global threshold is 0.6 spreads out
    v = crowded.judge(0.45, False, 80)
    assert v is not None and v.tier == MATCH
    assert crowded.threshold() == 0.45
    # A low-quality face still has to stand out from the neighbourhood.
    v = crowded.judge(0.62, True, 80)  # 4 spreads out: possible, not 6
    assert v is not None and v.tier == POSSIBLE and v.reason == UNCLEAR_FACE
    # Below it, a face that does not stand out from the neighbourhood is not even possible.
    assert crowded.judge(0.44, False, 80) is None


def test_a_low_quality_face_is_never_trusted_more_than_the_global_threshold_did():
    j = Judge(**{**JUDGE_ARGS, "match_low": 5.0, "raw_low": 0.48})
    at = j.similarity(5.5)  # 0.475: sure enough for a sharp face
    assert j.judge(at, False, 80).tier == MATCH
    v = j.judge(at, True, 60)
    assert (v.tier, v.reason) == (POSSIBLE, UNCLEAR_FACE)
    assert j.judge(0.49, True, 60).tier == MATCH


def test_never_a_match_below_the_one_to_one_point():
    lonely = Judge(**{**JUDGE_ARGS, "mean": 0.05, "spread": 0.02})  # 5 spreads = 0.15
    v = lonely.judge(0.3, False, 80)
    assert v is not None and v.tier == POSSIBLE
    assert lonely.search_floor() <= 0.3


def test_without_a_cohort_the_given_similarity_decides():
    plain = Judge(match=0.48, match_low=0.48, floor=0.36, raw_floor=0.36)
    assert not plain.adaptive
    assert plain.judge(0.48, False, 80).tier == MATCH
    assert plain.judge(0.40, False, 80).tier == POSSIBLE
    assert plain.judge(0.30, False, 80) is None
    assert plain.search_floor() == 0.36


RANK = {None: 0, POSSIBLE: 1, MATCH: 2}


@settings(max_examples=100, deadline=None)
@given(
    a=st.floats(min_value=-1, max_value=1),
    b=st.floats(min_value=-1, max_value=1),
    low=st.booleans(),
    probe_low=st.booleans(),
    px=st.floats(min_value=1, max_value=500),
    mean=st.floats(min_value=-0.2, max_value=0.8),
    spread=st.floats(min_value=0.0, max_value=0.3),
)
def test_a_higher_score_is_never_in_a_lower_tier_and_low_quality_never_helps(
    a, b, low, probe_low, px, mean, spread
):
    j = Judge(**{**JUDGE_ARGS, "mean": mean, "spread": spread, "probe_low": probe_low})
    lo, hi = sorted((a, b))

    def tier(score, is_low):
        v = j.judge(score, is_low, px)
        return RANK[None if v is None else v.tier]

    assert tier(lo, low) <= tier(hi, low)
    assert tier(hi, True) <= tier(hi, False)
    v = j.judge(hi, low, px)
    if v is not None and v.tier == POSSIBLE:
        assert v.reason
    if v is not None:
        assert hi >= j.search_floor() - 1e-9  # the search looked far enough


TABLE = AdaptiveCalibration.from_dict(
    {
        "source": "test",
        "possible_expected": 2.0,
        "table": [
            {"threshold": 3.0, "fmr": 1e-3},
            {"threshold": 4.0, "fmr": 1e-5},
            {"threshold": 5.0, "fmr": 1e-7},
        ],
        "low_quality_fmr": [1e-2, 1e-4, 1e-6],
    }
)


@given(small=st.integers(min_value=1, max_value=10**6), more=st.integers(0, 10**6))
def test_a_larger_library_asks_more_and_a_low_quality_face_never_less(small, more):
    assert TABLE.threshold(small) <= TABLE.threshold(small + more)
    assert TABLE.threshold(small, low_quality=True) >= TABLE.threshold(small)


def test_the_threshold_keeps_the_expected_strangers():
    t = TABLE.threshold(5000)  # 0.05 / 5000 = 1e-5
    assert t == pytest.approx(4.0, abs=1e-3)
    assert TABLE.expected_false_matches(t, 5000) == pytest.approx(0.05, rel=0.01)
    # The possible tier starts lower: where 2 strangers per search would be expected.
    assert TABLE.threshold(5000, TABLE.possible_expected) < t


def test_the_probes_own_photos_are_not_its_neighbourhood():
    """In a family library one person can be a fifth of the faces: their own photos (what
    would match anyway) must not make them harder to find."""
    rng = np.random.default_rng(3)
    bulk = unit(rng.normal(size=(400, 16)))
    probe = unit(rng.normal(size=(1, 16)))
    mates = unit(probe + 0.05 * rng.normal(size=(100, 16)))  # a fifth of the library
    assert (mates @ probe[0]).min() > 0.8
    alone, _ = cohort_stats(probe, bulk, 0.5)
    crowded_by_mates, _ = cohort_stats(probe, np.vstack([bulk, mates]), 0.5)
    naive, _ = cohort_stats(probe, np.vstack([bulk, mates]))
    assert naive[0] > 0.8  # every one of its best 5 % is one of its own photos
    assert crowded_by_mates[0] == pytest.approx(alone[0], abs=0.05)


def test_a_person_whose_best_face_is_well_below_the_best_persons_is_outscored():
    scores = [(1, 0.80), (1, 0.55), (2, 0.56), (3, 0.78), (None, 0.95), (4, 0.30)]
    # Person 1's best is 0.80: 2 (0.56) and 4 (0.30) are more than 0.05 below; 3 is not.
    assert outscored(scores) == {2, 4}
    assert outscored(scores, margin=0.3) == {4}
    assert outscored(scores, margin=0.6) == set()
    # A face in no person outscores nobody, and nobody outscores it.
    assert outscored([(None, 0.9), (5, 0.5)]) == set()
    assert outscored([]) == set()


@given(
    st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 5)), st.floats(-1, 1)), max_size=30),
    st.floats(0, 0.5),
)
def test_the_best_person_is_never_outscored(scores, margin):
    out = outscored(scores, margin)
    named = [(p, s) for p, s in scores if p is not None]
    if named:
        best = max(named, key=lambda x: x[1])[0]
        assert best not in out
    assert all(p is not None for p in out)
