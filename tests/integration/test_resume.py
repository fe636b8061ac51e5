"""kill -9 at any moment, run again: the library ends as if nothing had happened."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.needs_shared]


def regard(library: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "regard", "--library", str(library), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def committed_photos(library: Path, media: str | None = None) -> int:
    """Photos (or, with `media`, only photos or only videos) another process has committed."""
    db = library / "catalog.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            where, args = ("WHERE media = ?", (media,)) if media else ("", ())
            return int(conn.execute(f"SELECT COUNT(*) FROM photos {where}", args).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def snapshot(library: Path) -> tuple[set, set, int]:
    with sqlite3.connect(library / "catalog.sqlite") as conn:
        photos = set(conn.execute("SELECT path, status, content_hash, error_code FROM photos"))
        faces = set(
            conn.execute(
                "SELECT p.path, f.ordinal, round(f.x), round(f.y), round(f.w), round(f.h),"
                " e.model_id, length(e.vector) FROM faces f JOIN photos p ON p.id = f.photo_id"
                " JOIN embeddings e ON e.face_id = f.id"
            )
        )
        orphans = conn.execute(
            "SELECT (SELECT COUNT(*) FROM faces WHERE photo_id NOT IN (SELECT id FROM photos))"
            " + (SELECT COUNT(*) FROM embeddings WHERE face_id NOT IN (SELECT id FROM faces))"
        ).fetchone()[0]
    return photos, faces, orphans


def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path, shared_data):
    folder = tmp_path / "photos"
    folder.mkdir()
    # Symlinks keep the test's folder small on disk while the photos stay real.
    for src in sorted((shared_data / "camera").glob("*.jpg")):
        (folder / src.name).symlink_to(src)
    for src in sorted((shared_data / "photos/face_recognition").rglob("*.jp*g")):
        (folder / f"fr-{src.parent.name}-{src.name}").symlink_to(src)
    broken = folder / "zz-broken.jpg"
    broken.write_bytes((shared_data / "camera/Issue 177.jpg").read_bytes()[:5000])

    reference = tmp_path / "reference"
    done = regard(reference, "index", str(folder))
    assert done.wait(timeout=600) == 0, done.stderr.read().decode()

    interrupted = tmp_path / "interrupted"
    for kill_after in (5, 25):
        proc = regard(interrupted, "index", str(folder))
        deadline = time.monotonic() + 300
        while committed_photos(interrupted) < kill_after and proc.poll() is None:
            assert time.monotonic() < deadline, "indexing made no progress"
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert committed_photos(interrupted) < len(list(folder.iterdir()))
    rerun = regard(interrupted, "index", str(folder))
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read().decode()

    want, got = snapshot(reference), snapshot(interrupted)
    assert got[2] == 0, "half-written rows were left behind"
    assert got[0] == want[0]
    assert got[1] == want[1]
    with sqlite3.connect(interrupted / "catalog.sqlite") as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses == ["interrupted", "interrupted", "completed"]
