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

Faces are embedded only when their likeness decides something (`regard.pipeline.linking`: a
choice between tracks, a move too far to be sure of, someone else taking a face's place, a
cut, a check every few seconds) and, at the end, for the `max_faces` best frames of each
appearance (quality: size, sharpness, frontalness, detector confidence), with the photo
pipeline's alignment and models, so video faces live in the same space as photo faces.

The result depends only on the file and the settings (no clocks, no thread timing), so a run
killed half-way and started again gives the same appearances; nothing is checkpointed within
one video (the later wiring stores a video's appearances in one transaction): a video is
analysed again from the start (1080p phone video: 12-22x real time on two idle cores).

A file that stops decoding part-way (cut off during a copy, damaged) gives the appearances up
to where it stops, with a note saying so; one that gives no frame at all is refused.
"""

from __future__ import annotations

import time
from pathlib import Path

from regard.domain.appearance import StageTimes, VideoAnalysis
from regard.errors import CorruptVideoError
from regard.inference.protocols import FaceDetector, FaceEmbedder
from regard.pipeline.analyse import pipeline_id
from regard.pipeline.clip import open_clip
from regard.pipeline.footage_settings import FootageSettings, Progress
from regard.pipeline.linking import Linker
from regard.pipeline.looking import Looker
from regard.pipeline.sampling import Sampler

#: Bump when a change would change the appearances found, so videos are analysed again.
FOOTAGE_VERSION = 3  # 3: still faces carried over, refinement frames not deblocked


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
        scan = Sampler(clip, looker, linker, s, progress)
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
            frames_searched=round(looker.searched, 2),
        )


# --- looking at one frame ---------------------------------------------------------------------
