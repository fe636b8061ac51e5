"""Shared fixtures. Tests that need ../shared/data fail (never skip) with a clear message when
it is missing; tests that need the real models load them once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from regard.engine import Engine, EngineConfig
from regard.pipeline.analyse import Analyser, AnalysisSettings
from regard.pipeline.models import STANDARD_MODELS
from regard.testing import FakeModels
from tests import backends
from tests.postgres_server import PostgresServer
from tests.servers import MissingPackageError, MjpegCamera, Mosquitto, RtspCamera

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("REGARD_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def private_state(tmp_path_factory) -> Iterator[Path]:
    """Key files, audit anchors and erasure journals of the test libraries go to a temporary
    folder, never to the user's ~/.config or ~/.local/state (subprocesses inherit it)."""
    root = tmp_path_factory.mktemp("regard-state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGARD_KEY_DIR", str(root / "keys"))
        mp.setenv("REGARD_STATE_DIR", str(root / "state"))
        yield root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "README.md").is_file():
        pytest.fail(
            f"This test needs the shared photo data at {SHARED} (../shared/data beside the "
            "repository, or REGARD_SHARED_DATA). It is not there.",
            pytrace=False,
        )
    return SHARED


@pytest.fixture(scope="session")
def analyser() -> Analyser:
    """The real models (YuNet + SFace), loaded once for the whole session."""
    return STANDARD_MODELS(AnalysisSettings())


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The demo sample built by scripts/setup from registry packages."""
    sample = REPO / ".cache" / "sample"
    if not (sample / "probe.jpg").is_file():
        from regard.sample import build_sample

        wheels = REPO / ".cache" / "wheels"
        if not list(wheels.glob("insightface-2.1-*.whl")):
            pytest.fail(
                f"The demo sample's source packages are not in {wheels}; run scripts/setup test.",
                pytrace=False,
            )
        build_sample(sample, wheels)
    return sample


@pytest.fixture
def fake_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh library with the fake models, analysing in-process."""
    engine = Engine(
        tmp_path / "lib", create=True, config=EngineConfig(workers=0), models=FakeModels()
    )
    yield engine
    engine.close()


@pytest.fixture
def real_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh library with the real models and two worker processes."""
    engine = Engine(tmp_path / "lib", create=True, config=EngineConfig(workers=2))
    yield engine
    engine.close()


# --- camera test servers (Debian's mosquitto, GStreamer's RTSP server, an MJPEG camera) --------

CAMERA_CLIP = "photos/face_recognition/video/short_hamilton_clip.mp4"


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory) -> Iterator[Mosquitto]:
    """Debian's MQTT broker on a free loopback port, anonymous, for the whole session."""
    try:
        broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    except MissingPackageError as e:
        pytest.fail(str(e), pytrace=False)
    with broker:
        yield broker


@pytest.fixture(scope="session")
def mosquitto_auth(tmp_path_factory) -> Iterator[Mosquitto]:
    """A broker that only lets `regard` with password `s3cret pass` in."""
    try:
        broker = Mosquitto(tmp_path_factory.mktemp("mosquitto-auth"), ("regard", "s3cret pass"))
    except MissingPackageError as e:
        pytest.fail(str(e), pytrace=False)
    with broker:
        yield broker


@pytest.fixture(scope="session")
def rtsp_camera(shared_data: Path) -> Iterator[RtspCamera]:
    """An RTSP camera (GStreamer's server) streaming the stage clip in a loop, 640x360 at 10
    frames a second, H.264 over TCP and UDP: `rtsp_camera.url`."""
    camera = RtspCamera([shared_data / CAMERA_CLIP])
    try:
        camera.__enter__()
    except MissingPackageError as e:
        pytest.fail(str(e), pytrace=False)
    yield camera
    camera.__exit__()


@pytest.fixture(scope="session")
def mjpeg_camera(shared_data: Path) -> Iterator[MjpegCamera]:
    """An HTTP MJPEG camera streaming the stage clip in a loop: `mjpeg_camera.url`."""
    with MjpegCamera(shared_data / CAMERA_CLIP) as camera:
        yield camera


# --- PostgreSQL (issue 16): the catalog, privacy and people suites run on both backends ----------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL server in a temporary folder, for the whole session."""
    try:
        server = PostgresServer()
    except MissingPackageError as e:
        pytest.fail(str(e), pytrace=False)
    with server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test of a module that uses this runs twice: on SQLite, then on a fresh database of
    the session's PostgreSQL server (REGARD_DATABASE, which `EngineConfig` reads)."""
    if request.param == "sqlite":
        monkeypatch.delenv("REGARD_DATABASE", raising=False)
        yield "sqlite"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.reset(request.getfixturevalue("postgres_library"))
    monkeypatch.setenv("REGARD_DATABASE", url)
    monkeypatch.setattr(backends, "SERVER", server)
    yield url


@pytest.fixture(scope="session")
def postgres_library(postgres: PostgresServer) -> str:
    """One database for the tests on PostgreSQL, emptied before each (`PostgresServer.reset`)."""
    return postgres.library()
