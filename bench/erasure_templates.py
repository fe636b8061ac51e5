"""Which erasure templates keep an erased person out: all their faces, or a few, against one.

    .venv/bin/python bench/erasure_templates.py      # prints the table

An erasure (and a full withdrawal of consent) keeps sealed templates made from the person's
faces, only to drop any face indexed later that matches one (`regard erase`). The more of
their faces are kept, the more of their other photos may be caught, and the more strangers
are wrongly dropped with them. This measures both on lfw-dev, at the opt-out threshold (a
false-match rate of 1e-4 per comparison), for: every face of theirs; up to 8 or 3 prototypes
(farthest-point sampling, as people are grouped); their centre and 3 prototypes (what Regard
keeps); their centre; and the peer, one face, which is what an opt-out selfie gives.

Protocol: every identity with 4 or more images. The first half of their images is the
library's (what the erasure sees); the rest are new photos of them (caught?). Each of the
library's images is also re-saved as a JPEG at quality 85 with a comment added (an edit by
another program) and analysed again (caught? and each person's least typical face, edited:
caught?). Strangers: every image of the other identities (wrongly dropped?). A second table
gives the library all but 2 images of each identity with 8 or more (lfw-dev holds about 10
per identity at most, so it cannot show a person of hundreds of faces; strangers dropped grow
with the number of templates kept).
"""

from __future__ import annotations

import io
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lfw_images, regard_embeddings, shared_data

Vectors = npt.NDArray[np.float32]
MIN_IMAGES = 4


def choices(library: Vectors) -> dict[str, Vectors]:
    from regard.pipeline.cluster import prototypes

    centre = library.sum(axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-9)
    rows = list(range(len(library)))
    return {
        "every face": library,
        "up to 8 prototypes": library[prototypes(library, rows, 8)],
        "3 prototypes": library[prototypes(library, rows, 3)],
        "centre and 3 prototypes (Regard)": np.vstack(
            [centre[None, :], library[prototypes(library, rows, 3)]]
        ),
        "centre": centre[None, :],
        "one face (peer: an opt-out selfie)": library[prototypes(library, rows, 1)],
    }


def edited_vectors(paths: list[str]) -> dict[str, npt.NDArray[np.float32]]:
    """Each image re-saved (quality 85, a comment added) and analysed again."""
    from regard.pipeline.analyse import AnalysisSettings
    from regard.pipeline.decode import DecodeLimits, OpenedImage
    from regard.pipeline.models import STANDARD_MODELS

    analyser = STANDARD_MODELS(AnalysisSettings())
    out = {}
    for p in paths:
        buf = io.BytesIO()
        Image.open(p).save(buf, "JPEG", quality=85, comment=b"edited by another program")
        faces = analyser.faces_in(OpenedImage(p, buf.getvalue(), DecodeLimits()))
        if faces:
            w = h = 250
            face = min(
                faces,
                key=lambda f: (
                    (f.detection.box.x + f.detection.box.w / 2 - w / 2) ** 2
                    + (f.detection.box.y + f.detection.box.h / 2 - h / 2) ** 2
                ),
            )
            out[p] = face.embedding
    return out


def main() -> None:
    from regard.inference.calibration import load_calibration
    from regard.inference.registry import SFACE
    from regard.privacy.gate import OPTOUT_FMR

    root = shared_data()
    images = lfw_images(root)
    emb = regard_embeddings([p for p, _ in images], "lfw-dev")
    threshold = load_calibration(SFACE.id).threshold_for_fmr(OPTOUT_FMR)
    by_person: dict[str, list[int]] = defaultdict(list)
    for i, (_p, name) in enumerate(images):
        if emb.found[i]:
            by_person[name].append(i)
    people = {n: rows for n, rows in by_person.items() if len(rows) >= MIN_IMAGES}
    names = np.array([n for _, n in images])
    library_paths = [emb.paths[r] for rows in people.values() for r in rows[: (len(rows) + 1) // 2]]
    print(f"{len(people)} people with {MIN_IMAGES}+ images; threshold {threshold:.4f}")
    print(f"re-saving and analysing {len(library_paths)} library images again ...")
    edited = edited_vectors(library_paths)

    found = np.flatnonzero(emb.found)
    table(people, emb, names, found, threshold, edited, lambda n: (n + 1) // 2)
    big = {n: rows for n, rows in people.items() if len(rows) >= 8}
    print(f"\n{len(big)} people with 8+ images, all but 2 in the library:")
    table(big, emb, names, found, threshold, {}, lambda n: n - 2)


def table(
    people: dict[str, list[int]],
    emb: Any,
    names: npt.NDArray[np.str_],
    found: npt.NDArray[np.int64],
    threshold: float,
    edited: dict[str, npt.NDArray[np.float32]],
    split: Callable[[int], int],
) -> None:
    caught_new: dict[str, list[bool]] = defaultdict(list)
    caught_edit: dict[str, list[bool]] = defaultdict(list)
    caught_odd: dict[str, list[bool]] = defaultdict(list)
    strangers: dict[str, list[float]] = defaultdict(list)
    templates: dict[str, list[int]] = defaultdict(list)
    for name, rows in people.items():
        cut = split(len(rows))
        library, new = rows[:cut], rows[cut:]
        others = found[names[found] != name]
        for label, t in choices(emb.vectors[library]).items():
            templates[label].append(len(t))
            caught_new[label] += [bool((emb.vectors[r] @ t.T).max() >= threshold) for r in new]
            caught_edit[label] += [
                bool((edited[emb.paths[r]] @ t.T).max() >= threshold)
                for r in library
                if emb.paths[r] in edited
            ]
            # Their least typical face, edited: what a template of the typical misses.
            lib = emb.vectors[library]
            odd = library[int(np.argmin(lib @ lib.sum(axis=0)))]
            if emb.paths[odd] in edited:
                caught_odd[label].append(bool((edited[emb.paths[odd]] @ t.T).max() >= threshold))
            strangers[label].append(
                float(((emb.vectors[others] @ t.T).max(axis=1) >= threshold).mean())
            )

    peer = "one face (peer: an opt-out selfie)"
    print(
        f"{'templates kept':<36} {'per person':>10} {'edits caught':>13} {'least typical':>14} "
        f"{'new photos caught':>18} {'vs peer':>8} {'strangers dropped':>18} {'vs peer':>8}"
    )
    for label in caught_new:
        new_rate = float(np.mean(caught_new[label]))
        stranger_rate = float(np.mean(strangers[label]))
        print(
            f"{label:<36} {np.mean(templates[label]):>10.1f} "
            f"{np.mean(caught_edit[label]) if caught_edit[label] else float('nan'):>13.1%} "
            f"{np.mean(caught_odd[label]) if caught_odd[label] else float('nan'):>14.1%} "
            f"{new_rate:>18.1%} "
            f"{new_rate / np.mean(caught_new[peer]):>7.2f}x {stranger_rate:>18.4%} "
            f"{stranger_rate / max(np.mean(strangers[peer]), 1e-12):>7.2f}x"
        )


if __name__ == "__main__":
    main()
