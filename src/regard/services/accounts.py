"""Accounts and sessions for the web app (OWASP ASVS 5.0 level 2 essentials).

* Passwords: argon2id, at least 12 characters; no default accounts. The first owner is created
  with a one-time setup token that `regard serve` prints on the console, so that nobody else
  on the machine can claim the library by opening the page first.
* Sessions: 256-bit random tokens, stored only as sha256 hashes; 30 minutes idle and 12 hours
  absolute timeouts; logout deletes the session; each session carries its own CSRF token.
* Sign-in is rate-limited: 5 failures per account in 15 minutes lock it for 15 minutes. The
  password is checked outside the server's lock (argon2 takes a core and 64 MiB for a good
  part of a second), on threads of lower priority, and `SignInLimiter` refuses at once what
  is beyond 2 checks at a time, 1 at a time from one address or 60 a minute from one
  address: a flood of sign-ins costs its sender 429s, not everyone else their server. Failed
  sign-ins of names nobody has are recorded too (so that a lock does not tell which names
  exist), in a bounded table.
* Changing one's own password needs the current one (a session left open is not enough);
  a wrong one counts as a failed sign-in. An owner resetting someone else's does not.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import math
import os
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from regard.domain.accounts import Permission, Role, allows
from regard.errors import (
    AccountError,
    CrossSiteRequestError,
    ForbiddenError,
    InvalidRequestError,
    LoginError,
    NotSignedInError,
    SignInBusyError,
    TooManyAttemptsError,
    WrongPasswordError,
)
from regard.storage.accounts_catalog import UserRow
from regard.storage.repositories import Store

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 12
MAX_PASSWORD = 128
#: Failed sign-ins kept at most (oldest go first), whatever names they were for.
MAX_FAILURE_ROWS = 5000

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # goes in the cookie; never stored
    user: UserRow
    csrf: str


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


class SignInLimiter:
    """How many password checks may run: at most `overall` at once, `per_client` at once from
    one client address and `per_minute` a minute from one address. Beyond that a sign-in is
    refused at once (`SignInBusyError`, 429 with Retry-After): waiting would hold one of the
    server's threads, and a flood would hold them all. The web server admits each sign-in
    request with `attempt` before reading it (`regard.interfaces.http.guard`); a caller with no
    address is held to the first two limits only."""

    def __init__(
        self,
        overall: int = 2,
        per_client: int = 1,
        per_minute: int = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.overall = overall
        self.per_client = per_client
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._running = 0
        self._active: dict[str, int] = {}
        self._recent: dict[str, deque[float]] = {}
        # The checks themselves run on threads of their own at a lower priority, so that on
        # a busy machine everyone else's requests come first (argon2 uses 4 threads each).
        self._checkers = ThreadPoolExecutor(
            overall, thread_name_prefix="regard-password", initializer=_lower_priority
        )

    def verify(self, stored: str, password: str) -> bool:
        """Whether `password` matches the argon2 hash `stored` (call within `attempt`)."""
        return self._checkers.submit(_verify, stored, password).result()

    @contextlib.contextmanager
    def attempt(self, client: str | None) -> Iterator[None]:
        who = client or "?"
        with self._lock:
            now = self._clock()
            recent = self._recent.setdefault(who, deque())
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if client is not None and len(recent) >= self.per_minute:
                wait = max(1, math.ceil(recent[0] + 60 - now))
                raise SignInBusyError(wait, "Too many sign-ins from this address.")
            if self._running >= self.overall or self._active.get(who, 0) >= self.per_client:
                raise SignInBusyError(1, "Too many sign-ins at once.")
            recent.append(now)
            self._running += 1
            self._active[who] = self._active.get(who, 0) + 1
            if len(self._recent) > 4096:  # addresses seen once an hour ago need no memory
                for key in [k for k, q in self._recent.items() if not q or q[-1] <= now - 60]:
                    del self._recent[key]
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._active[who] -= 1
                if not self._active[who]:
                    del self._active[who]


class Accounts:
    def __init__(
        self,
        catalog: Store,
        guard: Callable[[], AbstractContextManager[object]] | None = None,
        limiter: SignInLimiter | None = None,
    ) -> None:
        """`guard`: what must be held to use the catalog (a server's lock); sign-in takes it
        only around its catalog reads and writes, never while checking a password."""
        self.catalog = catalog
        self.db = catalog.accounts
        self._guard = guard or contextlib.nullcontext
        self.limiter = limiter or SignInLimiter()
        self._setup_token: str | None = None

    # --- first run ---------------------------------------------------------------------------

    def needs_setup(self) -> bool:
        return self.db.count_users() == 0

    def setup_token(self) -> str:
        """The one-time token that lets the first owner be created (printed by `serve`)."""
        if self._setup_token is None:
            self._setup_token = secrets.token_urlsafe(24)
        return self._setup_token

    def create_first_owner(self, token: str, name: str, password: str) -> Session:
        """The first owner, with the token `serve` printed. The token is used up only by an
        owner actually created: a name or password refused first leaves it as it was."""
        if not self.needs_setup():
            raise AccountError("This library already has an owner; sign in instead.")
        _clean_name(name)
        self._check_password(password)
        expected = self._setup_token
        if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
            raise AccountError(
                "The setup token is wrong. Copy it from the console where "
                "`regard serve` was started."
            )
        self._setup_token = None
        try:
            user_id = self._add(name, password, Role.OWNER)
        except BaseException:
            self._setup_token = expected
            raise
        return self._new_session(user_id)

    # --- users ---------------------------------------------------------------------------------

    def add_user(self, actor: UserRow, name: str, password: str, role: str) -> UserRow:
        self.require(actor, Permission.ACCOUNTS, "manage accounts")
        user_id = self._add(name, password, Role(role))
        user = self.db.user(user_id)
        assert user is not None
        return user

    def _add(self, name: str, password: str, role: Role) -> int:
        clean = _clean_name(name)
        self._check_password(password)
        if self.db.user_by_name(_key(clean)) is not None:
            raise AccountError(f"There is already a user called {clean!r}.")
        with self.catalog.transaction():
            return self.db.add_user(clean, _key(clean), _hasher.hash(password), role.value)

    @staticmethod
    def _check_password(password: str) -> None:
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise AccountError(
                f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters; a few unrelated "
                "words make a good one."
            )

    def users(self, actor: UserRow) -> list[UserRow]:
        self.require(actor, Permission.ACCOUNTS, "see the accounts")
        return self.db.users()

    def change_user(
        self,
        actor: UserRow,
        user_id: int,
        *,
        role: str | None = None,
        password: str | None = None,
        disabled: bool | None = None,
        current_password: str | None = None,
    ) -> UserRow:
        """Change an account. One's own password only with the current one
        (`current_password`); someone else's, or any role or state, only as an owner."""
        target = self.db.user(user_id)
        is_self = target is not None and target.id == actor.id
        if not is_self or role is not None or disabled is not None:
            # Changing someone else, or one's own role: owners only (no privilege escalation).
            self.require(actor, Permission.ACCOUNTS, "change other accounts")
        if target is None:
            raise AccountError(f"No user #{user_id}.")
        if password is not None:
            self._check_password(password)
            if is_self:
                self._check_current_password(target, current_password)
        if target.role == Role.OWNER and (role not in (None, Role.OWNER.value) or disabled):
            owners = [u for u in self.db.users() if u.role == Role.OWNER and not u.disabled]
            if len(owners) <= 1:
                raise AccountError("The last owner cannot be demoted or disabled.")
        with self.catalog.transaction():
            self.db.update_user(
                user_id,
                role=Role(role).value if role else None,
                password_hash=_hasher.hash(password) if password else None,
                disabled=disabled,
            )
            if password is not None or disabled:
                self.db.delete_sessions_of(user_id)  # a changed password signs everyone out
        changed = self.db.user(user_id)
        assert changed is not None
        return changed

    def _check_current_password(self, user: UserRow, given: str | None) -> None:
        """Whoever holds a session must still know the password to replace it; guesses are
        limited as sign-ins are."""
        if not given:
            raise InvalidRequestError(
                "To change your own password, give your current one too (current_password)."
            )
        key = _key(user.name)
        since = (datetime.now(UTC) - LOCKOUT).isoformat(timespec="seconds")
        if self.db.failures_since(key, since) >= MAX_FAILURES:
            raise TooManyAttemptsError(int(LOCKOUT.total_seconds() // 60))
        ok = False
        try:
            ok = _hasher.verify(user.password_hash, given)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            with self.catalog.transaction():
                self.db.add_failure(key)
            raise WrongPasswordError()

    def delete_user(self, actor: UserRow, user_id: int) -> None:
        self.require(actor, Permission.ACCOUNTS, "delete accounts")
        target = self.db.user(user_id)
        if target is None:
            raise AccountError(f"No user #{user_id}.")
        if target.id == actor.id:
            raise AccountError("You cannot delete your own account.")
        with self.catalog.transaction():
            self.db.delete_user(user_id)

    # --- sessions ----------------------------------------------------------------------------

    def login(self, name: str, password: str) -> Session:
        """Sign in. Call it without holding the guard: the password is checked outside it,
        on the limiter's threads (a server admits each attempt with `limiter.attempt` first)."""
        key = _key(name)
        with self._guard():
            since = (datetime.now(UTC) - LOCKOUT).isoformat(timespec="seconds")
            if self.db.failures_since(key, since) >= MAX_FAILURES:
                raise TooManyAttemptsError(int(LOCKOUT.total_seconds() // 60))
            user = self.db.user_by_name(key)
        stored = user.password_hash if user else None
        # Verify against a dummy hash for unknown users too, so timing does not tell.
        ok = self.limiter.verify(stored or _dummy(), password) and stored is not None
        with self._guard():
            # The account as it is now: disabled, or its password changed, while checking.
            user = self.db.user_by_name(key)
            if not ok or user is None or user.disabled or user.password_hash != stored:
                with self.catalog.transaction():
                    self.db.add_failure(key)
                    self.db.prune_failures(
                        (datetime.now(UTC) - LOCKOUT).isoformat(timespec="seconds"),
                        MAX_FAILURE_ROWS,
                    )
                raise LoginError()
            with self.catalog.transaction():
                self.db.clear_failures(key)
            return self._new_session(user.id)

    def _new_session(self, user_id: int) -> Session:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self.catalog.transaction():
            self.db.add_session(_hash_token(token), user_id, csrf)
        user = self.db.user(user_id)
        assert user is not None
        return Session(token, user, csrf)

    def session(self, token: str | None) -> Session:
        if not token:
            raise NotSignedInError()
        key = _hash_token(token)
        row = self.db.session(key)
        now = datetime.now(UTC)
        if row is None:
            raise NotSignedInError()
        if now - _parse(row.last_seen) > IDLE or now - _parse(row.created_at) > ABSOLUTE:
            with self.catalog.transaction():
                self.db.delete_session(key)
            raise NotSignedInError()
        user = self.db.user(row.user_id)
        if user is None or user.disabled:
            raise NotSignedInError()
        if now - _parse(row.last_seen) > timedelta(seconds=60):
            with self.catalog.transaction():
                self.db.touch_session(key)
        return Session(token, user, row.csrf)

    def logout(self, token: str) -> None:
        with self.catalog.transaction():
            self.db.delete_session(_hash_token(token))

    def check_csrf(self, session: Session, sent: str | None) -> None:
        if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise CrossSiteRequestError(
                "it came without the CSRF token of this session's page (the page may be from "
                "an earlier session)"
            )

    # --- authorisation -------------------------------------------------------------------------

    def can(self, user: UserRow, permission: Permission) -> bool:
        members_audit = self.catalog.runs.setting("web.members_read_audit") == "1"
        return allows(Role(user.role), permission, members_read_audit=members_audit)

    def require(self, user: UserRow, permission: Permission, action: str) -> None:
        if not self.can(user, permission):
            raise ForbiddenError(user.role, action)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _lower_priority() -> None:
    # Linux gives each thread its own nice value (and argon2's threads inherit it); elsewhere
    # this would lower the whole process, so it is not done.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _clean_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean or len(clean) > 64:
        raise AccountError("A user name has 1 to 64 characters.")
    return clean


@functools.cache
def _dummy() -> str:
    return _hasher.hash("not a real password, only for constant-time failures")
