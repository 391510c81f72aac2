"""The reply address each outgoing email carries: `reply+<token>@<client reply domain>`.

The token is a short HMAC (the link secret, so a missing secret fails closed as links do)
over agency, client and debtor: it names no id and cannot be guessed or altered. The
account is found again through `replyto#{token}` in `claims`, written when we send (like
`sesmsg#…` for bounces). A client without `settings["reply_domain"]` keeps its own
reply-to address (replies then do not reach Recoup)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime

from chalicelib.kernel import claims
from chalicelib.kernel.clock import iso
from chalicelib.kernel.settings import get_settings
from chalicelib.store.models import ClaimModel

_ADDRESS = re.compile(r"^reply\+([a-z2-7]{20})@([a-z0-9.-]+)$")


def token_for(agency_id: str, client_id: str, debtor_id: str) -> str:
    mac = hmac.new(get_settings().link_secret.encode(),
                   f"reply:{agency_id}:{client_id}:{debtor_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:20]  # 100 bits


def reply_domain(client) -> str | None:
    domain = ((client.settings or {}).get("reply_domain") or "").strip().lower()
    return domain if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain) else None


def for_account(client, ids: tuple[str, str, str], now: datetime) -> str | None:
    """The Reply-To for a message to this account (remembered so a reply finds it)."""
    domain = reply_domain(client)
    if domain is None:
        return client.reply_to
    token = token_for(*ids)
    key = f"replyto#{token}"
    if claims.lookup(key) is None:
        ClaimModel(key, status="done", created_at=iso(now),
                   result={"agency_id": ids[0], "client_id": ids[1], "debtor_id": ids[2]}).save()
    return f"reply+{token}@{domain}"


def resolve(address: str) -> tuple[str, str, str] | None:
    """The account a reply address names, or None (unknown, altered or not ours)."""
    m = _ADDRESS.match((address or "").strip().lower())
    if m is None:
        return None
    found = claims.lookup(f"replyto#{m.group(1)}")
    if found is None:
        return None
    ids = (found.result["agency_id"], found.result["client_id"], found.result["debtor_id"])
    if not hmac.compare_digest(token_for(*ids), m.group(1)):
        return None
    return ids
