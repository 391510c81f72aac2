"""The agency's suppression list: addresses and numbers that bounced, complained or said
STOP. Items live in the claims table under `{agency}#suppress#{channel}#{address}`."""
from __future__ import annotations

from datetime import datetime

from chalicelib.kernel import claims


def key(agency_id: str, channel: str, address: str) -> str:
    return f"{agency_id}#suppress#{channel}#{address.strip().lower()}"


def suppress(agency_id: str, channel: str, address: str, now: datetime, reason: str) -> bool:
    """Add to the list; True only the first time (a repeated notification changes nothing)."""
    return claims.once(key(agency_id, channel, address), now, {"reason": reason})


def is_suppressed(agency_id: str, channel: str, address: str) -> bool:
    return claims.lookup(key(agency_id, channel, address)) is not None
