"""Photos handed in through the web app: kept once per content under the library's uploads
folder, named by their content and real type, with the name each was sent with kept in the
catalog to show."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from regard.atomic import private_dirs, write_atomically
from regard.storage.repositories import Store


class Uploads:
    def __init__(
        self, *, catalog: Store, folder: Path, hold: Callable[[], AbstractContextManager[Any]]
    ) -> None:
        """`hold`: what must be held to use the catalog (the engine's lock); the file itself is
        written without it."""
        self.catalog = catalog
        self.folder = folder
        self._hold = hold

    def known_hashes(self) -> set[str]:
        """The content hashes of every photo the library holds (uploaded or not)."""
        with self._hold():
            return self.catalog.photos.content_hashes()

    def store(
        self, data: bytes, suffix: str, known_hashes: set[str], name: str | None = None
    ) -> tuple[str, Path | None]:
        """Keep an uploaded file under the uploads folder, once per content, named by its
        content and its real type's `suffix`; `name`, the one it was sent with, is kept in the
        catalog to show. Returns its SHA-256 and where it was kept (None: it was there)."""
        digest = hashlib.sha256(data).hexdigest()
        day = time.strftime("%Y/%m")
        target = self.folder / day / f"{digest[:20]}{suffix}"
        if digest in known_hashes or any(self.folder.rglob(f"{digest[:20]}.*")):
            return digest, None
        private_dirs(target.parent)
        write_atomically(target, data, private=True)
        if name:
            # The path as indexing will record it (the library's path may be relative).
            with self._hold(), self.catalog.transaction():
                self.catalog.photos.add_upload_name(os.path.abspath(target), name)
        return digest, target
