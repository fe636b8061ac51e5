"""The gate every new face passes before anything about it is stored, and the rule that keeps
people who may not be identified for a purpose out of its results.

* A face that matches an opt-out template is never stored with a vector: only its box stays,
  marked to be blurred on export.
* So is a face of someone erased: one matching an erasure template, or found again where an
  erased face was (same photo content, same place) — the latter also gives the erasure a
  template for the model now in use, so a model change does not let them back.
* So is a face of someone who withdrew every consent (their withdrawal templates).
* In an organisation library, a face is kept only if it matches a person with an active
  consent (their enrolment photo or their consented faces); it is assigned to them at once.
  Every other face keeps its box only, and is never grouped, named or searchable.

The vectors reach this gate from the analysis workers in memory and go no further if refused.

`withheld()` applies a withdrawn (or expired) consent to the human, not only to the faces in
their person: any face that matches their enrolment template, their withdrawal templates or
any face of their person is kept out of results for that purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box
from regard.domain.models import ModelSpec
from regard.domain.photo import PhotoAnalysis
from regard.domain.privacy import KEEP, FaceVerdict, Policy, Purpose
from regard.inference.calibration import Calibration
from regard.pipeline.cluster import prototypes
from regard.privacy.policy import PolicyGate
from regard.storage.repositories import Store

#: Opt-out matching errs on the side of excluding: about 1 stranger in 10,000 comparisons
#: is wrongly excluded (they lose searchability, nothing else), while the person who opted
#: out is caught in ~97 % of their photos (lfw-dev). Erasure and withdrawal use it too.
OPTOUT_FMR = 1e-4
#: How much a new face must overlap an erased face's box to be taken for it.
SAME_PLACE_IOU = 0.5

#: (content hash) -> [(box, erasure journal entry id)] of faces erased in that photo.
ErasedBoxes = Callable[[str], list[tuple[Box, str]]]
Refs = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]


#: Templates kept per person and model to exclude them after an erasure or a withdrawal:
#: their centre, and up to this many of their faces that cover their appearances. Each
#: template also catches a few strangers (about 1 face in 11,000 on lfw-dev), so not every
#: face of a big person is kept: the centre alone caught as many of their new and edited
#: photos as every face did, and the prototypes are there for people who look very different
#: from one photo to the next (`bench/erasure_templates.py`).
EXCLUSION_PROTOTYPES = 3


def exclusion_threshold(calibration: Calibration) -> float:
    return calibration.threshold_for_fmr(OPTOUT_FMR)


def exclusion_templates(
    catalog: Store, face_ids: Sequence[int], person_ids: Sequence[int]
) -> dict[str, npt.NDArray[np.float32]]:
    """Per model, the vectors to keep as templates before these faces' vectors and these
    people's templates go: their centre and up to EXCLUSION_PROTOTYPES of them that cover how
    they look (farthest-point sampling, as people are grouped)."""
    by_model: dict[str, list[npt.NDArray[np.float32]]] = {}
    for face_id, model_id, blob in catalog.faces.vectors(face_ids):
        by_model.setdefault(model_id, []).append(catalog.codec.decode(face_id, model_id, blob))
    for person in person_ids:
        for model_id, vector in catalog.templates.of_person(person):
            by_model.setdefault(model_id, []).append(vector)
    out = {}
    for model_id, vectors in by_model.items():
        m = np.stack(vectors).astype(np.float32)
        chosen = m[prototypes(m, list(range(len(m))), EXCLUSION_PROTOTYPES)]
        if len(m) > 1:
            centre = m.sum(axis=0)
            centre /= max(float(np.linalg.norm(centre)), 1e-9)
            chosen = np.vstack([centre[None, :], chosen])
        out[model_id] = chosen
    return out


class Gate:
    def __init__(
        self,
        catalog: Store,
        model: ModelSpec,
        policy: PolicyGate,
        calibration: Calibration,
        erased_boxes: ErasedBoxes | None = None,
    ) -> None:
        self.catalog = catalog
        self.model = model
        self.policy = policy
        self.calibration = calibration
        self.erased_boxes: ErasedBoxes = erased_boxes or (lambda _h: [])
        self._excluding: dict[str, Refs] = {}
        self._consented: Refs | None = None

    def refresh(self) -> None:
        """Forget cached templates (after an opt-out, an erasure or a consent change)."""
        self._excluding = {}
        self._consented = None

    def optout_threshold(self) -> float:
        return exclusion_threshold(self.calibration)

    def templates(self, kind: str) -> Refs:
        """Template owners (opt-out id, or person id) and vectors of one kind ("optout",
        "erasure", "withdrawal"): what no new face may match (the cameras use them too)."""
        return self._templates(kind)

    def _templates(self, kind: str) -> Refs:
        """Template owners (opt-out id, or person id) and vectors of one kind."""
        if kind not in self._excluding:
            meta, vecs = self.catalog.templates.vectors(kind, self.model.id)
            owners = np.array([(m[2] if kind == "optout" else m[1]) or 0 for m in meta], np.int64)
            self._excluding[kind] = (owners, vecs)
        return self._excluding[kind]

    def _consented_refs(self) -> Refs:
        """Vectors of people allowed to be identified: enrolment templates and their faces."""
        if self._consented is None:
            catalog = self.catalog
            allowed = {
                p.id
                for p in catalog.people.live_people()
                if p.name
                and (
                    self.policy.allowed(p, Purpose.GROUPING)
                    or self.policy.allowed(p, Purpose.SEARCH)
                )
            }
            self._consented = self.references(allowed)
        return self._consented

    def references(self, people: set[int], kinds: Sequence[str] = ("enrolment",)) -> Refs:
        """Each person's templates of `kinds` and the vectors of their faces."""
        catalog = self.catalog
        owners: list[int] = []
        chunks: list[npt.NDArray[np.float32]] = []
        for kind in kinds:
            meta, vecs = catalog.templates.vectors(kind, self.model.id)
            for (_tid, person, _o), vec in zip(meta, vecs, strict=True):
                if person in people:
                    owners.append(int(person))
                    chunks.append(vec[None, :])
        for person in sorted(people):
            faces = catalog.privacy.faces_of_person(person)
            ids, fv = catalog.faces.embeddings(self.model.id, faces)
            if len(ids):
                owners += [person] * len(ids)
                chunks.append(fv)
        matrix = np.vstack(chunks) if chunks else np.zeros((0, self.model.dim), np.float32)
        return np.array(owners, dtype=np.int64), matrix.astype(np.float32)

    # --- new faces ---------------------------------------------------------------------------

    def screen(self, analysis: PhotoAnalysis) -> list[FaceVerdict]:
        if not analysis.faces:
            return []
        excluding = {k: self._templates(k) for k in ("optout", "erasure", "withdrawal")}
        erased_here = self.erased_boxes(analysis.content_hash)
        organisation = self.policy.current is Policy.ORGANISATION
        if not erased_here and not organisation and not any(len(o) for o, _ in excluding.values()):
            return [KEEP] * len(analysis.faces)
        vectors = np.stack([f.embedding for f in analysis.faces])
        looks, whose = _looks(analysis)
        t = self.optout_threshold()
        best: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]] = {}
        for kind, (owners, refs) in excluding.items():
            if len(owners):
                best[kind] = _closest(looks @ refs.T, whose, owners, len(vectors))
        if organisation:
            consenting, consented = self._consented_refs()
            ref_sims = vectors @ consented.T if len(consenting) else None
            threshold = self.calibration.search_threshold(max(1, len(consenting)))
        verdicts = []
        for i, face in enumerate(analysis.faces):
            if "optout" in best and best["optout"][0][i] >= t:
                verdicts.append(FaceVerdict(False, "opted_out", int(best["optout"][1][i])))
                continue
            if "erasure" in best and best["erasure"][0][i] >= t:
                verdicts.append(FaceVerdict(False, "erased"))
                continue
            entry = _erased_at(face.detection.box, erased_here)
            if entry is not None:
                # Found again where an erased face was: the same face, analysed anew (by
                # another model, say). Its vector becomes that model's template for the
                # erasure before it is dropped, so their other photos are caught too.
                self.catalog.templates.add(
                    "erasure", face.model_id, face.embedding, erasure_id=entry
                )
                self._excluding.pop("erasure", None)
                verdicts.append(FaceVerdict(False, "erased"))
                continue
            if "withdrawal" in best and best["withdrawal"][0][i] >= t:
                verdicts.append(FaceVerdict(False, "withdrawn"))
                continue
            if organisation:
                if ref_sims is not None and float(ref_sims[i].max()) >= threshold:
                    verdicts.append(
                        FaceVerdict(person_id=int(consenting[int(np.argmax(ref_sims[i]))]))
                    )
                else:
                    verdicts.append(FaceVerdict(False, "unconsented"))
                continue
            verdicts.append(KEEP)
        # Two faces of one photo (two appearances on screen together) are never one person:
        # keep the better match only.
        taken: dict[int, list[int]] = {}
        for i, v in enumerate(verdicts):
            if v.person_id is None:
                continue
            mates = taken.setdefault(v.person_id, [])
            j = next((j for j in mates if _together(analysis, i, j)), None)
            if j is None:
                mates.append(i)
                continue
            owners, refs = self._consented_refs()
            mine = float((vectors[i] @ refs[owners == v.person_id].T).max())
            theirs = float((vectors[j] @ refs[owners == v.person_id].T).max())
            loser = i if mine < theirs else j
            verdicts[loser] = FaceVerdict(False, "unconsented")
            if loser == j:
                mates[mates.index(j)] = i
        return verdicts

    # --- results -----------------------------------------------------------------------------

    def not_allowed(self, purpose: Purpose) -> set[int]:
        """People with a consent record that does not allow `purpose` today (withdrawn or
        expired)."""
        catalog = self.catalog
        out: set[int] = set()
        subjects = {c["subject_key"]: c["subject"] for c in catalog.privacy.consents()}
        for name in subjects.values():
            person = catalog.people.by_name(name) if name != "[erased]" else None
            if person is not None and not self.policy.allowed(person, purpose):
                out.add(person.id)
        return out

    def withheld(self, face_ids: Sequence[int], purpose: Purpose) -> set[int]:
        """Those of `face_ids` that look like someone who may not be identified for
        `purpose`: like their enrolment photo, their withdrawal templates or any face of
        their person, at the opt-out threshold (it errs on the side of withholding)."""
        people = self.not_allowed(purpose)
        if not people or not face_ids:
            return set()
        owners, refs = self.references(people, ("enrolment", "withdrawal"))
        if not len(owners):
            return set()
        ids, vecs = self.catalog.faces.embeddings(self.model.id, list(face_ids))
        if not len(ids):
            return set()
        hit = (vecs @ refs.T).max(axis=1) >= self.optout_threshold()
        return {int(i) for i in ids[hit]}


def _looks(analysis: PhotoAnalysis) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Every vector that shows a face, and which face each is: a photo's faces' own; for a
    video, each appearance's vector and the vector of every frame of it that was embedded,
    so an opted-out or erased person seen in any of them is dropped whole."""
    rows: list[npt.NDArray[np.float32]] = []
    whose: list[int] = []
    for i, face in enumerate(analysis.faces):
        rows.append(face.embedding)
        whose.append(i)
        if analysis.appearances:
            for frame in analysis.appearances[i].faces:
                rows.append(frame.face.embedding)
                whose.append(i)
    return np.stack(rows).astype(np.float32), np.array(whose, dtype=np.int64)


def _together(analysis: PhotoAnalysis, i: int, j: int) -> bool:
    """Faces i and j are seen at once: two faces of a photo, or two appearances of a video
    that overlap in time."""
    if not analysis.appearances:
        return True
    return analysis.appearances[i].overlaps(analysis.appearances[j])


def _closest(
    sims: npt.NDArray[np.float32],
    whose: npt.NDArray[np.int64],
    owners: npt.NDArray[np.int64],
    faces: int,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Per face, the best similarity of any of its looks to a template, and that template's
    owner."""
    row_best = sims.max(axis=1)
    row_owner = owners[np.argmax(sims, axis=1)]
    best = np.full(faces, -np.inf, dtype=np.float32)
    owner = np.zeros(faces, dtype=np.int64)
    for r, i in enumerate(whose.tolist()):
        if row_best[r] > best[i]:
            best[i], owner[i] = row_best[r], row_owner[r]
    return best, owner


def _erased_at(box: Box, erased: list[tuple[Box, str]]) -> str | None:
    for where, entry in erased:
        if box.iou(where) >= SAME_PLACE_IOU:
            return entry
    return None
