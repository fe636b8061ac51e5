"""Writing a file whole or not at all: through a temporary file beside it, then a rename.

Files in a library (and Regard's own state) are their owner's only: PRIVATE_FILE for files,
PRIVATE_DIR for folders, whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def write_atomically(target: Path, data: bytes, *, private: bool = False) -> None:
    """`data` into `target`: a reader sees the old file or the new one, never a part; a
    failure leaves no temporary file behind. `private`: readable by its owner only."""
    tmp = target.with_name(f".{target.name}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        with os.fdopen(fd, "wb") as fh:
            if private:
                os.fchmod(fh.fileno(), PRIVATE_FILE)  # before a byte is written
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def private_dirs(folder: Path) -> None:
    """`folder`, and any folder missing above it, made for their owner only."""
    missing = []
    here = folder
    while not here.exists():
        missing.append(here)
        here = here.parent
    for path in reversed(missing):
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(path, PRIVATE_DIR)
