"""Call scripts: what a specialist says on a call, chosen for the task's situation
(``call_rules.script_situation``), filled with the debtor's facts in the debtor's locale and
shown on the call task with the likely objections and suggested answers.

The product's scripts are ``templates/calls/<situation>.txt.j2``; a client may override one.
Every edit is a new version (``CallScriptModel``: who, when), the latest is live; a template
that does not compile or render is refused (422 naming the field and Jinja's error). Client
text only ever runs in the one sandbox of ``dunning.messages``.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SecurityError

from chalicelib.book import debtors
from chalicelib.dunning import messages
from chalicelib.dunning import planner
from chalicelib.http.access import load_client, require_admin, require_staff
from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import NotFound, ValidationFailed
from chalicelib.kernel.validation import display_phone
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import ClientModel, ContactModel, DebtorModel, InvoiceModel
from chalicelib.workbench import call_rules as calls
from chalicelib.workbench import disputes, escalations, tasks
from chalicelib.workbench import versions as versions_store
from chalicelib.workbench.models import (
    CallScriptModel,
    DisputeModel,
    EscalationModel,
    PromiseModel,
)

log = logging.getLogger("recoup.call_scripts")
CHASED = ("open", "part_paid")  # owed and not held: what the call asks for


# ------------------------------------------------------------------------------ versions


def _check(situation: str) -> str:
    if situation not in calls.SITUATION_TITLES:
        raise NotFound("call script")
    return situation


def template_name(situation: str) -> str:
    return f"calls/{situation}.txt.j2"


def default_template(situation: str) -> str:
    return (messages.TEMPLATES / template_name(situation)).read_text(encoding="utf-8")


def versions(agency_id: str, client_id: str, situation: str,
             limit: int | None = None) -> list[CallScriptModel]:
    """The client's versions of one script, newest first."""
    return versions_store.history(CallScriptModel, client_key(agency_id, client_id),
                                  f"script#{situation}#", limit=limit)


def live_version(agency_id: str, client_id: str, situation: str) -> CallScriptModel | None:
    found = versions(agency_id, client_id, situation, limit=1)
    return found[0] if found else None


def _render_version(m: CallScriptModel) -> dict:
    return {"version": int(m.number), "template": m.template, "objections": m.objections,
            "note": m.note, "created_by": m.created_by, "created_at": m.created_at,
            "source": "client" if m.template is not None or m.objections is not None
            else "default"}


def _objection_dicts(objs) -> list[dict]:
    return [{"objection": o.objection, "answer": o.answer} for o in objs]


def _summary(situation: str, live: CallScriptModel | None) -> dict:
    own = live is not None and (live.template is not None or live.objections is not None)
    return {"situation": situation, "title": calls.SITUATION_TITLES[situation],
            "source": "client" if own else "default",
            "version": int(live.number) if live else None,
            "updated_by": live.created_by if live else None,
            "updated_at": live.created_at if live else None,
            "template": live.template if live and live.template is not None
            else default_template(situation),
            "objections": live.objections if live and live.objections is not None
            else _objection_dicts(calls.objections_for(situation))}


def list_scripts(p: Principal, client_id: str) -> dict:
    """Every situation's live script for this client (staff read; admins edit)."""
    require_staff(p)
    load_client(p, client_id)
    return {"items": [_summary(s, live_version(p.agency_id, client_id, s))
                      for s in calls.SITUATIONS], "next_cursor": None}


def get_script(p: Principal, client_id: str, situation: str) -> dict:
    """The live script and every version, newest first."""
    require_staff(p)
    load_client(p, client_id)
    _check(situation)
    found = versions(p.agency_id, client_id, situation)
    return {**_summary(situation, found[0] if found else None),
            "versions": [_render_version(m) for m in found]}


def save_script(p: Principal, client_id: str, situation: str, data, *, now: datetime) -> dict:
    """A new version (admin): ``template``/``objections`` None restore the product's own."""
    require_admin(p)
    load_client(p, client_id)
    _check(situation)
    objections = [o.model_dump() for o in data.objections] if data.objections is not None \
        else None
    check_script(data.template, objections)
    ckey = client_key(p.agency_id, client_id)
    versions_store.append(CallScriptModel, ckey, f"script#{situation}#", lambda number, key:
                          CallScriptModel(ckey, key, situation=situation, number=number,
                                          template=data.template, objections=objections,
                                          note=data.note, created_by=p.user_id,
                                          created_at=iso(now)))
    return get_script(p, client_id, situation)


# ---------------------------------------------------------------------------- validation

_SAMPLE_PROMISE = {"amount": "£1,200.00", "date": "1 Dec 2026", "status": "broken",
                   "broken": True, "paid": "£0.00", "paid_any": False}
SAMPLE = {"brand": {"display_name": "Acme Ltd", "agency_name": "Recoup", "signature": None,
                    "sign_off": "Recoup, on behalf of Acme Ltd",
                    "sender": "ar@example.com", "reply_to": None, "logo_url": None,
                    "payment_terms": None},
          "debtor_name": "Bramble Bakery", "contact_name": "Jo Bloggs",
          "invoices": [{"number": "INV-1", "due": "1 Oct 2026", "amount": "£1,200.00",
                        "days_overdue": 55, "overdue": True}],
          "total": "£1,200.00", "overdue_total": "£1,200.00", "overdue_count": 1,
          "link": "https://pay.example.com/d/token", "opt_out_link": "", "tone": "firm",
          "reminded_before": True, "today": "25 November 2026",
          "oldest": {"number": "INV-1", "due": "1 Oct 2026", "amount": "£1,200.00",
                     "days_overdue": 55, "overdue": True},
          "days_overdue": 55, "promise": _SAMPLE_PROMISE, "broken_promises": 1,
          "dispute": {"invoice_number": "INV-2", "reason": "pricing", "status": "open"},
          "disputes": [{"invoice_number": "INV-2", "reason": "pricing", "status": "open"}],
          "escalation_proposed": False, "situation": "first_call",
          "reasons": ["cadence step"]}
# The same account with nothing optional: no contact, promise, dispute or overdue invoice.
SAMPLE_BARE = {**SAMPLE, "contact_name": None, "invoices": [], "oldest": None,
               "days_overdue": 0, "promise": None, "broken_promises": 0, "dispute": None,
               "disputes": [], "overdue_count": 0, "reasons": []}


@lru_cache(maxsize=1)
def _strict():
    # Unknown names fail in the check only (a typo is refused before it is saved).
    return messages.sandbox({}).overlay(undefined=StrictUndefined)


def template_problem(exc: Exception) -> str:
    """A template's fault in a person's words (line and message, or the sandbox's refusal)."""
    if isinstance(exc, TemplateSyntaxError):
        return f"line {exc.lineno}: {exc.message}"
    if isinstance(exc, SecurityError):
        return f"unsafe: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _check_text(field: str, text: str) -> None:
    try:
        _strict().from_string(text).render(SAMPLE)
        messages.sandbox({}).from_string(text).render(SAMPLE_BARE)
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as exc:
        raise ValidationFailed.one(field, template_problem(exc)) from None


def check_script(template: str | None, objections: list[dict] | None) -> None:
    """Refuse (422 naming the field and Jinja's error) a script or answer that does not
    compile, uses an unknown name, or fails on an account with nothing optional."""
    if template is not None:
        _check_text("template", template)
    for n, o in enumerate(objections or []):
        _check_text(f"objections.{n}.answer", o["answer"])


# ------------------------------------------------------------------------- on the task


def phones(contacts: list[dict], region: str | None) -> list[dict]:
    """The numbers to call (rendered contacts), primary first, formatted as dialled from
    `region` (the client's country); a contact who opted out of calls is marked."""
    order = sorted((c for c in contacts if c.get("phone")),
                   key=lambda c: (c.get("role") != "primary", c.get("name") or "", c["id"]))
    return [{"contact_id": c["id"], "name": c.get("name"), "role": c.get("role") or "primary",
             "phone": c["phone"], "display": display_phone(c["phone"], region),
             "callable": "call" not in (c.get("opted_out") or [])} for c in order]


def _day(value: str, loc) -> str:
    return format_date(date.fromisoformat(value[:10]), "medium", locale=loc)


def _facts(client: ClientModel, debtor: DebtorModel, contacts: list[ContactModel],
           task: dict, now: datetime) -> tuple[dict, calls.ScriptFacts]:
    agency_id, client_id = debtor.client_key.split("#", 1)
    dkey = debtor_key(agency_id, client_id, debtor.debtor_id)
    owed = [i for i in InvoiceModel.query(dkey)
            if i.status in CHASED and int(i.balance_minor) > 0]
    primary = next((c for c in sorted(contacts, key=lambda c: c.role != "primary")
                    if c.name), None)
    tz = planner.time_zone(client, debtor, contacts)
    ctx = messages.context(client, debtor, owed, now, tz,
                           contact_name=primary.name if primary else None, channel="call")
    loc = messages.locale_for(client, debtor)
    overdue = [r for r in ctx["invoices"] if r["overdue"]]
    oldest = overdue[0] if overdue else None
    made = list(PromiseModel.query(dkey))
    promise = max(made, key=lambda m: m.created_at, default=None)
    promise_ctx = None
    if promise is not None:
        paid = int(promise.paid_minor or 0)
        promise_ctx = {"amount": messages.money(int(promise.amount_minor), promise.currency, loc),
                       "date": _day(promise.promised_for, loc), "status": promise.status,
                       "broken": promise.status == "broken",
                       "paid": messages.money(paid, promise.currency, loc), "paid_any": paid > 0}
    open_disputes = [{"invoice_number": m.invoice_number,
                      "reason": m.reason.replace("_", " "), "status": m.status.replace("_", " ")}
                     for m in DisputeModel.query(dkey) if m.status in disputes.OPEN]
    try:
        esc = EscalationModel.get(debtor.client_key, escalations.escalation_id_for(
            debtor.debtor_id))
        proposed = esc.status == "proposed"
    except EscalationModel.DoesNotExist:
        proposed = False
    reasons = [str(r.get("reason")).replace("_", " ") for r in task.get("reasons") or []
               if not str(r.get("reason") or "").startswith("closed: ")]
    ctx.update(oldest=oldest, days_overdue=oldest["days_overdue"] if oldest else 0,
               promise=promise_ctx, dispute=open_disputes[0] if open_disputes else None,
               disputes=open_disputes, escalation_proposed=proposed, reasons=reasons,
               broken_promises=sum(1 for m in made if m.status == "broken"))
    return ctx, calls.ScriptFacts(last_promise_broken=bool(promise_ctx and promise_ctx["broken"]),
                                  escalation_proposed=proposed)


def fill(env, situation: str, template: str | None, objections: list[dict] | None,
         ctx: dict) -> tuple[str, list[dict]]:
    tpl = env.from_string(template) if template is not None \
        else env.get_template(template_name(situation))
    text = re.sub(r"\n{3,}", "\n\n", tpl.render(ctx).strip()) + "\n"
    objs = objections if objections is not None else _objection_dicts(
        calls.objections_for(situation))
    return text, [{"objection": o["objection"],
                   "answer": env.from_string(o["answer"]).render(ctx).strip()} for o in objs]


def script_for(client: ClientModel, debtor: DebtorModel, contacts: list[ContactModel],
               task: dict, now: datetime) -> dict:
    """The script for an open task: situation and why, the filled text, objections with
    answers, the numbers to call and where to log the outcome."""
    agency_id, client_id = client.agency_id, client.client_id
    ctx, facts = _facts(client, debtor, contacts, task, now)
    situation, why = calls.script_situation(task.get("reasons") or [], facts)
    ctx["situation"] = situation
    live = live_version(agency_id, client_id, situation)
    template = live.template if live else None
    objections = live.objections if live else None
    fallback = None
    try:
        text, objs = fill(messages.sandbox({}), situation, template, objections, ctx)
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as exc:
        if template is None and objections is None:
            raise
        # A saved script passed the check; if this account's facts still break it, the
        # specialist gets ours rather than no script.
        log.warning("client %s call script %s failed; using the default", client_id, situation)
        fallback = template_problem(exc)
        text, objs = fill(messages.sandbox({}), situation, None, None, ctx)
    task_path = f"/clients/{client_id}/tasks/{task['id']}"
    return {"situation": situation, "title": calls.SITUATION_TITLES[situation], "why": why,
            "source": "client" if (template is not None or objections is not None)
            and fallback is None else "default",
            "version": int(live.number) if live else None, "fallback": fallback,
            "text": text, "objections": objs,
            "facts": {k: ctx[k] for k in ("debtor_name", "contact_name", "overdue_total",
                                          "overdue_count", "oldest", "days_overdue", "promise",
                                          "dispute", "escalation_proposed")},
            "phones": phones([debtors.render_contact(c) for c in contacts], client.country),
            "outcomes": list(calls.OUTCOMES),
            "outcome_form": f"/w{task_path}#outcome-form", "outcome_api": f"/v1{task_path}/outcome"}


def for_task(agency_id: str, client_id: str, task: dict, now: datetime) -> dict:
    """The task with its script (the task page, the debtor view and GET task)."""
    client = ClientModel.get(agency_id, client_id)
    debtor = DebtorModel.get(client_key(agency_id, client_id), task["debtor_id"])
    contacts = list(ContactModel.query(debtor_key(agency_id, client_id, task["debtor_id"])))
    return {**task, "script": script_for(client, debtor, contacts, task, now)}


def get_task(p: Principal, client_id: str, task_id: str, now: datetime) -> dict:
    """GET task: the task (tenancy and role checked there) with its call script."""
    return for_task(p.agency_id, client_id, tasks.get_task(p, client_id, task_id, now=now), now)
