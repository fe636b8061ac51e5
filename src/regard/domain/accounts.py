"""Who may do what in the web app: roles and the permissions they carry."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # everything, including erasure, the audit log and accounts
    MEMBER = "member"  # adds photos, corrects people, records consents and opt-outs
    VIEWER = "viewer"  # looks and searches


class Permission(StrEnum):
    VIEW = "view"
    SEARCH = "search"
    UPLOAD = "upload"
    EDIT_PEOPLE = "edit_people"
    CONSENT = "consent"
    ACCESS_REPORT = "access_report"
    ERASE = "erase"
    AUDIT = "audit"
    RECORDS = "records"
    ACCOUNTS = "accounts"
    SETTINGS = "settings"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW, Permission.SEARCH}),
    Role.MEMBER: frozenset(
        {
            Permission.VIEW,
            Permission.SEARCH,
            Permission.UPLOAD,
            Permission.EDIT_PEOPLE,
            Permission.CONSENT,
            Permission.RECORDS,
        }
    ),
    Role.OWNER: frozenset(Permission),
}


def allows(role: Role, permission: Permission, *, members_read_audit: bool = False) -> bool:
    """Whether `role` has `permission`. Members see the audit log only if the owner said so."""
    if permission is Permission.AUDIT and role is Role.MEMBER and members_read_audit:
        return True
    return permission in _GRANTS[role]
