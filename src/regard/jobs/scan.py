"""Scan: list the photos and videos under the folders a user asked to index."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from regard.domain.photo import VIDEO_INDEX_SUFFIXES
from regard.pipeline.decode import IMAGE_SUFFIXES

#: What is indexed: photos and videos, by their names' endings.
INDEXED_SUFFIXES = IMAGE_SUFFIXES | VIDEO_INDEX_SUFFIXES


def scan(
    roots: Iterable[Path],
    exclude: Iterable[Path] = (),
    problems: list[tuple[str, str]] | None = None,
) -> Iterator[Path]:
    """Photo and video files under `roots` (a root may itself be a file), sorted, each once.

    Symlinked folders are followed, but a folder is never entered twice, so link loops end.
    Hidden files and folders (".thumbnails", ".git") and the `exclude` folders (the library
    itself, if it sits inside a photo folder) are skipped. Folders that cannot be read are
    appended to `problems` as (path, reason)."""
    report = problems if problems is not None else []
    excluded = {os.path.realpath(p) for p in exclude}
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for root in roots:
        root = Path(os.path.abspath(root))
        if root.is_file():
            if _is_image(root.name) and str(root) not in seen_files:
                seen_files.add(str(root))
                yield root
            continue
        if not root.exists():
            report.append((str(root), "no such file or folder"))
            continue
        for path in _walk(root, excluded, seen_dirs, report):
            if str(path) not in seen_files:
                seen_files.add(str(path))
                yield path


def _walk(
    folder: Path, excluded: set[str], seen: set[tuple[int, int]], problems: list[tuple[str, str]]
) -> Iterator[Path]:
    try:
        st = folder.stat()
    except OSError as exc:
        problems.append((str(folder), f"cannot be read ({exc.strerror or exc})"))
        return
    key = (st.st_dev, st.st_ino)
    if key in seen or os.path.realpath(folder) in excluded:
        return
    seen.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        problems.append((str(folder), f"folder cannot be listed ({exc.strerror or exc})"))
        return
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                subfolders.append(Path(entry.path))
            elif entry.is_file() and _is_image(entry.name):
                yield Path(entry.path)
        except OSError:
            continue
    for sub in subfolders:
        yield from _walk(sub, excluded, seen, problems)


def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in INDEXED_SUFFIXES
