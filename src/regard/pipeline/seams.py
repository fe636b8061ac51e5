"""Seams: the tracks of two time ranges of one video, analysed side by side, made one where
the ranges meet.

A long video is cut at key frames into time ranges analysed at once, one thread each
(`regard.pipeline.footage`). The range before a seam stops at the seam's key frame and looks at
it last; the range after starts there and looks at it first, over the whole frame. So a face in
view across the seam is found twice in the same picture, at the same place: the track that
ends there and the track that starts there are one person, joined by position (their boxes
overlap; two faces of one frame never do that much). A face not seen in that frame (turned
away for a moment) is joined as the linker joins a face lost a moment ago: only if it is
very much alike (`LinkSettings.far_likeness`) and within `max_gap` of the seam. Tracks are
never joined otherwise, so a seam can split an appearance in two where the linker would have
kept it one, never mix two people.
"""

from __future__ import annotations

from dataclasses import dataclass

from regard.pipeline.linking import EmbedFn, LinkSettings, Sighting, Track

#: Boxes of one frame overlapping this much are one face.
SAME_FACE_IOU = 0.4


@dataclass(slots=True)
class RangeTracks:
    """What one time range found: its tracks and the times of its looks."""

    tracks: list[Track]
    look_times: list[float]


def join(
    before: RangeTracks,
    after: RangeTracks,
    seam: float,
    embed: EmbedFn,
    s: LinkSettings,
    event_px: float = 0.0,
) -> RangeTracks:
    """The tracks of `before` (which ends with a look at `seam`) and `after` (which starts
    with one), a track crossing the seam made one."""
    eps = 1e-6
    at_end = [t for t in before.tracks if abs(t.last.time - seam) < eps]
    at_start = [t for t in after.tracks if abs(t.sightings[0].time - seam) < eps]
    scored = sorted(
        (
            (a.last.box.iou(b.sightings[0].box), i, j)
            for i, a in enumerate(at_end)
            for j, b in enumerate(at_start)
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    joined: dict[int, Track] = {}  # id of an `after` track -> the `before` track it continues
    used: set[int] = set()
    for iou, i, j in scored:
        a, b = at_end[i], at_start[j]
        if iou < SAME_FACE_IOU or id(a) in used or id(b) in joined:
            continue
        _continue(a, b, b.sightings[1:], s.refs_kept)
        used.add(id(a))
        joined[id(b)] = a
    # Lost just before the seam, found just after it: the same person only if very alike.
    lost = [
        a
        for a in before.tracks
        if id(a) not in used and seam - a.last.time <= s.max_gap and _telling(a, event_px, True)
    ]
    new = [
        b
        for b in after.tracks
        if id(b) not in joined
        and b.sightings[0].time - seam <= s.max_gap
        and _telling(b, event_px, False)
    ]
    if lost and new:
        embed([x for a in lost for x in (a.last, a.anchor)] + [b.sightings[0] for b in new])
        far = sorted(
            (
                (a.likeness(b.sightings[0]), i, j)
                for i, a in enumerate(lost)
                for j, b in enumerate(new)
                if a.last.time < b.sightings[0].time
            ),
            key=lambda c: (-c[0], c[1], c[2]),
        )
        for like, i, j in far:
            a, b = lost[i], new[j]
            if like < s.far_likeness or id(a) in used or id(b) in joined:
                continue
            _continue(a, b, b.sightings, s.refs_kept)
            used.add(id(a))
            joined[id(b)] = a
    looked_before = [t for t in before.look_times if t < seam - eps]
    # Where the range before stopped short of the seam (damaged data), what it saw last ends
    # with what it read.
    reached = before.look_times[-1] if before.look_times else seam
    for a in before.tracks:
        if id(a) not in used and a.gone_at is None:
            # Followed up to the seam (or to where its range stopped) and not found after it.
            a.present, a.gone_at = False, min(seam, reached)
    for b in after.tracks:
        if id(b) not in joined and b.absent_before is None and looked_before:
            # First seen at the start of its range: the range before looked last without it.
            b.absent_before = looked_before[-1]
    tracks = before.tracks + [b for b in after.tracks if id(b) not in joined]
    return RangeTracks(tracks, before.look_times + [t for t in after.look_times if t > seam + eps])


def _telling(t: Track, event_px: float, last: bool) -> bool:
    sg = t.last if last else t.sightings[0]
    return sg.box.w >= event_px and not sg.quality.low


def _continue(a: Track, b: Track, rest: list[Sighting], kept: int) -> None:
    """Track `a` goes on as `b` (whose `rest` sightings follow `a`'s)."""
    a.sightings.extend(rest)
    a.present, a.gone_at = b.present, b.gone_at
    a.refs = (a.refs + b.refs)[-kept:]
