"""The bearer-token authorizer (a Chalice built-in authorizer, API Gateway in AWS).

Fail closed: the gateway refuses every request whose `Authorization` header is not exactly
`Bearer <valid token>` before any view runs. API Gateway's own refusal bodies differ from
ours, so the stack configures gateway responses (UNAUTHORIZED for a missing header,
ACCESS_DENIED for a refused token) that answer 401 with UNAUTHORISED_BODY; local stages
mirror them (local/gateway.py), so every stage answers the same 401."""
from __future__ import annotations

import json

from chalice import AuthResponse, Blueprint

from chalicelib.http.access import require_active
from chalicelib.http.auth import verify_token
from chalicelib.kernel.errors import Unauthorised
from chalicelib.kernel.settings import get_settings

bp = Blueprint(__name__)

UNAUTHORISED_BODY = Unauthorised(
    "send a valid token as 'Authorization: Bearer <token>'").to_dict()


def gateway_responses() -> dict[str, dict]:
    """API Gateway response overrides (type -> status and body), for the stack and the local
    mirror alike."""
    body = json.dumps(UNAUTHORISED_BODY, separators=(",", ":"))
    return {kind: {"status": 401, "body": body,
                   "headers": {"Content-Type": "application/json"}}
            for kind in ("UNAUTHORIZED", "ACCESS_DENIED")}


def token_of(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other form."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@bp.authorizer(ttl_seconds=0)
def bearer(auth_request):
    token = token_of(auth_request.token)
    if token is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    try:
        principal = require_active(verify_token(get_settings().jwt_secret, token))
    except Unauthorised:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal.user_id,
                        context=principal.to_context())
