"""A `regard` command starts without loading what only some commands use: PyAV (videos), OpenCV
(image work), onnxruntime (the models) and paho (MQTT alerts) are imported by the code that
needs them, when it runs; and `--help` answers without the engine (the library's ~150 modules),
which a command imports when it opens the library. Checked in a fresh interpreter by what it
has loaded, not by timing."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("av", "cv2", "onnxruntime", "paho")

# Runs `regard --help`, `regard init` and `regard status` in one fresh interpreter, as the
# command line does, then prints what is loaded; then imports each heavy module, so a module
# that is missing cannot pass for one that was kept out.
SCRIPT = """
import json, sys
from typer.testing import CliRunner
from regard.interfaces.cli.main import app
library = sys.argv[1]
loaded = {}
for args in (["--help"], ["-L", library, "init"], ["-L", library, "status"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
    loaded[" ".join(args[-1:])] = sorted(m for m in HEAVY if m in sys.modules)
    if args == ["--help"]:
        loaded["engine at --help"] = "regard.engine" in sys.modules
import av, cv2, onnxruntime, paho.mqtt.client
print(json.dumps(loaded))
"""


def loaded_by_commands(library: Path) -> dict[str, list[str] | bool]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("HEAVY", repr(HEAVY)), str(library)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    loaded: dict[str, list[str] | bool] = json.loads(out.splitlines()[-1])
    return loaded


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in HEAVY), reason="a heavy module is missing"
)
def test_help_and_status_load_no_video_image_or_model_library(tmp_path: Path) -> None:
    assert loaded_by_commands(tmp_path / "lib") == {
        "--help": [],
        "engine at --help": False,
        "init": [],
        "status": [],
    }
