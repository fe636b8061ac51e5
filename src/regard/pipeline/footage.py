"""Footage: find the people in a video and follow them — its appearances, in one pass.

Decoding every frame of a 1080p video costs more than everything else together, so frames are
decoded only where they tell something:

1. **Key frames first.** A key frame decodes on its own, so looking at each one costs one
   picture's decoding (phones write one a second). The detector sees it at most
   `detect_long_side` pixels long; each face's aligned crop is kept, not yet embedded.
2. **Between key frames only where something happens.** If the people in a key frame are the
   people of the one before (`Linker.would_change`), the frames between are skipped and the
   boxes between are interpolated. If someone came or went (or a cut put someone else in the
   same place), that group of pictures is decoded and every `refine_step` seconds a frame is
   looked at, from the start, until the looks agree with the next key frame again: a start or
   end is pinned to within `refine_step` at the cost of part of one GOP.
3. **Long GOPs are read straight through.** Where key frames are further apart than
   `coarse_step` (cameras and editors that write one every few seconds), frames are decoded in
   order and one every `coarse_step` is looked at; the frames a refinement might need are kept
   (every `refine_step`) until the next look shows whether they are.
4. **The end.** The last group of pictures is decoded so the last frame is seen, and an
   appearance still there ends with the video.

Faces are embedded only when their likeness decides something (`regard.pipeline.linking`) and,
at the end, for the `max_faces` best frames of each appearance (quality: size, sharpness,
frontalness, detector confidence), with the photo pipeline's alignment and models, so video
faces live in the same space as photo faces.

The result depends only on the file and the settings (no clocks, no thread timing), so a run
killed half-way and started again gives the same appearances; nothing is checkpointed within
one video: at 20x real time a two-hour film is analysed again in six minutes.

A file that stops decoding part-way (cut off during a copy, damaged) gives the appearances up
to where it stops, with a note saying so; one that gives no frame at all is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from regard.domain.appearance import (
    Appearance,
    FrameFace,
    PathPoint,
    StageTimes,
    VideoAnalysis,
)
from regard.domain.face import AnalysedFace, Box, Detection, Landmarks, Vector
from regard.inference.sessions import FaceDetector, FaceEmbedder
from regard.pipeline import yuv as yuv420
from regard.pipeline.align import align_face
from regard.pipeline.analyse import pipeline_id
from regard.pipeline.clip import Clip, ClipPacket, Frame, KeyFrames, VideoLimits, open_clip
from regard.pipeline.decode import DecodedImage
from regard.pipeline.detect import detect_faces
from regard.pipeline.linking import Linker, LinkSettings, Look, Sighting, Track
from regard.pipeline.quality import QualityRules, assess_quality
from regard.pipeline.share_errors import CorruptVideoError

#: Bump when a change would change the appearances found, so videos are analysed again.
FOOTAGE_VERSION = 1


@dataclass(frozen=True, slots=True)
class FootageSettings:
    detect_long_side: int = 960  # the detector sees frames this long: a 40 px face at 1080p is
    # 20 px to it, which YuNet still finds
    coarse_step: float = 1.0  # at most this many seconds between frames looked at first; a
    # person in view for a second is seen at least once
    refine_step: float = 0.2  # where a track starts or ends, a frame every this many seconds
    min_face_px: float = 24.0  # smaller faces (full-resolution pixels) are not followed
    event_px: float = 40.0  # faces this wide get their start and end pinned by refinement ...
    settled: float = 10.0  # ... but an end after this long is not: the end is known to within
    # half the spacing of the looks, 5 % of 10 s
    max_faces: int = 3  # frames of each appearance embedded and kept, best first
    distinct_seconds: float = 1.0  # ... at least this far apart when the appearance allows
    link: LinkSettings = field(default_factory=LinkSettings)
    quality: QualityRules = field(default_factory=QualityRules)
    limits: VideoLimits = field(default_factory=VideoLimits)

    def __post_init__(self) -> None:
        if not 0 < self.refine_step <= self.coarse_step:
            raise ValueError("need 0 < refine_step <= coarse_step")
        if self.max_faces < 1:
            raise ValueError("max_faces must be at least 1")


@dataclass(frozen=True, slots=True)
class FootageProgress:
    position: float  # seconds of the video done
    duration: float | None  # as the header states it
    frames_decoded: int
    frames_looked_at: int


Progress = Callable[[FootageProgress], None]


def footage_pipeline_id(detector: FaceDetector, embedder: FaceEmbedder) -> str:
    return f"{pipeline_id(detector.spec, embedder.spec)}+v{FOOTAGE_VERSION}"


def analyse_video(
    path: Path,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    settings: FootageSettings | None = None,
    *,
    progress: Progress | None = None,
) -> VideoAnalysis:
    """The appearances of people in the video at `path`, and what it took to find them.

    Raises a `regard.errors.ImageError` (`UnreadableFileError`, `UnsupportedVideoError`,
    `CorruptVideoError`, `ImageTooLargeError`) when the file cannot be analysed at all."""
    s = settings or FootageSettings()
    started = time.perf_counter()
    with open_clip(Path(path), s.limits) as clip:
        opened = time.perf_counter()
        looker = Looker(detector, embedder, s)
        linker = Linker(s.link, looker.embed, s.event_px, s.settled)
        scan = _Scan(clip, looker, linker, s, progress)
        scan.run()
        if not linker.look_times:
            raise CorruptVideoError(
                clip.path, "no frame of the video can be decoded", "Restore it from a backup."
            )
        duration = max(clip.last_time, linker.look_times[-1])
        appearances = looker.appearances(linker, duration)
        notes = list(scan.notes)
        declared = clip.facts.declared_duration
        if declared and not scan.notes and clip.last_time < declared - max(1.0, 0.02 * declared):
            notes.append(
                f"the video ends at {clip.last_time:.1f} s of the {declared:.1f} s its header "
                "announces (the file is truncated); faces after that are not known"
            )
        first = scan.first_frame
        assert first is not None
        total = time.perf_counter() - started
        decode = clip.counters.seconds
        times = StageTimes(
            open=opened - started,
            decode=decode,
            detect=looker.detect_seconds,
            embed=looker.embed_seconds,
            other=max(
                0.0,
                total - (opened - started) - decode - looker.detect_seconds - looker.embed_seconds,
            ),
        )
        return VideoAnalysis(
            duration=round(duration, 3),
            width=first.width,
            height=first.height,
            frame_rate=clip.facts.frame_rate,
            codec=clip.facts.codec,
            container=clip.facts.container,
            rotation=first.rotation,
            frames_decoded=clip.counters.frames,
            frames_looked_at=looker.looks,
            appearances=appearances,
            pipeline_id=footage_pipeline_id(detector, embedder),
            notes=tuple(notes),
            times=times,
        )


# --- looking at one frame ---------------------------------------------------------------------


class Looker:
    """Turns frames into `Look`s (detect, align, assess) and embeds faces on demand."""

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder, s: FootageSettings):
        self.detector, self.embedder, self.s = detector, embedder, s
        self.looks = 0
        self.detect_seconds = 0.0
        self.embed_seconds = 0.0

    def look(self, frame: Frame, region: Region | None = None) -> Look:
        """Detect the faces in `frame`, or only in its `region` (x0, y0, x1, y1), at the same
        scale either way; align and assess each; keep the frame's colours."""
        started = time.perf_counter()
        w, h = frame.width, frame.height
        scale = min(1.0, self.s.detect_long_side / max(w, h))
        x0, y0, x1, y1 = 0, 0, w, h
        if region is not None:
            x0, y0 = max(0, int(region[0]) & ~1), max(0, int(region[1]) & ~1)
            x1, y1 = min(w, (int(region[2]) + 1) & ~1), min(h, (int(region[3]) + 1) & ~1)
        found: list[Detection] = []
        if x1 - x0 >= 16 and y1 - y0 >= 16:
            small = yuv420.region_rgb(frame.yuv, w, h, (x0, y0, x1, y1), scale)
            found = [
                _shifted(d, x0, y0)
                for d in detect_faces(
                    self.detector, DecodedImage(small, small.shape[1] / (x1 - x0))
                )
            ]
            if region is not None:
                # A face the region's edge cuts through is half a face: a box and landmarks
                # that belong to no track. Only edges inside the frame cut.
                found = [d for d in found if _clear_of_cuts(d.box, (x0, y0, x1, y1), w, h)]
        sightings = []
        for d in found:
            if min(d.box.w, d.box.h) < self.s.min_face_px:
                continue
            crop = self._crop(frame, d)
            quality = assess_quality(d, crop, self.s.quality)
            sightings.append(Sighting(frame.time, d, crop, quality, self._around(frame, d.box)))
        self.looks += 1
        self.detect_seconds += time.perf_counter() - started
        seen = None if region is None else (float(x0), float(y0), float(x1), float(y1))
        return Look(frame.time, sightings, self.colours(frame), seen)

    def colours(self, frame: Frame) -> npt.NDArray[np.float32]:
        """The colour histogram of the whole frame, from a copy 160 px long."""
        w, h = frame.width, frame.height
        tiny = yuv420.region_rgb(frame.yuv, w, h, (0, 0, w, h), min(1.0, 160 / max(w, h)))
        return colour_histogram(tiny)

    def _crop(self, frame: Frame, d: Detection) -> npt.NDArray[np.uint8]:
        """The aligned face, from the full-resolution frame (only the face's neighbourhood
        is turned into RGB)."""
        w, h = frame.width, frame.height
        b = d.box
        pad = max(b.w, b.h)
        x0 = max(0, int(b.x - pad) & ~1)
        y0 = max(0, int(b.y - pad) & ~1)
        x1 = min(w, (int(b.x + b.w + pad) + 1) & ~1)
        y1 = min(h, (int(b.y + b.h + pad) + 1) & ~1)
        region = yuv420.region_rgb(frame.yuv, w, h, (x0, y0, x1, y1))
        shifted = Landmarks(tuple((x - x0, y - y0) for x, y in d.landmarks.points))
        return align_face(region, shifted, self.embedder.template, self.embedder.input_size)

    def _around(self, frame: Frame, b: Box) -> npt.NDArray[np.float32]:
        """The colour histogram of the face and half its size around it, from a 32 px copy."""
        w, h = frame.width, frame.height
        x0 = max(0, int(b.x - b.w / 2) & ~1)
        y0 = max(0, int(b.y - b.h / 2) & ~1)
        x1 = min(w, (int(b.x + 1.5 * b.w) + 1) & ~1)
        y1 = min(h, (int(b.y + 1.5 * b.h) + 1) & ~1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return np.full(128, 1 / 128, dtype=np.float32)
        scale = min(1.0, 32 / max(x1 - x0, y1 - y0))
        return colour_histogram(yuv420.region_rgb(frame.yuv, w, h, (x0, y0, x1, y1), scale))

    def embed(self, sightings: Sequence[Sighting]) -> None:
        todo = [s for s in sightings if s.embedding is None]
        if not todo:
            return
        started = time.perf_counter()
        vectors = self.embedder.embed(np.stack([s.crop for s in todo]))
        for s, v in zip(todo, vectors, strict=True):
            s.embedding = np.asarray(v, dtype=np.float32)
        self.embed_seconds += time.perf_counter() - started

    # --- from tracks to appearances ------------------------------------------------------------

    def appearances(self, linker: Linker, duration: float) -> tuple[Appearance, ...]:
        out = [self._appearance(track, duration) for track in linker.tracks]
        out.sort(key=lambda a: (a.start, a.path[0].box.x, a.path[0].box.y))
        return tuple(out)

    def _appearance(self, track: Track, duration: float) -> Appearance:
        first, last = track.sightings[0].time, track.sightings[-1].time
        # A start or end lies between the last look at the place without the face and the
        # first with it: halfway is the best guess, off by at most half the spacing of the
        # looks there.
        start = first if track.absent_before is None else (track.absent_before + first) / 2
        end = duration if track.gone_at is None else (last + track.gone_at) / 2
        chosen = self._best(track.sightings)
        self.embed(chosen)
        faces = tuple(
            FrameFace(
                round(s.time, 3),
                AnalysedFace(s.detection, s.quality, _vector(s), self.embedder.spec.id),
            )
            for s in chosen
        )
        path = tuple(PathPoint(round(s.time, 3), s.box) for s in track.sightings)
        return Appearance(round(start, 3), round(max(end, last), 3), faces, path)

    def _best(self, sightings: list[Sighting]) -> list[Sighting]:
        """The best frames, best first, spread out in time when they can be: near-identical
        neighbouring frames add nothing to recognising the person. A face embedded already
        (to link it) counts as a little better: within 5 % of quality it saves an embedding."""
        ranked = sorted(
            sightings,
            key=lambda s: (
                -(s.quality.score * (1.05 if s.embedding is not None else 1.0)),
                -s.detection.score,
                s.time,
            ),
        )
        chosen: list[Sighting] = []
        for gap in (self.s.distinct_seconds, 0.0):
            for s in ranked:
                if len(chosen) >= self.s.max_faces:
                    break
                if s in chosen:
                    continue
                if all(abs(s.time - c.time) >= gap for c in chosen):
                    chosen.append(s)
        return chosen


Region = tuple[float, float, float, float]


def _clear_of_cuts(b: Box, rect: tuple[int, int, int, int], w: int, h: int, gap: float = 2) -> bool:
    x0, y0, x1, y1 = rect
    return (
        (x0 == 0 or b.x >= x0 + gap)
        and (y0 == 0 or b.y >= y0 + gap)
        and (x1 == w or b.x + b.w <= x1 - gap)
        and (y1 == h or b.y + b.h <= y1 - gap)
    )


def _shifted(d: Detection, dx: float, dy: float) -> Detection:
    b = d.box
    return Detection(
        Box(b.x + dx, b.y + dy, b.w, b.h),
        Landmarks(tuple((x + dx, y + dy) for x, y in d.landmarks.points)),
        d.score,
    )


def colour_histogram(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Hue x saturation x value, 8 x 4 x 4 bins, of a small copy of a frame: what a cut
    changes, and people moving or the camera turning hardly do."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return np.asarray(hist / max(float(hist.sum()), 1.0), dtype=np.float32)


def _vector(s: Sighting) -> Vector:
    assert s.embedding is not None
    return s.embedding


# --- the scan -----------------------------------------------------------------------------------


class _Scan:
    """One pass over the packets: key frames looked at, GOPs decoded where needed."""

    def __init__(
        self,
        clip: Clip,
        looker: Looker,
        linker: Linker,
        s: FootageSettings,
        progress: Progress | None,
    ) -> None:
        self.clip, self.looker, self.linker, self.s = clip, looker, linker, s
        self.progress = progress
        self.notes: list[str] = []
        self.first_frame: Frame | None = None
        self.last: Look | None = None  # the latest look committed
        self.gop: list[ClipPacket] = []  # the current GOP's packets, from its key frame
        self.fed = 0  # how many of them the run decoder has had (sequential mode)
        self.sequential = False  # the current GOP is being decoded through
        self.kept: list[Frame] = []  # frames decoded through since the last look, for refining
        self.want: float | None = None  # sequential: decode until a frame this late is out

    def run(self) -> None:
        try:
            with KeyFrames(self.clip) as packets:
                for p in packets:
                    if p.key:
                        self._key(p)
                    else:
                        self._other(p)
        except CorruptVideoError as exc:
            if self.last is None:
                raise
            self.notes.append(f"{exc.problem}; the appearances found before that point are kept")
        self._end()

    # --- key frames ----------------------------------------------------------------------------

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
        if self.first_frame is None:
            self.first_frame = frame
        return self.looker.look(frame)

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
            self.clip.start_run()
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
