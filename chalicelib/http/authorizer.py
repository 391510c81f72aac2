"""The bearer-token authorizer (a Chalice built-in authorizer, API Gateway in AWS)."""
from __future__ import annotations

from chalice import AuthResponse, Blueprint

from chalicelib.http.auth import verify_token
from chalicelib.kernel.errors import Unauthorised
from chalicelib.kernel.settings import get_settings

bp = Blueprint(__name__)


@bp.authorizer(ttl_seconds=0)
def bearer(auth_request):
    token = (auth_request.token or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    try:
        principal = verify_token(get_settings().jwt_secret, token)
    except Unauthorised:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal.user_id,
                        context=principal.to_context())
