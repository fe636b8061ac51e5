"""Access reports (GDPR art. 15): everything the library holds about one person, for them.

A zip with `manifest.json` (the purposes, the categories of data, recipients, retention,
their rights, where the data came from, their consent records and the audit entries about
them; photos named from the indexed folder on, not by where the owner keeps them),
`summary.html` (the same, for a person to read), `photos/`: a copy of every photo they
appear in, with every other face blurred (art. 15(4): the rights of others), written without
any metadata, and `videos/`: a still of each of their moments in a video (its best frame:
their face as it is, every other face in that frame blurred), named with the video and the
moment's start and end.

Face vectors are counted, not exported: a portable copy of someone's biometric template is a
risk to them, and the numbers mean nothing to a reader.
"""

from __future__ import annotations

import html
import json
import os
import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from regard.domain.appearance import Moment
from regard.domain.clock import utc_now
from regard.domain.face import AnalysedFace, Box
from regard.domain.models import ModelSpec
from regard.domain.moments import span
from regard.domain.people import face_label, person_label
from regard.domain.photo import relative_name
from regard.domain.privacy import Purpose
from regard.domain.rights import AccessReportMade, AuditEntry
from regard.errors import PrivacyRequestError, RegardError
from regard.inference.protocols import FaceDetector
from regard.pipeline.analyse import read_file
from regard.pipeline.anonymise.clean_encode import encode_clean
from regard.pipeline.anonymise.redact import redact_photo
from regard.pipeline.decode import DecodeLimits, OpenedImage
from regard.pipeline.probe import ProbeReader
from regard.pipeline.video_still import still_at
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.erasure import Eraser
from regard.privacy.gate import Gate
from regard.privacy.policy import PolicyGate
from regard.privacy.retention import retention_schedule
from regard.storage.repositories import Store

RIGHTS = [
    "access: this report (GDPR art. 15)",
    "rectification: ask the owner to correct a name or a wrong face (art. 16)",
    "erasure: ask the owner to erase you; Regard deletes your face data, name and links "
    "for good, also from restored backups (art. 17)",
    "restriction and withdrawal of consent: at any time, as easily as it was given (art. 7(3), 18)",
    "objection: ask to opt out; your face is then never recognised again (art. 21)",
    "complaint: to your data protection authority (art. 77)",
]


class AccessReporter:
    def __init__(
        self,
        *,
        catalog: Store,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        probes: ProbeReader,
        model: ModelSpec,
        still_detector: Callable[[], FaceDetector],
        eraser: Eraser,
        gate: Gate,
    ) -> None:
        self.catalog = catalog
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.probes = probes
        self.model = model
        self.still_detector = still_detector
        self.eraser = eraser
        self.gate = gate

    def report(
        self,
        out: Path,
        *,
        person: str | None = None,
        photo: Path | None = None,
        face_index: int | None = None,
    ) -> AccessReportMade:
        if (person is None) == (photo is None):
            raise PrivacyRequestError(
                "Report on one person: --person NAME or --face PHOTO.", web="Name one person."
            )
        catalog = self.catalog
        if person is not None:
            people, faces = self.eraser.targets_for_person(person)
            request = f"person {person}"
            probe_hash = None
        else:
            assert photo is not None
            probe = self.probes.read(photo)
            face = probe.face(face_index)
            people, faces = self.eraser.targets_for_face(face)
            excluded, kept = self._excluded(face)
            faces = sorted(set(faces) | set(excluded))
            request = f"the face in {photo.name}"
            probe_hash = probe.content_hash
        if person is not None:
            kept = self._kept_for(people)
        if not people and not faces and not kept:
            raise PrivacyRequestError(f"Nothing in the library matches {request}.")
        mine = set(faces)
        # A face of a video stands for one of its moments: those are shown as stills.
        moments = catalog.appearances.of_faces(sorted(mine))
        by_photo: dict[str, list[dict[str, Any]]] = defaultdict(list)
        by_video: dict[str, list[Moment]] = defaultdict(list)
        videos = {m.photo_id for m in moments.values()}
        for photo_id in catalog.privacy.photos_of_faces(sorted(mine)):
            for r in catalog.faces.rows(photo_id):
                if photo_id not in videos:
                    by_photo[r["path"]].append(r)
                elif r["id"] in moments:
                    by_video[r["path"]].append(moments[r["id"]])
        names = [p.name for p in people if p.name]
        labels = {person_label(p.id) for p in people} | {face_label(f) for f in mine}
        audit = [
            e
            for e in self.audit.entries()
            if e["subject"] and labels & set(e["subject"].split(","))
        ]
        consents = [
            {
                k: c[k]
                for k in (
                    "id",
                    "action",
                    "purposes",
                    "at",
                    "expires",
                    "evidence_kind",
                    "consent_text",
                )
            }
            for name in names
            for c in catalog.privacy.consents(_key(name))
        ]
        manifest = self._manifest(people, mine, by_photo, consents, audit, request)
        manifest["categories_of_data"]["templates_kept_only_to_exclude_you"] = kept
        roots = catalog.runs.indexed_roots()
        manifest["videos"] = [
            {
                "path": relative_name(path, roots),
                "moments": [_moment_entry(m) for m in sorted(ms, key=lambda m: m.start)],
            }
            for path, ms in sorted(by_video.items())
        ]
        manifest["categories_of_data"]["videos_you_appear_in"] = len(by_video)
        manifest["categories_of_data"]["moments_in_videos"] = sum(map(len, by_video.values()))
        tmp = out.with_suffix(out.suffix + ".tmp")
        out.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            listed = zip(sorted(by_photo.items()), manifest["photos"], strict=True)
            for n, ((path, photo_faces), entry) in enumerate(listed, 1):
                data = self._photo_copy(path, photo_faces, mine)
                if data is None:
                    entry["copy"] = None
                    continue
                name = f"photos/{n:04d}-{Path(path).stem}.jpg"
                entry["copy"] = name
                zf.writestr(name, data)
                written += 1
            stills = self._write_stills(zf, by_video, manifest["videos"], mine)
            zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
            zf.writestr("summary.html", _summary_html(manifest))
        os.replace(tmp, out)
        with catalog.transaction():
            self.audit.record(
                "access-report",
                actor=self.acting.name,
                subject=",".join(sorted(person_label(p.id) for p in people)) or None,
                probe_hash=probe_hash,
                result_count=written,
                detail={"faces": len(mine), "photos": written, "stills": stills},
            )
        return AccessReportMade(
            report=str(out),
            people=[person_label(p.id) for p in people],
            faces=len(mine),
            photos=written,
            photos_missing=len(by_photo) - written,
            videos=len(by_video),
            stills=stills,
        )

    def _write_stills(
        self,
        zf: zipfile.ZipFile,
        by_video: dict[str, list[Moment]],
        entries: list[dict[str, Any]],
        mine: set[int],
    ) -> int:
        """A still of each moment, at its best frame, in `videos/`; each entry says its name
        (None: the video cannot be read now)."""
        written = 0
        for n, (path, entry) in enumerate(zip(sorted(by_video), entries, strict=True), 1):
            for m, moment in enumerate(entry["moments"], 1):
                data = self._still(path, moment["best_time"], mine)
                if data is None:
                    moment["still"] = None
                    continue
                times = moment["time"].replace(":", "").replace("-", "_")
                name = f"videos/{n:04d}-{Path(path).stem}-{m:02d}-{times}.jpg"
                moment["still"] = name
                zf.writestr(name, data)
                written += 1
        return written

    def _still(self, path: str, time: float, mine: set[int]) -> bytes | None:
        """The video's frame at `time`: the faces of `mine` on screen then as they are, every
        other face blurred (the video's other moments then, and any face found in it)."""
        catalog = self.catalog
        video = catalog.photos.by_path(path)
        if video is None:
            return None
        try:
            rgb = still_at(Path(path), time)
        except (OSError, RegardError):
            return None  # moved or damaged since it was indexed: listed without a still
        on_screen = [
            (m.face_id, b)
            for m in catalog.appearances.of_video(video.id)
            if (b := m.box_at(time)) is not None
        ]
        theirs = [b for fid, b in on_screen if fid in mine]
        others = [b for fid, b in on_screen if fid not in mine]
        done = redact_photo(rgb, self.still_detector(), known=others, keep=theirs)
        return encode_clean(done.rgb, "jpeg")

    def _excluded(self, face: AnalysedFace) -> tuple[list[int], dict[str, int]]:
        """Faces kept without a vector because they are this person's (an opt-out, an
        erasure), and how many templates kept only to exclude them match `face`."""
        catalog = self.catalog
        t = self.gate.optout_threshold()
        kept: dict[str, int] = {}
        faces: list[int] = []
        meta, vecs = catalog.templates.vectors("optout", self.model.id)
        if meta:
            hits = {meta[i][2] for i in np.flatnonzero(vecs @ face.embedding >= t)}
            faces += [int(r["id"]) for r in catalog.faces.rows() if r["optout_id"] in hits]
            kept["optout"] = sum(1 for m in meta if m[2] in hits)
        erasures = [
            e for e, vec in catalog.templates.erasures(self.model.id) if vec @ face.embedding >= t
        ]
        if erasures:
            faces += self.eraser.faces_of_entries(set(erasures))
            kept["erasure"] = len(erasures)
        meta, vecs = catalog.templates.vectors("withdrawal", self.model.id)
        if meta:
            kept["withdrawal"] = int(np.count_nonzero(vecs @ face.embedding >= t))
        return faces, {k: n for k, n in kept.items() if n}

    def _kept_for(self, people: list[Any]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in people:
            for kind, n in self.catalog.templates.counts(p.id).items():
                if kind != "enrolment":  # counted as their enrolment, with the consents
                    counts[kind] = counts.get(kind, 0) + n
        return counts

    def _photo_copy(
        self, path: str, photo_faces: list[dict[str, Any]], mine: set[int]
    ) -> bytes | None:
        try:
            limits = DecodeLimits()
            data = read_file(Path(path), limits)[1]
            rgb = OpenedImage(path, data, limits).decode_at_least(1.0).rgb
        except (OSError, RegardError):
            return None  # moved or damaged since it was indexed: listed without a copy
        boxes = {r["id"]: Box(r["x"], r["y"], r["w"], r["h"]) for r in photo_faces}
        theirs = [b for fid, b in boxes.items() if fid in mine]
        others = [b for fid, b in boxes.items() if fid not in mine]
        # Faces the index does not hold (too small, or dropped under the policy) are others too.
        done = redact_photo(rgb, self.still_detector(), known=others, keep=theirs)
        return encode_clean(done.rgb, "jpeg")

    def _manifest(
        self,
        people: list[Any],
        mine: set[int],
        by_photo: dict[str, list[dict[str, Any]]],
        consents: list[dict[str, Any]],
        audit: list[AuditEntry],
        request: str,
    ) -> dict[str, Any]:
        catalog = self.catalog
        # The report goes to the person: where the owner keeps photos on the disk is not theirs.
        roots = catalog.runs.indexed_roots()
        purposes_now = {
            person_label(p.id): sorted(pur.value for pur in Purpose if self.policy.allowed(p, pur))
            for p in people
        }
        vectors = sum(
            1
            for f in mine
            if catalog.people.face_exists(f) and _has_vector(catalog, f, self.model.id)
        )
        return {
            "generated_at": utc_now(),
            "request": request,
            "controller": catalog.runs.setting("controller") or "the owner of this photo library",
            "policy": self.policy.current.value,
            "subject": {
                "people": [{"id": person_label(p.id), "name": p.name} for p in people],
                "purposes_allowed_now": purposes_now,
            },
            "purposes": [
                "grouping your photos under your name",
                "finding your photos",
                "recognising you on the owner's cameras (only with your consent)",
            ],
            "categories_of_data": {
                "photos_you_appear_in": len(by_photo),
                "face_positions": len(mine),
                "face_vectors_stored_encrypted": vectors,
                "names": [p.name for p in people if p.name],
                "consent_records": len(consents),
            },
            "recipients": "none: the data never leaves the owner's computer",
            "retention": retention_schedule(catalog),
            "source": "photos in the owner's own library, analysed on their computer",
            "automated_decision_making": "none; no age, gender, race or emotion is inferred",
            "rights": RIGHTS,
            "consents": consents,
            "audit_entries": [
                {k: e[k] for k in ("id", "at", "actor", "action", "purpose", "result_count")}
                for e in audit
            ],
            "photos": [
                {
                    "path": relative_name(path, roots),
                    "taken_at": None,
                    "your_faces": [
                        {
                            "face": face_label(r["id"]),
                            "box": [round(r[k], 1) for k in ("x", "y", "w", "h")],
                            "face_data": r["biometric"],
                        }
                        for r in faces
                        if r["id"] in mine
                    ],
                    "other_faces_blurred": sum(1 for r in faces if r["id"] not in mine),
                }
                for path, faces in sorted(by_photo.items())
            ],
        }


_KEPT_BECAUSE = {
    "optout": "you opted out",
    "erasure": "your face data was erased",
    "withdrawal": "you withdrew your consent",
}


def _kept_html(kept: dict[str, int]) -> str:
    if not kept:
        return ""
    why = "; ".join(f"{n} because {_KEPT_BECAUSE.get(k, k)}" for k, n in sorted(kept.items()))
    return (
        f"<li>{sum(kept.values())} sealed templates of your face are kept only to keep you out "
        f"of photos added later ({html.escape(why)}): they are never searched, shown or "
        "exported.</li>"
    )


def _moment_entry(m: Moment) -> dict[str, Any]:
    return {
        "face": face_label(m.face_id),
        "start": round(m.start, 2),
        "end": round(m.end, 2),
        "time": span(m.start, m.end),
        "best_time": round(m.best_time, 2),
        "box": [round(v, 1) for v in m.box.as_list()],
    }


def _has_vector(catalog: Any, face_id: int, model_id: str) -> bool:
    ids, _ = catalog.faces.embeddings(model_id, [face_id])
    return bool(len(ids))


def _key(name: str) -> str:
    from regard.storage.people_catalog import name_key

    return name_key(name)


def _videos_html(videos: list[dict[str, Any]]) -> str:
    if not videos:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(Path(v['path']).name)}</td><td>{e(m['time'])}</td>"
        f"<td>{e(m.get('still') or 'file not found')}</td></tr>"
        for v in videos
        for m in v["moments"]
    )
    return f"""<h2>The videos</h2>
<p>A still of each moment you appear in (its best frame) is in the <code>videos</code> folder
of this archive, with every other person's face in it blurred and no metadata.</p>
<table><tr><th>video</th><th>from-to (h:m:s)</th><th>still</th></tr>
{rows}</table>
"""


def _summary_html(m: dict[str, Any]) -> str:
    e = html.escape
    people = ", ".join(e(p["name"] or p["id"]) for p in m["subject"]["people"]) or "you"
    rows = "".join(
        f"<tr><td>{e(Path(p['path']).name)}</td><td>{len(p['your_faces'])}</td>"
        f"<td>{p['other_faces_blurred']}</td><td>{e(p.get('copy') or 'file not found')}</td></tr>"
        for p in m["photos"]
    )
    rights = "".join(f"<li>{e(r)}</li>" for r in m["rights"])
    consents = (
        "".join(
            f"<li>{e(c['at'][:10])}: {e(c['action'])} for {e(', '.join(c['purposes']))}"
            + (f" until {e(c['expires'])}" if c["expires"] else "")
            + "</li>"
            for c in m["consents"]
        )
        or "<li>none recorded</li>"
    )
    cats = m["categories_of_data"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What this library holds about {people}</title>
<style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5;
color:#111}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.3rem .6rem}}
</style></head><body>
<h1>What this photo library holds about {people}</h1>
<p>Report made on {e(m["generated_at"])} for {e(m["request"])}, by {e(m["controller"])}.</p>
<h2>In short</h2>
<ul><li>You appear in {cats["photos_you_appear_in"]} photos and in
{cats.get("moments_in_videos", 0)} moments of {cats.get("videos_you_appear_in", 0)} videos
({cats["face_positions"]} faces).</li>
<li>{cats["face_vectors_stored_encrypted"]} face vectors (numbers describing your face) are
stored, encrypted, on the owner's computer only.</li>
<li>Names: {e(", ".join(cats["names"]) or "none")}.</li>
{_kept_html(cats.get("templates_kept_only_to_exclude_you") or {})}
<li>Nobody else receives any of it: {e(m["recipients"])}.</li>
<li>No age, gender, race or emotion is ever inferred.</li></ul>
<h2>Why</h2><ul>{"".join(f"<li>{e(p)}</li>" for p in m["purposes"])}</ul>
<h2>Your consent</h2><ul>{consents}</ul>
<h2>Your rights</h2><ul>{rights}</ul>
<h2>The photos</h2>
<p>Copies are in the <code>photos</code> folder of this archive, with every other person's
face blurred and no metadata.</p>
<table><tr><th>photo</th><th>your faces</th><th>others, blurred</th><th>copy</th></tr>
{rows}</table>
{_videos_html(m.get("videos") or [])}
<h2>Record of use</h2>
<p>{len(m["audit_entries"])} entries of the library's audit log concern you; they are listed in
<code>manifest.json</code>.</p>
</body></html>
"""
