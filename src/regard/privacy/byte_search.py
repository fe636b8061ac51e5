"""Finding erased vectors in a file's bytes: every probe at once, in one pass of the file.

An erasure is checked by searching every file of the library for the bytes of each erased
vector (sealed and clear). Counting each probe with `bytes.count` scans a file once per
probe: a person with a thousand faces in a library of a few gigabytes is terabytes of
scanning. Here a file is read once, in pieces of bounded size; for more than a few probes,
each piece is scanned eight times (once per byte offset modulo 8), in numpy, for 64-bit words
whose low 24 bits are those of a probe's first eight bytes (a table lookup); each word found
is then compared whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: How many bytes of a file are held at once.
PIECE = 64 * 2**20
_HEAD = 8
#: Up to this many probes, `bytes.count` each (~0.14 s of CPU a GiB a probe here) beats the
#: table (~29 s a GiB, whatever the number of probes).
FEW = 200
_MASK = np.uint64(2**24 - 1)


def count_in(data: bytes, probes: Counter[bytes], table: np.ndarray, length: int) -> int:
    """Occurrences in `data` of the probes (all `length` bytes long), each counted as often
    as it is in `probes`; `table` says which low 24 bits the probes' first eight bytes, read
    as a uint64 word, have (a filter: what passes it is compared whole)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    hits = 0
    for shift in range(_HEAD):
        words = (len(buf) - shift) // _HEAD
        if words <= 0:
            break
        view = buf[shift : shift + words * _HEAD].view(np.uint64)
        for i in np.flatnonzero(table[(view & _MASK).astype(np.intp)]):
            start = shift + _HEAD * int(i)
            hits += probes.get(data[start : start + length], 0)
    return hits


def count_in_file(path: Path, probes: Sequence[bytes], piece: int = PIECE) -> int:
    """How many times the probes (of one length, at least 8 bytes) occur in the file at
    `path`, as `sum(data.count(p) for p in probes)` counts them for probes that cannot overlap
    themselves — read once, `piece` bytes at a time."""
    if not probes:
        return 0
    length = len(probes[0])
    if length < _HEAD or any(len(p) != length for p in probes):
        raise ValueError("probes must all have one length of 8 bytes or more")
    wanted = Counter(probes)
    heads = np.frombuffer(b"".join(p[:_HEAD] for p in wanted), dtype=np.uint64)
    table = np.zeros(2**24, dtype=bool)
    table[(heads & _MASK).astype(np.intp)] = True
    hits = 0
    carry = b""
    with path.open("rb") as fh:
        while chunk := fh.read(piece):
            window = carry + chunk
            # An occurrence is counted in the window it ends in: one that runs past this
            # window's end starts in the tail carried into the next (and never counts here:
            # its bytes are cut short).
            if len(wanted) <= FEW:
                hits += sum(window.count(p) * n for p, n in wanted.items())
            else:
                hits += count_in(window, wanted, table, length)
            carry = window[-(length - 1) :] if len(window) >= length - 1 else window
    return hits
