"""Embed images with the peer, `face_recognition` (run by bench/verify.py with the peer
virtualenv's Python; it imports nothing from Regard or from the other bench modules).

    <peer python> bench/_peer_embed.py LIST OUT.npz [--processes 2]

LIST holds one image path a line. For each image: face_locations (dlib HOG, upsampled once,
the package defaults), then face_encodings (5-point landmarks, one jitter: the defaults) of the
face whose box centre is nearest the image centre. An image with no face found is embedded
from the central box the LFW crops put the face in (top 68, right 182, bottom 182, left 68 in
a 250x250 image, scaled for other sizes) and marked as a fallback.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

CENTRAL_BOX = (68, 182, 182, 68)  # top, right, bottom, left in a 250x250 LFW image
fr: Any = None  # the face_recognition module, imported in each worker


def _init() -> None:
    global fr
    import face_recognition  # loads dlib's models, once per worker

    fr = face_recognition


def embed(path: str) -> tuple[str, np.ndarray | None, int, bool, str]:
    """(path, 128-d vector, faces found, fell back to the central box, error)."""
    try:
        img = fr.load_image_file(path)
        h, w = img.shape[:2]
        boxes = fr.face_locations(img)  # (top, right, bottom, left)
        fallback = not boxes
        if fallback:
            t, r, b, lft = CENTRAL_BOX
            sx, sy = w / 250, h / 250
            box = (round(t * sy), round(r * sx), round(b * sy), round(lft * sx))
        else:
            box = min(
                boxes,
                key=lambda b: ((b[1] + b[3]) / 2 - w / 2) ** 2 + ((b[0] + b[2]) / 2 - h / 2) ** 2,
            )
        vectors = fr.face_encodings(img, [box])
        return path, np.asarray(vectors[0], dtype=np.float64), len(boxes), fallback, ""
    except Exception as exc:  # a file the peer cannot handle is reported, not fatal
        return path, None, 0, True, f"{type(exc).__name__}: {exc}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("list", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    paths = args.list.read_text().splitlines()
    n = len(paths)
    vectors = np.zeros((n, 128), dtype=np.float64)
    faces = np.zeros(n, dtype=np.int32)
    fallback = np.zeros(n, dtype=bool)
    errors = np.full(n, "", dtype=object)
    row = {p: i for i, p in enumerate(paths)}
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.processes, initializer=_init) as pool:
        for k, (path, vec, nf, fb, err) in enumerate(pool.imap_unordered(embed, paths, 8), 1):
            i = row[path]
            if vec is not None:
                vectors[i] = vec
            faces[i], fallback[i], errors[i] = nf, fb, err
            if k % 500 == 0 or k == n:
                rate = k / (time.perf_counter() - t0)
                print(f"peer: {k}/{n} images, {rate:.1f}/s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    np.savez(
        args.out,
        paths=np.array(paths),
        vectors=vectors,
        faces=faces,
        fallback=fallback,
        errors=errors.astype(str),
        seconds=seconds,
    )


if __name__ == "__main__":
    main()
