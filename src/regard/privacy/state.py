"""Regard's own state outside any library: the audit anchors and erasure journals.

They live outside the library folder on purpose: restoring an old copy of a library must not
also restore the evidence it is checked against (`REGARD_STATE_DIR`, default
`~/.local/state/regard`).
"""

from __future__ import annotations

import os
from pathlib import Path

from regard.atomic import write_atomically


def state_dir(override: Path | None = None) -> Path:
    if override is not None:
        return override
    env = os.environ.get("REGARD_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "regard"


def write_state(path: Path, text: str) -> None:
    """`text` into a file of the state folder (created private if missing), whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, text.encode("utf-8"), private=True)
