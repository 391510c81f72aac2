"""Client portal pages (HTML, CSV): a client viewer reads its own business's report.

Sign-in is a POSTed form at /portal/login (a token never travels in a URL); headers, CSRF,
page sessions and error pages come from the page edge (chalicelib/http/pages.py)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response

from chalicelib.kernel import templating
from chalicelib.http import pages as edge
from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.exports import to_csv
from chalicelib.kernel.errors import Conflict, RecoupError, Unauthorised, ValidationFailed
from chalicelib.kernel.money import format_money
from chalicelib.http.access import load_client
from chalicelib.http.edge import validate
from chalicelib.http.schemas import CreditHoldIn, EscalationDecisionIn
from chalicelib.behaviour import credit
from chalicelib.reporting import client_portal
from chalicelib.workbench import escalations

bp = Blueprint(__name__)
COOKIE = "recoup_portal"
SURFACE = "portal"
SIGN_IN = edge.SignIn(SURFACE, COOKIE, "/portal", "/portal/login", "Lax")
P = "/portal/clients/{client_id}"


def portal_caller(req: Any) -> edge.Caller:
    """The one page-auth check: the API's JWT in the Authorization header, or the page
    session cookie set by signing in at /portal/login."""
    try:
        return edge.caller(req, COOKIE, utcnow(), surface=SURFACE)
    except Unauthorised:
        raise Unauthorised("please sign in with the token your agency gave you") from None


def portal_principal(req: Any) -> Principal:
    return portal_caller(req).principal


def html(name: str, status: int = 200, **context: Any) -> Response:
    nonce = edge.new_nonce()
    body = templating.render(f"client_portal/{name}", nonce=nonce, **context)
    return edge.html(body, status, nonce)


def error_page(err: RecoupError, csrf: str = "", here: str | None = None) -> Response:
    """The portal's error page; a 401 offers the sign-in form, coming back to `here`."""
    back = edge.safe_next(SIGN_IN, here) if err.status == 401 else None
    resp = html("error.html", status=err.status, message=err.message, code=err.status,
                csrf=csrf, signed_in=bool(csrf),
                login=f"/portal/login?{urlencode({'next': back})}" if back else "/portal/login")
    resp.headers.update(edge.error_extra(err))
    return resp


class PortalPage:
    """What a portal view gets: the caller, the query string, and `html` that gives the
    page's forms (logout) their CSRF token."""

    def __init__(self, p: Principal, q: dict, csrf: str) -> None:
        self.p, self.q, self.csrf = p, q, csrf

    def html(self, name: str, status: int = 200, **context: Any) -> Response:
        return html(name, status, csrf=self.csrf, signed_in=bool(self.csrf), **context)


def page(path: str, on: Blueprint = bp) -> Callable:
    """A portal page: authenticate, call the view, and turn errors into an HTML page.
    `on`: the blueprint of the module declaring it (importing that module declares it)."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def handler(**params: Any) -> Any:
            req = on.current_request
            try:
                c = portal_caller(req)
            except RecoupError as err:
                return error_page(err, here=edge.request_path(req))
            csrf = edge.session_csrf(c, SURFACE) if c.session else ""
            pg = PortalPage(c.principal, req.query_params or {}, csrf)
            return edge.run(lambda: view(pg, **params), lambda err: error_page(err, csrf))

        on.route(path, methods=["GET"])(handler)
        return handler

    return wrap


def form_post(path: str) -> Callable:
    """A portal form's POST: authenticate, check the CSRF token, check the client is the
    viewer's, then call the view with the form's fields; errors become an HTML page."""
    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def handler(client_id: str, **params: Any) -> Any:
            req = bp.current_request
            try:
                c = portal_caller(req)
            except RecoupError as err:
                return error_page(err)
            csrf = edge.session_csrf(c, SURFACE)
            pg = PortalPage(c.principal, {}, csrf)

            def run() -> Response:
                data = edge.form(req)
                edge.require_csrf(data.pop("csrf", None), csrf)
                load_client(c.principal, client_id, for_reports=True)
                return view(pg, data, client_id=client_id, **params)

            return edge.run(run, lambda err: error_page(err, csrf))

        bp.route(path, methods=["POST"], content_types=edge.FORM)(handler)
        return handler

    return wrap


def _login_page(status: int, csrf: str, error: str | None, next_path: str | None) -> Response:
    return html("login.html", status, csrf=csrf, error=error, next_path=next_path)


def _home_of(p: Principal) -> str:
    return f"/portal/clients/{quote(p.client_id)}" if p.client_id else "/portal"


@bp.route("/portal/login", methods=["GET"])
def login():
    """The sign-in form (a token in the query string is ignored: it never signs anyone in)."""
    q = bp.current_request.query_params or {}
    return edge.show_sign_in(SIGN_IN, _login_page, next_path=q.get("next"))


@bp.route("/portal/login", methods=["POST"], content_types=edge.FORM)
def login_post():
    """POST the token: a page session cookie (HttpOnly, SameSite=Lax, Secure when deployed)
    and the client's dashboard."""
    return edge.run(lambda: edge.sign_in(SIGN_IN, bp.current_request, utcnow(), _login_page,
                                         _home_of), error_page)


@bp.route("/portal/logout", methods=["POST"], content_types=edge.FORM)
def logout():
    return edge.run(lambda: edge.sign_out(SIGN_IN, bp.current_request, utcnow()), error_page)


@page("/portal")
def home(pg: PortalPage):
    if not pg.p.client_id:
        return pg.html("error.html", status=404, code=404,
                       message="the portal is for client viewers; agency staff use the "
                               "workspace")
    return edge.redirect(f"/portal/clients/{quote(pg.p.client_id)}")


@page(P)
def dashboard(pg: PortalPage, client_id: str):
    return pg.html("dashboard.html", **client_portal.dashboard(pg.p, client_id,
                                                               pg.q.get("as_of"),
                                                               today=utcnow().date()))


@page(P + "/debtors")
def debtors(pg: PortalPage, client_id: str):
    return pg.html("debtors.html", **client_portal.debtors(
        pg.p, client_id, q=pg.q.get("q"), sort=pg.q.get("sort"), page=pg.q.get("page")))


@page(P + "/debtors/{debtor_id}")
def debtor(pg: PortalPage, client_id: str, debtor_id: str):
    return pg.html("debtor.html", **client_portal.debtor(pg.p, client_id, debtor_id))


@page(P + "/monthly")
def monthly(pg: PortalPage, client_id: str):
    return pg.html("monthly.html", **client_portal.monthly(pg.p, client_id, pg.q.get("month"),
                                                           today=utcnow().date()))


@page(P + "/export/{table}")
def export(pg: PortalPage, client_id: str, table: str):
    header, rows = client_portal.table(pg.p, client_id, table, today=utcnow().date())
    resp_headers = edge.headers("csv", content_type="text/csv; charset=utf-8")
    resp_headers["Content-Disposition"] = f'attachment; filename="{table}.csv"'
    return Response(body=to_csv(header, rows), status_code=200, headers=resp_headers)


# ------------------------------------------- escalations: the client approves or declines
# (the same use case as POST /v1/portal/escalations/{id}/decision)
ESCALATION_STATES = {"proposed": "waiting for your decision", "approved": "approved by you",
                     "declined": "declined by you", "closed": "closed"}


def _escalations(pg: PortalPage, client_id: str, status: int = 200, *,
                 error: RecoupError | None = None, msg: str | None = None) -> Response:
    client = load_client(pg.p, client_id, for_reports=True)
    items = sorted(escalations.portal_list(pg.p)["items"],
                   key=lambda e: (e["status"] != "proposed", e["created_at"]))
    for e in items:
        e["state"] = ESCALATION_STATES.get(e["status"], e["status"])
        e["amount"] = format_money(e["amount_minor"], e["currency"])
        case = e.get("case") or {}
        if case.get("status"):
            e["state"] += " · " + case["status"].replace("_", " ")
    return pg.html("escalations.html", status, client=client, brand=client_portal.brand(client),
                   items=items, msg=msg or pg.q.get("msg"), error=error)


@page(P + "/escalations")
def escalations_page(pg: PortalPage, client_id: str):
    """Accounts the agency proposes to send to collections: approve or decline each."""
    return _escalations(pg, client_id)


@form_post(P + "/escalations/{escalation_id}/decision")
def decide_escalation(pg: PortalPage, data: dict, client_id: str, escalation_id: str):
    fields = {"decision": data.get("decision", "")}
    if (data.get("note") or "").strip():
        fields["note"] = data["note"]
    try:
        out = escalations.decide_as_client(pg.p, escalation_id,
                                           validate(EscalationDecisionIn, fields),
                                           now=utcnow())
    except (ValidationFailed, Conflict) as err:
        return _escalations(pg, client_id, err.status, error=err)
    said = ("approved: the agency sends a letter before action and chasing stops"
            if out["status"] == "approved" else "declined: the agency keeps chasing")
    return edge.redirect(f"/portal/clients/{quote(client_id)}/escalations?" + urlencode(
        {"msg": f"{out['debtor_name']}: {said}."}))


# ------------------------------------ credit: alerts, and the client approves a credit hold
# (the same use cases as the API: behaviour.credit.for_viewer and hold_as_client)


def _credit(pg: PortalPage, client_id: str, status: int = 200, *,
            error: RecoupError | None = None, msg: str | None = None) -> Response:
    client = load_client(pg.p, client_id, for_reports=True)
    view = credit.for_viewer(pg.p, client_id, now=utcnow())
    return pg.html("credit.html", status, client=client, brand=client_portal.brand(client),
                   accounts=view["accounts"], msg=msg or pg.q.get("msg"), error=error)


@page(P + "/credit")
def credit_page(pg: PortalPage, client_id: str):
    """Debtors over their credit limit or worse in risk, with the recommended hold."""
    return _credit(pg, client_id)


@form_post(P + "/credit/{debtor_id}/hold")
def credit_hold(pg: PortalPage, data: dict, client_id: str, debtor_id: str):
    try:
        out = credit.hold_as_client(pg.p, client_id, debtor_id,
                                    validate(CreditHoldIn, {"hold": data.get("hold") == "1"}),
                                    now=utcnow())
    except (ValidationFailed, Conflict) as err:
        return _credit(pg, client_id, err.status, error=err)
    said = ("on credit hold: no new orders on credit" if out["on_hold"]
            else "credit hold released")
    return edge.redirect(f"/portal/clients/{quote(client_id)}/credit?" + urlencode(
        {"msg": f"{out['debtor_name']}: {said}."}))
