"""Signed debtor links: an HMAC-signed, expiring, revocable token naming one debtor account.

A token is base64url(JSON payload) "." base64url(HMAC-SHA256(link_secret, payload)). The
payload holds agency, client, debtor, expiry, issue time and a random link id; nothing in a
URL is sequential or guessable. Every failure (tampered, expired, unknown, revoked) raises
the same LinkNotFound so the edge answers with one 404 page.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.kernel import rate
from chalicelib.book.debtors import load_debtor
from chalicelib.http.access import require_staff
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import RecoupError
from chalicelib.kernel.settings import get_settings
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClaimModel, ClientModel, DebtorModel

DEFAULT_DAYS = 30


class LinkNotFound(RecoupError):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__("This link is not valid. Ask the sender for a new one.")


class RateLimited(RecoupError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int = 60) -> None:
        super().__init__("Too many requests. Please wait a minute and try again.")
        self.retry_after = retry_after  # seconds until the counting window turns over


@dataclass(frozen=True)
class Link:
    agency_id: str
    client_id: str
    debtor_id: str
    link_id: str
    issued_at: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(text: str) -> bytes:
    """Only the one spelling _b64 writes: no padding, no characters outside the URL-safe
    alphabet, no set unused bits. Variants of a token would otherwise each verify (and each
    get their own rate-limit budget); they get the 404 of any bad link instead."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not the canonical spelling")
    return data


def _sign(payload: bytes) -> bytes:
    return hmac.new(get_settings().link_secret.encode(), payload, hashlib.sha256).digest()


def make_token(agency_id: str, client_id: str, debtor_id: str, now: datetime,
               days: int = DEFAULT_DAYS) -> str:
    payload = json.dumps({"a": agency_id, "c": client_id, "d": debtor_id,
                          "i": int(now.timestamp()),
                          "x": int((now + timedelta(days=days)).timestamp()),
                          "l": secrets.token_urlsafe(9)}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_sign(payload))}"


def debtor_link(agency_id: str, client_id: str, debtor_id: str, now: datetime) -> str:
    """The hosted-page URL a message carries: {public_base_url}/d/{token}."""
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/d/{make_token(agency_id, client_id, debtor_id, now)}"


def issue(p, client_id: str, debtor_id: str, now: datetime) -> str:
    """A fresh link for staff to give the debtor (the API's POST .../link, the debtor view)."""
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    return debtor_link(p.agency_id, client_id, debtor_id, now)


def verify(token: str, now: datetime) -> Link:
    """Signature and expiry only (no database): LinkNotFound on any fault."""
    try:
        body, sig = token.split(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(sig), _sign(payload)):
            raise LinkNotFound()
        data = json.loads(payload)
        link = Link(str(data["a"]), str(data["c"]), str(data["d"]), str(data["l"]),
                    int(data["i"]), int(data["x"]))
    except LinkNotFound:
        raise
    except Exception:  # noqa: BLE001 - any malformed token is just "not found"
        raise LinkNotFound() from None
    if now.timestamp() >= link.expires_at:
        raise LinkNotFound()
    return link


def _revoked_key(link: Link) -> str:
    return f"{link.agency_id}#link-revoked#{link.link_id}"


def _revoked_before_key(agency_id: str, client_id: str, debtor_id: str) -> str:
    return f"{agency_id}#links-revoked-before#{client_id}#{debtor_id}"


def is_revoked(link: Link) -> bool:
    for key in (_revoked_key(link),
                _revoked_before_key(link.agency_id, link.client_id, link.debtor_id)):
        try:
            item = ClaimModel.get(key)
        except ClaimModel.DoesNotExist:
            continue
        before = (item.result or {}).get("before")
        if before is None or link.issued_at <= int(before):
            return True
    return False


def open_link(token: str, now: datetime) -> tuple[str, ClientModel, DebtorModel]:
    """(agency_id, client, debtor) for a valid link; LinkNotFound for everything else."""
    link = verify(token, now)
    if is_revoked(link):
        raise LinkNotFound()
    try:
        client = ClientModel.get(link.agency_id, link.client_id)
        debtor = DebtorModel.get(client_key(link.agency_id, link.client_id), link.debtor_id)
    except (ClientModel.DoesNotExist, DebtorModel.DoesNotExist):
        raise LinkNotFound() from None
    if client.archived:
        raise LinkNotFound()
    return link.agency_id, client, debtor


def revoke(token: str, now: datetime) -> None:
    """Revoke one link (e.g. sent to a wrong address)."""
    link = verify(token, now)
    ClaimModel(_revoked_key(link), status="done", result={}, created_at=iso(now)).save()


def revoke_all(agency_id: str, client_id: str, debtor_id: str, now: datetime) -> None:
    """Revoke every link of a debtor issued up to now."""
    ClaimModel(_revoked_before_key(agency_id, client_id, debtor_id), status="done",
               result={"before": int(now.timestamp())}, created_at=iso(now)).save()


def link_id_of(token: str) -> str:
    """A short stable id for a token (for CSRF binding and rate keys); never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


# --- rate limiting ------------------------------------------------------------------------
def _limit(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _hit(scope: str, subject: str, now: datetime) -> int:
    return rate.hit(scope, subject, now)


def check_rate(ip: str, token: str, now: datetime) -> None:
    """Per client IP and per token, per minute: RateLimited when over either limit."""
    retry_after = 60 - now.second
    if _hit("ip", ip or "unknown", now) > _limit("RECOUP_LINK_RATE_PER_IP", 120):
        raise RateLimited(retry_after)
    if _hit("token", token, now) > _limit("RECOUP_LINK_RATE_PER_TOKEN", 60):
        raise RateLimited(retry_after)
