"""Regard's log: what the terminal need not show, kept where it can be read when something
needs explaining.

Image libraries talk about damaged files: Pillow with Python warnings, libtiff, libjpeg and
libheif by writing to the process's standard error themselves. A run over a few thousand
odd files printed 358 such lines between the progress bar and the report. They belong to
the log, beside the file that caused them:

* analysis workers (`regard.jobs.pool`) capture both per file (`NativeStderr`,
  `warnings.catch_warnings`) and hand them back with the file's result; the parent logs them
  under the file's name (logger `regard.decode`);
* the command line and the server send Python warnings (`logging.captureWarnings`), what C
  libraries write to standard error in their own process (`capture_native_stderr`), and
  their own unexpected failures (with the traceback) to `<library>/regard.log`, 0600,
  rotated at 1 MiB (three old files kept). Deleting the library deletes it too.

Nothing here runs at import; the edges call `log_to` and `capture_native_stderr`.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys
import tempfile
import threading
from pathlib import Path

LOG_FILE = "regard.log"
#: Loggers whose records go to the log file and never to the terminal.
QUIET = ("regard", "py.warnings")

_handler: _LibraryLog | None = None
_native_started = False


class _LibraryLog(logging.handlers.RotatingFileHandler):
    """The library's log file, created 0600 on first use and only if the library exists
    (a log is no reason to create a library folder)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, maxBytes=1 << 20, backupCount=3, encoding="utf-8", delay=True)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is None and not os.path.isdir(os.path.dirname(self.baseFilename)):
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        # A full disk or a removed folder must not turn into tracebacks on the terminal.
        pass


def log_to(library: Path) -> Path:
    """Send Regard's log records and Python warnings to `library`/regard.log from now on (and
    not to the terminal). Returns the log file's path."""
    global _handler
    path = Path(os.path.abspath(library)) / LOG_FILE
    if _handler is not None and Path(_handler.baseFilename) == path:
        return path
    fresh = _LibraryLog(path)
    for name in QUIET:
        logger = logging.getLogger(name)
        if _handler is not None:
            logger.removeHandler(_handler)
        # A handler of their own keeps them off the terminal (logging's last resort prints
        # only records no handler took); they still propagate, to whoever listens above.
        logger.addHandler(fresh)
        logger.setLevel(logging.INFO)
    if _handler is not None:
        _handler.close()
    _handler = fresh
    logging.captureWarnings(True)
    return path


def log_file() -> Path | None:
    """Where the log goes, once `log_to` was called."""
    return Path(_handler.baseFilename) if _handler is not None else None


def capture_native_stderr() -> None:
    """From now on, what C libraries of this process write to standard error (file descriptor
    2) goes to the log, line by line; Python's own `sys.stderr` (error messages, progress)
    still reaches the terminal. For the command line's own process; once per process."""
    global _native_started
    if _native_started:
        return
    _native_started = True
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
    terminal = os.dup(2)
    sys.stderr = open(terminal, "w", encoding="utf-8", errors="backslashreplace", buffering=1)  # noqa: SIM115
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)
    reader = threading.Thread(target=_forward, args=(read,), name="regard-stderr", daemon=True)
    reader.start()


def _forward(fd: int) -> None:
    log = logging.getLogger("regard.native")
    with open(fd, "rb") as pipe:
        for line in pipe:
            text = line.decode("utf-8", "backslashreplace").rstrip()
            if text:
                log.warning("%s", text)


class NativeStderr:
    """In a worker process: file descriptor 2 points to a private temporary file, so what C
    libraries write there can be taken after each file and logged with its name."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (kept for the process's life)
        with contextlib.suppress(AttributeError, OSError, ValueError):
            sys.stderr.flush()
        os.dup2(self._file.fileno(), 2)

    def take(self) -> list[str]:
        """The lines written since the last call."""
        with contextlib.suppress(AttributeError, OSError, ValueError):
            sys.stderr.flush()
        self._file.seek(0)
        data = self._file.read(256 << 10)
        self._file.seek(0)
        self._file.truncate()
        text = data.decode("utf-8", "backslashreplace")
        return [line.rstrip() for line in text.splitlines() if line.strip()]
