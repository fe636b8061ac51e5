"""The time as Regard records and judges it: UTC, stored as ISO 8601 to the second."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def utc_today() -> date:
    """Today in UTC: the day a consent's expiry is judged against."""
    return datetime.now(UTC).date()
