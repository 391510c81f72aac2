"""Client portal pages (HTML, CSV): a client viewer reads its own business's report."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib.kernel import templating
from chalicelib.kernel.clock import utcnow
from chalicelib.http.auth import Principal, verify_token
from chalicelib.kernel.exports import to_csv
from chalicelib.kernel.errors import RecoupError, Unauthorised
from chalicelib.reporting import client_portal
from chalicelib.kernel.settings import get_settings

bp = Blueprint(__name__)
COOKIE = "recoup_portal"
P = "/portal/clients/{client_id}"
ROUTES: list[str] = []  # every portal page, for the tenancy walk


def _cookie_token(header: str) -> str:
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""


def portal_principal(headers: Any) -> Principal:
    """The one page-auth check: the same JWT as the API, from the Authorization header or
    the HttpOnly cookie set by /portal/login."""
    auth = (headers.get("authorization") or "").strip()
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    token = token or _cookie_token(headers.get("cookie", ""))
    if not token:
        raise Unauthorised("sign in with the link your agency sent you")
    return verify_token(get_settings().jwt_secret, token)


def html(name: str, status: int = 200, **context: Any) -> Response:
    body = templating.render(f"client_portal/{name}", **context)
    return Response(body=body, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "img-src 'self' data:; form-action 'self'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def page(path: str) -> Callable:
    """A portal page: authenticate, call the view, and turn errors into an HTML page."""
    ROUTES.append(path)

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def handler(**params: Any) -> Any:
            req = bp.current_request
            try:
                return view(portal_principal(req.headers), req.query_params or {}, **params)
            except RecoupError as err:
                return html("error.html", status=err.status, message=err.message,
                            code=err.status)

        bp.route(path, methods=["GET"])(handler)
        return handler

    return wrap


@bp.route("/portal/login", methods=["GET"])
def login():
    """Local demo sign-in: keeps the token in an HttpOnly cookie and opens the dashboard."""
    token = (bp.current_request.query_params or {}).get("token", "")
    try:
        p = verify_token(get_settings().jwt_secret, token)
    except Unauthorised as err:
        return html("error.html", status=401, message=err.message, code=401)
    secure = "" if get_settings().stage in ("local", "test") else "; Secure"
    target = f"/portal/clients/{quote(p.client_id)}" if p.client_id else "/portal"
    return Response(body="", status_code=303, headers={
        "Location": target, "Cache-Control": "no-store",
        "Set-Cookie": f"{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/portal{secure}"})


@page("/portal")
def home(p: Principal, q: dict):
    if not p.client_id:
        return html("error.html", status=404, code=404,
                    message="the portal is for client viewers; agency staff use the workspace")
    return Response(body="", status_code=303,
                    headers={"Location": f"/portal/clients/{quote(p.client_id)}"})


@page(P)
def dashboard(p: Principal, q: dict, client_id: str):
    return html("dashboard.html", **client_portal.dashboard(p, client_id, q.get("as_of"),
                                                             today=utcnow().date()))


@page(P + "/debtors")
def debtors(p: Principal, q: dict, client_id: str):
    return html("debtors.html", **client_portal.debtors(p, client_id, q.get("cursor")))


@page(P + "/monthly")
def monthly(p: Principal, q: dict, client_id: str):
    return html("monthly.html", **client_portal.monthly(p, client_id, q.get("month"),
                                                         today=utcnow().date()))


@page(P + "/export/{table}")
def export(p: Principal, q: dict, client_id: str, table: str):
    header, rows = client_portal.table(p, client_id, table, today=utcnow().date())
    return Response(body=to_csv(header, rows), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{table}.csv"'})
