"""The rules of identification: policies, purposes and consent, as pure functions.

* household (default): a private person's own library. Everyone in it may be grouped, named,
  searched for and alerted on, unless they have a consent record that withdrew the purpose.
* organisation (school, club, company, event photographer; GDPR art. 9): nobody may be
  identified — named, searched for, matched, alerted on — without an active consent record
  for that purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from regard.errors import PrivacyRequestError


class Policy(StrEnum):
    HOUSEHOLD = "household"
    ORGANISATION = "organisation"


class Purpose(StrEnum):
    GROUPING = "grouping"  # grouped into a named person, shown as them
    SEARCH = "search"  # found by `search --person` / `search --face`
    CAMERA = "camera"  # alerted on by a camera
    RECAPS = "recaps"  # shown (not blurred) in recaps: collages and slideshows


ALL_PURPOSES = frozenset(Purpose)


def parse_purposes(text: str | Iterable[str]) -> frozenset[Purpose]:
    items = text.split(",") if isinstance(text, str) else list(text)
    out: set[Purpose] = set()
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if item == "all":
            out |= ALL_PURPOSES
            continue
        try:
            out.add(Purpose(item))
        except ValueError:
            raise PrivacyRequestError(
                f"{item!r} is not a purpose. Purposes are: "
                f"{', '.join(p.value for p in Purpose)} (or all)."
            ) from None
    if not out:
        raise PrivacyRequestError("Name at least one purpose: grouping, search, camera or recaps.")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    action: str  # "grant" | "withdraw"
    purposes: frozenset[Purpose]
    at: str  # ISO timestamp
    expires: str | None = None  # ISO date


def active_purposes(records: Sequence[ConsentRecord], today: date) -> frozenset[Purpose]:
    """Purposes a subject's ledger allows today: grants add (until they expire), withdrawals
    remove, later records win."""
    active: dict[Purpose, str | None] = {}
    for rec in records:
        for purpose in rec.purposes:
            if rec.action == "grant":
                active[purpose] = rec.expires
            else:
                active.pop(purpose, None)
    return frozenset(
        p
        for p, expires in active.items()
        if expires is None or date.fromisoformat(expires) >= today
    )


def allowed_purposes(
    policy: Policy, records: Sequence[ConsentRecord], today: date
) -> frozenset[Purpose]:
    """What a person with this ledger may be identified for under `policy`. In a household
    library the owner attests for their own family and friends: every purpose but `camera`
    that their ledger does not speak of, and those it grants today (a camera knows only those
    granted it). A purpose they withdrew, or were granted until a date that has passed, is
    theirs no longer; granting one (`camera`, so the door camera knows grandma) takes none of
    the others away. An organisation: the ledger alone."""
    active = active_purposes(records, today)
    if policy is Policy.HOUSEHOLD:
        spoken_of = {p for r in records for p in r.purposes}
        return active | (ATTESTED - spoken_of)
    return active


#: What a household owner's word allows for someone with no record of theirs.
ATTESTED = ALL_PURPOSES - {Purpose.CAMERA}
#: The purposes that need a person's face data; when none is left, it is deleted.
IDENTIFYING = frozenset({Purpose.GROUPING, Purpose.SEARCH, Purpose.CAMERA})


def permitted(
    policy: Policy, records: Sequence[ConsentRecord], purpose: Purpose, today: date
) -> bool:
    """May a person with this ledger be identified for `purpose` under `policy`?"""
    return purpose in allowed_purposes(policy, records, today)


@dataclass(frozen=True, slots=True)
class FaceVerdict:
    """What the privacy gate decided for one new face before anything is stored."""

    keep: bool = True  # store the face's vector
    reason: str = "kept"  # why not: "opted_out" | "erased" | "withdrawn" | "unconsented"
    optout_id: int | None = None
    person_id: int | None = None  # organisation: the consented person it matched


KEEP = FaceVerdict()


def shown_in_recaps(policy: Policy, records: Sequence[ConsentRecord], today: date) -> bool:
    """May a person with this ledger be shown unblurred in recaps?

    Organisation: only with an active consent for recaps. Household: unless they withdrew
    it — a ledger that withdrew recaps (and did not grant it again), or has no purpose left
    (everything withdrawn or expired); someone who agreed to other purposes before recaps
    existed is shown."""
    active = active_purposes(records, today)
    if policy is Policy.ORGANISATION:
        return Purpose.RECAPS in active
    if not records or Purpose.RECAPS in active:
        return True
    if any(r.action == "withdraw" and Purpose.RECAPS in r.purposes for r in records):
        return False
    return bool(active)
