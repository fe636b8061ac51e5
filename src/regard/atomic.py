"""Writing a file whole or not at all: through a temporary file beside it, then a rename."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(target: Path, data: bytes) -> None:
    """`data` into `target`: a reader sees the old file or the new one, never a part; a
    failure leaves no temporary file behind."""
    tmp = target.with_name(f".{target.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
