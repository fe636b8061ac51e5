"""Footage: find the people in a video and follow them — its appearances, in one pass.

Decoding every frame of a 1080p video costs more than everything else together, so frames are
decoded only where they tell something, and looked at (detected in) more sparingly still:

1. **Key frames first.** A key frame decodes on its own, so looking at each one costs one
   picture's decoding (phones write one a second, so a person in view for a second is seen).
   They are decoded ahead on a thread of their own while the last one is looked at. The
   detector sees a frame at most `detect_long_side` pixels long (960: a 40 px face of a
   1080p frame is 20 px to YuNet, which it still finds), and only where the picture changed
   since the look before and where the faces followed are (`regard.pipeline.gating`): in a
   steady shot that is a fraction of the frame; a face followed whose picture is as it was
   when it was found (give or take a small shift) is carried over without a search. Each
   face's aligned crop is kept, not yet embedded.
2. **Between key frames only where someone comes or goes.** If the people of a key frame are
   the people of the one before (`Linker.changes`), the frames between are not decoded and
   the boxes between are interpolated. If someone came or went, that group of pictures (GOP)
   is decoded from its key frame, and every `refine_step` seconds a frame is searched, only
   around the faces that came or went, until the looks agree with the next key frame again:
   a start or an end is pinned to within `refine_step` for part of one GOP's decoding. An end
   after `settled` seconds is not pinned (a half-second error is 5 % of it). Across a cut the
   frames before it are only glanced at (their colour histogram) until the cut is found; the
   last frame before it and the first after it are looked at.
3. **Long GOPs are read straight through.** Where key frames are further apart than
   `coarse_step` (editors and converters write one every few seconds), frames are decoded in
   order and one every `coarse_step` is looked at; the frames a refinement might need (one
   every `refine_step`) are kept until the next look tells whether they are. Pictures nothing
   is predicted from (most B-frames) are never decoded.
4. **The end.** The last GOP is decoded so the last frame is seen, and an appearance still
   there ends with the video.
5. **Two cores on one video.** A video of `split_from` seconds or more is cut at the key
   frame nearest before its middle into two time ranges (`ranges`), each analysed on a
   thread of its own with its own decoders and model sessions, the whole of the above in
   each (decoding, OpenCV's detector and embedder all let go of the interpreter while they
   work, so the two run at once). Both look at the seam's key frame; a face there in both is
   one track, one lost just before it and found just after it is joined only if very alike
   (`regard.pipeline.seams`). A seam may leave an appearance in two where one pass would
   have joined it; it never joins two people.

Faces are embedded only when their likeness decides something (`regard.pipeline.linking`: a
choice between tracks, a move too far to be sure of, someone else taking a face's place, a
cut, a check every few seconds) and, at the end, for the `max_faces` best frames of each
appearance (quality: size, sharpness, frontalness, detector confidence), with the photo
pipeline's alignment and models, so video faces live in the same space as photo faces.

The result depends only on the file and the settings (no clocks, no thread timing), so a run
killed half-way and started again gives the same appearances; nothing is checkpointed within
one video (the later wiring stores a video's appearances in one transaction): a video is
analysed again from the start.

A file that stops decoding part-way (cut off during a copy, damaged) gives the appearances up
to where it stops, with a note saying so; one that gives no frame at all is refused.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from regard.domain.appearance import StageTimes, VideoAnalysis
from regard.errors import CorruptVideoError
from regard.inference.protocols import FaceDetector, FaceEmbedder
from regard.pipeline.analyse import pipeline_id
from regard.pipeline.clip import Clip, open_clip
from regard.pipeline.footage_settings import FootageProgress, FootageSettings, Progress
from regard.pipeline.linking import Linker
from regard.pipeline.looking import Looker
from regard.pipeline.sampling import Sampler
from regard.pipeline.seams import RangeTracks, join

#: Bump when a change would change the appearances found, so videos are analysed again.
FOOTAGE_VERSION = 4  # 3: still faces carried over, refinement frames not deblocked; 4: a
# video of a minute or more analysed in two time ranges side by side


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
    with open_clip(Path(path), s.limits) as clip, contextlib.ExitStack() as more:
        opened = time.perf_counter()
        ranges = _ranges(clip, more, detector, embedder, s, progress)
        _run(ranges)
        found = RangeTracks(ranges[0].linker.tracks, ranges[0].linker.look_times)
        for before, r in itertools.pairwise(ranges):
            assert before.until is not None
            found = join(
                found,
                RangeTracks(r.linker.tracks, r.linker.look_times),
                before.until,
                r.looker.embed,
                s.link,
                s.event_px,
            )
        if not found.look_times:
            raise CorruptVideoError(
                clip.path, "no frame of the video can be decoded", "Restore it from a backup."
            )
        last = ranges[-1]
        duration = max(last.clip.last_time, found.look_times[-1])
        appearances = last.looker.appearances(found.tracks, duration)
        notes = [n for r in ranges for n in r.scan.notes]
        declared = clip.facts.declared_duration
        end = last.clip.last_time
        if declared and not notes and end < declared - max(1.0, 0.02 * declared):
            notes.append(
                f"the video ends at {end:.1f} s of the {declared:.1f} s its header "
                "announces (the file is truncated); faces after that are not known"
            )
        first = ranges[0].scan.first_frame
        assert first is not None
        total = time.perf_counter() - started
        decode = sum(r.clip.counters.seconds for r in ranges)
        detect = sum(r.looker.detect_seconds for r in ranges)
        embed = sum(r.looker.embed_seconds for r in ranges)
        times = StageTimes(
            open=opened - started,
            decode=decode,
            detect=detect,
            embed=embed,
            other=max(0.0, total - (opened - started) - decode - detect - embed),
        )
        return VideoAnalysis(
            duration=round(duration, 3),
            width=first.width,
            height=first.height,
            frame_rate=clip.facts.frame_rate,
            codec=clip.facts.codec,
            container=clip.facts.container,
            rotation=first.rotation,
            frames_decoded=sum(r.clip.counters.frames for r in ranges),
            frames_looked_at=sum(r.looker.looks for r in ranges),
            appearances=appearances,
            pipeline_id=footage_pipeline_id(detector, embedder),
            notes=tuple(notes),
            times=times,
            frames_searched=round(sum(r.looker.searched for r in ranges), 2),
        )


@dataclass(slots=True)
class _Range:
    """One time range of the video and what analyses it."""

    clip: Clip
    looker: Looker
    linker: Linker
    scan: Sampler
    until: float | None  # it ends with the key frame at this time (None: with the video)


def _ranges(
    clip: Clip,
    more: contextlib.ExitStack,
    detector: FaceDetector,
    embedder: FaceEmbedder,
    s: FootageSettings,
    progress: Progress | None,
) -> list[_Range]:
    """The time ranges to analyse side by side: the video cut at the key frames nearest
    before equal shares of its declared length, if it is at least `split_from` seconds long
    and the models can be doubled (each range has its own sessions); else the whole."""
    declared = clip.facts.declared_duration
    models = [(detector, embedder)]
    seams: list[float] = []
    clips = [clip]
    if s.ranges > 1 and declared is not None and declared >= s.split_from:
        for k in range(1, s.ranges):
            twins = _twins(*models[-1])
            if twins is None:
                break
            other = more.enter_context(open_clip(clip.path, s.limits))
            seam = other.seek_key(declared * k / s.ranges)
            if seam is None or seam <= (seams[-1] if seams else 0.0) + 1.0:
                continue  # no key frame there (or the one of the last seam): fewer ranges
            seams.append(seam)
            clips.append(other)
            models.append(twins)
    abort = threading.Event()
    shared = _SharedProgress(progress, [0.0, *seams]) if progress is not None else None
    out = []
    for i, (c, (d, e)) in enumerate(zip(clips, models, strict=True)):
        looker = Looker(d, e, s)
        linker = Linker(s.link, looker.embed, s.event_px, s.settled)
        until = seams[i] if i < len(seams) else None
        part = shared.part(i) if shared is not None else None
        scan = Sampler(c, looker, linker, s, part, until, abort if seams else None)
        out.append(_Range(c, looker, linker, scan, until))
    return out


def _twins(
    detector: FaceDetector, embedder: FaceEmbedder
) -> tuple[FaceDetector, FaceEmbedder] | None:
    """Second sessions of the models for another thread, if they can make them."""
    d, e = getattr(detector, "twin", None), getattr(embedder, "twin", None)
    if not callable(d) or not callable(e):
        return None
    return cast(FaceDetector, d()), cast(FaceEmbedder, e())


def _run(ranges: list[_Range]) -> None:
    """Analyse the ranges, each on a thread of its own (the last on this one). A failure in
    one stops the others and is raised here."""
    if len(ranges) == 1:
        ranges[0].scan.run()
        return
    abort = ranges[0].scan.abort
    assert abort is not None
    failures: list[BaseException] = []

    def work(r: _Range) -> None:
        try:
            r.scan.run()
        except BaseException as exc:  # raised on the calling thread below
            failures.append(exc)
            abort.set()

    threads = [
        threading.Thread(target=work, args=(r,), name="regard-video-range", daemon=True)
        for r in ranges[:-1]
    ]
    for t in threads:
        t.start()
    work(ranges[-1])
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


class _SharedProgress:
    """The progress of ranges analysed at once, reported as one: seconds done summed."""

    def __init__(self, progress: Progress, starts: list[float]) -> None:
        self.progress, self.starts = progress, starts
        self.done = [(0.0, 0, 0) for _ in starts]
        self.lock = threading.Lock()

    def part(self, i: int) -> Progress:
        def report(p: FootageProgress) -> None:
            with self.lock:
                self.done[i] = (p.position - self.starts[i], p.frames_decoded, p.frames_looked_at)
                self.progress(
                    FootageProgress(
                        sum(d[0] for d in self.done),
                        p.duration,
                        sum(d[1] for d in self.done),
                        sum(d[2] for d in self.done),
                    )
                )

        return report


# --- looking at one frame ---------------------------------------------------------------------
