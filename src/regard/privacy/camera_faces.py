"""Who a face a camera saw is, under the `camera` purpose: a household member who holds an
active `camera` consent, or nobody ("unknown").

* Only people with a name and an active `camera` grant in their consent ledger are matched
  (a household library's default — anyone may be identified until they say no — is not
  enough for a camera: the consent must be recorded).
* A face that looks like someone who opted out, was erased or withdrew (their templates, at
  the opt-out threshold, as the privacy gate uses them) is never matched and nothing of it is
  kept: `Identity.keep` is False.
* The threshold is the library's calibrated search threshold for as many reference vectors as
  there are (one rule for a match, `Calibration.search_threshold`), so a bigger household
  does not raise the chance of a stranger being named.

`CameraFaces` is built by the thread that writes events (it reads the catalog), and handed to
the camera threads, which only read its arrays: it is rebuilt, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from regard.domain.events import UNKNOWN
from regard.domain.privacy import Purpose, active_purposes
from regard.inference.calibration import Calibration
from regard.privacy.gate import Gate, Refs
from regard.privacy.policy import PolicyGate


@dataclass(frozen=True, slots=True)
class Identity:
    who: str  # a name, or UNKNOWN
    person_id: int | None = None
    score: float = 0.0
    keep: bool = True  # False: opted out, erased or withdrawn: keep nothing of this face
    reason: str = "matched"  # "matched" | "unknown" | "opted_out" | "erased" | "withdrawn"


def camera_consented(policy: PolicyGate) -> dict[int, str]:
    """person id -> name, for every named person with an active `camera` grant today."""
    today = policy.today()
    out: dict[int, str] = {}
    for person in policy.catalog.people.live_people():
        if person.name and Purpose.CAMERA in active_purposes(policy.ledger(person.name), today):
            out[person.id] = person.name
    return out


class CameraFaces:
    def __init__(
        self,
        people: dict[int, str],
        references: Refs,
        excluding: dict[str, Refs],
        threshold: float,
        exclusion_threshold: float,
    ) -> None:
        self.people = people
        self.owners, self.refs = references
        self.excluding = excluding
        self.threshold = threshold
        self.exclusion_threshold = exclusion_threshold

    @classmethod
    def build(cls, gate: Gate, policy: PolicyGate, calibration: Calibration) -> CameraFaces:
        people = camera_consented(policy)
        references = gate.references(set(people))
        excluding = {k: gate.templates(k) for k in ("optout", "erasure", "withdrawal")}
        threshold = calibration.search_threshold(max(1, len(references[0])))
        return cls(people, references, excluding, threshold, gate.optout_threshold())

    @classmethod
    def nobody(cls, dim: int = 128) -> CameraFaces:
        empty: Refs = (np.zeros(0, np.int64), np.zeros((0, dim), np.float32))
        return cls({}, empty, {}, 1.0, 1.0)

    def identify(self, vector: npt.NDArray[np.float32]) -> Identity:
        for kind, (owners, refs) in self.excluding.items():
            if len(owners) and float((refs @ vector).max()) >= self.exclusion_threshold:
                reason = {"optout": "opted_out", "erasure": "erased"}.get(kind, "withdrawn")
                return Identity(UNKNOWN, keep=False, reason=reason)
        if not len(self.owners):
            return Identity(UNKNOWN, reason="unknown")
        sims = self.refs @ vector
        best = int(np.argmax(sims))
        score = float(sims[best])
        if score < self.threshold:
            return Identity(UNKNOWN, score=score, reason="unknown")
        person = int(self.owners[best])
        return Identity(self.people[person], person, score)
