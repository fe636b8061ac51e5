"""The gate every new face passes before anything about it is stored.

* A face that matches an opt-out template is never stored with a vector: only its box stays,
  marked to be blurred on export.
* In an organisation library, a face is kept only if it matches a person with an active
  consent (their enrolment photo or their consented faces); it is assigned to them at once.
  Every other face keeps its box only, and is never grouped, named or searchable.

The vectors reach this gate from the analysis workers in memory and go no further if refused.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from regard.domain.photo import PhotoAnalysis
from regard.domain.privacy import KEEP, FaceVerdict, Policy, Purpose
from regard.privacy.context import PrivacyContext

#: Opt-out matching errs on the side of excluding: about 1 stranger in 10,000 comparisons
#: is wrongly excluded (they lose searchability, nothing else), while the person who opted
#: out is caught in ~97 % of their photos (lfw-dev).
OPTOUT_FMR = 1e-4


class Gate:
    def __init__(self, ctx: PrivacyContext) -> None:
        self.ctx = ctx
        self._optout: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None
        self._consented: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None

    def refresh(self) -> None:
        """Forget cached templates (after an opt-out or a consent change)."""
        self._optout = None
        self._consented = None

    def optout_threshold(self) -> float:
        return self.ctx.calibration().threshold_for_fmr(OPTOUT_FMR)

    def _optouts(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        if self._optout is None:
            meta, vecs = self.ctx.catalog.templates("optout", self.ctx.model.id)
            ids = np.array([m[2] or 0 for m in meta], dtype=np.int64)
            self._optout = (ids, vecs)
        return self._optout

    def _consented_refs(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Vectors of people allowed to be identified: enrolment templates and their faces."""
        if self._consented is None:
            catalog = self.ctx.catalog
            allowed = {
                p.id
                for p in catalog.people.live_people()
                if p.name
                and (self.ctx.allowed(p, Purpose.GROUPING) or self.ctx.allowed(p, Purpose.SEARCH))
            }
            owners: list[int] = []
            chunks: list[npt.NDArray[np.float32]] = []
            meta, vecs = catalog.templates("enrolment", self.ctx.model.id)
            for (_tid, person, _o), vec in zip(meta, vecs, strict=True):
                if person in allowed:
                    owners.append(int(person))
                    chunks.append(vec[None, :])
            for person in sorted(allowed):
                faces = catalog.privacy.faces_of_person(person)
                ids, fv = catalog.embeddings(self.ctx.model.id, faces)
                if len(ids):
                    owners += [person] * len(ids)
                    chunks.append(fv)
            matrix = np.vstack(chunks) if chunks else np.zeros((0, self.ctx.model.dim), np.float32)
            self._consented = (np.array(owners, dtype=np.int64), matrix.astype(np.float32))
        return self._consented

    def screen(self, analysis: PhotoAnalysis) -> list[FaceVerdict]:
        if not analysis.faces:
            return []
        optout_ids, optout_vecs = self._optouts()
        organisation = self.ctx.policy is Policy.ORGANISATION
        if not len(optout_ids) and not organisation:
            return [KEEP] * len(analysis.faces)
        vectors = np.stack([f.embedding for f in analysis.faces])
        verdicts = []
        if len(optout_ids):
            opt_sims = vectors @ optout_vecs.T
        if organisation:
            owners, refs = self._consented_refs()
            ref_sims = vectors @ refs.T if len(owners) else None
            threshold = self.ctx.calibration().search_threshold(max(1, len(owners)))
        for i in range(len(analysis.faces)):
            if len(optout_ids) and float(opt_sims[i].max()) >= self.optout_threshold():
                best = int(np.argmax(opt_sims[i]))
                verdicts.append(FaceVerdict(False, "opted_out", int(optout_ids[best])))
                continue
            if organisation:
                if ref_sims is not None and float(ref_sims[i].max()) >= threshold:
                    verdicts.append(FaceVerdict(person_id=int(owners[int(np.argmax(ref_sims[i]))])))
                else:
                    verdicts.append(FaceVerdict(False, "unconsented"))
                continue
            verdicts.append(KEEP)
        # Two faces of one photo are never one person: keep the better match only.
        taken: dict[int, int] = {}
        for i, v in enumerate(verdicts):
            if v.person_id is None:
                continue
            j = taken.get(v.person_id)
            if j is None:
                taken[v.person_id] = i
                continue
            owners, refs = self._consented_refs()
            mine = float((vectors[i] @ refs[owners == v.person_id].T).max())
            theirs = float((vectors[j] @ refs[owners == v.person_id].T).max())
            loser = i if mine < theirs else j
            verdicts[loser] = FaceVerdict(False, "unconsented")
            taken[v.person_id] = j if loser == i else i
        return verdicts
