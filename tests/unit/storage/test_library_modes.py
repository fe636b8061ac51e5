"""The library is its owner's only (security review D14): the folder 0700 and every file in it
0600, SQLite's own files included, whatever the umask; an older library is repaired."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from regard.engine import Engine, EngineConfig
from regard.interfaces.http.host import EngineHost
from regard.pipeline.cluster import GroupingParams
from regard.testing import FakeModels, draw_faces

RED, BLUE = (200, 20, 20), (20, 20, 200)
PARAMS = GroupingParams(link=0.97, local=0.97, average=0.97, pair=0.98)


def modes(root: Path) -> dict[str, str]:
    """Every folder and file under `root` (and itself) with its mode, like `stat -c %a`."""
    out = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return out


def not_private(root: Path) -> dict[str, str]:
    return {
        name: mode
        for name, mode in modes(root).items()
        if mode != ("0o700" if (root / name).is_dir() else "0o600")
    }


def test_a_new_library_is_its_owners_only(tmp_path: Path) -> None:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED), (100, 10, 40, BLUE)])
    draw_faces(album / "b.png", [(30, 30, 40, RED)])
    lib = tmp_path / "lib"
    old = os.umask(0o022)
    try:
        # A small ANN threshold, so that a saved vector index is among the files.
        config = EngineConfig(workers=0, grouping=PARAMS, ann_threshold=1)
        host = EngineHost(lib, config, models=FakeModels())
        try:
            host.store_upload(
                draw_faces(tmp_path / "up.png", [(5, 5, 40, BLUE)]).read_bytes(),
                ".png",
                set(),
                "up.png",
            )
            with host.use() as engine:
                engine.index([album, host.uploads])
                engine.people.group_pending()
                red = engine.catalog.people.face_person(1)
                engine.people.name(f"P{red}", "Ann")
                engine.privacy.erase_person("Ann")
                engine.vectors.save()
                engine.thumbnails.get(1, 256)
            names = set(modes(lib))
            for expected in (
                "catalog.sqlite",
                "catalog.sqlite-wal",
                "catalog.sqlite-shm",
                "lock",
                "README.txt",
                "erasures.jsonl",
                "thumbs",
                "uploads",
                "vectors",
            ):
                assert expected in names, expected
            assert any(n.startswith("thumbs/") and n.endswith(".jpg") for n in names)
            assert any(n.startswith("uploads/") and n.endswith(".png") for n in names)
            assert any(n.endswith(".hnsw") for n in names)
            assert not_private(lib) == {}
        finally:
            host.close()
    finally:
        os.umask(old)


def test_an_older_library_is_repaired_when_opened(tmp_path: Path) -> None:
    album = tmp_path / "album"
    draw_faces(album / "a.png", [(10, 10, 40, RED)])
    lib = tmp_path / "lib"
    with Engine(lib, create=True, config=EngineConfig(workers=0), models=FakeModels()) as e:
        e.index([album])
        e.thumbnails.get(1, 256)
    # What a library made before looked like: 0755 folders, 0644 files, and no record of
    # having been repaired.
    with sqlite3.connect(lib / "catalog.sqlite") as db:
        db.execute("DELETE FROM settings WHERE key = 'library.private'")
    db.close()
    for path in [lib, *lib.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert not_private(lib)
    with Engine(lib, config=EngineConfig(workers=0), models=FakeModels()):
        assert not_private(lib) == {}
    # Once repaired, each open still puts the catalog's own files right.
    os.chmod(lib / "catalog.sqlite", 0o644)
    os.chmod(lib, 0o755)
    with Engine(lib, config=EngineConfig(workers=0), models=FakeModels()):
        assert not_private(lib) == {}
