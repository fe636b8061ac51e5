"""Search by face: every photo with a face like the one in a given photo, best first.

The library's policy applies to every result: a face is returned only if its person may be
searched for (in an organisation library: has an active consent for "search"; in a household
library: has not withdrawn it; faces in no person only in a household library). Every search
is written to the audit log; in an organisation library, a probe that matched no consented
person leaves no trace but the fact that a search happened.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from regard.domain.face import AnalysedFace
from regard.domain.privacy import Policy, Purpose
from regard.domain.search import FaceMatch, PhotoMatch, ProbeFace, SearchResult
from regard.errors import AmbiguousProbeError, FaceIndexError, NoFaceInProbeError
from regard.privacy.context import PrivacyContext, file_sha256
from regard.storage.people_catalog import PersonRow


def probe_face(index: int, face: AnalysedFace) -> ProbeFace:
    return ProbeFace(
        index, face.detection.box, face.detection.score, face.quality.size_px, face.quality.low
    )


class SearchService:
    def __init__(self, ctx: PrivacyContext) -> None:
        self.ctx = ctx

    def search_face(
        self,
        photo: Path,
        *,
        face_index: int | None = None,
        threshold: float | None = None,
        limit: int | None = None,
    ) -> SearchResult:
        ctx = self.ctx
        faces = ctx.read_probe(photo)
        if not faces:
            raise NoFaceInProbeError(photo)
        if face_index is None:
            if len(faces) > 1:
                raise AmbiguousProbeError(photo, [probe_face(i, f) for i, f in enumerate(faces)])
            face_index = 0
        if not 0 <= face_index < len(faces):
            raise FaceIndexError(photo, face_index, len(faces))
        chosen = faces[face_index]
        index = ctx.vectors.index
        cal = ctx.calibration()
        source = "given" if threshold is not None else "calibrated"
        t = threshold if threshold is not None else cal.search_threshold(len(index))
        neighbours = index.search(chosen.embedding, threshold=t)
        hits = ctx.catalog.face_hits([n.id for n in neighbours])
        persons: dict[int, PersonRow | None] = {}
        allowed: dict[int | None, bool] = {}
        by_photo: dict[int, list[FaceMatch]] = defaultdict(list)
        withheld = 0
        for n in neighbours:
            hit = hits.get(n.id)
            if hit is None:
                continue
            pid = ctx.catalog.people.face_person(n.id)
            if pid not in allowed:
                persons[pid or 0] = ctx.catalog.people.get(pid) if pid else None
                allowed[pid] = ctx.allowed(persons[pid or 0], Purpose.SEARCH)
            if not allowed[pid]:
                withheld += 1
                continue
            by_photo[hit.photo_id].append(FaceMatch(n.id, hit.box, n.score, hit.low_quality))
        matches = []
        for photo_id, fm in by_photo.items():
            first = hits[fm[0].face_id]
            matches.append(
                PhotoMatch(
                    photo_id,
                    first.path,
                    max(f.score for f in fm),
                    tuple(sorted(fm, key=lambda f: -f.score)),
                    first.taken_at,
                )
            )
        matches.sort(key=lambda m: (-m.score, m.path))
        if limit is not None:
            matches = matches[:limit]
        self._audit(photo, matches, withheld, t)
        return SearchResult(
            probe_path=str(photo),
            probe_face=probe_face(face_index, chosen),
            probe_faces=len(faces),
            threshold=t,
            threshold_source=source,
            library_faces=len(index),
            expected_false_matches=cal.expected_false_matches(t, len(index)),
            matches=tuple(matches),
        )

    def _audit(self, photo: Path, matches: list[PhotoMatch], withheld: int, t: float) -> None:
        ctx = self.ctx
        anonymous = ctx.policy is Policy.ORGANISATION and not matches
        subjects = sorted(
            {
                f"P{pid}"
                for m in matches
                for f in m.faces
                if (pid := ctx.catalog.people.face_person(f.face_id))
            }
        )
        with ctx.catalog.transaction():
            ctx.audit.record(
                "search-face",
                actor=ctx.actor,
                purpose=Purpose.SEARCH.value,
                subject=",".join(subjects) or None,
                # A probe that matched no consented person is not kept, not even as a hash.
                probe_hash=None if anonymous else file_sha256(photo),
                result_count=len(matches),
                detail={
                    "threshold": round(t, 4),
                    "withheld_by_policy": withheld,
                    **({"probe": "not kept: matched no consented person"} if anonymous else {}),
                },
            )
