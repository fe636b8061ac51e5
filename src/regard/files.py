"""Files as Regard names and fingerprints them: a path as printable text, a file's SHA-256.

The ground floor beside `errors` and `atomic`: every layer names files in its messages, and
hashes what it was handed (photos, evidence, consent texts).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def readable_path(path: str | os.PathLike[str]) -> str:
    """A path as text anyone can read and print. File names are bytes: one that is not valid
    UTF-8 (a Latin-1 "café" from an old camera or a Windows share) comes to Python with
    surrogates standing for the bad bytes (PEP 383), which no terminal, JSON encoder or
    database accepts. Here they are shown as escapes (\\xe9), as `ls -b` does; the path itself
    is kept losslessly wherever the file must be found again."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes, read a MiB at a time (an `OSError` goes to the caller)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
