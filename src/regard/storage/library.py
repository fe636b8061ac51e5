"""A library is one directory: the catalog database, the vector store, and a writer lock.

It is its owner's only (folders 0700, files 0600, whatever the umask): the catalog holds
password hashes, session tokens, names, places, the consent ledger and the audit log. Files
are created so; a library from before is repaired the first time it is opened, and the files
SQLite makes anew (its -wal and -shm take the database file's mode) are checked at each open.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from regard.atomic import PRIVATE_DIR, PRIVATE_FILE, private_dirs, write_atomically
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

    def create(self, catalog: bool = True) -> None:
        """The folder; with `catalog`, the SQLite catalog's file too (a catalog on a
        PostgreSQL server has none here)."""
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            private_dirs(self.root)
            private_dirs(self.vectors)
            readme = self.root / "README.txt"
            if not readme.exists():
                write_atomically(readme, _README.encode("utf-8"), private=True)
            if catalog and not self.catalog.exists():
                # Created here, private, before SQLite opens it with the umask's mode.
                os.close(os.open(self.catalog, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
        except OSError as exc:
            raise LibraryError(
                f"Cannot create the library folder {self.root}: {exc.strerror or exc}. "
                "Choose a folder you can write to with --library.",
                web=f"Cannot create the library folder {self.root}: {exc.strerror or exc}.",
            ) from exc

    def require(self) -> None:
        if not self.exists():
            raise LibraryNotFoundError(self.root)

    def make_private(self, everything: bool) -> int:
        """Make the folder and the catalog's files their owner's only; with `everything`,
        every folder and file in the library (a library from before this was done). Returns
        how many modes were changed. Best effort: a file system without modes keeps its own."""
        changed = _chmod(self.root, PRIVATE_DIR)
        for name in (CATALOG_NAME, f"{CATALOG_NAME}-wal", f"{CATALOG_NAME}-shm", "lock"):
            changed += _chmod(self.root / name, PRIVATE_FILE)
        if everything:
            for folder, dirs, files in os.walk(self.root):
                for name in dirs:
                    changed += _chmod(Path(folder) / name, PRIVATE_DIR)
                for name in files:
                    changed += _chmod(Path(folder) / name, PRIVATE_FILE)
        return changed

    def size_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += (Path(dirpath) / name).stat().st_size
                except OSError:
                    continue
        return total


def _chmod(path: Path, mode: int) -> int:
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
            return 0
        os.chmod(path, mode)
    except OSError:
        return 0
    return 1


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
