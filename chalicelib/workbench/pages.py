"""Workspace pages for specialists (server-rendered): queue, take next, debtor view, outcomes.

Pages take the same JWT as the API in the Authorization header, or a page session cookie
set by signing in at /w/login (a POSTed form: a token never travels in a URL). Headers,
CSRF, sessions and error pages come from the page edge (chalicelib/http/pages.py).
"""
from __future__ import annotations

import functools
import json
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from chalice import Blueprint, Response

from chalicelib.kernel import templating
from chalicelib.http import pages as edge
from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.money import MoneyError, format_money, parse_major
from chalicelib.kernel.errors import Forbidden, RecoupError, Unauthorised, ValidationFailed
from chalicelib.http.edge import validate
from chalicelib.http.schemas import OutcomeIn, PreviewIn, ReplyConfirmIn, SendIn
from chalicelib.agency import clients as agency_clients
from chalicelib.dunning import preview as dry_run
from chalicelib.behaviour import profiles as behaviour_profiles
from chalicelib.dunning import sender as sender_identity
from chalicelib.book import debtors
from chalicelib.dunning import manual
from chalicelib.workbench import call_scripts, disputes, escalations, outcomes, promises, tasks
from chalicelib.workbench import reply_proposals
from chalicelib.http.access import require_staff
from chalicelib.store import timeline as timeline_svc
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ClientModel, InvoiceModel
from chalicelib.workbench.models import EscalationModel

bp = Blueprint(__name__)
COOKIE = "recoup_token"
SURFACE = "workspace"
SIGN_IN = edge.SignIn(SURFACE, COOKIE, "/w", "/w/login", "Strict")
FORM = edge.FORM


# -------------------------------------------------------------------------------- plumbing


def _caller() -> edge.Caller:
    return edge.caller(bp.current_request, COOKIE, utcnow(), surface=SURFACE)


def _csrf(c: edge.Caller) -> str:
    return edge.session_csrf(c, SURFACE)


def _form(c: edge.Caller) -> dict[str, str]:
    data = edge.form(bp.current_request)
    edge.require_csrf(data.pop("csrf", None), _csrf(c))
    return data


def _html(template: str, status: int = 200, **ctx) -> Response:
    nonce = edge.new_nonce()
    body = templating.render(f"workspace/{template}", nonce=nonce, **ctx)
    return edge.html(body, status, nonce)


def _redirect(location: str, **headers: str) -> Response:
    return edge.redirect(location, set_cookie=headers.get("Set-Cookie"))


def _error(err: RecoupError, p: Principal | None = None, csrf: str = "") -> Response:
    resp = _html("error.html", err.status, p=p, error=err, csrf=csrf)
    resp.headers.update(edge.error_extra(err))
    return resp


def page(view):
    """Authenticate, render RecoupErrors as an error page with their status."""
    @functools.wraps(view)
    def handler(**params):
        try:
            c = _caller()
        except Unauthorised:
            back = edge.safe_next(SIGN_IN, edge.request_path(bp.current_request))
            if back is None or back == "/w/queue":
                return _redirect("/w/login")
            return _redirect("/w/login?" + urlencode({"next": back}))
        p = c.principal

        def run():
            if p.role == "client_viewer":
                raise Forbidden("the workspace is for agency staff")
            require_staff(p)
            return view(c, **params)
        return edge.run(run, lambda err: _error(err, p, _csrf(c)))
    return handler


def _ctx(c: edge.Caller, **extra) -> dict:
    q = bp.current_request.query_params or {}
    return {"p": c.principal, "csrf": _csrf(c), "msg": q.get("msg"), **extra}


# ------------------------------------------------------------------------------ the pages


def _login_page(status: int, csrf: str, error: str | None, next_path: str | None) -> Response:
    return _html("login.html", status, p=None, csrf=csrf, error=error, next_path=next_path)


@bp.route("/w/login", methods=["GET"])
def login():
    """The sign-in form (a token in the query string is ignored: it never signs anyone in)."""
    q = bp.current_request.query_params or {}
    return edge.show_sign_in(SIGN_IN, _login_page, next_path=q.get("next"))


@bp.route("/w/login", methods=["POST"], content_types=FORM)
def login_post():
    """POST the token: a page session cookie (HttpOnly, SameSite=Strict, Secure when
    deployed) and the queue."""
    return edge.run(lambda: edge.sign_in(SIGN_IN, bp.current_request, utcnow(), _login_page,
                                         lambda p: "/w/queue"), _error)


@bp.route("/w/logout", methods=["POST"], content_types=FORM)
def logout():
    return edge.run(lambda: edge.sign_out(SIGN_IN, bp.current_request, utcnow()), _error)


@bp.route("/w/queue", methods=["GET"])
@page
def queue(c):
    now = utcnow()
    items = tasks.list_queue(c.principal, limit=100, now=now)["items"]
    return _html("queue.html", **_ctx(c, items=items, now=now))


@bp.route("/w/next", methods=["POST"], content_types=FORM)
@page
def take_next(c):
    _form(c)
    task = tasks.take_next(c.principal, now=utcnow())
    if task is None:
        return _redirect("/w/queue?" + urlencode({"msg": "Nobody in your queue may be called "
                                                          "right now."}))
    return _redirect(f"/w/clients/{task['client_id']}/tasks/{quote(task['id'])}")


def _debtor_view(c: edge.Caller, client_id: str, debtor_id: str, task: dict | None = None,
                 errors: list | None = None, form: dict | None = None, status: int = 200,
                 send: dict | None = None):
    p = c.principal
    client, d = debtors.load_debtor(p, client_id, debtor_id)
    dkey = debtor_key(p.agency_id, client_id, debtor_id)
    invoices = sorted(InvoiceModel.query(dkey), key=lambda i: i.due_date)
    entries = timeline_svc.list_entries(p.agency_id, client_id, debtor_id, limit=40,
                                        cursor=None)["items"]
    contacts = debtors.get_debtor(p, client_id, debtor_id)["contacts"]
    return _html("debtor.html", status, **_ctx(
        c, client=client, debtor=debtors.render(d), invoices=invoices,
        contacts=contacts, phones=call_scripts.phones(contacts, client.country),
        timeline=entries,
        notes=[e for e in entries if e["kind"] == "note"],
        plans=[e for e in entries if e["kind"].startswith("plan")],
        promises=promises.list_promises(p.agency_id, client_id, debtor_id),
        disputes=disputes.list_disputes(p, client_id, debtor_id)["items"], task=task,
        behaviour=behaviour_profiles.view(d, utcnow()),
        outcomes=outcomes.LABELS, dispute_reasons=disputes.REASONS, errors=errors or [],
        form=form or {}, send=_send_panel(client, d, **(send or {})),
        reply=reply_proposals.pending(p, client_id, debtor_id)))


def _send_panel(client, d, *, form: dict | None = None, preview: dict | None = None,
                errors: list | None = None) -> dict:
    """The "Send now" form: its choices, the last preview and a fresh send id (so a double
    click on Send sends once)."""
    return {"templates": manual.templates(client, d), "channels": manual.CHANNELS,
            "override_allowed": manual.override_allowed(client, d),
            "form": form or {}, "preview": preview, "errors": errors or [],
            "send_id": secrets.token_urlsafe(12)}


def _send_from_form(form: dict) -> SendIn:
    data: dict = {"kind": form.get("kind") or "reminder",
                  "channel": form.get("channel") or "email",
                  "override_window": form.get("override_window") == "1"}
    if data["kind"] == "reminder" and (form.get("template") or "").strip():
        data["template"] = form["template"].strip()
    if (form.get("send_id") or "").strip():
        data["idempotency_key"] = form["send_id"].strip()
    return validate(SendIn, data)


def _problems(err: RecoupError) -> list:
    return err.fields or [type("F", (), {"field": "form", "reason": err.message})()]


@bp.route("/w/clients/{client_id}/debtors/{debtor_id}/sends/preview", methods=["POST"],
          content_types=FORM)
@page
def preview_send(c, client_id, debtor_id):
    """Render the chosen reminder or statement as it would go now (nothing is sent)."""
    form = _form(c)
    try:
        view = manual.preview(c.principal, client_id, debtor_id, _send_from_form(form),
                              now=utcnow())
    except (ValidationFailed, manual.SendRefused) as err:
        return _debtor_view(c, client_id, debtor_id, status=err.status,
                            send={"form": form, "errors": _problems(err)})
    return _debtor_view(c, client_id, debtor_id, send={"form": form, "preview": view})


@bp.route("/w/clients/{client_id}/debtors/{debtor_id}/sends", methods=["POST"],
          content_types=FORM)
@page
def send_now(c, client_id, debtor_id):
    """Send the previewed message now (once per send id); refused with the reason."""
    form = _form(c)
    try:
        result = manual.send(c.principal, client_id, debtor_id, _send_from_form(form),
                             now=utcnow())
    except (ValidationFailed, manual.SendRefused) as err:
        return _debtor_view(c, client_id, debtor_id, status=err.status,
                            send={"form": form, "errors": _problems(err)})
    what = {"email": "Email", "sms": "SMS", "letter": "Letter"}[result["channel"]]
    msg = {"sent": f"{what} sent" + (f" to {result['to']}" if result["to"] else "") + ".",
           "already_sent": f"{what} was sent already; not sent again.",
           "in_flight": f"{what} is being sent.",
           "unknown": f"{what} may or may not have been sent; not sent again."}[result["outcome"]]
    return _redirect(f"/w/clients/{client_id}/debtors/{debtor_id}?" + urlencode({"msg": msg}))


@bp.route("/w/clients/{client_id}/debtors/{debtor_id}", methods=["GET"])
@page
def debtor(c, client_id, debtor_id):
    p = c.principal
    debtors.load_debtor(p, client_id, debtor_id)  # tenancy first, before any task detail
    slot = tasks.open_task_for(p.agency_id, client_id, debtor_id)
    now = utcnow()
    task = call_scripts.for_task(p.agency_id, client_id, tasks.render(slot, now), now) \
        if slot else None
    return _debtor_view(c, client_id, debtor_id, task)


@bp.route("/w/clients/{client_id}/tasks/{task_id}", methods=["GET"])
@page
def task_page(c, client_id, task_id):
    task = call_scripts.get_task(c.principal, client_id, task_id, now=utcnow())
    return _debtor_view(c, client_id, task["debtor_id"], task)


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
        raw = data["instalments"]
        data["instalments"] = int(raw) if raw.isascii() and raw.isdigit() else -1
    return validate(OutcomeIn, data)


@bp.route("/w/clients/{client_id}/tasks/{task_id}/outcome", methods=["POST"],
          content_types=FORM)
@page
def log_outcome(c, client_id, task_id):
    p = c.principal
    form = _form(c)
    now = utcnow()
    task = tasks.get_task(p, client_id, task_id, now=now)
    client = ClientModel.get(p.agency_id, client_id)
    try:
        data = _outcome_from_form(form, client.currency, task["timezone"] or client.timezone)
        result = outcomes.log_outcome(p, client_id, task_id, data, now=now)
    except ValidationFailed as err:
        task = call_scripts.for_task(p.agency_id, client_id, task, now)
        return _debtor_view(c, client_id, task["debtor_id"], task, errors=err.fields or [
            type("F", (), {"field": "form", "reason": err.message})()], form=form, status=422)
    msg = f"{task['debtor_name']}: {outcomes.LABELS[data.outcome]}. {result['next_action']['note']}"
    return _redirect("/w/queue?" + urlencode({"msg": msg}))


@bp.route("/w/escalations", methods=["GET"])
@page
def escalations_page(c):
    p = c.principal
    clients = tasks._clients_of(p, None)
    items = []
    for client_id in clients:
        for m in EscalationModel.query(f"{p.agency_id}#{client_id}",
                                       filter_condition=EscalationModel.status == "proposed"):
            items.append({**escalations.render(m), "client_id": client_id})
    return _html("escalations.html", **_ctx(c, items=items))


# --------------------------------------------------------------- clients, dry run, activation


@bp.route("/w/clients", methods=["GET"])
@page
def clients_page(c):
    items = agency_clients.list_clients(c.principal, limit=200, cursor=None)["items"]
    return _html("clients.html", **_ctx(c, items=items))


def _preview_page(c: edge.Caller, client_id: str, form: dict, status: int = 200,
                  errors: list | None = None) -> Response:
    p = c.principal
    client = agency_clients.get_client(p, client_id)
    dry = None
    if not errors:
        data: dict = {"days": form.get("days") or 14, "messages": 200}
        if (form.get("cadence") or "").strip():
            try:
                data["cadence"] = json.loads(form["cadence"])
            except ValueError as exc:
                raise ValidationFailed.one("cadence", f"is not JSON: {exc}") from None
        try:
            dry = dry_run.for_principal(p, client_id, validate(PreviewIn, data), now=utcnow())
        except ValidationFailed as err:
            errors, status = err.fields, 422
    return _html("preview.html", status, **_ctx(c, client=client, dry=dry, form=form,
                                                 errors=errors or []))


@bp.route("/w/clients/{client_id}/preview", methods=["GET"])
@page
def preview_page(c, client_id):
    return _preview_page(c, client_id, dict(bp.current_request.query_params or {}))


@bp.route("/w/clients/{client_id}/preview", methods=["POST"], content_types=FORM)
@page
def preview_proposed(c, client_id):
    """Preview a proposed cadence (POSTed: a cadence is too long for a URL)."""
    return _preview_page(c, client_id, _form(c))


@bp.route("/w/clients/{client_id}/chasing", methods=["POST"], content_types=FORM)
@page
def chasing_mode(c, client_id):
    form = _form(c)
    mode = form.get("mode", "")
    client = agency_clients.set_chasing(c.principal, client_id, mode, now=utcnow())
    said = ("Chasing is live: the first messages go at the next tick." if mode == "active"
            else "Back in preview: nothing will be sent.")
    return _redirect(f"/w/clients/{client_id}/preview?" + urlencode(
        {"msg": f"{client['name']}: {said}"}))


@bp.route("/w/clients/{client_id}/sender", methods=["POST"], content_types=FORM)
@page
def check_sender(c, client_id):
    _form(c)
    client = sender_identity.for_principal(c.principal, client_id, now=utcnow())
    said = {"verified": "verified: email steps go.",
            "pending": "waiting for its owner to click the link SES emailed them; email "
                       "steps are held."}.get(client["sender_status"],
                                              f"{client['sender_status']}; email steps are held.")
    return _redirect("/w/clients?" + urlencode(
        {"msg": f"{client['name']}: sender {client['sender_email']} is {said}"}))


# ------------------------------------------- a debtor's reply: confirm its proposal, handled
# (the proposal is shown on the debtor view: templates/workspace/_reply.html)
REPLY = "/w/clients/{client_id}/debtors/{debtor_id}/replies/{reply_id}"


def _back_to_debtor(client_id: str, debtor_id: str, msg: str) -> Response:
    return _redirect(f"/w/clients/{client_id}/debtors/{debtor_id}?" + urlencode({"msg": msg}))


@bp.route(REPLY + "/confirm", methods=["POST"], content_types=FORM)
@page
def confirm_reply(c, client_id, debtor_id, reply_id):
    """One click: the promise or dispute the reply proposes (form fields may correct it)."""
    p = c.principal
    form = {k: v for k, v in _form(c).items() if v.strip()}
    _, d = debtors.load_debtor(p, client_id, debtor_id)
    if "amount" in form:
        try:
            form["amount_minor"] = parse_major(form.pop("amount"), d.currency)
        except MoneyError as exc:
            raise ValidationFailed.one("amount", str(exc)) from None
    out = reply_proposals.confirm(p, client_id, debtor_id, reply_id,
                                  validate(ReplyConfirmIn, form), now=utcnow())
    if out["promise"]:
        pr = out["promise"]
        msg = (f"Promise of {format_money(pr['amount_minor'], pr['currency'])} by "
               f"{pr['promised_for']} recorded; the reply is handled.")
    else:
        msg = f"Dispute opened on invoice {out['dispute']['invoice_number']}; the reply is handled."
    return _back_to_debtor(client_id, debtor_id, msg)


@bp.route(REPLY + "/handled", methods=["POST"], content_types=FORM)
@page
def reply_handled(c, client_id, debtor_id, reply_id):
    _form(c)
    reply_proposals.mark_handled(c.principal, client_id, debtor_id, reply_id, now=utcnow())
    return _back_to_debtor(client_id, debtor_id, "Reply handled: chasing resumes.")
