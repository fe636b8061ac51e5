"""A still of a video: the upright picture shown at a moment, for a poster, a person's cover
or a face's crop. Only the group of pictures (GOP) holding the moment is decoded: the packets
before it are read, not decoded."""

from __future__ import annotations

from pathlib import Path

from regard.errors import CorruptVideoError
from regard.pipeline import yuv as yuv420
from regard.pipeline.clip import Frame, VideoLimits, VideoPacket, open_clip


def still_at(path: Path, time: float, limits: VideoLimits | None = None) -> yuv420.RGB:
    """The RGB picture shown at `time` (seconds on the player's timeline), upright; the
    nearest one the file holds. Raises an `ImageError` when the video cannot be read."""
    with open_clip(path, limits) as clip:
        gop: list[tuple[VideoPacket, float]] = []
        try:
            for packet, t in clip.packets():
                if packet.is_keyframe:
                    if gop and t > time:
                        break  # the GOP read last holds the moment
                    gop = []
                if gop or packet.is_keyframe:
                    gop.append((packet, t))
        except CorruptVideoError:
            pass  # cut off: the moment is in what could be read, or the last GOP is nearest
        frames: list[Frame] = []
        if gop:
            # Pictures nothing is predicted from are skipped: the nearest other is a frame or
            # two away, and decoding stops a moment past the one asked for.
            clip.start_run(every_frame=False)
            for packet, t in gop:
                if t > time + 0.5 and frames:
                    break
                frames += clip.run(packet, t)
            frames += clip.run(None)
        if not frames:
            raise CorruptVideoError(
                path, f"no picture near {time:.1f} s can be decoded", "Restore it from a backup."
            )
        best = min(frames, key=lambda f: abs(f.time - time))
        return yuv420.region_rgb(best.yuv, best.width, best.height, (0, 0, best.width, best.height))
