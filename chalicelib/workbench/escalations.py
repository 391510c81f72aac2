"""Escalation to collections: rules propose accounts, the client decides, an approved account
gets a letter before action, leaves the cadence and becomes a tracked case."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.kernel import events, templating
from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import iso
from chalicelib.payments import charge_rules as charges
from chalicelib.book.invoice_rules import OWED
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.store import accounts, timeline
from chalicelib.workbench import tasks
from chalicelib.http.access import load_client, require_admin, require_staff
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import ClientModel, ContactModel, DebtorModel, InvoiceModel
from chalicelib.workbench.models import EscalationModel

DEFAULT_RULES = {"days_past_due": 90, "min_amount_minor": 50_000, "broken_promises": 2}


def rules_of(client: ClientModel) -> dict | None:
    """The client's escalation rules, or None if the client does not escalate."""
    rules = (client.settings or {}).get("escalation")
    if rules is None or rules is False or (isinstance(rules, dict) and not rules.get(
            "enabled", True)):
        return None
    return {**DEFAULT_RULES, **(rules if isinstance(rules, dict) else {})}


def escalation_id_for(debtor_id: str) -> str:
    return "e" + debtor_id  # one proposal per account: a declined one is not proposed again


def render(m: EscalationModel, *, with_letter: bool = False) -> dict:
    out = {"id": m.escalation_id, "debtor_id": m.debtor_id, "debtor_name": m.debtor_name,
           "status": m.status, "rules": list(m.rules or []), "amount_minor": int(m.amount_minor),
           "currency": m.currency, "decided_by": m.decided_by, "decided_at": m.decided_at,
           "decision_note": m.decision_note, "case": m.case, "created_at": m.created_at}
    if m.letter:
        out["letter"] = m.letter if with_letter else {k: v for k, v in m.letter.items()
                                                      if k != "html"}
    return out


def propose(agency_id: str, client_id: str, debtor_id: str, rules: list[str], *,
            now: datetime) -> dict | None:
    """Propose the account for collections (idempotent per account)."""
    return _propose(agency_id, client_id, debtor_id, rules, now)[0]


def propose_by_staff(p: Principal, client_id: str, debtor_id: str, reason: str, *,
                     now: datetime) -> dict:
    """A specialist proposes the account for collections (page and API); the client decides
    in its portal. Refused when nothing is owed, or the account was proposed before (one
    proposal per account: a declined one is not proposed again)."""
    require_staff(p)
    load_client(p, client_id)
    try:
        debtor = DebtorModel.get(client_key(p.agency_id, client_id), debtor_id)
    except DebtorModel.DoesNotExist:
        raise NotFound("debtor") from None
    if int(debtor.balance_minor) <= 0:
        raise Conflict("nothing is owed on this account")
    proposed, created = _propose(p.agency_id, client_id, debtor_id, [reason], now,
                                 actor=p.user_id)
    if not created:
        raise Conflict(f"this account was proposed before and is {proposed['status']}")
    return proposed


def _propose(agency_id: str, client_id: str, debtor_id: str, rules: list[str],
             now: datetime, actor: str = "system") -> tuple[dict | None, bool]:
    try:
        debtor = DebtorModel.get(client_key(agency_id, client_id), debtor_id)
    except DebtorModel.DoesNotExist:
        return None, False
    m = EscalationModel(client_key(agency_id, client_id), escalation_id_for(debtor_id),
                        debtor_id=debtor_id, debtor_name=debtor.name, rules=rules,
                        amount_minor=int(debtor.balance_minor), currency=debtor.currency,
                        created_at=iso(now), updated_at=iso(now))
    try:
        m.save(condition=EscalationModel.escalation_id.does_not_exist())
    except PutError:
        return render(EscalationModel.get(m.client_key, m.escalation_id)), False
    timeline.record(agency_id, client_id, debtor_id, "escalation_proposed",
                    "Proposed for collections: " + "; ".join(rules), actor=actor, at=now,
                    data={"escalation_id": m.escalation_id})
    _announce(m, agency_id, client_id, "requested", iso(now))
    return render(m), True


def _announce(m: EscalationModel, agency_id: str, client_id: str, status: str, at: str,
              recovered_minor: int = 0, seq: int | str = "") -> None:
    """escalation_changed (reports count escalations and recoveries from it); the event id
    is derived from the change, so a retried request announces it once."""
    events.publish("escalation_changed", agency_id=agency_id, client_id=client_id,
                   debtor_id=m.debtor_id, escalation_id=m.escalation_id, status=status,
                   recovered_minor=recovered_minor, at=at,
                   event_id=f"{agency_id}#ev#esc-{m.escalation_id}-{status}{seq}")


def evaluate_client(agency_id: str, client_id: str, *, now: datetime) -> list[dict]:
    """Apply the client's rules: reads only invoices overdue past the threshold (sparse index)
    and the call slots of those accounts."""
    client = ClientModel.get(agency_id, client_id)
    rules = rules_of(client)
    if rules is None:
        return []
    cutoff = (now.date() - timedelta(days=int(rules["days_past_due"]))).isoformat()
    owed: dict[str, int] = {}
    ckey = client_key(agency_id, client_id)
    for inv in InvoiceModel.open_by_due.query(ckey, InvoiceModel.due_sort <= cutoff + "#\uffff"):
        if inv.status != "disputed":
            owed[inv.debtor_id] = owed.get(inv.debtor_id, 0) + int(inv.balance_minor)
    out = []
    for debtor_id, amount in sorted(owed.items()):
        if amount < int(rules["min_amount_minor"]):
            continue
        reasons = [f"{format_money(amount, client.currency)} more than "
                   f"{rules['days_past_due']} days past due"]
        proposed, created = _propose(agency_id, client_id, debtor_id, reasons, now)
        if created:
            out.append(proposed)
    return out


def on_broken_promise(agency_id: str, client_id: str, debtor_id: str, now: datetime) -> None:
    client = ClientModel.get(agency_id, client_id)
    rules = rules_of(client)
    slot = tasks._load_slot(client_key(agency_id, client_id), debtor_id)
    if rules and slot and int(slot.broken_promises or 0) >= int(rules["broken_promises"]):
        propose(agency_id, client_id, debtor_id,
                [f"{int(slot.broken_promises)} broken promises"], now=now)


def _load(agency_id: str, client_id: str, escalation_id: str) -> EscalationModel:
    try:
        return EscalationModel.get(client_key(agency_id, client_id), escalation_id,
                                   consistent_read=True)
    except EscalationModel.DoesNotExist:
        raise NotFound("escalation") from None


def list_escalations(p: Principal, client_id: str, status: str | None = None) -> dict:
    require_staff(p)
    load_client(p, client_id)
    filt = EscalationModel.status == status if status else None
    items = EscalationModel.query(client_key(p.agency_id, client_id), filter_condition=filt)
    return {"items": [render(m) for m in items], "next_cursor": None}


def for_debtor(agency_id: str, client_id: str, debtor_id: str) -> dict | None:
    """The account's escalation, if it was ever proposed (one per account)."""
    try:
        return render(EscalationModel.get(client_key(agency_id, client_id),
                                          escalation_id_for(debtor_id)))
    except EscalationModel.DoesNotExist:
        return None


def get_escalation(p: Principal, client_id: str, escalation_id: str) -> dict:
    require_staff(p)
    load_client(p, client_id)
    return render(_load(p.agency_id, client_id, escalation_id), with_letter=True)


def portal_list(p: Principal) -> dict:
    if p.role != "client_viewer":
        raise NotFound("portal")  # the portal does not exist for staff tokens
    load_client(p, p.client_id or "", for_reports=True)
    items = EscalationModel.query(client_key(p.agency_id, p.client_id or ""))
    return {"items": [render(m) for m in items], "next_cursor": None}


def decide_as_admin(p: Principal, client_id: str, escalation_id: str, data, *,
                    now: datetime) -> dict:
    require_admin(p)
    load_client(p, client_id)
    return decide(p.agency_id, client_id, escalation_id, data, actor=p.user_id, now=now)


def decide_as_client(p: Principal, escalation_id: str, data, *, now: datetime) -> dict:
    """The client's viewer decides; the client comes from the token, never the request."""
    if p.role != "client_viewer":
        raise NotFound("escalation")  # staff decide through the client route
    load_client(p, p.client_id or "", for_reports=True)
    return decide(p.agency_id, p.client_id or "", escalation_id, data, actor=p.user_id,
                  now=now)


def decide(agency_id: str, client_id: str, escalation_id: str, data, *, actor: str,
           now: datetime) -> dict:
    m = _load(agency_id, client_id, escalation_id)
    if m.status != "proposed":
        raise Conflict(f"escalation already {m.status}")
    approve = data.decision == "approve"
    m.status = "approved" if approve else "declined"
    m.decided_by, m.decided_at, m.decision_note, m.updated_at = actor, iso(now), data.note, iso(now)
    client = ClientModel.get(agency_id, client_id)
    debtor = DebtorModel.get(client_key(agency_id, client_id), m.debtor_id)
    if approve:
        m.letter = letter_before_action(client, debtor, now)
        m.case = {"status": "letter_sent", "recoveries_minor": 0, "fees_minor": 0,
                  "events": [{"at": iso(now), "by": actor, "what": "approved; letter before "
                                                               "action issued"}]}
    try:
        m.save()
    except PutError:
        raise Conflict("escalation changed meanwhile; reload") from None
    key = (agency_id, client_id, m.debtor_id)
    timeline.record(*key, "escalation_decided",
                    f"Client {'approved' if approve else 'declined'} escalation to collections"
                    + (f": {data.note}" if data.note else ""), actor=actor, at=now,
                    data={"escalation_id": escalation_id})
    _announce(m, agency_id, client_id, "approved" if approve else "closed", iso(now))
    if approve:
        _stop_cadence(debtor, now)
        tasks.close_task(*key, "sent to collections", now)
        total = format_money(m.letter["total_minor"], debtor.currency)
        timeline.record(*key, "letter_before_action", f"Letter before action issued: {total}",
                        actor=actor, at=now, data={k: v for k, v in m.letter.items()
                                                   if k != "html"})
    return render(m)


def _stop_cadence(debtor: DebtorModel, now: datetime) -> None:
    def escalate(d: DebtorModel) -> None:
        d.status, d.stopped_reason = "in_collections", "escalated to collections"

    # A stopped account has no next action: recompute takes it out of the dunning index.
    accounts.save_account(debtor, now, escalate)


def _owed(debtor: DebtorModel) -> list[InvoiceModel]:
    return [i for i in accounts.debtor_invoices(debtor, consistent=True)
            if i.status in OWED and int(i.balance_minor) > 0]


def letter_before_action(client: ClientModel, debtor: DebtorModel, now: datetime) -> dict:
    """The letter (HTML) with statutory interest and compensation if the client charges them."""
    policy_data = (client.settings or {}).get("charges") or {"kind": "none"}
    policy = charges.ChargePolicy.from_dict(policy_data)
    today, rows, notes = now.date(), [], []
    interest = compensation = 0
    for inv in sorted(_owed(debtor), key=lambda i: i.due_date):
        ci = charges.ChargeableInvoice(inv.invoice_id, date.fromisoformat(inv.issue_date),
                                       date.fromisoformat(inv.due_date), int(inv.balance_minor),
                                       inv.currency, consumer=debtor.kind == "consumer")
        row = {"number": inv.number, "due_date": inv.due_date, "balance_minor":
               int(inv.balance_minor), "interest_minor": 0, "compensation_minor": 0}
        try:
            for ch in charges.due_charges(policy, ci, today):
                key = "compensation_minor" if ch.kind == "compensation" else "interest_minor"
                row[key] += ch.amount_minor
        except charges.ChargeError as exc:
            notes.append(f"Invoice {inv.number}: interest not computed ({exc.reason})")
            if policy.kind == "uk_statutory" and not ci.consumer:
                row["compensation_minor"] = charges.statutory_compensation(ci.outstanding_minor)
        interest += row["interest_minor"]
        compensation += row["compensation_minor"]
        rows.append(row)
    principal = sum(r["balance_minor"] for r in rows)
    contacts = list(ContactModel.query(debtor_key(*debtor.client_key.split("#"),
                                                  debtor.debtor_id)))
    html = templating.render("letters/letter_before_action.html", 
        client=client, debtor=debtor, contact=contacts[0] if contacts else None, rows=rows,
        principal=principal, interest=interest, compensation=compensation,
        total=principal + interest + compensation, policy=policy, notes=notes, today=today,
        reply_by=today + timedelta(days=30 if debtor.kind == "consumer" else 14),
        money=lambda minor: format_money(minor, debtor.currency))
    return {"html": html, "principal_minor": principal, "interest_minor": interest,
            "compensation_minor": compensation, "total_minor": principal + interest + compensation,
            "charge_policy": policy.kind, "notes": notes, "issued_on": today.isoformat()}


def update_case(p: Principal, client_id: str, escalation_id: str, data, *, now: datetime) -> dict:
    require_admin(p)
    load_client(p, client_id)
    m = _load(p.agency_id, client_id, escalation_id)
    if m.status != "approved" or not m.case:
        raise Conflict("only an approved escalation has a case")
    case = dict(m.case)
    what = []
    if data.recovery_minor:
        case["recoveries_minor"] = int(case["recoveries_minor"]) + data.recovery_minor
        what.append(f"recovered {format_money(data.recovery_minor, m.currency)}")
    if data.fee_minor:
        case["fees_minor"] = int(case["fees_minor"]) + data.fee_minor
        what.append(f"fee {format_money(data.fee_minor, m.currency)}")
    if data.status:
        case["status"] = data.status
        what.append(f"status {data.status}")
    if not what and not data.note:
        raise ValidationFailed.one("body", "nothing to change")
    case["events"] = [*case.get("events", []), {"at": iso(now), "by": p.user_id,
                                                "what": ", ".join(what), "note": data.note}]
    m.case, m.updated_at = case, iso(now)
    try:
        m.save()
    except PutError:
        raise Conflict("case changed meanwhile; reload") from None
    timeline.record(p.agency_id, client_id, m.debtor_id, "collections_case",
                    "Collections case: " + (", ".join(what) or data.note), actor=p.user_id,
                    at=now)
    seq = len(case["events"])
    if data.recovery_minor:
        _announce(m, p.agency_id, client_id, "recovered", iso(now),
                  recovered_minor=data.recovery_minor, seq=f"-{seq}")
    if data.status == "closed":
        _announce(m, p.agency_id, client_id, "closed", iso(now), seq=f"-{seq}")
    return render(m)


# -------------------------------------------------------------------------------- export

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A spreadsheet must not run a cell: text starting like a formula gets a quote; numbers
    (a negative balance) stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def case_file(p: Principal, client_id: str, escalation_id: str) -> dict:
    require_staff(p)
    load_client(p, client_id)
    m = _load(p.agency_id, client_id, escalation_id)
    debtor = DebtorModel.get(client_key(p.agency_id, client_id), m.debtor_id)
    dkey = debtor_key(p.agency_id, client_id, m.debtor_id)
    from chalicelib.book import debtors, invoices

    entries = [timeline.render(t) for t in timeline.TimelineModel.query(
        dkey, scan_index_forward=False)]
    return {"escalation": render(m), "debtor": debtors.render(debtor),
            "contacts": [debtors.render_contact(c) for c in ContactModel.query(dkey)],
            "invoices": [invoices.render(i) for i in InvoiceModel.query(dkey)],
            "timeline": entries}


def case_csv(data: dict) -> str:
    out = io.StringIO()
    raw = csv.writer(out, lineterminator="\r\n")

    class _Safe:
        def writerow(self, cells: list) -> None:
            raw.writerow([neutralise(c) for c in cells])

    w = _Safe()
    w.writerow(["section", "date", "kind", "reference", "description", "amount_minor"])
    d = data["debtor"]
    w.writerow(["debtor", "", d["kind"], d["account_ref"], d["name"], d["balance_minor"]])
    for c in data["contacts"]:
        w.writerow(["contact", "", c["role"], c["email"] or "", c["name"] or "",
                    c["phone"] or ""])
    for i in data["invoices"]:
        w.writerow(["invoice", i["due_date"], i["status"], i["number"], i["reference"] or "",
                    i["balance_minor"]])
    for t in data["timeline"]:
        w.writerow(["timeline", t["at"], t["kind"], t["actor"], t["summary"], ""])
    return out.getvalue()


def export(p: Principal, client_id: str, escalation_id: str, fmt: str) -> tuple[str, str]:
    data = case_file(p, client_id, escalation_id)
    if fmt == "csv":
        return case_csv(data), "text/csv; charset=utf-8"
    if fmt == "json":
        return json.dumps(data, indent=2, default=str), "application/json"
    raise ValidationFailed.one("format", "must be csv or json")
