"""Share jobs with fake models: a photo anonymised as a job (its result, named after the file
it was sent as), a file handed in removed once its copy is made, results kept a day."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from regard.domain.jobs import DONE, FAILED
from regard.engine import Engine, EngineConfig
from regard.errors import UploadTooLargeError
from regard.testing import FakeModels, draw_faces


def engine(lib: Path) -> Engine:
    return Engine(lib, create=True, config=EngineConfig(workers=0), models=FakeModels())


def run_next(e: Engine) -> None:
    job = e.jobs.claim()
    assert job is not None
    e.run_job(job)


def test_a_photo_handed_in_is_anonymised_as_a_job(tmp_path: Path) -> None:
    draw_faces(tmp_path / "a.png", [(10, 10, 40, (200, 20, 20))])
    with engine(tmp_path / "lib") as e:
        source = e.shares.receive(io.BytesIO((tmp_path / "a.png").read_bytes()), "Ann's.png", 10**6)
        assert source.parent.parent == e.paths.root / "shares"
        assert oct(source.stat().st_mode & 0o777) == "0o600"
        job = e.shares.submit_anonymise(source, name="Ann's.png")
        run_next(e)
        done = e.jobs.get(job.id)
        assert done is not None and done.state == DONE, done.message
        assert (done.done, done.total) == (1, 1)
        path, name, media = e.shares.result(job.id)
        assert (name, media) == ("Ann's-anonymised.png", "image/png")
        assert path.is_file() and not source.exists()  # only the copy is kept
        assert done.report is not None and done.report["source"] == "Ann's.png"


def test_a_file_that_is_no_photo_or_video_fails_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "x.mp4").write_bytes(b"nothing at all")
    with engine(tmp_path / "lib") as e:
        job = e.shares.submit_anonymise(tmp_path / "x.mp4")
        run_next(e)
        failed = e.jobs.get(job.id)
        assert failed is not None and failed.state == FAILED
        assert "x.mp4" in failed.message
        assert (tmp_path / "x.mp4").exists()  # a file of the owner's is only read


def test_too_large_a_file_is_refused_and_nothing_kept(tmp_path: Path) -> None:
    with engine(tmp_path / "lib") as e:
        with pytest.raises(UploadTooLargeError, match=r"big\.mp4: larger than 1 MiB"):
            e.shares.receive(io.BytesIO(b"x" * (2**20 + 10)), "big.mp4", 2**20)
        assert not [p for p in (e.paths.root / "shares").rglob("*") if p.is_file()]


def test_results_older_than_a_day_are_removed_when_a_job_runs(tmp_path: Path) -> None:
    draw_faces(tmp_path / "a.png", [(10, 10, 40, (200, 20, 20))])
    with engine(tmp_path / "lib") as e:
        old = e.shares.submit_anonymise(tmp_path / "a.png")
        run_next(e)
        path, _, _ = e.shares.result(old.id)
        day_ago = time.time() - 25 * 3600
        os.utime(path.parent, (day_ago, day_ago))
        e.shares.submit_anonymise(tmp_path / "a.png")
        run_next(e)
        assert not path.exists()
