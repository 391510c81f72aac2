"""The clock: services take time from here so tests and the demo can move it."""
from __future__ import annotations

import os
from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now in UTC; RECOUP_DEMO_NOW (ISO instant) pins it for the local demo."""
    pinned = os.environ.get("RECOUP_DEMO_NOW")
    if pinned:
        return datetime.fromisoformat(pinned).astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
