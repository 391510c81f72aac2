"""The HTTP edge for server-rendered pages (workspace, client portal, debtor page).

One place for what every page needs:
- security headers: a CSP with a fresh nonce and `frame-ancestors 'none'`, nosniff,
  `Referrer-Policy: no-referrer`, `Cache-Control: no-store` (`headers`, `html`, `redirect`);
- reading the request: cookies, the bearer header, the form body, the caller's address;
- CSRF tokens (HMAC-bound to a session, a token or a link) compared as bytes, so a
  malformed or non-ASCII `csrf` value is a 403, never a 500 (`csrf_token`, `csrf_ok`);
- page sessions: sign-in by POST only (never a token in a URL), rate limited per address
  and per user (429 with Retry-After), a session cookie (HttpOnly, SameSite, Secure outside
  the local stages) holding a page session the API does not accept, with a maximum
  lifetime checked against the caller's `now`, ended server-side at logout;
- error pages: `run` turns RecoupErrors into the surface's error page with its status and
  anything unexpected into a 500 page (logged), never a stack trace;
- `/favicon.ico`, answered without auth.

Surfaces keep their own templates and their own auth model (the debtor page's signed link);
this module knows nothing about workspaces, portals or debtors.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import jwt
from chalice import Blueprint, Response

from chalicelib.http.auth import ISSUER, ROLES, Principal, verify_token
from chalicelib.kernel import rate
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import (
    Forbidden,
    RecoupError,
    Unauthorised,
    ValidationFailed,
)
from chalicelib.kernel.naming import is_local_stage
from chalicelib.kernel.settings import get_settings

log = logging.getLogger("recoup.pages")
bp = Blueprint(__name__)

HTML = "text/html; charset=utf-8"
FORM = ["application/x-www-form-urlencoded"]
SESSION_AUDIENCE = "recoup-pages"  # the API's verify_token refuses tokens with an audience
MAX_SESSION_SECONDS = 8 * 3600     # a page session never lives longer than this
CLOCK_SKEW_SECONDS = 60
LOGIN_CSRF_COOKIE = "recoup_login"  # double-submit token of the sign-in form


# --------------------------------------------------------------------------- headers


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def headers(nonce: str, *, content_type: str = HTML, form_action: str = "'self'",
            img_src: str = "'self' data:", private: bool = True) -> dict[str, str]:
    """The security headers every page sends (HTML, CSV and redirects alike)."""
    # scripts only with the page's nonce (progressive enhancement, e.g. the book upload's
    # progress); requests from them only to this origin
    csp = (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
           f"connect-src 'self'; img-src {img_src}; "
           f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'")
    out = {"Content-Type": content_type, "Content-Security-Policy": csp,
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY"}
    if private:
        out["Cache-Control"] = "no-store"
    return out


def html(body: str, status: int, nonce: str, *, extra: dict[str, str] | None = None,
         **policy: Any) -> Response:
    return Response(body=body, status_code=status, headers={**headers(nonce, **policy),
                                                            **(extra or {})})


def redirect(location: str, *, set_cookie: str | None = None, **policy: Any) -> Response:
    extra = {"Location": location}
    if set_cookie:
        extra["Set-Cookie"] = set_cookie
    return Response(body="", status_code=303, headers={**headers("r", **policy), **extra})


# --------------------------------------------------------------------------- the request


def _header(req: Any, name: str) -> str:
    value = (req.headers or {}).get(name)
    return value if isinstance(value, str) else ""


def cookies(req: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _header(req, "cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name and name not in out:
            out[name] = value.strip()
    return out


def bearer(req: Any) -> str:
    auth = _header(req, "authorization").strip()
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


def client_ip(req: Any) -> str:
    ctx = req.context or {}
    return (ctx.get("identity") or {}).get("sourceIp") or "unknown"


def request_path(req: Any) -> str:
    """This request's path and query (Chalice gives the route template: fill it in)."""
    path = req.path
    for name, value in (req.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    q = req.query_params or {}
    return path + (f"?{urlencode(q)}" if q else "")


def form_lists(req: Any) -> dict[str, list[str]]:
    """The urlencoded body, every value (bad bytes are replaced, never a 500)."""
    raw = req.raw_body or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        return parse_qs(text, keep_blank_values=True, max_num_fields=500)
    except ValueError:
        raise ValidationFailed.one("form", "has too many fields") from None


def form(req: Any) -> dict[str, str]:
    """The urlencoded body, first value of each field."""
    return {k: v[0] for k, v in form_lists(req).items()}


# --------------------------------------------------------------------------- CSRF


def csrf_token(key: str, purpose: str, subject: str) -> str:
    """A form token bound to `subject` (a session id, a token, a link) for one purpose."""
    msg = f"csrf:{purpose}:".encode() + subject.encode("utf-8", "replace")
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()[:32]


def csrf_ok(sent: Any, expected: str) -> bool:
    """Constant-time, as bytes: any str (non-ASCII, empty, huge) or a missing value is
    simply a mismatch."""
    if not isinstance(sent, str) or not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8"))


def require_csrf(sent: Any, expected: str) -> None:
    if not csrf_ok(sent, expected):
        raise Forbidden("the form expired; reload the page and try again")


# --------------------------------------------------------------------------- cookies


def cookie(name: str, value: str, *, path: str, max_age: int, same_site: str = "Strict",
           stage: str | None = None) -> str:
    """A Set-Cookie value: HttpOnly, SameSite, and Secure outside the local/test stages."""
    secure = "" if is_local_stage(stage) else "; Secure"
    return (f"{name}={value}; HttpOnly; Path={path}; SameSite={same_site}; "
            f"Max-Age={max(0, int(max_age))}{secure}")


def clear_cookie(name: str, *, path: str, same_site: str = "Strict") -> str:
    return cookie(name, "", path=path, max_age=0, same_site=same_site)


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class Caller:
    """Who is on the page, and what its forms' CSRF tokens are bound to."""
    principal: Principal
    csrf_subject: str
    session: str | None = None  # the session cookie value, if signed in by cookie


def _ended_key(agency_id: str, sid: str) -> str:
    return f"{agency_id}#page-session-ended#{sid}"


def start_session(token: str, now: datetime, *, surface: str) -> tuple[Principal, str, int]:
    """Check an API token posted to a sign-in form; (principal, session value, max-age).
    The session is a new HS256 token with its own id and an audience the API refuses;
    it ends at the earlier of the token's expiry and MAX_SESSION_SECONDS from now."""
    from chalicelib.http.access import require_active

    secret = get_settings().jwt_secret
    principal = require_active(verify_token(secret, token))
    issued = int(now.timestamp())
    expires = issued + MAX_SESSION_SECONDS
    token_exp = _unverified(token).get("exp")
    if isinstance(token_exp, int) and issued < token_exp < expires:
        expires = token_exp
    claims = {"iss": ISSUER, "aud": SESSION_AUDIENCE, "sub": principal.user_id,
              "agency": principal.agency_id, "role": principal.role, "srf": surface,
              "sid": uuid.uuid4().hex, "iat": issued, "exp": expires}
    if principal.client_id:
        claims["client"] = principal.client_id
    return principal, jwt.encode(claims, secret, algorithm="HS256"), expires - issued


def _session_claims(value: str, now: datetime, surface: str) -> dict:
    try:
        claims = jwt.decode(value, get_settings().jwt_secret, algorithms=["HS256"],
                            audience=SESSION_AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "sid"],
                                     "verify_exp": False, "verify_iat": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise Unauthorised("please sign in") from None
    ts = now.timestamp()
    iat, exp = claims.get("iat"), claims.get("exp")
    if (not isinstance(iat, int) or not isinstance(exp, int) or claims.get("srf") != surface
            or iat > ts + CLOCK_SKEW_SECONDS or ts >= exp
            or exp - iat > MAX_SESSION_SECONDS or ts - iat > MAX_SESSION_SECONDS):
        raise Unauthorised("your session has ended; please sign in again")
    if claims.get("role") not in ROLES or not claims.get("agency"):
        raise Unauthorised("please sign in")
    if claims["role"] == "client_viewer" and not claims.get("client"):
        raise Unauthorised("please sign in")
    return claims


def open_session(value: str, now: datetime, *, surface: str) -> Principal:
    """The principal of a session cookie; Unauthorised if forged, expired, older than the
    maximum lifetime, for another surface, or ended by logout."""
    from chalicelib.store.models import ClaimModel

    claims = _session_claims(value, now, surface)
    try:
        ClaimModel.get(_ended_key(claims["agency"], claims["sid"]))
    except ClaimModel.DoesNotExist:
        return Principal(agency_id=claims["agency"], user_id=claims["sub"],
                         role=claims["role"], client_id=claims.get("client"))
    raise Unauthorised("you signed out; please sign in again")


def end_session(value: str, now: datetime, *, surface: str) -> None:
    """Logout: the session id is recorded as ended, so a copy of the cookie stops working."""
    from chalicelib.store.models import ClaimModel

    try:
        claims = _session_claims(value, now, surface)
    except Unauthorised:
        return
    ClaimModel(_ended_key(claims["agency"], claims["sid"]), status="done",
               result={"exp": claims["exp"]}, created_at=iso(now)).save()


def caller(req: Any, cookie_name: str, now: datetime, *, surface: str) -> Caller:
    """The page's caller: `Authorization: Bearer <API token>` or the session cookie."""
    from chalicelib.http.access import require_active

    token = bearer(req)
    if token:
        return Caller(require_active(verify_token(get_settings().jwt_secret, token)),
                      "token:" + token)
    value = cookies(req).get(cookie_name, "")
    if not value:
        raise Unauthorised("please sign in")
    principal = require_active(open_session(value, now, surface=surface))
    return Caller(principal, "session:" + value, value)


def session_csrf(c: Caller, purpose: str) -> str:
    return csrf_token(get_settings().jwt_secret, purpose, c.csrf_subject)


# --------------------------------------------------------------------------- sign-in


class TooManyAttempts(RecoupError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many sign-in attempts. Please wait a minute and try again.")
        self.retry_after = retry_after


def _limit(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, str(default)))
    except ValueError:
        return default


def _unverified(token: str) -> dict:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def check_login_rate(ip: str, token: str, now: datetime) -> None:
    """Per address and per user (the user the posted token names, valid or not), per
    minute: TooManyAttempts once over either limit."""
    claims = _unverified(token)
    user = f"{claims.get('agency')}#{claims.get('sub')}" if claims.get("sub") else token[:64]
    if rate.hit("ip", ip, now, prefix="login") > _limit("RECOUP_LOGIN_RATE_PER_IP", 20):
        raise TooManyAttempts(rate.retry_after(now))
    if rate.hit("user", user, now, prefix="login") > _limit("RECOUP_LOGIN_RATE_PER_USER", 10):
        raise TooManyAttempts(rate.retry_after(now))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(18)


def login_csrf_ok(req: Any, sent: Any) -> bool:
    """Double-submit: the sign-in form's token equals the cookie set with the form."""
    return csrf_ok(sent, cookies(req).get(LOGIN_CSRF_COOKIE, ""))


@dataclass(frozen=True)
class SignIn:
    """A surface's sign-in: its session cookie, the path it is sent to, its login page."""
    surface: str
    cookie: str
    path: str
    login_path: str
    same_site: str = "Strict"


# (status, form csrf, error, the page to open after signing in)
LoginRender = Callable[[int, str, "str | None", "str | None"], Response]
_NEXT = re.compile(r"/[A-Za-z0-9/_.~?=&%-]{0,400}")


def safe_next(s: SignIn, value: Any) -> str | None:
    """A page of this surface to return to after signing in; None for anything else (other
    sites, other surfaces, odd characters): no open redirect."""
    if (isinstance(value, str) and _NEXT.fullmatch(value) and value.startswith(s.path + "/")
            and "//" not in value and ".." not in value and not value.startswith(s.login_path)):
        return value
    return None


def _with_cookie(resp: Response, set_cookie: str) -> Response:
    resp.headers["Set-Cookie"] = set_cookie
    return resp


def show_sign_in(s: SignIn, render: LoginRender, status: int = 200,
                 error: str | None = None, next_path: Any = None) -> Response:
    """The sign-in form, with a fresh double-submit token in a cookie only the form's POST
    receives. A token in the query string is ignored."""
    value = new_login_csrf()
    return _with_cookie(render(status, value, error, safe_next(s, next_path)),
                        cookie(LOGIN_CSRF_COOKIE, value, path=s.login_path, max_age=1800))


def sign_in(s: SignIn, req: Any, now: datetime, render: LoginRender,
            target: Callable[[Principal], str]) -> Response:
    """POST of the sign-in form: CSRF, rate limit, the token, then the session cookie."""
    try:
        data = form(req)
    except ValidationFailed:
        data = {}
    sent = data.get("csrf")
    next_path = safe_next(s, data.get("next"))
    if not login_csrf_ok(req, sent):
        return show_sign_in(s, render, 403, "The sign-in form expired. Please try again.",
                            next_path)
    token = (data.get("token") or "").strip()
    try:
        check_login_rate(client_ip(req), token, now)
    except TooManyAttempts as err:
        resp = render(429, sent, err.message, next_path)
        resp.headers["Retry-After"] = str(err.retry_after)
        return resp
    try:
        principal, value, max_age = start_session(token, now, surface=s.surface)
    except Unauthorised:
        return render(401, sent, "That token is not valid.", next_path)
    return redirect(next_path or target(principal), set_cookie=cookie(
        s.cookie, value, path=s.path, max_age=max_age, same_site=s.same_site))


def sign_out(s: SignIn, req: Any, now: datetime) -> Response:
    """POST logout: ends the session server-side and clears the cookie. Needs the page's
    CSRF token when a session cookie is present."""
    value = cookies(req).get(s.cookie, "")
    if value:
        try:
            sent = form(req).get("csrf")
        except ValidationFailed:
            sent = None
        expected = csrf_token(get_settings().jwt_secret, s.surface, "session:" + value)
        require_csrf(sent, expected)
        end_session(value, now, surface=s.surface)
    return redirect(s.login_path, set_cookie=clear_cookie(s.cookie, path=s.path,
                                                          same_site=s.same_site))


# --------------------------------------------------------------------------- errors


class PageBroke(RecoupError):
    status = 500
    code = "internal"

    def __init__(self) -> None:
        super().__init__("Something went wrong on our side. Please try again.")


def error_extra(err: RecoupError) -> dict[str, str]:
    retry = getattr(err, "retry_after", None)
    return {"Retry-After": str(retry)} if retry else {}


def run(view: Callable[[], Response], on_error: Callable[[RecoupError], Response]) -> Response:
    """Call the view; a RecoupError becomes the surface's error page with its status,
    anything else a logged 500 page."""
    try:
        return view()
    except RecoupError as err:
        return on_error(err)
    except Exception:  # a page never shows a stack trace
        log.exception("page failed")
        return on_error(PageBroke())


# --------------------------------------------------------------------------- favicon

FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           '<rect width="16" height="16" rx="3" fill="#1f4e79"/>'
           '<path d="M5 12V4h3.5a2.2 2.2 0 0 1 0 4.4H5m3.2 0L11 12" fill="none" '
           'stroke="#fff" stroke-width="1.6"/></svg>')


@bp.route("/favicon.ico", methods=["GET"])
def favicon():
    """The icon browsers ask every page for: no auth, cacheable."""
    return Response(body=FAVICON, status_code=200, headers={
        "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
