"""Workspace pages for specialists (server-rendered): queue, take next, debtor view, outcomes.

Pages take the same JWT as the API in the Authorization header, or a page session cookie
set by signing in at /w/login (a POSTed form: a token never travels in a URL). Headers,
CSRF, sessions and error pages come from the page edge (chalicelib/http/pages.py).
"""
from __future__ import annotations

import functools
import json
import re
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
from chalicelib.kernel.errors import (Conflict, FieldProblem, Forbidden, NotFound, RecoupError,
                                     Unauthorised, ValidationFailed)
from chalicelib.http.edge import validate
from chalicelib.http.schemas import (DisputePatch, EscalationProposeIn, NoteIn, OutcomeIn,
                                     PaymentIn, PreviewIn, ReplyConfirmIn, SendIn)
from chalicelib.agency import clients as agency_clients
from chalicelib.dunning import preview as dry_run
from chalicelib.behaviour import credit as behaviour_credit
from chalicelib.behaviour import profiles as behaviour_profiles
from chalicelib.dunning import sender as sender_identity
from chalicelib.dunning.step_labels import humane_summary, template_label
from chalicelib.book import debtors
from chalicelib.book import search as debtor_search
from chalicelib.dunning import manual
from chalicelib.dunning import planner as dunning_plan
from chalicelib.payments import ledger, links, plans as payment_plans
from chalicelib.workbench import call_scripts, disputes, escalations, outcomes, promises, tasks
from chalicelib.workbench import reply_proposals
from chalicelib.http.access import require_staff
from chalicelib.store import timeline as timeline_svc
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ClientModel, ContactModel, InvoiceModel, UserModel

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


def _who(p: Principal | None) -> str | None:
    """The header's name for the caller (one user read per page); the id if none is stored."""
    if p is None:
        return None
    try:
        return agency_clients.me(p)["name"] or p.user_id
    except NotFound:
        return p.user_id


def _staff_names(agency_id: str, ids: set) -> dict[str, str]:
    """Who did it, by name (a timeline line reads "Alex Admin", not "u-admin"); ids that
    are not users (import, dispatch, debtor) stay as they are. One query of the agency's
    users."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.user_id: u.name for u in UserModel.query(agency_id) if u.user_id in wanted}


def _html(template: str, status: int = 200, **ctx) -> Response:
    nonce = edge.new_nonce()
    if "who" not in ctx:
        ctx["who"] = _who(ctx.get("p"))
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
                 send: dict | None = None, act: dict | None = None):
    p = c.principal
    client, d = debtors.load_debtor(p, client_id, debtor_id)
    dkey = debtor_key(p.agency_id, client_id, debtor_id)
    invoices = sorted(InvoiceModel.query(dkey), key=lambda i: i.due_date)
    entries = [{**e, "summary": humane_summary(e["summary"], e.get("data"))}
               if e["kind"] == "touch_sent" else e
               for e in timeline_svc.list_entries(p.agency_id, client_id, debtor_id, limit=40,
                                                  cursor=None)["items"]]
    names = _staff_names(p.agency_id, {e.get("actor") for e in entries})
    for e in entries:
        e["actor"] = names.get(e.get("actor"), e.get("actor"))
    contacts = debtors.get_debtor(p, client_id, debtor_id)["contacts"]
    # the zone chasing uses, and whether it is a guess to confirm with the debtor
    tz, tz_source, tz_guess = dunning_plan.zone_and_source(
        client, d, list(ContactModel.query(dkey)))
    return _html("debtor.html", status, **_ctx(
        c, client=client, debtor=debtors.render(d), invoices=invoices,
        contacts=contacts, phones=call_scripts.phones(contacts, client.country),
        timeline=entries,
        notes=[e for e in entries if e["kind"] == "note"],
        plans=[e for e in entries if e["kind"].startswith("plan")],
        promises=promises.list_promises(p.agency_id, client_id, debtor_id),
        disputes=disputes.list_disputes(p, client_id, debtor_id)["items"], task=task,
        behaviour=behaviour_profiles.view(d, utcnow()),
        credit=behaviour_credit.debtor_credit(client, d, utcnow(), invoices=invoices),
        outcomes=outcomes.LABELS, dispute_reasons=disputes.REASONS, errors=errors or [],
        form=form or {}, send=_send_panel(client, d, **(send or {})),
        zone={"tz": tz, "source": tz_source, "guess": tz_guess},
        reply=reply_proposals.pending(p, client_id, debtor_id),
        work=_work_panel(p, client, d, act or {})))


def _work_panel(p: Principal, client, d, act: dict) -> dict:
    """The debtor view's action forms: what they need, and the one that was just refused
    (`act`: name, errors, form) or just answered (a pay link)."""
    return {"act": act.get("name"), "errors": act.get("errors") or [],
            "form": act.get("form") or {}, "pay_link": act.get("pay_link"),
            "today": utcnow().astimezone(ZoneInfo(d.timezone or client.timezone)).date()
            .isoformat(),  # the day a payment arrived, as the debtor's books see it
            "methods": ("transfer", "cheque", "cash", "card_offline", "other"),
            "payments": sorted(ledger.list_payments(p.agency_id, client.client_id,
                                                     d.debtor_id),
                               key=lambda x: x["created_at"] or "", reverse=True)[:10],
            "plans": payment_plans.list_plans(p.agency_id, client.client_id, d.debtor_id),
            "escalation": escalations.for_debtor(p.agency_id, client.client_id, d.debtor_id),
            "dispute_statuses": (("waiting_on_client", "waiting on the client"),
                                 ("resolved_for_debtor", "resolved for the debtor (credit note)"),
                                 ("resolved_for_client", "resolved for the client (owed)"))}


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
    """A refusal's problems by field, for a form (a refusal without fields names the form)."""
    return list(err.fields or [FieldProblem("form", err.message)])


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


ESCALATION_STATES = {"proposed": "awaiting the client's decision",
                     "approved": "approved: with collections", "declined": "declined by the client",
                     "closed": "closed"}
CASE_STATES = {"open": "case open", "letter_sent": "letter before action sent",
               "in_recovery": "in recovery", "recovered": "recovered", "closed": "case closed"}


def _tracking(e: dict) -> str:
    """One line of where an escalation stands (its status, then its case's)."""
    said = ESCALATION_STATES.get(e["status"], e["status"])
    case = e.get("case") or {}
    if e["status"] == "approved" and case.get("status"):
        said = CASE_STATES.get(case["status"], case["status"])
        if case.get("recoveries_minor"):
            said += f" ({format_money(int(case['recoveries_minor']), e['currency'])} recovered)"
    return said


@bp.route("/w/escalations", methods=["GET"])
@page
def escalations_page(c):
    """Every escalation of the caller's clients with where it stands; ?status= filters."""
    p = c.principal
    want = (bp.current_request.query_params or {}).get("status") or None
    if want and want not in ESCALATION_STATES:
        raise ValidationFailed.one("status", "must be one of " + ", ".join(ESCALATION_STATES))
    items = []
    for client in agency_clients.list_clients(p, limit=200, cursor=None)["items"]:
        for e in escalations.list_escalations(p, client["id"])["items"]:
            case = e.get("case") or {}
            state = case.get("status") if e["status"] == "approved" else e["status"]
            items.append({**e, "client_id": client["id"], "client_name": client["name"],
                          "tracking": _tracking(e), "state": state or e["status"]})
    items.sort(key=lambda e: (e["status"] != "proposed", e["created_at"]))
    counts = {k: sum(1 for e in items if e["status"] == k) for k in ESCALATION_STATES}
    items = [e for e in items if want is None or e["status"] == want]
    return _html("escalations.html", **_ctx(c, items=items, want=want, counts=counts,
                                            states=ESCALATION_STATES))


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
                                                 errors=errors or [],
                                                 template_label=template_label))


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


# ----------------------------------------------------- the debtor view's actions (same use
# cases as the JSON API: payments, pay link, notes, escalation, plans, disputes)
DEBTOR = "/w/clients/{client_id}/debtors/{debtor_id}"
REFUSED = (ValidationFailed, Conflict)


def _refused(c: edge.Caller, client_id: str, debtor_id: str, name: str, err: RecoupError,
             form: dict) -> Response:
    """The debtor view again, the refused form kept, its problems named by field."""
    return _debtor_view(c, client_id, debtor_id, status=err.status,
                        act={"name": name, "errors": _problems(err), "form": form})


_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")


def _minor(form: dict, field: str, currency: str, *, required: bool,
           name: str | None = None) -> int | None:
    """Major units as typed ("1,000.50" too: thousands grouped with commas) -> minor; the
    form's `name` field, refusals naming `field`."""
    raw = (form.get(name or field) or "").strip()
    if not raw:
        if required:
            raise ValidationFailed.one(field, "is required")
        return None
    if _GROUPED.fullmatch(raw):
        raw = raw.replace(",", "")
    try:
        return parse_major(raw, currency)
    except MoneyError as exc:
        raise ValidationFailed.one(field, str(exc)) from None


@bp.route(DEBTOR + "/payments", methods=["POST"], content_types=FORM)
@page
def record_payment(c, client_id, debtor_id):
    """A payment received outside Stripe: amount in pounds (or the debtor's currency), the
    day it arrived and the bank reference; the same payment entered twice is applied once."""
    form = _form(c)
    _, d = debtors.load_debtor(c.principal, client_id, debtor_id)
    try:
        given = {k: form[k].strip() for k in ("received_on", "method", "reference")
                 if (form.get(k) or "").strip()}
        data = validate(PaymentIn, {
            "amount_minor": _minor(form, "amount", d.currency, required=True,
                                   name="payment_amount"),
            "currency": d.currency, **given})
        out = ledger.record_received(c.principal, client_id, debtor_id, data, now=utcnow())
    except REFUSED as err:
        return _refused(c, client_id, debtor_id, "payment", err, form)
    amount = format_money(out["amount_minor"], out["currency"])
    msg = (f"That payment ({amount}, reference {out['reference']}) was recorded already; "
           "not applied again." if out.get("replayed")
           else f"Payment of {amount} recorded (received {out['received_on']}).")
    return _back_to_debtor(client_id, debtor_id, msg)


@bp.route(DEBTOR + "/link", methods=["POST"], content_types=FORM)
@page
def pay_link(c, client_id, debtor_id):
    """A fresh pay link to read out or paste (not put in a URL: the page shows it)."""
    _form(c)
    url = links.issue(c.principal, client_id, debtor_id, utcnow())
    return _debtor_view(c, client_id, debtor_id, act={"name": "link", "pay_link": url})


@bp.route(DEBTOR + "/notes", methods=["POST"], content_types=FORM)
@page
def add_note(c, client_id, debtor_id):
    form = _form(c)
    try:
        data = validate(NoteIn, {"text": form.get("text", "")})
        debtors.add_note(c.principal, client_id, debtor_id, data.text, now=utcnow())
    except REFUSED as err:
        return _refused(c, client_id, debtor_id, "note", err, form)
    return _back_to_debtor(client_id, debtor_id, "Note added.")


@bp.route(DEBTOR + "/escalation", methods=["POST"], content_types=FORM)
@page
def propose_escalation(c, client_id, debtor_id):
    form = _form(c)
    try:
        data = validate(EscalationProposeIn, {"reason": form.get("reason", "")})
        escalations.propose_by_staff(c.principal, client_id, debtor_id, data.reason,
                                     now=utcnow())
    except REFUSED as err:
        return _refused(c, client_id, debtor_id, "escalation", err, form)
    return _back_to_debtor(client_id, debtor_id, "Proposed for collections: the client "
                                                 "decides in their portal.")


@bp.route(DEBTOR + "/plans/{plan_id}/{decision}", methods=["POST"], content_types=FORM)
@page
def decide_plan(c, client_id, debtor_id, plan_id, decision):
    form = _form(c)
    if decision not in ("approve", "decline"):
        raise NotFound("page")
    p = c.principal
    _, d = debtors.load_debtor(p, client_id, debtor_id)
    decide = payment_plans.approve_plan if decision == "approve" else payment_plans.decline_plan
    try:
        decide(p.agency_id, client_id, d, plan_id, actor=p.user_id, now=utcnow())
    except REFUSED as err:
        return _refused(c, client_id, debtor_id, "plan", err, form)
    return _back_to_debtor(client_id, debtor_id, "Payment plan approved: chasing pauses while "
                                                 "it is kept." if decision == "approve" else
                           "Payment plan declined: chasing goes on.")


@bp.route(DEBTOR + "/disputes/{dispute_id}", methods=["POST"], content_types=FORM)
@page
def update_dispute(c, client_id, debtor_id, dispute_id):
    form = _form(c)
    _, d = debtors.load_debtor(c.principal, client_id, debtor_id)
    try:
        data = {"status": form.get("status") or None, "note": form.get("note") or None}
        credit = _minor(form, "credit", d.currency, required=False)
        if credit is not None:
            data["credit_minor"] = credit
        out = disputes.update_dispute(c.principal, client_id, debtor_id, dispute_id,
                                      validate(DisputePatch, data), now=utcnow())
    except REFUSED as err:
        return _refused(c, client_id, debtor_id, f"dispute:{dispute_id}", err, form)
    said = out["status"].replace("_", " ")
    if out["status"] == "resolved_for_debtor":
        said += f", credit note {format_money(out['credit_minor'], d.currency)}"
    return _back_to_debtor(client_id, debtor_id,
                           f"Dispute on invoice {out['invoice_number']}: {said}.")


# ------------------------------------------------------------------ search across clients


@bp.route("/w/search", methods=["GET"])
@page
def search_page(c):
    """Find a debtor who calls in: invoice number, account ref, name, email or phone."""
    q = (bp.current_request.query_params or {}).get("q", "")
    found, errors = None, []
    if q.strip():
        try:
            found = debtor_search.search(c.principal, q)
        except ValidationFailed as err:
            errors = err.fields
    return _html("search.html", 422 if errors else 200, **_ctx(c, q=q, found=found,
                                                               errors=errors))
