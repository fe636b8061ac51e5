"""Accounts and sessions: the first owner, signing in and out, and the users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from regard.domain.accounts import Permission
from regard.engine import (
    Session,
)
from regard.interfaces.http.api import (
    COOKIE,
    SessionDep,
    UserId,
    host_of,
    same_origin,
)

router = APIRouter(prefix="/api")


class SetupIn(BaseModel):
    token: str = Field(max_length=200)
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: Literal["owner", "member", "viewer"] = "viewer"


class UserChange(BaseModel):
    role: Literal["owner", "member", "viewer"] | None = None
    password: str | None = Field(default=None, min_length=1, max_length=256)
    current_password: str | None = Field(
        default=None,
        max_length=256,
        description="Needed to change one's own password (not to reset someone else's).",
    )
    disabled: bool | None = None


# --- what the account routes answer ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: str  # owner, member or viewer
    disabled: bool
    created_at: str

    @classmethod
    def of(cls, u: Any) -> UserInfo:
        return cls(u.id, u.name, u.role, u.disabled, u.created_at)


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: UserInfo
    csrf: str  # to send as X-CSRF-Token with every change


@dataclass(frozen=True, slots=True)
class SessionInfo:
    user: UserInfo
    csrf: str
    permissions: list[str]  # what the user's role allows


@dataclass(frozen=True, slots=True)
class SetupNeeded:
    needed: bool


@dataclass(frozen=True, slots=True)
class SignedOut:
    signed_out: bool


@dataclass(frozen=True, slots=True)
class UserDeleted:
    deleted: bool


def _signed_in(response: Response, request: Request, session: Session) -> SignedIn:
    response.set_cookie(
        COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
    )
    return SignedIn(UserInfo.of(session.user), session.csrf)


@router.get("/setup", tags=["accounts"])
def setup_needed(request: Request) -> SetupNeeded:
    """Whether the library still needs its first owner."""
    host = host_of(request)
    with host.use():
        return SetupNeeded(host.accounts.needs_setup())


@router.post("/setup", tags=["accounts"])
def setup(body: SetupIn, request: Request, response: Response) -> SignedIn:
    """Create the first owner with the token `regard serve` printed; signs them in."""
    host = host_of(request)
    same_origin(request)
    with host.use():
        session = host.accounts.create_first_owner(body.token, body.name, body.password)
    return _signed_in(response, request, session)


@router.post("/login", tags=["accounts"])
def login(body: LoginIn, request: Request, response: Response) -> SignedIn:
    """Sign in; sets the session cookie and returns the CSRF token for changes."""
    host = host_of(request)
    same_origin(request)
    # Not under the lock: the password check takes a while, and nobody waits for it. (The
    # guard admitted this attempt: see SignInLimiter.)
    session = host.accounts.login(body.name, body.password)
    return _signed_in(response, request, session)


@router.post("/logout", tags=["accounts"])
def logout(session: SessionDep, request: Request, response: Response) -> SignedOut:
    """Sign out: the session ends on the server, not only in the browser."""
    host = host_of(request)
    with host.use():
        host.accounts.logout(session.token)
    response.delete_cookie(COOKIE, path="/")
    return SignedOut(True)


@router.get("/session", tags=["accounts"])
def current_session(session: SessionDep, request: Request) -> SessionInfo:
    """Who is signed in, what they may do, and the CSRF token for changes."""
    host = host_of(request)
    with host.use():
        may = [p.value for p in Permission if host.accounts.can(session.user, p)]
    return SessionInfo(UserInfo.of(session.user), session.csrf, may)


@router.get("/users", tags=["accounts"])
def users(session: SessionDep, request: Request) -> list[UserInfo]:
    """All accounts (owners only)."""
    host = host_of(request)
    with host.use():
        return [UserInfo.of(u) for u in host.accounts.users(session.user)]


@router.post("/users", tags=["accounts"], status_code=201)
def add_user(body: UserIn, session: SessionDep, request: Request) -> UserInfo:
    """Create an account (owners only); there are no default accounts."""
    host = host_of(request)
    with host.use():
        return UserInfo.of(
            host.accounts.add_user(session.user, body.name, body.password, body.role)
        )


@router.patch("/users/{user_id}", tags=["accounts"])
def change_user(
    user_id: UserId, body: UserChange, session: SessionDep, request: Request
) -> UserInfo:
    """Change a password (one's own, with the current one; anyone's as an owner), a role or
    disable (owners)."""
    host = host_of(request)
    with host.use():
        return UserInfo.of(
            host.accounts.change_user(
                session.user,
                user_id,
                role=body.role,
                password=body.password,
                disabled=body.disabled,
                current_password=body.current_password,
            )
        )


@router.delete("/users/{user_id}", tags=["accounts"])
def delete_user(user_id: UserId, session: SessionDep, request: Request) -> UserDeleted:
    """Delete an account (owners only; not one's own)."""
    host = host_of(request)
    with host.use():
        host.accounts.delete_user(session.user, user_id)
    return UserDeleted(True)
