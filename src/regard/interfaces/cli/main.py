"""The `regard` command: the main commands (`app`), then each group of commands put on it.

The groups do not register themselves when imported; this module, the command line's entry
point, puts them on `app` in the order `regard --help` lists them.
"""

from __future__ import annotations

import sys

from regard import capture_native_stderr
from regard.interfaces.cli import cameras, naming, people, privacy, recaps, share, sinks, trash
from regard.interfaces.cli.app import app

for group in (people, privacy, share, trash, cameras, sinks):
    group.register(app)
naming.register(people.people_app)
recaps.register(app, people.people_app)


def main() -> None:
    # What C libraries (libtiff, libjpeg, libheif) print goes to the log, not the terminal.
    capture_native_stderr()
    # A path whose bytes are not UTF-8 is printed with escapes, never a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    app()
