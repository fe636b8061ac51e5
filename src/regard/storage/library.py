"""A library is one directory: the catalog database, the vector store, and a writer lock."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from regard.errors import LibraryError, LibraryLockedError, LibraryNotFoundError

CATALOG_NAME = "catalog.sqlite"
_README = """This folder is a Regard library: the catalog of your indexed photos (catalog.sqlite)
and the vectors that describe the faces in them. Your photos themselves are not in here.
Deleting this folder removes everything Regard knows; your photos are untouched.
"""


class LibraryPaths:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.catalog = root / CATALOG_NAME
        self.vectors = root / "vectors"
        self.lock = root / "lock"

    def exists(self) -> bool:
        return self.catalog.is_file()

    def create(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.vectors.mkdir(exist_ok=True)
            readme = self.root / "README.txt"
            if not readme.exists():
                readme.write_text(_README, encoding="utf-8")
        except OSError as exc:
            raise LibraryError(
                f"Cannot create the library folder {self.root}: {exc.strerror or exc}. "
                "Choose a folder you can write to with --library.",
                web=f"Cannot create the library folder {self.root}: {exc.strerror or exc}.",
            ) from exc

    def require(self) -> None:
        if not self.exists():
            raise LibraryNotFoundError(self.root)

    def size_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += (Path(dirpath) / name).stat().st_size
                except OSError:
                    continue
        return total


@contextmanager
def writer_lock(paths: LibraryPaths) -> Iterator[None]:
    """One indexer per library at a time. The OS drops the lock if the holder dies (even
    kill -9), so a crashed run never blocks the next one."""
    paths.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise LibraryLockedError(paths.root, f"pid {holder}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
