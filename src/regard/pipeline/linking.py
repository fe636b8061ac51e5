"""Linking: join the faces seen in sampled frames of a video into tracks, one person each.

The frames looked at may be a second apart (key frames) or a fifth of a second (where a track
starts or ends), so a face can move far between them; position alone cannot follow it, and
position alone would follow a cut to another person standing in the same place. Both count:

- A face on the box its track was predicted at (overlapping it), with no other face or track
  within reach of either, continues the track without looking at its likeness: embedding
  every face of every frame is the dearest part of the work, and it would change nothing here.
- Its likeness is checked (the face is embedded and compared with the track's recent
  embeddings) when there is a choice (another face or track within reach), when it moved
  further than overlapping, after a cut (the colours of the whole frame changed at once) or
  when someone else may have taken its place (the colours around the face changed at once),
  and every `verify_every` seconds regardless. Where there is a choice, likeness decides.
- How alike is alike enough depends on what else is known: little after a cut, more for a
  face within reach than for one on its predicted box, and a face that embeds poorly (a
  profile, a blur, a tiny face: `quality.low`) can only say "someone else" clearly.
- A face near the track that does not look like it is someone else: the track ends there (and
  if faces linked by position alone since its last check turn out to be that someone else
  too, they move to the new track, found by halving).
- A face far from every track links to a track lost less than `max_gap` ago only if it looks
  very much like it (a head turned away for a moment, a person crossing the frame fast).
- A look may search only a region of its frame: tracks it did not wholly search are neither
  seen nor missed there.

One face of one frame joins at most one track and a track takes at most one face a frame, so
two faces seen at the same moment are never one track; tracks are never merged afterwards.
Likeness is cosine similarity of the embeddings (thresholds for SFace by default, with the
false-match rates measured on lfw-dev beside them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from regard.domain.face import Box, Detection, FaceQuality, Landmarks, Vector


@dataclass(frozen=True, slots=True)
class LinkSettings:
    max_gap: float = 2.0  # a track not seen for longer than this has ended
    verify_every: float = 3.0  # seconds between likeness checks of a track followed by position
    close_iou: float = 0.3  # overlap with the predicted box that continues a track by position
    near_reach: float = 0.6  # centre distance (in face widths) that may still be the track ...
    near_speed: float = 3.0  # ... plus this many face widths per second since it was seen,
    near_most: float = 2.0  # ... up to this many (beyond, only likeness can find it again)
    keep_likeness: float = 0.15  # below this, a face where the track was is someone else
    poor_likeness: float = 0.05  # ... if both embed well; if either is a profile, blurred or
    # tiny (quality.low), its embedding is weak evidence: only this clear a "no" counts
    near_likeness: float = 0.20  # a face near (not on) where the track was must be this alike
    cut_likeness: float = 0.30  # across a cut, this alike (FMR ~0.8 %: the place says little)
    far_likeness: float = 0.45  # a face far from a lost track must be this alike (FMR ~2e-5)
    cut_colours: float = 0.7  # frames whose colour histograms share less are a cut apart (on
    # the real clips: cuts 0.43-0.68, moving camera and people 0.77-0.96)
    place_colours: float = 0.55  # ... and the surroundings of a face: someone else taking its
    # place (0.44 in the test video), the same face a second later (0.68-0.94 measured)
    refs_kept: int = 4  # recent embeddings of a track its likeness is measured against


@dataclass(slots=True, eq=False)
class Sighting:
    """One face in one looked-at frame, in upright full-resolution pixels, with its aligned
    crop kept so it can be embedded later, if ever it is needed."""

    time: float
    detection: Detection
    crop: npt.NDArray[np.uint8]
    quality: FaceQuality
    #: The colours around the face (hair, clothes, what is behind): they change at once when
    #: someone else takes the place, and little as a face moves or turns.
    colours: npt.NDArray[np.float32]
    embedding: Vector | None = None
    #: The face found earlier this one repeats: where its picture did not change since, it
    #: is carried over (same box, crop and likeness) without searching. None: found here.
    origin: Sighting | None = None

    @property
    def box(self) -> Box:
        return self.detection.box

    @property
    def found(self) -> Sighting:
        """The sighting the detector made: this one, or the one it was carried over from."""
        return self if self.origin is None else self.origin

    def carried(self, t: float, dx: float = 0.0, dy: float = 0.0) -> Sighting:
        """The face this one was found as, seen again at `t` moved by (`dx`, `dy`) where
        its picture has not changed otherwise."""
        src = self.found
        d = src.detection
        moved = Detection(
            Box(d.box.x + dx, d.box.y + dy, d.box.w, d.box.h),
            Landmarks(tuple((x + dx, y + dy) for x, y in d.landmarks.points)),
            d.score,
        )
        return Sighting(t, moved, src.crop, src.quality, src.colours, src.embedding, src)


@dataclass(slots=True, eq=False)
class Look:
    """A frame the detector saw: when, the faces in it, and its colours to notice cuts by
    (a histogram barely changes as people and the camera move, and changes at a cut)."""

    time: float
    sightings: list[Sighting]
    colours: npt.NDArray[np.float32]  # a histogram of the whole frame, summing to 1
    #: The part of the frame the detector searched (x0, y0, x1, y1), None for all of it.
    #: Tracks outside it were not looked for: not being seen there says nothing about them.
    region: tuple[float, float, float, float] | None = None

    def observes(self, box: Box) -> bool:
        """The whole box was searched: a face there would have been seen."""
        if self.region is None:
            return True
        x0, y0, x1, y1 = self.region
        return x0 <= box.x and y0 <= box.y and box.x + box.w <= x1 and box.y + box.h <= y1

    def touches(self, box: Box) -> bool:
        """Some of the box was searched: a face found there may be the one in it."""
        if self.region is None:
            return True
        x0, y0, x1, y1 = self.region
        return box.x < x1 and box.y < y1 and box.x + box.w > x0 and box.y + box.h > y0


#: Fills in `.embedding` of the sightings given (in one batch).
EmbedFn = Callable[[Sequence[Sighting]], None]


@dataclass(slots=True, eq=False)
class Track:
    id: int
    sightings: list[Sighting]
    refs: list[Vector] = field(default_factory=list)  # recent embeddings that were its own
    verified_time: float = float("-inf")  # when its likeness was last checked
    verified_index: int = -1  # the sighting that was
    present: bool = True  # seen the last time its place was looked at
    #: The last look at its place before it was first seen (None: it was there from the
    #: first frame), and the first look at its place that missed it after it was last seen
    #: (None: still there). Its start and end lie between these and its first and last
    #: sightings.
    absent_before: float | None = None
    gone_at: float | None = None

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    def predict(self, t: float) -> Box:
        """Where the face should be at `t`: moving on as between its last two sightings,
        a little slower (faces stop and turn more often than they keep going)."""
        b = self.last.box
        if len(self.sightings) < 2:
            return b
        a = self.sightings[-2]
        span = self.last.time - a.time
        if span <= 0 or span > 1.5:
            return b
        f = 0.8 * (t - self.last.time) / span
        return Box(
            b.x + (b.x - a.box.x) * f,
            b.y + (b.y - a.box.y) * f,
            max(1.0, b.w + (b.w - a.box.w) * f),
            max(1.0, b.h + (b.h - a.box.h) * f),
        )

    @property
    def anchor(self) -> Sighting:
        """The face its likeness is measured against until it has been checked: the last one
        that was (its first, at the start)."""
        return self.sightings[self.verified_index]

    def likeness(self, s: Sighting) -> float:
        assert s.embedding is not None
        refs = self.refs
        if not refs:
            assert self.anchor.embedding is not None, "embed the anchor first"
            refs = [self.anchor.embedding]
        return max(float(r @ s.embedding) for r in refs)

    def remember(self, s: Sighting, kept: int) -> None:
        """`s` was checked and is this track's: measure later faces against it too."""
        assert s.embedding is not None
        if not self.refs and self.anchor.embedding is not None:
            self.refs.append(self.anchor.embedding)
        self.refs.append(s.embedding)
        del self.refs[:-kept]
        self.verified_time = s.time
        self.verified_index = next(
            (i for i in range(len(self.sightings) - 1, -1, -1) if self.sightings[i] is s),
            len(self.sightings) - 1,
        )


@dataclass(slots=True)
class _Matching:
    pairs: list[tuple[Track, int, bool]]  # track, sighting index, likeness was checked
    rejected: list[tuple[Track, int]]  # near by position, but someone else
    cut: bool


class Linker:
    """Feed it looks in time order (`add`); `would_change` tells, without changing anything,
    whether a look would start, end or split a track (then the frames between the last look
    and that one are worth a closer look)."""

    def __init__(
        self,
        settings: LinkSettings,
        embed: EmbedFn,
        event_px: float = 0.0,
        settled: float = float("inf"),
    ) -> None:
        self.s = settings
        self._embed = embed
        self.event_px = event_px  # smaller faces starting or ending are no event
        self.settled = settled  # a track seen for this long ending is no event either
        self.tracks: list[Track] = []
        self.look_times: list[float] = []
        self._cuts: list[float] = []  # times of looks that followed a cut
        self._last: Look | None = None
        self._regions: list[tuple[float, tuple[float, float, float, float] | None]] = []
        self._next_id = 0

    # --- queries ---------------------------------------------------------------------------------

    def would_change(self, look: Look) -> bool:
        """True if `look` differs from the last look in who is there: a track present before
        is missing from it, one missing before is back, or a face in it continues no track."""
        return bool(self.changes(look))

    def changes(self, look: Look) -> list[Box]:
        """Where `look` differs from what was last seen (as `would_change`): the boxes of the
        faces that came, went or came back, with no change made. Faces narrower than
        `event_px` are no event, nor is the end of a track seen for `settled` seconds (pinning
        it closer than the looks are apart adds little to so long a stretch)."""
        if self._last is None:
            return [s.box for s in look.sightings if s.box.w >= self.event_px]
        m = self._match(look)
        linked = {id(t) for t, _, _ in m.pairs}
        out = []
        for t in self._active(look, fully=True):
            ended = t.present and id(t) not in linked and t.last.box.w >= self.event_px
            if ended and t.last.time - t.sightings[0].time < self.settled:
                out.append(t.last.box)
        taken = set()
        for t, i, _ in m.pairs:
            taken.add(i)
            if not t.present and look.sightings[i].box.w >= self.event_px:
                out.append(look.sightings[i].box)
        out += [
            s.box
            for i, s in enumerate(look.sightings)
            if i not in taken and s.box.w >= self.event_px
        ]
        return out

    def followed(self, t: float) -> list[Track]:
        """The tracks a look at `t` could continue: seen within `max_gap` before it."""
        return [tr for tr in self.tracks if t - tr.last.time <= self.s.max_gap and tr.last.time < t]

    def expected(self, t: float, tracks: Sequence[Track] | None = None) -> list[Box]:
        """Where the faces of the tracks a look at `t` could continue (or of `tracks`) may
        be: where each was last seen and where it should be by now (a face that was moving
        may have stopped). A look that searches only part of its frame must search these to
        follow them."""
        out = []
        for tr in self.followed(t) if tracks is None else tracks:
            out.append(tr.last.box)
            predicted = tr.predict(t)
            if predicted != tr.last.box:
                out.append(predicted)
        return out

    # --- changes ---------------------------------------------------------------------------------

    def add(self, look: Look) -> None:
        m = self._match(look)
        if m.cut:
            self._cuts.append(look.time)
        observed = self._active(look, fully=True)
        taken: set[int] = set()
        matched: set[int] = set()
        for track, i, checked in m.pairs:
            s = look.sightings[i]
            track.sightings.append(s)
            if checked:
                track.remember(s, self.s.refs_kept)
            track.present, track.gone_at = True, None
            taken.add(i)
            matched.add(id(track))
        for track, i in m.rejected:
            if i in taken:
                continue
            heir = self._split(track)
            s = look.sightings[i]
            if heir is not None and heir.likeness(s) >= self.s.keep_likeness:
                heir.sightings.append(s)
                heir.remember(s, self.s.refs_kept)
                taken.add(i)
                matched.add(id(heir))
        for track in observed:
            if id(track) not in matched and track.present:
                track.present, track.gone_at = False, look.time
        for i, s in enumerate(look.sightings):
            if i not in taken:
                t = self._new_track([s])
                t.absent_before = self._last_look_at(s.box)
        self.look_times.append(look.time)
        self._regions.append((look.time, look.region))
        del self._regions[:-64]
        self._last = look

    def _active(self, look: Look, fully: bool = False) -> list[Track]:
        """Tracks this look can continue: seen within `max_gap`, where it looked (`fully`:
        all of where they should be, so that not finding them there means something)."""
        t = look.time
        seen = look.observes if fully else look.touches
        return [
            tr
            for tr in self.tracks
            if t - tr.last.time <= self.s.max_gap and tr.last.time < t and seen(tr.predict(t))
        ]

    def _last_look_at(self, box: Box) -> float | None:
        """The latest look before now that searched all of where `box` is."""
        for t, region in reversed(self._regions):
            if region is None:
                return t
            x0, y0, x1, y1 = region
            if x0 <= box.x and y0 <= box.y and box.x + box.w <= x1 and box.y + box.h <= y1:
                return t
        return None

    def _new_track(self, sightings: list[Sighting]) -> Track:
        # Its first face is what it looks like until it is checked, `verify_every` later.
        t = Track(self._next_id, sightings, verified_time=sightings[0].time, verified_index=0)
        self._next_id += 1
        self.tracks.append(t)
        return t

    def _split(self, track: Track) -> Track | None:
        """`track` was followed by position to a face that is someone else. If faces linked
        by position alone since its last check are someone else too, the first of them is
        where the switch happened: they move to a new track (found by halving, since each
        check costs an embedding)."""
        lo, last = track.verified_index + 1, len(track.sightings) - 1
        if lo > last or self._belongs(track, track.sightings[last]):
            return None
        while lo < last:  # sightings[last] is someone else; find the first that is
            mid = (lo + last) // 2
            if self._belongs(track, track.sightings[mid]):
                lo = mid + 1
            else:
                last = mid
        first = lo
        tail = track.sightings[first:]
        del track.sightings[first:]
        heir = self._new_track(tail)
        # The switch happened between the last face of one and the first of the other.
        heir.absent_before = track.sightings[-1].time if track.sightings else track.absent_before
        track.gone_at = tail[0].time
        track.present = False
        heir.refs = [x.embedding for x in tail if x.embedding is not None][-self.s.refs_kept :]
        heir.verified_time = tail[-1].time
        heir.verified_index = len(tail) - 1
        return heir

    def _belongs(self, track: Track, s: Sighting) -> bool:
        self._embed([s, track.anchor])
        return track.likeness(s) >= self.s.keep_likeness

    # --- matching --------------------------------------------------------------------------------

    def is_cut(self, look: Look) -> bool:
        """A cut lies between the last look and `look` (its colours changed at once)."""
        return self._last is not None and self.is_cut_from(self._last, look.colours)

    def is_cut_from(self, look: Look, colours: npt.NDArray[np.float32]) -> bool:
        return _shared(look.colours, colours) < self.s.cut_colours

    def _cut_since(self, since: float, cut_now: bool) -> bool:
        return cut_now or any(c > since for c in self._cuts[-8:])

    def _match(self, look: Look) -> _Matching:
        s, t = self.s, look.time
        cut = self.is_cut(look)
        active = self._active(look)
        kinds: dict[tuple[int, int], tuple[str, float]] = {}
        near_of_track: dict[int, int] = {}
        near_of_face: dict[int, int] = {}
        for ti, tr in enumerate(active):
            predicted = tr.predict(t)
            dt = t - tr.last.time
            for i, sg in enumerate(look.sightings):
                kind, iou = _position(predicted, sg.box, dt, s)
                kinds[(ti, i)] = (kind, iou)
                if kind != "far":
                    near_of_track[ti] = near_of_track.get(ti, 0) + 1
                    near_of_face[i] = near_of_face.get(i, 0) + 1
        # Faces on or near their track's predicted box. A face on it, with no other track or
        # face within reach of either, continues the track without an embedding (most faces
        # are settled so); where there is a choice, likeness decides, position only breaking
        # near-ties.
        plain: list[tuple[float, int, int, bool]] = []
        checks: list[tuple[int, int, str, float, bool, bool]] = []
        for (ti, i), (kind, iou) in sorted(kinds.items()):
            if kind == "far":
                continue
            tr = active[ti]
            sg = look.sightings[i]
            replaced = _shared(tr.last.colours, sg.colours) < s.place_colours
            crossed = replaced or self._cut_since(tr.last.time, cut)
            alone = near_of_track[ti] == 1 and near_of_face[i] == 1
            due = t - tr.verified_time >= s.verify_every
            if kind == "close" and alone and not (crossed or due):
                plain.append((3.0 + iou, ti, i, False))
            else:
                checks.append((ti, i, kind, iou, crossed, alone))
        self._prepare([active[c[0]] for c in checks], [look.sightings[c[1]] for c in checks])
        scored = plain
        rejected: list[tuple[int, int]] = []
        for ti, i, kind, iou, crossed, alone in checks:
            tr, sg = active[ti], look.sightings[i]
            like = tr.likeness(sg)
            # A profile, a blurred or a tiny face embeds poorly: its likeness can say
            # "someone else" only when it is clear; position says the rest. So it does
            # when the face and the track are each other's only candidates nearby.
            poor = sg.quality.low or tr.last.quality.low or tr.anchor.quality.low
            if crossed:
                need = s.cut_likeness
            elif kind == "near" and not alone:
                need = s.near_likeness
            else:
                need = s.poor_likeness if poor else s.keep_likeness
            if like >= need:
                scored.append((like + 0.25 * iou, ti, i, True))
            elif kind == "close" and not crossed:
                rejected.append((ti, i))
        pairs = _greedy(scored)
        # Lost tracks and unclaimed faces far apart: the same person only if very alike.
        used_t = {ti for ti, _, _ in pairs}
        used_f = {i for _, i, _ in pairs}
        # Only faces that embed well: a small or poor face says too little to be found again.
        lost = [
            ti for ti in range(len(active)) if ti not in used_t and self._telling(active[ti].last)
        ]
        new = [
            i
            for i in range(len(look.sightings))
            if i not in used_f and self._telling(look.sightings[i])
        ]
        if lost and new:
            self._prepare([active[ti] for ti in lost], [look.sightings[i] for i in new])
            far: list[tuple[float, int, int, bool]] = []
            for ti in lost:
                for i in new:
                    like = active[ti].likeness(look.sightings[i])
                    if like >= s.far_likeness:
                        far.append((like, ti, i, True))
            pairs += _greedy(far)
        used_f = {i for _, i, _ in pairs}
        return _Matching(
            pairs=[(active[ti], i, checked) for ti, i, checked in pairs],
            rejected=[(active[ti], i) for ti, i in rejected if i not in used_f],
            cut=cut,
        )

    def _telling(self, sg: Sighting) -> bool:
        return sg.box.w >= self.event_px and not sg.quality.low

    def _prepare(self, tracks: Sequence[Track], sightings: Sequence[Sighting]) -> None:
        """Embed what the checks need, in one batch: the faces, and the anchor of a track
        not checked yet. (Embeddings are a cache on the sightings: a look that is only
        previewed changes nothing else.)"""
        wanted: dict[int, Sighting] = {}
        for sg in sightings:
            if sg.embedding is None:
                wanted[id(sg)] = sg
        for tr in tracks:
            if not tr.refs and tr.anchor.embedding is None:
                wanted[id(tr.anchor)] = tr.anchor
        if wanted:
            self._embed(list(wanted.values()))


def _shared(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """How much two colour histograms (each summing to 1) have in common, 0 to 1."""
    return float(np.minimum(a, b).sum())


def _position(p: Box, b: Box, dt: float, s: LinkSettings) -> tuple[str, float]:
    """ "close" (overlapping the predicted box, about its size), "near" (within reach of it
    for the time since it was seen) or "far"."""
    iou = p.iou(b)
    ratio = max(p.w, b.w) / max(1e-6, min(p.w, b.w))
    if iou >= s.close_iou and ratio <= 1.5:
        return "close", iou
    size = max(p.w, b.w)
    dx = (p.x + p.w / 2) - (b.x + b.w / 2)
    dy = (p.y + p.h / 2) - (b.y + b.h / 2)
    reach = min(s.near_reach + s.near_speed * dt, s.near_most)
    if (dx * dx + dy * dy) ** 0.5 <= reach * size and ratio <= 1.6 + dt:
        return "near", iou
    return "far", iou


def _greedy(
    scored: list[tuple[float, int, int, bool]],
) -> list[tuple[int, int, bool]]:
    """One-to-one pairs, best score first; ties broken by track then face order, so the
    result never depends on anything but the inputs."""
    scored.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_t: set[int] = set()
    used_f: set[int] = set()
    out = []
    for _, ti, i, checked in scored:
        if ti in used_t or i in used_f:
            continue
        used_t.add(ti)
        used_f.add(i)
        out.append((ti, i, checked))
    return out
