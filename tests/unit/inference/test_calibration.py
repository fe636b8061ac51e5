import pytest

from regard.inference.calibration import load_calibration
from regard.inference.registry import SFACE


@pytest.fixture(scope="module")
def cal():
    return load_calibration(SFACE.id)


def test_the_shipped_table_is_monotonic(cal):
    assert list(cal.thresholds) == sorted(cal.thresholds)
    assert list(cal.fmr) == sorted(cal.fmr, reverse=True)
    assert list(cal.tmr) == sorted(cal.tmr, reverse=True)
    assert "lfw-dev" in cal.source


def test_bigger_libraries_need_stricter_thresholds(cal):
    sizes = [1, 10, 100, 1_000, 10_000, 100_000, 10_000_000]
    ts = [cal.search_threshold(n) for n in sizes]
    assert ts == sorted(ts)
    assert ts[0] == cal.min_threshold  # never below the 1:1 verification point
    assert ts[-1] == cal.max_threshold  # never beyond what was measured
    assert ts[3] < ts[4] < ts[5]


def test_the_threshold_keeps_strangers_per_search_at_the_target(cal):
    for n in (1_000, 10_000, 50_000):
        t = cal.search_threshold(n, expected_false_matches=0.05)
        assert cal.expected_false_matches(t, n) == pytest.approx(0.05, rel=0.05)


def test_fmr_and_threshold_are_inverse(cal):
    for fmr in (1e-3, 1e-4, 1e-5):
        assert cal.fmr_at(cal.threshold_for_fmr(fmr)) == pytest.approx(fmr, rel=0.02)
