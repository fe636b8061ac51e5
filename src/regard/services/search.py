"""Search, by face and by person: every photo with a face like the one in a given photo, or a
person's photos and then their look-alikes not in them yet; best first, under one threshold
rule (given, or calibrated for the library's size).

The library's policy applies to every result: a face is returned only if its person may be
searched for (in an organisation library: has an active consent for "search"; in a household
library: has not withdrawn it; faces in no person only in a household library), and only if
it does not look like someone who withdrew (their enrolment photo or any of their faces: a
withdrawal holds for the human, wherever their faces were grouped). Every search
is written to the audit log; in an organisation library, a probe that matched no consented
person leaves no trace but the fact that a search happened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from regard.domain.moments import MomentMatch
from regard.domain.people import person_label
from regard.domain.photo import shown_name
from regard.domain.privacy import Policy, Purpose
from regard.domain.search import FaceMatch, PersonSearch, PhotoMatch, ProbeFace, SearchResult
from regard.errors import ConsentRequiredError
from regard.inference.calibration import Calibration
from regard.pipeline.adaptive import (
    MATCH,
    POSSIBLE,
    POSSIBLE_LIMIT,
    RIVAL,
    RIVAL_MARGIN,
    SELF_SCORE,
    Judge,
    Verdict,
    outscored,
)
from regard.pipeline.cluster import prototypes
from regard.pipeline.probe import Probe, ProbeReader
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.policy import PolicyGate, Withheld, nothing_withheld
from regard.services.moments import moment_match, moments_of
from regard.services.people import PeopleService
from regard.services.tiers import Tiers
from regard.storage.people_catalog import PersonRow
from regard.storage.ranked import Neighbour
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore

Identity = tuple[str | None, str | None]


def identities(policy: PolicyGate) -> Callable[[PersonRow | None], Identity]:
    """A face's person ("P12") and their name, for results, where the library's policy allows
    showing who they are (as it allows grouping them into a person); (None, None) otherwise.
    The policy is asked once per person."""
    known: dict[int, Identity] = {}

    def who(person: PersonRow | None) -> Identity:
        if person is None:
            return None, None
        if person.id not in known:
            shown = policy.allowed(person, Purpose.GROUPING)
            known[person.id] = (person_label(person.id), person.name) if shown else (None, None)
        return known[person.id]

    return who


def photo_matches(
    catalog: Store,
    shown: Callable[[str], str],
    found: Iterable[tuple[int, tuple[FaceMatch, ...], str | None]],
) -> list[PhotoMatch]:
    """(photo id, matched faces best first, taken at) as results: each photo with the name
    to call it by and its size (the faces' boxes are in its pixels), and its path as `shown`."""
    rows = list(found)
    facts = catalog.photos.facts([photo_id for photo_id, _, _ in rows])
    out = []
    for photo_id, faces, taken_at in rows:
        f = facts[photo_id]
        out.append(
            PhotoMatch(
                photo_id,
                shown(f["path"]),
                faces[0].score,
                faces,
                taken_at,
                name=shown_name(f["path"], f["upload_name"]),
                width=f["width"],
                height=f["height"],
            )
        )
    return out


class SearchService:
    def __init__(
        self,
        *,
        catalog: Store,
        vectors: VectorStore,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        calibration: Calibration,
        probes: ProbeReader,
        people: PeopleService,
        withheld: Withheld = nothing_withheld,
    ) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.calibration = calibration
        self.probes = probes
        self.people = people
        self.withheld = withheld
        self.tiers = Tiers(vectors=vectors, calibration=calibration)
        #: How far below the best named person another's best may be and still match.
        self.rival_margin = RIVAL_MARGIN

    def threshold(self, given: float | None) -> tuple[float, str]:
        """The similarity a match needs, and where it came from: `given`, or calibrated for
        the library's size ("calibrated")."""
        if given is not None:
            return given, "given"
        return self.calibration.search_threshold(len(self.vectors.index)), "calibrated"

    def search_face(
        self,
        photo: Path,
        *,
        face_index: int | None = None,
        threshold: float | None = None,
        limit: int | None = None,
    ) -> SearchResult:
        probe = self.probes.read(photo)
        face_index = probe.select(face_index)
        chosen = probe.faces[face_index]
        index = self.vectors.index
        judge, source, expected = self.tiers.judge(
            chosen.embedding, probe_low=chosen.quality.low, given=threshold
        )
        t = judge.threshold()
        answers = index.search(chosen.embedding, threshold=judge.search_floor())
        found = answers.ids.tolist()
        neighbours = list(answers)  # read below several times: made once, best first
        hits = self.catalog.faces.hits(found)
        possible: dict[int, list[FaceMatch]] = defaultdict(list)
        possible_faces = 0
        persons: dict[int, PersonRow | None] = {}
        allowed: dict[int | None, bool] = {}
        who = identities(self.policy)
        by_photo: dict[int, list[FaceMatch]] = defaultdict(list)
        look_alike = self.withheld(found, Purpose.SEARCH)
        withheld = 0
        shown = self.policy.path_namer(self.acting.actor)
        # Faces of videos are moments: listed beside the photos, by the same rules.
        in_videos, videos = moments_of(self.catalog, found)
        moments: list[MomentMatch] = []
        person_of = {
            n.id: self.catalog.people.face_person(n.id) for n in neighbours if n.id in hits
        }
        # Look-alikes of the person found are only possible; not under a threshold given.
        rivals = set() if threshold is not None else self._outscored(neighbours, person_of)
        # The photo searched with, where the library holds it (its face scores 1): its other
        # faces are other people (two faces of one photo are two people), never a match.
        own = {hits[n.id].photo_id for n in neighbours if n.score >= SELF_SCORE and n.id in hits}
        for n in neighbours:  # best first
            hit = hits.get(n.id)
            if hit is None or (hit.photo_id in own and n.score < SELF_SCORE):
                continue
            verdict = judge.judge(n.score, hit.low_quality, min(hit.box.w, hit.box.h))
            pid = person_of[n.id]
            if verdict is not None and verdict.tier == MATCH and pid in rivals:
                verdict = Verdict(POSSIBLE, RIVAL, verdict.normalised)
            if verdict is None or (verdict.tier == POSSIBLE and possible_faces >= POSSIBLE_LIMIT):
                continue
            if n.id in look_alike:
                withheld += 1
                continue
            if pid not in allowed:
                persons[pid or 0] = self.catalog.people.get(pid) if pid else None
                allowed[pid] = self.policy.allowed(persons[pid or 0], Purpose.SEARCH)
            if not allowed[pid]:
                withheld += 1
                continue
            label, name = who(persons[pid or 0])
            moment = in_videos.get(n.id)
            if verdict.tier == POSSIBLE:
                # The second tier lists photos; a video's face is only ever a match.
                if moment is None:
                    possible_faces += 1
                    possible[hit.photo_id].append(
                        FaceMatch(
                            n.id,
                            hit.box,
                            n.score,
                            hit.low_quality,
                            person=label,
                            name=name,
                            reason=verdict.reason,
                        )
                    )
                continue
            if moment is not None:
                moments.append(
                    moment_match(
                        moment,
                        videos[moment.photo_id],
                        shown,
                        score=n.score,
                        low_quality=hit.low_quality,
                        person=label,
                        person_name=name,
                    )
                )
                continue
            by_photo[hit.photo_id].append(
                FaceMatch(n.id, hit.box, n.score, hit.low_quality, person=label, name=name)
            )
        matches = photo_matches(
            self.catalog,
            shown,
            (
                (photo_id, tuple(sorted(fm, key=lambda f: -f.score)), hits[fm[0].face_id].taken_at)
                for photo_id, fm in by_photo.items()
            ),
        )
        matches.sort(key=lambda m: (-m.score, m.path))
        moments.sort(key=lambda m: (-m.score, m.path, m.start))
        # A photo with a match is not listed again among the possible ones.
        maybe = photo_matches(
            self.catalog,
            shown,
            (
                (photo_id, tuple(sorted(fm, key=lambda f: -f.score)), hits[fm[0].face_id].taken_at)
                for photo_id, fm in possible.items()
                if photo_id not in by_photo
            ),
        )
        maybe.sort(key=lambda m: (-m.score, m.path))
        if limit is not None:
            matches = matches[:limit]
            moments = moments[:limit]
        self._audit(probe, matches, moments, withheld, t, maybe, source)
        best = next((f for m in matches for f in m.faces if f.person), None)
        return SearchResult(
            probe_path=str(photo),
            probe_face=ProbeFace.of(face_index, chosen),
            probe_faces=len(probe.faces),
            threshold=t,
            threshold_source=source,
            library_faces=len(index),
            expected_false_matches=expected,
            matches=tuple(matches),
            moments=tuple(moments),
            possible=tuple(maybe),
            confirm_as=(best.person, best.name) if best and best.person else None,
        )

    def _outscored(
        self, neighbours: Iterable[Neighbour], person_of: dict[int, int | None]
    ) -> set[int]:
        """The people whose faces are only possible matches of this probe: a look-alike (a
        brother, a mother) scores high, but lower than the person's own photos. Only people
        the owner named or confirmed take part (an automatic group may be half of someone);
        the probe's own copy in the library (a score of 1) says nothing about anyone."""
        known: dict[int, bool] = {}

        def attested(pid: int | None) -> int | None:
            if pid is None:
                return None
            if pid not in known:
                row = self.catalog.people.get(pid)
                known[pid] = row is not None and bool(row.name or row.confirmed)
            return pid if known[pid] else None

        return outscored(
            (
                (attested(person_of[n.id]), n.score)
                for n in neighbours
                if n.id in person_of and n.score < SELF_SCORE
            ),
            self.rival_margin,
        )

    def search_person(self, ref: str, threshold: float | None = None) -> PersonSearch:
        """The person's photos, then photos with faces that look like them but are not in
        them yet ("suggested"), best first."""
        person = self.people.resolve(ref)
        if not self.policy.allowed(person, Purpose.SEARCH):
            if self.policy.current is Policy.ORGANISATION and not self.policy.ledger(person.name):
                raise ConsentRequiredError(
                    person.name or person_label(person.id),
                    Purpose.SEARCH.value,
                    self.policy.current.value,
                )
            self._audit_person(person, 0, {"refused": "consent for search withdrawn"})
            return PersonSearch(
                self.people.describe(person),
                0.0,
                (),
                refused="they have withdrawn consent for search",
            )
        faces = self.catalog.people.faces_of(person.id)
        t, _source = self.threshold(threshold)
        matches: dict[int, list[FaceMatch]] = defaultdict(list)
        possible: dict[int, list[FaceMatch]] = defaultdict(list)
        taken: dict[int, str | None] = {}
        label, name = identities(self.policy)(person)
        held: set[int] = set()
        if faces:
            ids, vecs = self.catalog.faces.embeddings(
                self.vectors.model.id, [f.face_id for f in faces]
            )
            centre = vecs.sum(axis=0) / max(float(np.linalg.norm(vecs.sum(axis=0))), 1e-9)
            judge, _source, _expected = self.tiers.judge(centre.astype(np.float32), given=threshold)
            t = judge.threshold()
            score = {int(i): float(v @ centre) for i, v in zip(ids, vecs, strict=True)}
            for f in faces:
                matches[f.photo_id].append(
                    FaceMatch(
                        f.face_id,
                        f.box,
                        score.get(f.face_id, 0.0),
                        f.low_quality,
                        f.assigned_by,
                        person=label,
                        name=name,
                    )
                )
                taken[f.photo_id] = f.taken_at
            rejected = {
                fid for fid, ps in self.catalog.people.rejections().items() if person.id in ps
            }
            members = {f.face_id for f in faces}
            verdicts = self._judged(vecs, members | rejected, threshold)
            best = {fid: score for fid, (score, _v) in verdicts.items()}
            hits = self.catalog.faces.hits(sorted(best))
            free = {fid for fid in hits if self.catalog.people.face_person(fid) is None}
            # Look-alikes of someone who withdrew are theirs, not suggestions for this person.
            held = self.withheld(sorted(free), Purpose.SEARCH)
            free -= held
            # One face a photo is theirs at most (two faces of one photo are two people): a
            # photo they are in suggests none, another suggests its best face only.
            for fid in sorted(free, key=lambda f: (-best[f], f)):
                h = hits[fid]
                if verdicts[fid][1].tier != POSSIBLE and h.photo_id not in matches:
                    matches[h.photo_id].append(
                        FaceMatch(fid, h.box, best[fid], h.low_quality, "suggested")
                    )
                    taken[h.photo_id] = h.taken_at
            shown_maybe = 0
            not_held = set(hits) - self.withheld(sorted(hits), Purpose.SEARCH)
            for fid in sorted(not_held, key=lambda f: -best[f]):
                h, (near, verdict) = hits[fid], verdicts[fid]
                if verdict.tier != POSSIBLE or not self._may_be_theirs(fid):
                    continue
                if shown_maybe >= POSSIBLE_LIMIT or h.photo_id in matches:
                    continue
                shown_maybe += 1
                possible[h.photo_id].append(
                    FaceMatch(fid, h.box, near, h.low_quality, reason=verdict.reason)
                )
                taken[h.photo_id] = h.taken_at
        shown = self.policy.path_namer(self.acting.actor)
        moments = self._moments_apart(matches, shown)
        for fms in matches.values():
            fms.sort(key=lambda f: (f.source == "suggested", -f.score))
        out = photo_matches(
            self.catalog,
            shown,
            ((photo_id, tuple(fms), taken[photo_id]) for photo_id, fms in matches.items()),
        )
        out.sort(key=lambda m: (m.faces[0].source == "suggested", -m.score, m.path))
        maybe = photo_matches(
            self.catalog,
            shown,
            ((photo_id, tuple(fms), taken[photo_id]) for photo_id, fms in possible.items()),
        )
        maybe.sort(key=lambda m: (-m.score, m.path))
        detail = {
            **({"moments": len(moments)} if moments else {}),
            **({"possible": len(maybe)} if maybe else {}),
            **({"withheld_by_policy": len(held)} if held else {}),
        }
        self._audit_person(person, len(out) + len(moments), detail or None)
        return PersonSearch(
            self.people.describe(person), t, tuple(out), moments=moments, possible=tuple(maybe)
        )

    def _judged(
        self, vecs: npt.NDArray[np.float32], skip: set[int], threshold: float | None
    ) -> dict[int, tuple[float, Verdict]]:
        """Faces near a person's prototypes (those in `skip` left out): the best score and
        verdict of each (a match against any prototype is a match)."""
        scored: dict[int, list[tuple[Judge, float]]] = defaultdict(list)
        for row in prototypes(vecs, list(range(len(vecs))), self.people.params.prototypes):
            judge, _source, _expected = self.tiers.judge(vecs[row], given=threshold)
            for n in self.vectors.index.search(vecs[row], threshold=judge.search_floor()):
                if n.id not in skip:
                    scored[n.id].append((judge, n.score))
        hits = self.catalog.faces.hits(sorted(scored))
        out: dict[int, tuple[float, Verdict]] = {}
        for fid, seen in scored.items():
            h = hits.get(fid)
            if h is None:
                continue
            found = [
                (v, score)
                for judge, score in seen
                if (v := judge.judge(score, h.low_quality, min(h.box.w, h.box.h))) is not None
            ]
            if found:
                v, _score = max(found, key=lambda x: (x[0].tier == MATCH, x[1]))
                out[fid] = (max(score for _j, score in seen), v)
        return out

    def _may_be_theirs(self, face_id: int) -> bool:
        """A face offered as a possible match of a person: one in no person, or in a person
        nobody named or confirmed (an automatic group), whom the policy lets be searched."""
        pid = self.catalog.people.face_person(face_id)
        row = self.catalog.people.get(pid) if pid else None
        if row is not None and (row.name or row.confirmed):
            return False
        return self.policy.allowed(row, Purpose.SEARCH)

    def _audit_person(self, person: PersonRow, found: int, detail: dict[str, Any] | None) -> None:
        """Every search for a person is in the audit log, a refused one too."""
        with self.catalog.transaction():
            self.audit.record(
                "search-person",
                actor=self.acting.name,
                purpose=Purpose.SEARCH.value,
                subject=person_label(person.id),
                result_count=found,
                detail=detail,
            )

    def _moments_apart(
        self, matches: dict[int, list[FaceMatch]], shown: Callable[[str], str]
    ) -> tuple[MomentMatch, ...]:
        """Take the faces of videos out of `matches` (by photo) and give them as moments: the
        person's first, then suggestions, best first."""
        face_ids = [f.face_id for fms in matches.values() for f in fms]
        in_videos, videos = moments_of(self.catalog, face_ids)
        if not in_videos:
            return ()
        out = []
        for photo_id in [p for p, fms in matches.items() if fms[0].face_id in in_videos]:
            for f in matches.pop(photo_id):
                m = in_videos[f.face_id]
                out.append(
                    moment_match(
                        m,
                        videos[m.photo_id],
                        shown,
                        score=f.score,
                        low_quality=f.low_quality,
                        person=f.person,
                        person_name=f.name,
                        source=f.source or None,
                    )
                )
        out.sort(key=lambda m: (m.source == "suggested", -m.score, m.path, m.start))
        return tuple(out)

    def _audit(
        self,
        probe: Probe,
        matches: list[PhotoMatch],
        moments: list[MomentMatch],
        withheld: int,
        t: float,
        possible: list[PhotoMatch],
        source: str,
    ) -> None:
        anonymous = (
            self.policy.current is Policy.ORGANISATION
            and not matches
            and not moments
            and not possible
        )
        face_ids = [f.face_id for m in [*matches, *possible] for f in m.faces]
        face_ids += [m.face_id for m in moments]
        subjects = sorted(
            {f"P{pid}" for fid in face_ids if (pid := self.catalog.people.face_person(fid))}
        )
        with self.catalog.transaction():
            self.audit.record(
                "search-face",
                actor=self.acting.name,
                purpose=Purpose.SEARCH.value,
                subject=",".join(subjects) or None,
                # A probe that matched no consented person is not kept, not even as a hash.
                probe_hash=None if anonymous else probe.content_hash,
                result_count=len(matches) + len(moments),
                detail={
                    "threshold": round(t, 4),
                    "rule": source,
                    **({"moments": len(moments)} if moments else {}),
                    **({"possible": len(possible)} if possible else {}),
                    "withheld_by_policy": withheld,
                    **({"probe": "not kept: matched no consented person"} if anonymous else {}),
                },
            )
