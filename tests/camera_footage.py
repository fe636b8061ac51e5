"""Footage for the camera tests: videos written with PyAV from frames made in numpy, and a
person walking through a scene (for the fakes: a red square; for the real models: a real
photo of a person moved across a background)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from regard.testing_objects import draw

RGB = npt.NDArray[np.uint8]


def write_video(path: Path, frames: Iterable[RGB], fps: int = 10, codec: str = "libx264") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps, 1))
        stream.pix_fmt = "yuv420p"
        first = True
        for rgb in frames:
            if first:
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                first = False
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def square_walk(
    seconds: float,
    fps: int = 10,
    enter: float = 1.0,
    leave: float = 3.0,
    label: str = "person",
    size: tuple[int, int] = (320, 240),
    y: int = 100,
) -> list[RGB]:
    """A white scene a square of `label`'s colour walks across between `enter` and `leave`
    seconds (the fake object detector's person)."""
    frames = []
    for i in range(int(seconds * fps)):
        t = i / fps
        squares = []
        if enter <= t < leave:
            x = int(20 + (t - enter) / (leave - enter) * (size[0] - 100))
            squares.append((label, x, y, 40))
        frames.append(draw(size, squares))
    return frames


def paste_walk(
    background: RGB,
    figure: RGB,
    seconds: float,
    fps: int,
    visits: list[tuple[float, float]],
) -> Iterable[RGB]:
    """`background` (a still scene) with `figure` (a cut-out of a real photo) sliding from
    left to right during each (enter, leave) of `visits`; frames made one at a time."""
    h, w = background.shape[:2]
    fh, fw = figure.shape[:2]
    for i in range(int(seconds * fps)):
        t = i / fps
        frame = background.copy()
        for enter, leave in visits:
            if enter <= t < leave:
                x = int((t - enter) / (leave - enter) * (w - fw))
                y = max(0, h - fh - 4)
                frame[y : y + fh, x : x + fw] = figure
        yield frame
