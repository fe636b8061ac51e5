"""The two tiers of a search: how one probe's scores are judged in this library.

*Matches* keep search's promise (at most 0.05 strangers expected per search): a sharp face is
a match at the global threshold for the library's size; a low-quality face (or any face, with
a low-quality probe) must also stand out from the probe's own neighbourhood among the
library's faces (the adaptive score of `regard.pipeline.adaptive`, calibrated on lfw-dev) by
the stricter margin low-quality strangers need. *Possible matches* are the few faces beyond
that which still stand out from the neighbourhood, best first, each with the reason it is
only possible. (The search service adds two rules: a named look-alike of the person found is
only possible, and the other faces of the photo searched with are never results.)

A library too small to judge a neighbourhood (fewer than `MIN_COHORT` faces), or a threshold
the user gives, is judged by one similarity as before; the possible tier then starts at the
1:1 verification point.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from regard.inference.calibration import Calibration
from regard.pipeline.adaptive import COHORT_SIZE, MIN_COHORT, Judge, cohort_stats
from regard.storage.vector_store import VectorStore

#: The cohort's sample is drawn with this seed: the same library gives the same cohort.
COHORT_SEED = 17


class Tiers:
    def __init__(self, *, vectors: VectorStore, calibration: Calibration) -> None:
        self.vectors = vectors
        self.calibration = calibration

    def judge(
        self,
        embedding: npt.NDArray[np.float32],
        *,
        probe_low: bool = False,
        given: float | None = None,
    ) -> tuple[Judge, str, float]:
        """How `embedding`'s scores are judged, where the rule came from ("adaptive",
        "calibrated" or "given") and the strangers it expects per search."""
        cal = self.calibration
        size = len(self.vectors.index)
        table = cal.adaptive
        if given is None and table is not None and size >= MIN_COHORT:
            _ids, cohort = self.vectors.cohort(COHORT_SIZE, COHORT_SEED)
            if len(cohort) >= MIN_COHORT:
                # The probe's own photos are not its neighbourhood: what would match it by
                # the global threshold is left out of the statistics.
                unrelated = cal.search_threshold(size)
                mean, _spread = cohort_stats(embedding[None, :], cohort, unrelated)
                match = table.threshold(size)
                floor = table.threshold(size, table.possible_expected)
                judge = Judge(
                    match=match,
                    match_low=table.threshold(size, low_quality=True),
                    floor=min(floor, match),
                    # Never looser than the global threshold: measured, loosening it for
                    # probes in sparse parts of the space doubled the strangers returned for
                    # the family photos' faces (bench/adaptive_search.py).
                    raw_floor=cal.search_threshold(size),
                    probe_low=probe_low,
                    mean=float(mean[0]),
                    spread=1.0,  # the shift alone: dividing by the spread cost recall
                    raw_low=cal.search_threshold(size) + cal.low_quality_margin,
                )
                return judge, "adaptive", table.expected_false_matches(match, size)
        if given is not None:
            t, source = given, "given"
        else:
            t, source = cal.search_threshold(size), "calibrated"
        judge = Judge(
            match=t,
            match_low=t + cal.low_quality_margin,
            floor=min(t, cal.min_threshold),
            raw_floor=min(t, cal.min_threshold),
            probe_low=probe_low,
        )
        return judge, source, cal.expected_false_matches(t, size)
