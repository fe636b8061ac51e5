"""Sampling: which frames of a video are decoded, and which of those are looked at.

One pass over the packets (the design is told in `regard.pipeline.footage`): every key frame
is looked at; the frames of a GOP are decoded only when someone came or went between its key
frame and the next (and then searched only around them, and only until the looks agree
again), or when key frames are too far apart to do without (then it is read in order, a look
every `coarse_step`); the last GOP is decoded so the last frame is seen.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator

import numpy as np

from regard.domain.face import Box
from regard.errors import CorruptVideoError
from regard.pipeline.clip import Clip, ClipPacket, Frame, KeyFrames
from regard.pipeline.footage_settings import FootageProgress, FootageSettings, Progress
from regard.pipeline.gating import ChangeGate, Thumbnail, still, thumbnail
from regard.pipeline.linking import Linker, Look, Sighting, Track
from regard.pipeline.looking import Looker, Region


class Sampler:
    """One pass over the packets: key frames looked at, GOPs decoded where needed."""

    def __init__(
        self,
        clip: Clip,
        looker: Looker,
        linker: Linker,
        s: FootageSettings,
        progress: Progress | None,
        until: float | None = None,
        abort: threading.Event | None = None,
    ) -> None:
        """`until`: look at the frames up to the first key frame at or after this time and
        stop there (a time range of the video; the next range starts at that key frame).
        `abort`: stop as soon as it is set (another range failed)."""
        self.clip, self.looker, self.linker, self.s = clip, looker, linker, s
        self.progress = progress
        self.until = until
        self.abort = abort
        self.notes: list[str] = []
        self.first_frame: Frame | None = None
        self.last: Look | None = None  # the latest look committed
        self.gop: list[ClipPacket] = []  # the current GOP's packets, from its key frame
        self.fed = 0  # how many of them the run decoder has had (sequential mode)
        self.sequential = False  # the current GOP is being decoded through
        self.kept: list[Frame] = []  # frames decoded through since the last look, for refining
        self.want: float | None = None  # sequential: decode until a frame this late is out
        self.gate: ChangeGate | None = None  # what the looks at key frames (and every
        # `coarse_step`) search, from what changed since the look before
        self.thumbs: dict[float, Thumbnail] = {}  # those looks' thumbnails, by time, for
        # telling whether a face's picture changed since it was found

    def run(self) -> None:
        try:
            with KeyFrames(self.clip, prepare=self._prepare, until=self.until) as packets:
                for p in packets:
                    if self.abort is not None and self.abort.is_set():
                        return
                    if p.key:
                        self._key(p)
                    else:
                        self._other(p)
        except CorruptVideoError as exc:
            if self.last is None:
                raise
            kept = "before that point"
            if self.until is not None:  # a range before another: the video goes on past it
                kept += f" and from {self.until:.0f} s on"
            self.notes.append(f"{exc.problem}; the appearances found {kept} are kept")
        if self.until is None:
            self._end()  # a range that stops at a key frame has seen its last frame

    # --- key frames ----------------------------------------------------------------------------

    def _prepare(self, frame: Frame) -> None:
        """What every look at a key frame needs, worked out on the thread that decoded it
        (beside the looking): its thumbnail and colours."""
        if self.s.gate is not None:
            frame.notes["thumb"] = thumbnail(frame.yuv[: frame.height])
        self.looker.colours(frame)

    def _key(self, packet: ClipPacket) -> None:
        frame = packet.picture
        if frame is None:
            # A damaged key frame: the GOP cannot be decoded from it; its packets are dropped.
            self.gop, self.sequential, self.kept = [], False, []
            return
        b = self._look(frame)
        if self.last is None:
            self.linker.add(b)
        elif self.sequential:
            self._resolve(b, self._rest_of_run(b.time))
        else:
            self._resolve(b, self._fresh_run(self.gop, b.time))
        self._commit(b)
        self.gop, self.fed, self.sequential, self.kept, self.want = [packet], 0, False, [], None

    def _look(self, frame: Frame) -> Look:
        """A look at a key frame (or one every `coarse_step`): only where the picture changed
        since the last such look and where the faces followed are, when that is less than
        most of it."""
        if self.first_frame is None:
            self.first_frame = frame
        if self.s.gate is None:
            return self.looker.look(frame)
        if self.gate is None or (self.gate.width, self.gate.height) != (frame.width, frame.height):
            self.gate = ChangeGate(frame.width, frame.height, self.s.gate)
        thumb = frame.notes.get("thumb")
        if not isinstance(thumb, np.ndarray):
            thumb = thumbnail(frame.yuv[: frame.height])
        followed = self.linker.followed(frame.time)
        carried = self._carried(followed, thumb, frame.time)
        expected = self.linker.expected(frame.time, followed)
        plan = self.gate.plan(
            thumb,
            frame.time,
            self.linker.expected(frame.time, [tr for tr in followed if id(tr) not in carried]),
        )
        self.gate.searched(thumb, frame.time, None if plan is None else plan.parts)
        self.thumbs[frame.time] = thumb
        for old in [k for k in self.thumbs if k < frame.time - self.s.gate.full_every]:
            del self.thumbs[old]
        if plan is None:
            return self.looker.look(frame)
        look = self.looker.look(frame, parts=plan.parts)
        # Where the picture is as it was, the last look's verdict stands: a face found there
        # now (a part's edge, its context, can sway the detector) that follows no track is
        # left out.
        look.sightings = [
            sg
            for sg in look.sightings
            if plan.new_face_possible(sg.box) or any(sg.box.iou(b) >= 0.2 for b in expected)
        ]
        # A face carried over where the search found one anyway is the one found.
        look.sightings += [
            c
            for c in carried.values()
            if not any(sg.box.iou(c.box) >= 0.2 for sg in look.sightings)
        ]
        return look

    def _carried(self, followed: list[Track], thumb: Thumbnail, t: float) -> dict[int, Sighting]:
        """The faces followed whose picture has not changed since they were found (at a
        look no more than `full_every` seconds ago), carried over to the look at `t`
        without searching, by the id of their track. Only faces seen at the last look:
        one missed since may be gone."""
        assert self.s.gate is not None
        limit = self.s.gate.still
        out: dict[int, Sighting] = {}
        if limit is None or self.last is None:
            return out
        for tr in followed:
            src = tr.last.found
            before = self.thumbs.get(src.time)
            if not tr.present or tr.last.time < self.last.time - 1e-6 or before is None:
                continue
            moved = still(before, thumb, src.box, limit)
            if moved is not None:
                out[id(tr)] = src.carried(t, *moved)
        return out

    def _commit(self, look: Look) -> None:
        self.last = look
        if self.progress is not None:
            self.progress(
                FootageProgress(
                    look.time,
                    self.clip.facts.declared_duration,
                    self.clip.counters.frames,
                    self.looker.looks,
                )
            )

    def _resolve(self, b: Look, between: Generator[Frame, None, None]) -> None:
        """Add look `b`, after looking at frames between the last look and it if `b` changes
        who is there, until the looks agree with `b` again. Those frames are searched only
        around the faces that came or went (within the reach of a moving face), unless that
        is most of the frame anyway. If a cut lies between, the frames before it are only
        glanced at (their colours) to find it: who was there stays until the cut."""
        changed = self.linker.changes(b)
        if changed:
            assert self.last is not None
            before_cut = self.linker.is_cut(b)
            region = None if before_cut else self._around(changed)
            previous: Frame | None = None
            for frame in between:
                if before_cut:
                    if not self.linker.is_cut_from(self.last, self.looker.colours(frame)):
                        previous = frame
                        continue
                    # Who was there last before the cut, and who is there first after it.
                    before_cut = False
                    if previous is not None:
                        self.linker.add(self.looker.look(previous))
                    self.linker.add(self.looker.look(frame))
                    changed = self.linker.changes(b)
                    if not changed:
                        break
                    region = self._around(changed)
                    continue
                self.linker.add(self.looker.look(frame, region))
                if not self.linker.would_change(b):
                    break
            if before_cut and previous is not None:
                self.linker.add(self.looker.look(previous))  # the cut is just before `b`
        between.close()  # a run stopped early decodes no further
        self.linker.add(b)

    def _around(self, boxes: list[Box]) -> Region | None:
        assert self.first_frame is not None
        w, h = self.first_frame.width, self.first_frame.height
        margin = self.s.link.near_most + 0.5  # face widths: the linker's reach, and some
        x0 = min(b.x - margin * b.w for b in boxes)
        y0 = min(b.y - margin * b.w for b in boxes)
        x1 = max(b.x + b.w + margin * b.w for b in boxes)
        y1 = max(b.y + b.h + margin * b.w for b in boxes)
        x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
        if (x1 - x0) * (y1 - y0) > 0.5 * w * h:
            return None
        return (x0, y0, x1, y1)

    # --- between key frames --------------------------------------------------------------------

    def _spaced(
        self, frames: Iterator[Frame], after: float, before: float
    ) -> Generator[Frame, None, None]:
        """Frames strictly between `after` and `before`, one every `refine_step`."""
        next_time = after + self.s.refine_step - 1e-6
        for f in frames:
            if f.time >= before - 1e-6:
                return
            if f.time >= next_time:
                next_time = f.time + self.s.refine_step - 1e-6
                yield f

    def _fresh_run(self, packets: list[ClipPacket], before: float) -> Generator[Frame, None, None]:
        """Decode a GOP from its key frame, lazily."""
        assert self.last is not None

        def frames() -> Iterator[Frame]:
            self.clip.start_run(rough=not self.s.refine_deblocked)
            for p in packets:
                yield from self.clip.run(p.packet, p.time)
            yield from self.clip.run(None)

        return self._spaced(frames(), self.last.time, before)

    def _rest_of_run(self, before: float) -> Generator[Frame, None, None]:
        """Sequential mode: the frames kept since the last look, then the GOP's packets not
        decoded yet."""
        assert self.last is not None
        kept, self.kept = self.kept, []

        def frames() -> Iterator[Frame]:
            yield from kept
            for p in self.gop[self.fed :]:
                yield from self.clip.run(p.packet, p.time)
            self.fed = len(self.gop)
            yield from self.clip.run(None)

        return self._spaced(frames(), self.last.time, before)

    def _other(self, packet: ClipPacket) -> None:
        t = packet.time
        if not self.gop:
            return  # after a damaged key frame: nothing to decode from until the next one
        self.gop.append(packet)
        assert self.last is not None
        due = self.last.time + self.s.coarse_step
        if not self.sequential and t < due - 1e-6:
            return
        if not self.sequential:
            # Key frames are further apart than `coarse_step` here: decode this GOP through.
            self.sequential = True
            self.clip.start_run()
            self.fed = 0
            self.kept = []
            self.want = due
        if self.want is None:
            if t < self.last.time + self.s.coarse_step - 1e-6:
                return  # keep the packet; decoded only if a look is due or a refinement asks
            self.want = self.last.time + self.s.coarse_step
        for p in self.gop[self.fed :]:
            self.fed += 1
            for frame in self.clip.run(p.packet, p.time):
                self._through(frame)

    def _through(self, frame: Frame) -> None:
        """A frame decoded in sequential mode."""
        assert self.last is not None
        if frame.time <= self.last.time + 1e-6:
            return  # the key frame again, already looked at
        if self.want is not None and frame.time >= self.want - 1e-6:
            c = self._look(frame)
            kept, self.kept = self.kept, []
            self._resolve(c, self._spaced(iter(kept), self.last.time, c.time))
            self._commit(c)
            self.want = None
        else:
            # Only a frame every `refine_step` is ever looked at; the rest need not be kept.
            since = self.kept[-1].time if self.kept else self.last.time
            if frame.time >= since + self.s.refine_step - 1e-6:
                self.kept.append(frame)

    def _end(self) -> None:
        """Decode the last GOP through, so the last frame is seen (keeping only the frames a
        refinement could look at, and the latest)."""
        if self.last is None or not self.gop:
            return
        if not self.sequential:
            self.clip.start_run()
            self.fed = 0
        after = self.last.time + 1e-6
        kept: list[Frame] = [f for f in self.kept if f.time > after]
        final: Frame | None = None

        def take(frames: list[Frame]) -> None:
            nonlocal final
            for f in frames:
                if f.time <= after:
                    continue
                if final is not None:
                    since = kept[-1].time if kept else self.last_time()
                    if final.time >= since + self.s.refine_step - 1e-6:
                        kept.append(final)
                final = f

        for p in self.gop[self.fed :]:
            take(self.clip.run(p.packet, p.time))
        take(self.clip.run(None))
        if final is None:
            return
        e = self._look(final)
        self._resolve(e, self._spaced(iter(kept), self.last_time(), final.time))
        self._commit(e)

    def last_time(self) -> float:
        assert self.last is not None
        return self.last.time
