"""Signed debtor links: the hosted pages open with a token nobody can forge or extend.

token = base64url("agency|client|debtor|expiry") + "." + base64url(HMAC-SHA256(link_secret))
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from chalicelib.settings import get_settings

LINK_DAYS = 45


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str) -> str:
    key = get_settings().link_secret.encode()
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def debtor_token(agency_id: str, client_id: str, debtor_id: str, now: datetime,
                 days: int = LINK_DAYS) -> str:
    expiry = int((now + timedelta(days=days)).timestamp())
    payload = _b64(f"{agency_id}|{client_id}|{debtor_id}|{expiry}".encode())
    return f"{payload}.{_mac(payload)}"


def debtor_link(agency_id: str, client_id: str, debtor_id: str, now: datetime) -> str:
    """The debtor's hosted page, valid for LINK_DAYS from `now`."""
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/d/{debtor_token(agency_id, client_id, debtor_id, now)}"


def verify_token(token: str, now: datetime) -> tuple[str, str, str] | None:
    """(agency, client, debtor) if the token is genuine and unexpired, else None."""
    try:
        payload, mac = token.split(".", 1)
        if not hmac.compare_digest(mac, _mac(payload)):
            return None
        agency_id, client_id, debtor_id, expiry = _unb64(payload).decode().split("|")
        if now.timestamp() > int(expiry):
            return None
        return agency_id, client_id, debtor_id
    except (ValueError, UnicodeDecodeError):
        return None
