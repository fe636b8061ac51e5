"""Moments in answers: faces of videos, found by search or in a person, turned into the
moments the answers list beside photos (`regard.domain.moments`). A face of a video stands
for one appearance: its box is the appearance's box at its best moment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from regard.domain.appearance import Moment
from regard.domain.face import Box
from regard.domain.moments import MomentMatch, PersonMoment
from regard.domain.people import face_label
from regard.domain.photo import shown_name
from regard.storage.people_catalog import PersonFace
from regard.storage.repositories import Store


def moments_of(
    catalog: Store, face_ids: Sequence[int]
) -> tuple[dict[int, Moment], dict[int, dict[str, Any]]]:
    """{face id: its appearance} for those of `face_ids` that are faces of videos, and the
    facts of those videos (path, upload name, size, duration) by video id."""
    moments = catalog.appearances.of_faces(face_ids)
    facts = catalog.photos.facts(sorted({m.photo_id for m in moments.values()}))
    return moments, facts


def moment_match(
    moment: Moment,
    facts: dict[str, Any],
    shown: Callable[[str], str],
    *,
    score: float,
    low_quality: bool,
    person: str | None,
    person_name: str | None,
    source: str | None = None,
) -> MomentMatch:
    return MomentMatch(
        video_id=moment.photo_id,
        path=shown(facts["path"]),
        name=shown_name(facts["path"], facts["upload_name"]),
        width=facts["width"],
        height=facts["height"],
        duration=facts["duration"],
        face_id=moment.face_id,
        start=round(moment.start, 3),
        end=round(moment.end, 3),
        best_time=round(moment.best_time, 3),
        box=_box(moment.box),
        score=round(score, 4),
        low_quality=low_quality,
        person=person,
        person_name=person_name,
        source=source,
    )


def person_moments(
    catalog: Store, shown: Callable[[str], str], faces: Sequence[PersonFace]
) -> dict[int, PersonMoment]:
    """{face id: moment} for those of a person's faces that are faces of videos."""
    moments, facts = moments_of(catalog, [f.face_id for f in faces])
    out = {}
    for f in faces:
        m = moments.get(f.face_id)
        if m is None:
            continue
        video = facts[m.photo_id]
        out[f.face_id] = PersonMoment(
            video_id=m.photo_id,
            path=shown(video["path"]),
            name=shown_name(video["path"], video["upload_name"]),
            duration=video["duration"],
            face=face_label(f.face_id),
            face_id=f.face_id,
            start=round(m.start, 3),
            end=round(m.end, 3),
            best_time=round(m.best_time, 3),
            box=_box(m.box),
            assigned_by=f.assigned_by,
            low_quality=f.low_quality,
            taken_at=f.taken_at,
        )
    return out


def _box(box: Box) -> list[float]:
    return [round(v, 1) for v in box.as_list()]
