"""The clock: the only product code that reads the wall clock. Handlers (routes, pages, jobs,
webhooks, chalicelib/http) call utcnow() once per request or event and pass `now` down;
services and stores take `now`/`at` as parameters (tests/unit/test_clock_discipline.py).

Two ways to move it, both for local use only (deployed stages set neither):
  RECOUP_DEMO_NOW    an ISO instant: the clock stands still there.
  RECOUP_CLOCK_FILE  a small JSON file (the local stack uses .local/clock.json) holding
                     {"at": ISO} (stand still there) or {"offset_seconds": N} (run N
                     seconds ahead of the wall clock). `python -m local.sweep --as-of`
                     writes it, so the running stack's ticker, queue pump and handlers all
                     read the same travelled time as the sweep.
"""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

_cache: dict = {"key": None, "value": {}}


def _travel() -> dict:
    path = os.environ.get("RECOUP_CLOCK_FILE")
    if not path:
        return {}
    try:
        st = os.stat(path)
    except OSError:
        return {}
    key = (path, st.st_ino, st.st_mtime_ns, st.st_size)
    if _cache["key"] != key:
        try:
            value = json.loads(open(path, encoding="utf-8").read() or "{}")
        except (OSError, ValueError):
            return _cache["value"] if _cache["key"] and _cache["key"][0] == path else {}
        _cache["key"], _cache["value"] = key, value
    return _cache["value"]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def utcnow() -> datetime:
    """Now in UTC, honouring RECOUP_DEMO_NOW and the local travel file (module docstring)."""
    pinned = os.environ.get("RECOUP_DEMO_NOW")
    if pinned:
        return _parse(pinned)
    travel = _travel()
    if travel.get("at"):
        return _parse(travel["at"])
    now = datetime.now(timezone.utc)
    if travel.get("offset_seconds"):
        now += timedelta(seconds=float(travel["offset_seconds"]))
    return now


def wall_seconds() -> float:
    """Real Unix time, never travelled: only for credentials a library checks against the
    real clock (JWT iat/exp). Business time is utcnow()."""
    return time.time()


def write_travel(path: str, *, at: datetime | None = None,
                 offset_seconds: float | None = None) -> None:
    """Set (or with neither argument, clear) the travel the local stack reads; atomic."""
    if at is None and offset_seconds is None:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        return
    body = {"at": iso(at)} if at is not None else {"offset_seconds": offset_seconds}
    tmp = f"{path}.{os.getpid()}.tmp"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(body, fh)
    os.replace(tmp, path)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
