"""The library's policy, applied: may this person be identified for this purpose today, and
how is a photo's path shown to who is asking.

In a household library anyone may be identified unless they withdrew their consent for the
purpose; in an organisation library, only people with an active consent for it
(`regard.domain.privacy.permitted`). A face in no person may be identified only in a household
library. The services ask this gate; none of them holds the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from regard.domain.clock import utc_today
from regard.domain.photo import relative_name
from regard.domain.privacy import ConsentRecord, Policy, Purpose, parse_purposes, permitted
from regard.privacy.acting import Actor
from regard.storage.people_catalog import PersonRow, name_key
from regard.storage.repositories import Store

#: Which of these faces look like someone who may not be identified for this purpose (a
#: withdrawn consent holds for the human, not only for the faces in their person).
Withheld = Callable[[Sequence[int], Purpose], set[int]]


def nothing_withheld(_faces: Sequence[int], _purpose: Purpose) -> set[int]:
    return set()


class PolicyGate:
    def __init__(self, catalog: Store) -> None:
        self.catalog = catalog

    @property
    def current(self) -> Policy:
        """The library's policy (chosen when it was created)."""
        return Policy(self.catalog.runs.setting("policy") or Policy.HOUSEHOLD.value)

    def today(self) -> date:
        return utc_today()

    def ledger(self, name: str | None) -> list[ConsentRecord]:
        """The consent records of the person called `name`, oldest first."""
        if not name:
            return []
        return [
            ConsentRecord(r["action"], parse_purposes(r["purposes"]), r["at"], r["expires"])
            for r in self.catalog.privacy.consents(name_key(name))
        ]

    def allowed(self, person: PersonRow | None, purpose: Purpose) -> bool:
        """May this person (None: a face in no person) be identified for `purpose`?"""
        if person is None:
            return self.current is Policy.HOUSEHOLD
        return permitted(self.current, self.ledger(person.name), purpose, self.today())

    def path_namer(self, viewer: Actor) -> Callable[[str], str]:
        """How to show a photo's path to `viewer`: as it is if they may see where photos are
        on the disk, else from the indexed folder on."""
        if viewer.full_paths:
            return lambda path: path
        roots = self.catalog.runs.indexed_roots()
        return lambda path: relative_name(path, roots)
