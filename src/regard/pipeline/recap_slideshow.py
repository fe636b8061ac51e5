"""Recap slideshow: the frames of a recap's video, composed and encoded.

Each tile is a shot. A photo's shot is one still image (its faces not kept blurred, decoded at
the resolution the shot needs) seen through a moving window: from the largest frame-shaped crop
that holds every head, in slowly toward the faces (or out from them, every other shot), eased
at both ends. A photo whose faces do not fit a frame-shaped crop, or of which such a crop would
show less than half (a portrait photo in a landscape video), is shown whole over a blurred,
darkened enlargement of itself. A video moment plays at its own pace from its source (decoded
with `regard.pipeline.clip`, from the key frame before it), its faces not kept blurred in every
frame, cropped like a photo but still.

Shots overlap by a cross-fade; the video fades in from black and out to it. Frames are composed
as the encoder takes them, in I420 (YUV 4:2:0, BT.601 at video levels): a photo's canvas is
converted once when its shot opens, and each frame warps its planes (half the bytes of RGB, and
no conversion per frame; cross-fades and fades are the same sums in YUV as in RGB). Composing
runs on this thread and encoding on the muxer's (`BackgroundMuxer`), x264 with threads of its
own: the work spreads over both cores.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from regard.errors import CorruptVideoError, OutputError
from regard.pipeline import yuv as yuv420
from regard.pipeline.anonymise.muxer import BackgroundMuxer
from regard.pipeline.clip import Frame, VideoLimits, frames_between, open_clip
from regard.pipeline.recap_tiles import (
    Region,
    RGBImage,
    SkippedTile,
    Tile,
    TilePixels,
    blur_in_place,
    faces_at,
    fit_crop,
    output_scale,
    resample,
    scaled,
    zoomed,
)

# Imported where they are used: a `regard` command starts without them (test_start_up.py).
if TYPE_CHECKING:
    import av
    import av.audio.stream
    import av.container
    import av.error
    import av.stream
    import av.video.stream

#: How much closer the end of a shot is than its start.
ZOOM = 1.12
#: A frame-shaped crop showing less of the photo than this is not used: the photo is shown
#: whole over a blurred copy of itself.
MIN_COVER = 0.5
FADE_IN = 0.4
FADE_OUT = 0.8
AUDIO_RATE = 48000

Step = Callable[[int, int], None]
#: A flat I420 picture: the Y plane, then U, then V (see `_planes`).
YUVImage = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ShotPlacement:
    """Where a photo's shot was on the slideshow's timeline, and what it showed of the photo:
    the frame shows `window(t)` (x0, y0, x1, y1 in the photo's upright full-resolution
    pixels; past the photo's edges where it is shown whole over a blurred ground)."""

    tile: Tile
    start_s: float
    length_s: float
    first: Region
    last: Region

    def window(self, t: float) -> Region:
        p = _ease((t - self.start_s) / self.length_s)
        a, b = self.first, self.last
        return (
            a[0] + (b[0] - a[0]) * p,
            a[1] + (b[1] - a[1]) * p,
            a[2] + (b[2] - a[2]) * p,
            a[3] + (b[3] - a[3]) * p,
        )


class _Shot:
    """One tile on screen: `frame(u)` is what it shows `u` seconds after it appears, a flat
    I420 picture of width x height (see `_planes`)."""

    def __init__(self, pixels: TilePixels, width: int, height: int, index: int) -> None:
        self.pixels, self.width, self.height, self.index = pixels, width, height, index

    shown: tuple[Region, Region] | None = None  # a photo's first and last window, in its pixels

    def open(self, stack: contextlib.ExitStack, limits: VideoLimits) -> None:
        """Decode what the shot needs (called when it first comes on screen)."""

    def frame(self, u: float, length: float) -> YUVImage:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of what the shot holds (called once it has left the screen)."""

    def _window(self) -> tuple[Region | None, Region, tuple[float, float]]:
        """The frame-shaped crop holding the heads (or the faces), if one shows enough."""
        p = self.pixels
        aspect = self.width / self.height
        must, focus = p.must_show(), p.focus()
        crop = fit_crop(p.size, aspect, must, focus)
        if crop is None:
            must = p.must_show_faces()
            crop = fit_crop(p.size, aspect, must, focus)
        if crop is not None:
            area = (crop[2] - crop[0]) * (crop[3] - crop[1])
            if area < MIN_COVER * p.size[0] * p.size[1]:
                crop = None
        return crop, must, focus


class _PhotoShot(_Shot):
    canvas: YUVImage  # flat I420, canvas_size pixels
    canvas_size: tuple[int, int]
    out: YUVImage
    start: Region
    end: Region

    def open(self, stack: contextlib.ExitStack, limits: VideoLimits) -> None:
        import cv2

        crop, must, focus = self._window()
        w, h = self.width, self.height
        if crop is not None:
            rgb, s = self.pixels.read(output_scale(crop, w * ZOOM, h * ZOOM))
            rgb, s = _shrink(rgb, s, output_scale(crop, w * ZOOM, h * ZOOM))
            near = zoomed(crop, ZOOM, must, focus)
            canvas, start, end = rgb, scaled(crop, s), scaled(near, s)
            k, ox, oy = s, 0, 0
        else:
            # Shown whole, over itself enlarged and blurred, on a canvas ZOOM times the frame.
            cw, ch = round(w * ZOOM), round(h * ZOOM)
            iw, ih = self.pixels.size
            fit = min(cw / iw, ch / ih)
            rgb, s = self.pixels.read(min(1.0, fit))
            canvas = _over_blurred(rgb, cw, ch)
            pw, ph = round(iw * fit), round(ih * fit)
            ox, oy = (cw - pw) // 2, (ch - ph) // 2
            canvas[oy : oy + ph, ox : ox + pw] = cv2.resize(
                rgb,
                (pw, ph),
                interpolation=cv2.INTER_AREA if pw < rgb.shape[1] else cv2.INTER_LINEAR,
            )
            m = scaled(must, fit)
            m = (m[0] + ox, m[1] + oy, m[2] + ox, m[3] + oy)
            f = (focus[0] * fit + ox, focus[1] * fit + oy)
            start = (0.0, 0.0, float(cw), float(ch))
            end = zoomed(start, ZOOM, m, f)
            k = fit
        self.canvas, self.canvas_size = _i420(canvas)
        self.out = np.empty(w * h * 3 // 2, dtype=np.uint8)
        # Every other shot moves the other way: in toward the faces, then out from them.
        self.start, self.end = (start, end) if self.index % 2 == 0 else (end, start)
        # Canvas pixels are source pixels times k, moved by (ox, oy).
        back = (1 / k, -ox / k, -oy / k)
        self.shown = (_moved(self.start, back), _moved(self.end, back))

    def frame(self, u: float, length: float) -> YUVImage:
        p = _ease(u / length)
        a, b = self.start, self.end
        region = (
            a[0] + (b[0] - a[0]) * p,
            a[1] + (b[1] - a[1]) * p,
            a[2] + (b[2] - a[2]) * p,
            a[3] + (b[3] - a[3]) * p,
        )
        _warp_i420(self.canvas, self.canvas_size, region, self.width, self.height, self.out)
        return self.out

    def close(self) -> None:
        del self.canvas, self.out


def _moved(r: Region, how: tuple[float, float, float]) -> Region:
    k, dx, dy = how
    return (r[0] * k + dx, r[1] * k + dy, r[2] * k + dx, r[3] * k + dy)


class _VideoShot(_Shot):
    """A video moment: its frames in order, each shown until the next one's time."""

    def open(self, stack: contextlib.ExitStack, limits: VideoLimits) -> None:
        tile = self.pixels.tile
        assert tile.video_start_s is not None
        assert tile.video_end_s is not None
        self.first, self.last = tile.video_start_s, tile.video_end_s
        crop, _, _ = self._window()
        self.crop = crop
        self.background: RGBImage | None = None
        if crop is None:
            still, _ = self.pixels.read(1.0)
            self.background = _over_blurred(still, self.width, self.height)
        self.clip = stack.enter_context(open_clip(Path(tile.path), limits))
        self.frames = frames_between(self.clip, self.first, self.last)
        self.latest: Frame | None = None  # the last frame due by now
        self.ahead: Frame | None = None  # the next one, read but not yet due
        self.image: YUVImage | None = None  # `latest` as shown

    def frame(self, u: float, length: float) -> YUVImage:
        want = self.first + min(u, self.last - self.first)
        while True:
            if self.ahead is None:
                self.ahead = next(self.frames, None)
                if self.ahead is None:
                    break
            if self.latest is None or self.ahead.time <= want + 1e-3:
                self.latest, self.ahead, self.image = self.ahead, None, None
            else:
                break
        if self.latest is None:
            raise CorruptVideoError(
                self.pixels.tile.path,
                f"no picture between {self.first:.1f} and {self.last:.1f} s can be decoded",
                "Restore it from a backup.",
            )
        if self.image is None:
            self.image = _i420(self._show(self.latest))[0]
        return self.image

    def _show(self, f: Frame) -> RGBImage:
        w, h = self.width, self.height
        # Each face where it is in this frame (they move during the moment).
        faces = faces_at(self.pixels.tile.faces, f.time)
        if self.crop is not None:
            s = output_scale(self.crop, w, h)
            rgb = yuv420.region_rgb(f.yuv, f.width, f.height, (0, 0, f.width, f.height), s)
            s = rgb.shape[1] / f.width
            blur_in_place(rgb, faces, s, self.pixels.blur)
            return resample(rgb, scaled(self.crop, s), w, h)
        assert self.background is not None
        fit = min(w / f.width, h / f.height)
        rgb = yuv420.region_rgb(f.yuv, f.width, f.height, (0, 0, f.width, f.height), fit)
        blur_in_place(rgb, faces, rgb.shape[1] / f.width, self.pixels.blur)
        out = self.background.copy()
        ph, pw = rgb.shape[:2]
        ph, pw = min(ph, h), min(pw, w)
        oy, ox = (h - ph) // 2, (w - pw) // 2
        out[oy : oy + ph, ox : ox + pw] = rgb[:ph, :pw]
        return out

    def close(self) -> None:
        self.image = self.latest = self.ahead = None


class Slideshow:
    def __init__(
        self,
        opened: Sequence[TilePixels],
        *,
        width: int,
        height: int,
        seconds_per_tile: float,
        fps: int,
        video_limits: VideoLimits,
    ) -> None:
        self.width, self.height, self.fps, self.limits = width, height, fps, video_limits
        self.shots: list[_Shot] = []
        self.lengths: list[float] = []
        for i, p in enumerate(opened):
            if p.tile.is_video:
                self.shots.append(_VideoShot(p, width, height, i))
                moment = (p.tile.video_end_s or 0.0) - (p.tile.video_start_s or 0.0)
                self.lengths.append(min(max(moment, 1.0), 3 * seconds_per_tile))
            else:
                self.shots.append(_PhotoShot(p, width, height, i))
                self.lengths.append(seconds_per_tile)
        self.fade = min(0.8, 0.3 * seconds_per_tile)
        self.starts = [sum(self.lengths[:i]) for i in range(len(self.lengths))]
        self.duration = sum(self.lengths)
        self.skipped: tuple[SkippedTile, ...] = ()

    @property
    def placements(self) -> tuple[ShotPlacement, ...]:
        """The photos' shots, once written."""
        last = len(self.shots) - 1
        return tuple(
            ShotPlacement(
                s.pixels.tile,
                self.starts[i],
                self.lengths[i] + (self.fade if i < last else 0.0),
                *s.shown,
            )
            for i, s in enumerate(self.shots)
            if s.shown is not None
        )

    def write(self, path: Path, *, audio: Path | None, step: Step, crf: int, preset: str) -> None:
        import av

        total = max(1, round(self.duration * self.fps))
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(av.open(str(path), "w", format="mp4"))
            vout = out.add_stream("libx264", rate=self.fps)
            vout.width, vout.height, vout.pix_fmt = self.width, self.height, "yuv420p"
            vout.time_base = Fraction(1, self.fps)
            vout.options = {"crf": str(crf), "preset": preset}
            sound = _Sound(out, audio, self.duration) if audio is not None else None
            muxer = BackgroundMuxer(out)
            try:
                self._frames(stack, muxer, vout, total, step)
                muxer.frame(vout, None)
                if sound is not None:
                    for packet in sound.packets():
                        # The muxer takes any stream's packet (PyAV's generics do not vary).
                        muxer.packet(cast("av.Packet[av.stream.Stream]", packet))
            except BaseException:
                muxer.abandon()
                raise
            muxer.close()

    def _frames(
        self,
        stack: contextlib.ExitStack,
        muxer: BackgroundMuxer,
        vout: av.video.stream.VideoStream,
        total: int,
        step: Step,
    ) -> None:
        import av
        import cv2

        opened: dict[int, contextlib.ExitStack] = {}
        last = len(self.shots) - 1
        mixed = np.empty(self.width * self.height * 3 // 2, dtype=np.uint8)
        dark = np.empty_like(mixed)
        for n in range(total):
            t = n / self.fps
            shown: list[tuple[int, YUVImage]] = []
            for i, shot in enumerate(self.shots):
                start = self.starts[i]
                length = self.lengths[i] + (self.fade if i < last else 0.0)
                if t < start:
                    break
                if t >= start + length:
                    if i in opened:
                        shot.close()
                        opened.pop(i).close()
                    continue
                if i not in opened:
                    opened[i] = stack.enter_context(contextlib.ExitStack())
                    shot.open(opened[i], self.limits)
                shown.append((i, shot.frame(t - start, length)))
            yuv = shown[0][1]
            if len(shown) > 1:
                a = min(1.0, (t - self.starts[shown[1][0]]) / self.fade)
                cv2.addWeighted(shown[0][1], 1.0 - a, shown[1][1], a, 0.0, dst=mixed)
                yuv = mixed
            light = min(1.0, t / FADE_IN, (self.duration - t) / FADE_OUT)
            if light < 1.0:
                _darken(yuv, self.width * self.height, max(0.0, light), dark)
                yuv = dark
            frame = av.VideoFrame.from_ndarray(
                yuv.reshape(self.height * 3 // 2, self.width), format="yuv420p"
            )
            frame.pts = n
            muxer.frame(vout, frame)
            step(n + 1, total)


class _Sound:
    """A sound file re-encoded as AAC, cut to `seconds` and faded out over its last second."""

    def __init__(self, out: av.container.OutputContainer, source: Path, seconds: float) -> None:
        import av

        self.source, self.seconds = source, seconds
        try:
            self.inp = av.open(str(source), "r")
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(
                source, f"the sound file cannot be read ({exc})", "Choose an audio file."
            ) from exc
        if not self.inp.streams.audio:
            self.inp.close()
            raise OutputError(source, "the file has no sound", "Choose an audio file.")
        self.stream: av.audio.stream.AudioStream = out.add_stream(
            "aac", rate=AUDIO_RATE, layout="stereo"
        )
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)

    def packets(self) -> Iterator[av.Packet[av.audio.stream.AudioStream]]:
        import av

        limit = round(self.seconds * AUDIO_RATE)
        fade = min(AUDIO_RATE, limit // 4)
        done = 0
        try:
            for frame in self.inp.decode(self.inp.streams.audio[0]):
                for part in self.resampler.resample(frame):
                    if done >= limit:
                        break
                    data = part.to_ndarray()[:, : limit - done].astype(np.float32)
                    n = data.shape[1]
                    pos = np.arange(done, done + n)
                    data *= np.clip((limit - pos) / max(1, fade), 0.0, 1.0)[None, :]
                    new = av.AudioFrame.from_ndarray(
                        np.ascontiguousarray(data), format="fltp", layout="stereo"
                    )
                    new.sample_rate, new.pts = AUDIO_RATE, done
                    new.time_base = Fraction(1, AUDIO_RATE)
                    done += n
                    yield from self.stream.encode(new)
                if done >= limit:
                    break
        except av.error.FFmpegError as exc:
            raise OutputError(
                self.source, f"the sound file is damaged ({exc})", "Choose another audio file."
            ) from exc
        finally:
            self.inp.close()
        yield from self.stream.encode(None)


def _i420(rgb: RGBImage) -> tuple[YUVImage, tuple[int, int]]:
    """An RGB picture as flat I420 (BT.601 at video levels, as players expect), made even
    in size by repeating its last row or column; and that size."""
    import cv2

    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        rgb = np.asarray(
            cv2.copyMakeBorder(rgb, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE), dtype=np.uint8
        )
        h, w = rgb.shape[:2]
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)
    return np.asarray(yuv, dtype=np.uint8).reshape(-1), (w, h)


def _planes(yuv: YUVImage, w: int, h: int) -> tuple[RGBImage, RGBImage, RGBImage]:
    """The Y, U and V planes of a flat I420 picture of w x h (views, not copies)."""
    n = w * h
    q = n // 4
    return (
        yuv[:n].reshape(h, w),
        yuv[n : n + q].reshape(h // 2, w // 2),
        yuv[n + q : n + 2 * q].reshape(h // 2, w // 2),
    )


def _warp_i420(
    src: YUVImage, size: tuple[int, int], region: Region, w: int, h: int, out: YUVImage
) -> None:
    """`region` of an I420 picture of `size` (its luma pixels) scaled to w x h, into `out`.
    A chroma sample stands for two luma pixels each way, centred between them: its region is
    the luma region halved and moved by that half pixel at each scale."""
    x0, y0, x1, y1 = region
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    have, want = _planes(src, *size), _planes(out, w, h)
    resample(have[0], region, w, h, out=want[0])
    cx0, cy0 = (x0 + 0.5 / sx - 0.5) / 2, (y0 + 0.5 / sy - 0.5) / 2
    chroma = (cx0, cy0, cx0 + w / 2 / sx, cy0 + h / 2 / sy)
    resample(have[1], chroma, w // 2, h // 2, out=want[1])
    resample(have[2], chroma, w // 2, h // 2, out=want[2])


def _darken(yuv: YUVImage, luma: int, light: float, out: YUVImage) -> None:
    """Fade an I420 picture toward black by `light` (1: as it is): luma toward 16, chroma
    toward 128 (the same as scaling its RGB)."""
    import cv2

    cv2.convertScaleAbs(yuv[:luma], out[:luma], alpha=light, beta=16 * (1 - light))
    cv2.convertScaleAbs(yuv[luma:], out[luma:], alpha=light, beta=128 * (1 - light))


def _ease(p: float) -> float:
    p = min(1.0, max(0.0, p))
    return p * p * (3 - 2 * p)


def _shrink(rgb: RGBImage, have: float, need: float) -> tuple[RGBImage, float]:
    """`rgb` (at `have` of full resolution) brought down to `need`, when that is much less:
    the moving window then samples it at about one to one, without aliasing."""
    import cv2

    if have <= need * 1.1:
        return rgb, have
    f = need / have
    small = cv2.resize(
        rgb,
        (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f))),
        interpolation=cv2.INTER_AREA,
    )
    return np.asarray(small, dtype=np.uint8), have * small.shape[1] / rgb.shape[1]


def _over_blurred(rgb: RGBImage, width: int, height: int) -> RGBImage:
    """`rgb` enlarged to cover width x height, blurred to a wash of its colours and darkened:
    a calm ground for a photo of another shape."""
    import cv2

    ih, iw = rgb.shape[:2]
    small = cv2.resize(rgb, (32, max(1, round(32 * ih / iw))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    cover = max(width / iw, height / ih)
    bw, bh = math.ceil(iw * cover), math.ceil(ih * cover)
    big = cv2.resize(small, (bw, bh), interpolation=cv2.INTER_LINEAR)
    ox, oy = (bw - width) // 2, (bh - height) // 2
    return np.ascontiguousarray((big[oy : oy + height, ox : ox + width] * 0.45).astype(np.uint8))
