"""`regard sinks` as a user types it: add an MQTT broker with a password (never printed, never
stored in clear), test it against Debian's mosquitto, list, refuse the internet, remove."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from regard.interfaces.cli.main import app
from tests.servers import Mosquitto

runner = CliRunner()


def regard(library: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--library", str(library), *args], catch_exceptions=False)


def test_sinks_from_the_command_line(tmp_path: Path, mosquitto_auth: Mosquitto) -> None:
    lib = tmp_path / "lib"
    assert regard(lib, "init").exit_code == 0
    r = regard(lib, "sinks")
    assert r.exit_code == 0 and "No alert sinks" in r.output

    r = regard(lib, "sinks", "add", "mqtt", mosquitto_auth.url.replace(" ", "%20"))
    assert r.exit_code == 0, r.output
    assert "s3cret" not in r.output and "regard:***@127.0.0.1" in r.output
    listed = json.loads(regard(lib, "sinks", "--json").output)
    assert listed == [
        {
            "name": "mqtt",
            "kind": "mqtt",
            "address": f"mqtt://regard:***@127.0.0.1:{mosquitto_auth.port}",
            "options": {
                "discovery": True, "prefix": "regard", "insecure": False, "allow_public": False,
            },
        }
    ]  # fmt: skip
    # The password is sealed in the catalog, not there in clear.
    for f in lib.iterdir():
        if f.is_file():
            assert b"s3cret" not in f.read_bytes(), f

    r = regard(lib, "sinks", "test", "mqtt")
    assert r.exit_code == 0, r.output
    assert "the test alert was delivered" in r.output

    r = regard(lib, "sinks", "add", "webhook", "http://8.8.8.8/hook")
    assert r.exit_code == 1
    assert "http://8.8.8.8/hook is on the internet (8.8.8.8), not on your own network" in (
        r.output.replace("\n", " ")
    )
    r = regard(lib, "sinks", "add", "webhook", "http://8.8.8.8/hook", "--allow-public")
    assert r.exit_code == 0, r.output
    r = regard(lib, "sinks", "add", "mqtt", "mqtt://127.0.0.1:1883", "--name", "mqtt")
    assert r.exit_code == 1 and "There is a sink named mqtt already" in r.output

    r = regard(lib, "sinks", "remove", "webhook")
    assert r.exit_code == 0 and "Removed sink webhook" in r.output
    r = regard(lib, "sinks", "remove", "webhook")
    assert r.exit_code == 1 and "There is no sink named webhook" in r.output
    assert [s["name"] for s in json.loads(regard(lib, "sinks", "--json").output)] == ["mqtt"]
