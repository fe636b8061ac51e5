"""Photos and videos handed in through the web app: kept once per content under the library's
uploads folder (in a folder named by the sender, or by year and month), named by their content
and real type, with the name each was sent with, and the date its file had, kept in the
catalog to show."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regard.atomic import private_dirs, write_atomically
from regard.errors import InvalidRequestError
from regard.storage.repositories import Store

#: A folder name a sender may give: one level, letters and digits of any script, spaces and
#: a few marks; never a path ("..", "/", a leading dot).
_FOLDER = re.compile(r"[\w][\w ,.()'&+-]{0,79}")


def folder_name(name: str | None) -> str | None:
    """`name` as the folder uploads go into (None: by year and month), or refused."""
    if name is None or not name.strip():
        return None
    name = " ".join(name.split())
    if not _FOLDER.fullmatch(name) or name.endswith(".") or ".." in name:
        raise InvalidRequestError(
            f"{name!r} cannot be a folder name: use letters, digits, spaces and - _ , . ( ) ' "
            "& + only (at most 80), one folder, not a path."
        )
    return name


def sent_date(milliseconds: int | None) -> str | None:
    """The date a browser sent as a file's lastModified (ms since the epoch), as the catalog
    keeps dates (ISO 8601, UTC), or None if it is missing or not plausible."""
    if milliseconds is None or milliseconds <= 0:
        return None
    when = datetime.fromtimestamp(milliseconds / 1000, UTC)
    if when.year < 1990 or when > datetime.now(UTC):
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S")


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
        self,
        data: bytes,
        suffix: str,
        known_hashes: set[str],
        name: str | None = None,
        *,
        folder: str | None = None,
        modified: int | None = None,
    ) -> tuple[str, Path | None]:
        """Keep an uploaded file under the uploads folder (in `folder`, a name `folder_name`
        allows, or by year and month), once per content, named by its content and its real
        type's `suffix`; `name`, the one it was sent with, and `modified`, the date its file
        had (the browser's lastModified, in ms), are kept in the catalog. Returns its SHA-256
        and where it was kept (None: it was there)."""
        digest = hashlib.sha256(data).hexdigest()
        where = folder_name(folder) or time.strftime("%Y/%m")
        target = self.folder / where / f"{digest[:20]}{suffix}"
        if digest in known_hashes or any(self.folder.rglob(f"{digest[:20]}.*")):
            return digest, None
        private_dirs(target.parent)
        write_atomically(target, data, private=True)
        date = sent_date(modified)
        with self._hold(), self.catalog.transaction():
            # Deleted for good once, and sent again: it is wanted back.
            self.catalog.trash.unforget(digest)
            if name or date:
                # The path as indexing will record it (the library's path may be relative).
                self.catalog.photos.add_upload_name(
                    os.path.abspath(target), name or target.name, date
                )
        return digest, target

    @staticmethod
    def check_folder(name: str | None) -> str | None:
        """`name` as a folder uploads may go into (see `folder_name`), or refused."""
        return folder_name(name)

    def holds(self, path: str) -> bool:
        """Whether the file at `path` is one Regard keeps itself (a web upload)."""
        inside = os.path.abspath(self.folder) + os.sep
        return os.path.abspath(path).startswith(inside)
