"""The README's run command works from this checkout (the test command is this suite)."""

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_scripts_run_indexes_the_sample_and_shows_a_search(tmp_path):
    env = {**os.environ, "REGARD_LIBRARY": str(tmp_path / "lib")}
    proc = subprocess.run(
        [REPO / "scripts" / "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "indexing the built-in sample" in out
    assert "1 failed" in out  # the sample's deliberately damaged file
    assert "3 photos with this face, best first" in out
    assert "group-poker-rotated.jpg" in out
