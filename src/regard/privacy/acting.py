"""Who is acting: the name the audit log records, and whether they may see where photos are
on the disk.

An engine has one actor of its own (the command line's user, or `--actor`). A server's engine
serves each request as its signed-in user: `Acting.as_` sets who is acting for one block, in
a context variable, so it holds for that thread (and its context) only and is the engine's own
again when the block ends. One request's user never signs another request's audit entries.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "owner"


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    #: May see where photos are on the disk (the command line's user; the web app's owners).
    #: Anyone else is shown names from the indexed folder on.
    full_paths: bool = True


class Acting:
    """Who is acting now: the actor set for the current block, else the default."""

    def __init__(self, default: Actor) -> None:
        self._current: ContextVar[Actor] = ContextVar("regard_actor", default=default)

    @property
    def actor(self) -> Actor:
        return self._current.get()

    @property
    def name(self) -> str:
        return self._current.get().name

    @contextmanager
    def as_(self, actor: Actor) -> Iterator[Actor]:
        token = self._current.set(actor)
        try:
            yield actor
        finally:
            self._current.reset(token)
