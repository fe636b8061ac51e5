"""Looking: what the detector finds in one frame of a video, and what a track becomes.

A `Looker` turns a decoded frame into a `Look` (regard.pipeline.linking): the faces YuNet
finds in it (or in a region of it), each aligned as the photo pipeline aligns a face, with its
quality and the colours around it, and the frame's colours; it embeds faces when the linker
asks, and turns finished tracks into `Appearance`s with their best frames embedded. Which
frames are looked at is `regard.pipeline.sampling`'s business.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from regard.domain.appearance import Appearance, FrameFace, PathPoint
from regard.domain.face import AnalysedFace, Box, Detection, Landmarks, Vector
from regard.inference.protocols import FaceDetector, FaceEmbedder
from regard.pipeline import yuv as yuv420
from regard.pipeline.align import align_face
from regard.pipeline.clip import Frame
from regard.pipeline.decode import DecodedImage
from regard.pipeline.detect import detect_faces
from regard.pipeline.footage_settings import FootageSettings
from regard.pipeline.linking import Look, Sighting, Track
from regard.pipeline.quality import assess_quality

#: A part of a frame, (x0, y0, x1, y1) in upright full-resolution pixels.
Region = tuple[float, float, float, float]


class Looker:
    """Turns frames into `Look`s (detect, align, assess) and embeds faces on demand."""

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder, s: FootageSettings):
        self.detector, self.embedder, self.s = detector, embedder, s
        self.looks = 0
        self.searched = 0.0  # frames' worth of pixels searched, for the benchmark
        self.detect_seconds = 0.0
        self.embed_seconds = 0.0

    def look(
        self, frame: Frame, region: Region | None = None, *, parts: Sequence[Region] | None = None
    ) -> Look:
        """Detect the faces in `frame`, or only in its `region` (x0, y0, x1, y1), at the same
        scale either way; align and assess each; keep the frame's colours.

        `parts`: search only these parts of the frame (perhaps none), yet count the look as
        a look at all of it, because what is outside them is known not to have changed
        since the last look (`regard.pipeline.gating`)."""
        started = time.perf_counter()
        w, h = frame.width, frame.height
        scale = min(1.0, self.s.detect_long_side / max(w, h))
        found: list[Detection] = []
        seen: Region | None = None
        if parts is not None:
            for part in parts:
                # Parts are cut around what changed and the faces followed, with room to
                # spare: a find hard by a part's edge is the detector misled by the cut.
                found += self._detect(frame, _even(part, w, h), scale, edge=0.25)
        elif region is not None:
            rect = _even(region, w, h)
            found = self._detect(frame, rect, scale)
            seen = (float(rect[0]), float(rect[1]), float(rect[2]), float(rect[3]))
        else:
            found = self._detect(frame, (0, 0, w, h), scale)
        sightings = []
        for d in found:
            if min(d.box.w, d.box.h) < self.s.min_face_px:
                continue
            crop = self._crop(frame, d)
            quality = assess_quality(d, crop, self.s.quality)
            sightings.append(Sighting(frame.time, d, crop, quality, self._around(frame, d.box)))
        self.looks += 1
        self.searched += _share(parts if parts is not None else [seen or (0, 0, w, h)], w, h)
        self.detect_seconds += time.perf_counter() - started
        return Look(frame.time, sightings, self.colours(frame), seen)

    def _detect(
        self, frame: Frame, rect: tuple[int, int, int, int], scale: float, edge: float = 0.0
    ) -> list[Detection]:
        """The faces YuNet finds in `rect` of `frame` seen at `scale`, in frame pixels. A
        face the edge of a rectangle smaller than the frame cuts through is half a face (a
        box and landmarks that belong to no track): left out."""
        w, h = frame.width, frame.height
        x0, y0, x1, y1 = rect
        if x1 - x0 < 16 or y1 - y0 < 16:
            return []
        # Converted to BGR, handed over as an RGB view of it: OpenCV's detector wants BGR and
        # turning the view back is then free, where turning RGB round copies the picture.
        small = yuv420.region_rgb(frame.yuv, w, h, rect, scale, bgr=True)[:, :, ::-1]
        found = [
            _shifted(d, x0, y0)
            for d in detect_faces(self.detector, DecodedImage(small, small.shape[1] / (x1 - x0)))
        ]
        if rect != (0, 0, w, h):
            found = [
                d for d in found if _clear_of_cuts(d.box, rect, w, h, max(2.0, edge * d.box.w))
            ]
        return found

    def colours(self, frame: Frame) -> npt.NDArray[np.float32]:
        """The colour histogram of the whole frame, from a copy 160 px long (worked out once
        a frame, and kept with it)."""
        known = frame.notes.get("colours")
        if isinstance(known, np.ndarray):
            return known
        w, h = frame.width, frame.height
        tiny = yuv420.region_rgb(frame.yuv, w, h, (0, 0, w, h), min(1.0, 160 / max(w, h)))
        hist = colour_histogram(tiny)
        frame.notes["colours"] = hist
        return hist

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
        """Fill in the embeddings of `sightings`, in one batch: a face carried over from an
        earlier look has the likeness of the face it repeats, embedded once."""
        todo: dict[int, tuple[Sighting, list[Sighting]]] = {}
        for s in sightings:
            if s.embedding is None:
                src = s.found
                if src.embedding is not None:
                    s.embedding = src.embedding
                else:
                    todo.setdefault(id(src), (src, []))[1].append(s)
        if not todo:
            return
        started = time.perf_counter()
        vectors = self.embedder.embed(np.stack([src.crop for src, _ in todo.values()]))
        for (src, copies), v in zip(todo.values(), vectors, strict=True):
            src.embedding = np.asarray(v, dtype=np.float32)
            for c in copies:
                c.embedding = src.embedding
        self.embed_seconds += time.perf_counter() - started

    # --- from tracks to appearances ------------------------------------------------------------

    def appearances(self, tracks: Sequence[Track], duration: float) -> tuple[Appearance, ...]:
        out = [self._appearance(track, duration) for track in tracks]
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


def _share(regions: Sequence[Region], w: int, h: int) -> float:
    return sum((r[2] - r[0]) * (r[3] - r[1]) for r in regions) / (w * h)


def _even(region: Region, w: int, h: int) -> tuple[int, int, int, int]:
    """`region` grown to even corners (the chroma planes are half size), inside the frame."""
    x0, y0 = max(0, int(region[0]) & ~1), max(0, int(region[1]) & ~1)
    x1, y1 = min(w, (int(region[2]) + 1) & ~1), min(h, (int(region[3]) + 1) & ~1)
    return x0, y0, x1, y1


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
    import cv2

    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return np.asarray(hist / max(float(hist.sum()), 1.0), dtype=np.float32)


def _vector(s: Sighting) -> Vector:
    assert s.embedding is not None
    return s.embedding


# --- the scan -----------------------------------------------------------------------------------
