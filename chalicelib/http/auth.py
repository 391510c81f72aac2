"""Bearer tokens (JWT, HS256): who is calling, in which agency, with which role."""
from __future__ import annotations

from dataclasses import dataclass

import jwt

from chalicelib.kernel.clock import wall_seconds
from chalicelib.kernel.errors import Unauthorised

ROLES = ("admin", "specialist", "client_viewer")
ISSUER = "recoup"


@dataclass(frozen=True)
class Principal:
    agency_id: str
    user_id: str
    role: str
    client_id: str | None = None  # client viewers only

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_context(self) -> dict[str, str]:
        # API Gateway authorizer context values must be strings.
        return {"agency_id": self.agency_id, "user_id": self.user_id, "role": self.role,
                "client_id": self.client_id or ""}

    @classmethod
    def from_context(cls, ctx: dict) -> Principal:
        return cls(agency_id=ctx["agency_id"], user_id=ctx["user_id"], role=ctx["role"],
                   client_id=ctx.get("client_id") or None)


def mint_token(secret: str, principal: Principal, ttl_seconds: int = 8 * 3600,
               now: float | None = None) -> str:
    issued = int(now if now is not None else wall_seconds())
    claims = {"iss": ISSUER, "sub": principal.user_id, "agency": principal.agency_id,
              "role": principal.role, "iat": issued, "exp": issued + ttl_seconds}
    if principal.client_id:
        claims["client"] = principal.client_id
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                            options={"require": ["exp", "sub", "iss"]})
    except jwt.PyJWTError as exc:
        raise Unauthorised(f"invalid token: {exc}") from None
    role = claims.get("role")
    if role not in ROLES or not claims.get("agency"):
        raise Unauthorised("invalid token: missing agency or role")
    if role == "client_viewer" and not claims.get("client"):
        raise Unauthorised("invalid token: client viewer without client")
    return Principal(agency_id=claims["agency"], user_id=claims["sub"], role=role,
                     client_id=claims.get("client"))
