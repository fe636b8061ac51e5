"""The README's "Using Regard as a library" example runs as written, on the built-in sample
with the real models."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    section = README.read_text().split("## Using Regard as a library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's library section has no Python example"
    return match.group(1)


def test_the_library_example_indexes_searches_and_lists_people(sample_dir, tmp_path):
    shutil.copytree(sample_dir / "photos", tmp_path / "photos")
    shutil.copy(sample_dir / "probe.jpg", tmp_path / "probe.jpg")
    # As a user runs it: a fresh interpreter, in the folder with the photos (the key files
    # go to the test session's folder: REGARD_KEY_DIR is inherited).
    proc = subprocess.run(
        [sys.executable, "-c", example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"\d+ new photos, [1-9]\d* faces", lines[0]), lines
    matches = [ln for ln in lines if re.fullmatch(r"0\.\d\d .*\.(jpg|png|webp)", ln)]
    assert len(matches) >= 2, lines  # the sample's probe face is in several photos
    assert any(re.fullmatch(r"P\d+ \(unnamed\) \d+ faces", ln) for ln in lines), lines
    assert (tmp_path / "my-library" / "catalog.sqlite").is_file()
