"""Workspace pages for specialists (server-rendered): queue, take next, debtor view, outcomes.

Pages take the same JWT as the API, from the Authorization header or from an HttpOnly cookie
set by /w/login. API Gateway's authorizer only reads the header, so pages check the token
themselves in one place (`_principal`); forms carry a CSRF token derived from the cookie.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from datetime import datetime
from urllib.parse import parse_qs, quote, urlencode
from zoneinfo import ZoneInfo

from chalice import Blueprint, Response

from chalicelib.kernel import templating
from chalicelib.http.auth import Principal, verify_token
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.money import MoneyError, parse_major
from chalicelib.kernel.errors import Forbidden, RecoupError, Unauthorised, ValidationFailed
from chalicelib.http.edge import validate
from chalicelib.http.schemas import OutcomeIn
from chalicelib.book import debtors
from chalicelib.workbench import disputes, escalations, outcomes, promises, tasks
from chalicelib.http.access import require_staff
from chalicelib.store import timeline as timeline_svc
from chalicelib.kernel.settings import get_settings
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ClientModel, InvoiceModel
from chalicelib.workbench.models import EscalationModel

bp = Blueprint(__name__)
COOKIE = "recoup_token"
FORM = ["application/x-www-form-urlencoded"]


# -------------------------------------------------------------------------------- plumbing


def _cookies() -> dict[str, str]:
    raw = (bp.current_request.headers or {}).get("cookie", "")
    out = {}
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def _token() -> str:
    header = (bp.current_request.headers or {}).get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return _cookies().get(COOKIE, "")


def _principal() -> Principal:
    """The page's caller, from the Authorization header or the login cookie."""
    return verify_token(get_settings().jwt_secret, _token())


def _csrf(token: str) -> str:
    return hmac.new(get_settings().jwt_secret.encode(), b"csrf:" + token.encode(),
                    hashlib.sha256).hexdigest()[:32]


def _form() -> dict[str, str]:
    raw = bp.current_request.raw_body or b""
    data = {k: v[0] for k, v in parse_qs(raw.decode() if isinstance(raw, bytes) else raw,
                                         keep_blank_values=False).items()}
    if not hmac.compare_digest(data.pop("csrf", ""), _csrf(_token())):
        raise Forbidden("the form expired; reload the page")
    return data


def _html(template: str, status: int = 200, **ctx) -> Response:
    body = templating.render(f"workspace/{template}", **ctx)
    return Response(body=body, status_code=status,
                    headers={"Content-Type": "text/html; charset=utf-8",
                             "Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _redirect(location: str, **headers: str) -> Response:
    return Response(body="", status_code=303, headers={"Location": location, **headers})


def page(view):
    """Authenticate, render RecoupErrors as an error page with their status."""
    @functools.wraps(view)
    def handler(**params):
        try:
            p = _principal()
        except Unauthorised:
            return _redirect("/w/login")
        try:
            if p.role == "client_viewer":
                raise Forbidden("the workspace is for agency staff")
            require_staff(p)
            return view(p, **params)
        except RecoupError as err:
            return _html("error.html", err.status, p=p, error=err, csrf="")
    return handler


def _ctx(p: Principal, **extra) -> dict:
    q = bp.current_request.query_params or {}
    return {"p": p, "csrf": _csrf(_token()), "msg": q.get("msg"), **extra}


# ------------------------------------------------------------------------------ the pages


@bp.route("/w/login", methods=["GET"])
def login():
    """Local demo: /w/login?token=... stores the token in an HttpOnly cookie."""
    token = (bp.current_request.query_params or {}).get("token", "")
    if not token:
        return _html("login.html", p=None, csrf="")
    try:
        verify_token(get_settings().jwt_secret, token)
    except Unauthorised:
        return _html("login.html", 401, p=None, csrf="", error="That token is not valid.")
    return _redirect("/w/queue", **{"Set-Cookie": f"{COOKIE}={token}; HttpOnly; Path=/w; "
                                                  "SameSite=Strict; Max-Age=28800"})


@bp.route("/w/logout", methods=["GET"])
def logout():
    return _redirect("/w/login", **{"Set-Cookie": f"{COOKIE}=; HttpOnly; Path=/w; "
                                                  "SameSite=Strict; Max-Age=0"})


@bp.route("/w/queue", methods=["GET"])
@page
def queue(p):
    now = utcnow()
    items = tasks.list_queue(p, limit=100, now=now)["items"]
    return _html("queue.html", **_ctx(p, items=items, now=now))


@bp.route("/w/next", methods=["POST"], content_types=FORM)
@page
def take_next(p):
    _form()
    task = tasks.take_next(p, now=utcnow())
    if task is None:
        return _redirect("/w/queue?" + urlencode({"msg": "Nobody in your queue may be called "
                                                          "right now."}))
    return _redirect(f"/w/clients/{task['client_id']}/tasks/{quote(task['id'])}")


def _debtor_view(p: Principal, client_id: str, debtor_id: str, task: dict | None = None,
                 errors: list | None = None, form: dict | None = None, status: int = 200):
    client, d = debtors.load_debtor(p, client_id, debtor_id)
    dkey = debtor_key(p.agency_id, client_id, debtor_id)
    invoices = sorted(InvoiceModel.query(dkey), key=lambda i: i.due_date)
    entries = timeline_svc.list_entries(p.agency_id, client_id, debtor_id, limit=40,
                                        cursor=None)["items"]
    return _html("debtor.html", status, **_ctx(
        p, client=client, debtor=debtors.render(d), invoices=invoices,
        contacts=debtors.get_debtor(p, client_id, debtor_id)["contacts"], timeline=entries,
        notes=[e for e in entries if e["kind"] == "note"],
        plans=[e for e in entries if e["kind"].startswith("plan")],
        promises=promises.list_promises(p.agency_id, client_id, debtor_id),
        disputes=disputes.list_disputes(p, client_id, debtor_id)["items"], task=task,
        outcomes=outcomes.LABELS, dispute_reasons=disputes.REASONS, errors=errors or [],
        form=form or {}))


@bp.route("/w/clients/{client_id}/debtors/{debtor_id}", methods=["GET"])
@page
def debtor(p, client_id, debtor_id):
    debtors.load_debtor(p, client_id, debtor_id)  # tenancy first, before any task detail
    slot = tasks.open_task_for(p.agency_id, client_id, debtor_id)
    return _debtor_view(p, client_id, debtor_id, tasks.render(slot, utcnow()) if slot else None)


@bp.route("/w/clients/{client_id}/tasks/{task_id}", methods=["GET"])
@page
def task_page(p, client_id, task_id):
    task = tasks.get_task(p, client_id, task_id, now=utcnow())
    return _debtor_view(p, client_id, task["debtor_id"], task)


def _outcome_from_form(form: dict, currency: str, tz: str) -> OutcomeIn:
    data: dict = {k: v for k, v in form.items() if v.strip()}
    refusal = data.pop("refusal", None)
    if data.get("outcome") != "dispute":
        data.pop("reason", None)
    if data.get("outcome") == "refuses_to_pay" and refusal:
        data["reason"] = refusal
    for name in ("amount",):
        if name in data:
            try:
                data["amount_minor"] = parse_major(data.pop(name), currency)
            except MoneyError as exc:
                raise ValidationFailed.one("amount", str(exc)) from None
    if "at_local" in data:
        try:
            local = datetime.fromisoformat(data.pop("at_local"))
        except ValueError:
            raise ValidationFailed.one("at", "must be a date and time") from None
        data["at"] = local.replace(tzinfo=ZoneInfo(tz)).isoformat()
    if "instalments" in data:
        data["instalments"] = int(data["instalments"]) if data["instalments"].isdigit() else -1
    return validate(OutcomeIn, data)


@bp.route("/w/clients/{client_id}/tasks/{task_id}/outcome", methods=["POST"],
          content_types=FORM)
@page
def log_outcome(p, client_id, task_id):
    form = _form()
    now = utcnow()
    task = tasks.get_task(p, client_id, task_id, now=now)
    client = ClientModel.get(p.agency_id, client_id)
    try:
        data = _outcome_from_form(form, client.currency, task["timezone"] or client.timezone)
        result = outcomes.log_outcome(p, client_id, task_id, data, now=now)
    except ValidationFailed as err:
        return _debtor_view(p, client_id, task["debtor_id"], task, errors=err.fields or [
            type("F", (), {"field": "form", "reason": err.message})()], form=form, status=422)
    msg = f"{task['debtor_name']}: {outcomes.LABELS[data.outcome]}. {result['next_action']['note']}"
    return _redirect("/w/queue?" + urlencode({"msg": msg}))


@bp.route("/w/escalations", methods=["GET"])
@page
def escalations_page(p):
    clients = tasks._clients_of(p, None)
    items = []
    for client_id in clients:
        for m in EscalationModel.query(f"{p.agency_id}#{client_id}",
                                       filter_condition=EscalationModel.status == "proposed"):
            items.append({**escalations.render(m), "client_id": client_id})
    return _html("escalations.html", **_ctx(p, items=items))
