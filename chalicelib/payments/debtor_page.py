"""What a debtor sees and does on the hosted page: balances, checkout, plan, promise,
dispute, question, opt-out, statement. Every action lands on the timeline and is announced
as a debtor_action event so the workbench can raise a task."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

from babel.dates import format_date

from chalicelib.dunning import contact_window as cw
from chalicelib.dunning import messages, planner
from chalicelib.kernel.clock import iso
from chalicelib.book.invoice_rules import OWED
from chalicelib.kernel.money import MoneyError, format_money, parse_major
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.kernel.validation import check_brand_colour, contrast_with_white  # noqa: F401
from chalicelib.payments import stripe_gateway as gw
from chalicelib.payments import charges, plans
from chalicelib.store import accounts, timeline
from chalicelib.store.keys import debtor_key, new_id
from chalicelib.store.models import (
    ClaimModel,
    ClientModel,
    ContactModel,
    DebtorModel,
    InvoiceModel,
    PaymentModel,
)

CHANNELS = {"email": "Email", "sms": "Text messages", "call": "Phone calls", "letter": "Letters"}
_ATTEMPT = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _colour(value: str | None, default: str) -> str:
    """A brand colour, if it is #rrggbb and white text on it is readable (WCAG AA, 4.5:1)."""
    try:
        return check_brand_colour(value) if value else default
    except ValueError:
        return default


def brand(client: ClientModel) -> dict:
    """The client's brand from its settings, with only safe values let through."""
    b = dict((client.settings or {}).get("brand") or {})
    logo = b.get("logo_url") or ""
    return {
        "name": b.get("display_name") or client.brand_name or client.name,
        "logo_url": logo if logo.startswith("https://") else None,
        "primary": _colour(b.get("primary_colour"), "#1f4e79"),
        "accent": _colour(b.get("accent_colour"), "#0b6e4f"),
        "payment_terms": b.get("payment_terms") or (client.settings or {}).get("payment_terms"),
        "contact": client.reply_to or client.sender_email,
    }


def open_invoices(debtor: DebtorModel) -> list[InvoiceModel]:
    invs = accounts.debtor_invoices(debtor, consistent=True)
    owed = [i for i in invs if i.status in OWED and int(i.balance_minor) > 0]
    return sorted(owed, key=lambda i: (i.due_date, i.number))


def local_today(client: ClientModel, debtor: DebtorModel, now: datetime) -> date:
    """The debtor's own day (its zone, else its country's, else the client's)."""
    return cw.local_date(now, planner.time_zone(client, debtor))


def formatters(client: ClientModel, debtor: DebtorModel):
    """(money, day): amounts and dates as the debtor reads them, one locale per debtor."""
    loc = messages.locale_for(client, debtor)

    def money(minor: int) -> str:
        return messages.money(int(minor), debtor.currency, loc)

    def day(value: str) -> str:
        try:
            return format_date(date.fromisoformat(str(value)[:10]), "medium", locale=loc)
        except ValueError:
            return str(value)
    return money, day


def view(agency_id: str, client: ClientModel, debtor: DebtorModel, now: datetime) -> dict:
    today = local_today(client, debtor, now)
    invs = open_invoices(debtor)
    policy = charges.policy_for(client)
    rows = []
    for i in invs:
        discount = charges.discount_for(policy, i, today) if policy else 0
        rows.append({"id": i.invoice_id, "number": i.number, "issue_date": i.issue_date,
                     "due_date": i.due_date, "balance_minor": int(i.balance_minor),
                     "total_minor": int(i.total_minor), "status": i.status,
                     "overdue": i.due_date < today.isoformat(), "discount_minor": discount,
                     "disputed": i.status == "disputed"})
    payable = [r for r in rows if not r["disputed"]]
    plan = plans.live_plan(agency_id, client.client_id, debtor.debtor_id)
    nxt = plans.next_instalment(plan) if plan is not None and plan.status == "active" else None
    fees = charges.list_charges(agency_id, client.client_id, debtor.debtor_id)
    return {
        "debtor": {"name": debtor.name, "account_ref": debtor.account_ref,
                   "currency": debtor.currency, "balance_minor": int(debtor.balance_minor),
                   "credit_minor": int(debtor.credit_minor or 0)},
        "invoices": rows,
        "payable_minor": sum(r["balance_minor"] for r in payable),
        "charges": [c for c in fees if c["status"] == "due"],
        "charges_minor": sum(c["amount_minor"] for c in fees if c["status"] == "due"),
        "plan": plans.render(plan) if plan is not None else None,
        "next_instalment": {"number": nxt[0], "amount_minor": nxt[1]} if nxt else None,
        "channels": CHANNELS, "today": today.isoformat(),
    }


def _act(agency_id: str, client_id: str, debtor_id: str, action: str, summary: str,
         details: dict, now: datetime) -> None:
    timeline.debtor_acted(agency_id, client_id, debtor_id, action, summary, details, now)


# --- paying ------------------------------------------------------------------------------
def start_checkout(agency_id: str, client: ClientModel, debtor: DebtorModel, form: dict,
                   return_url: str, now: datetime) -> str:
    """Create a checkout for an amount computed here from the database; returns its URL."""
    attempt = form.get("attempt_id", "")
    if not _ATTEMPT.match(attempt):
        raise ValidationFailed.one("attempt_id", "missing; reload the page")
    mode = form.get("mode", "all")
    currency = debtor.currency or client.currency
    invs = [i for i in open_invoices(debtor) if i.currency == currency]
    payable = [i for i in invs if i.status != "disputed"]
    plan_id = None
    if mode == "all":
        chosen = payable
        amount = sum(int(i.balance_minor) for i in chosen)
    elif mode == "choose":
        wanted = set(form.get("invoice_ids") or [])
        chosen = [i for i in invs if i.invoice_id in wanted]
        if not chosen:
            raise ValidationFailed.one("invoice_ids", "choose at least one invoice")
        amount = sum(int(i.balance_minor) for i in chosen)
    elif mode == "part":
        chosen = []
        try:
            amount = parse_major(form.get("amount", ""), currency)
        except MoneyError:
            raise ValidationFailed.one("amount", "enter an amount such as 25.00") from None
        top = sum(int(i.balance_minor) for i in payable)
        if not 0 < amount <= top:
            raise ValidationFailed.one("amount",
                                       f"enter an amount up to {format_money(top, currency)}")
    elif mode == "instalment":
        plan = plans.live_plan(agency_id, client.client_id, debtor.debtor_id)
        nxt = plans.next_instalment(plan) if plan is not None and plan.status == "active" else None
        if nxt is None:
            raise ValidationFailed.one("mode", "there is no instalment to pay")
        chosen, amount, plan_id = [], nxt[1], plan.plan_id
    else:
        raise ValidationFailed.one("mode", "choose how to pay")
    discounts: dict[str, int] = {}
    policy = charges.policy_for(client)
    if policy is not None and mode in ("all", "choose"):
        for inv in chosen:
            if inv.status != "disputed":
                off = charges.discount_for(policy, inv, now.date())
                if 0 < off < int(inv.balance_minor):
                    discounts[inv.invoice_id] = off
        amount -= sum(discounts.values())
    if amount <= 0:
        raise ValidationFailed.one("amount", "there is nothing to pay")
    ids = [i.invoice_id for i in chosen]
    dkey = debtor_key(agency_id, client.client_id, debtor.debtor_id)
    meta = {"agency_id": agency_id, "client_id": client.client_id, "debtor_id": debtor.debtor_id,
            "invoice_ids": ",".join(ids)[:500], "attempt_id": attempt, "plan_id": plan_id or ""}
    numbers = ", ".join(i.number for i in chosen) or "your account"
    session = gw.create_checkout(
        amount_minor=amount, currency=currency, metadata=meta, return_url=return_url,
        description=f"{brand(client)['name']}: {numbers}", now=now,
        key=gw.idempotency_key(dkey, ids, amount, currency, attempt))
    record = {"session_id": session.id, "amount_minor": amount, "currency": currency,
              "metadata": meta, "local": session.local, "invoice_ids": ids,
              "discounts": discounts}
    ClaimModel(f"{agency_id}#checkout#{attempt}", status="open", result=record,
               created_at=iso(now)).save()
    timeline.record(agency_id, client.client_id, debtor.debtor_id, "checkout_started",
                    f"Debtor started paying {format_money(amount, currency)} ({numbers})",
                    actor="debtor", data={"attempt_id": attempt, "session_id": session.id},
                    at=now, entry_id=f"{iso(now)}#checkout-{attempt}")
    return session.url


# --- other actions ----------------------------------------------------------------------
def propose_plan(agency_id: str, client: ClientModel, debtor: DebtorModel, form: dict,
                 now: datetime) -> dict:
    try:
        instalments = int(form.get("instalments", ""))
        first_due = date.fromisoformat(form.get("first_due", ""))
    except ValueError:
        raise ValidationFailed.one("instalments", "choose a number of payments and a first date") \
            from None
    plan = plans.create_plan(agency_id, client, debtor, instalments=instalments,
                             first_due=first_due, interval=form.get("interval", "monthly"),
                             source="debtor", actor="debtor", now=now)
    _act(agency_id, client.client_id, debtor.debtor_id, "plan_proposed",
         f"Debtor proposed a plan of {instalments} payments ({plan['status']})",
         {"plan_id": plan["id"], "status": plan["status"]}, now)
    return plan


def question(agency_id: str, client: ClientModel, debtor: DebtorModel, form: dict,
             now: datetime) -> None:
    text = (form.get("message") or "").strip()
    if not text:
        raise ValidationFailed.one("message", "write your question")
    _act(agency_id, client.client_id, debtor.debtor_id, "question",
         "Debtor asked a question", {"message": text[:2000]}, now)


def opt_out(agency_id: str, client: ClientModel, debtor: DebtorModel, form: dict,
            now: datetime) -> str:
    channel = form.get("channel", "")
    if channel not in CHANNELS:
        raise ValidationFailed.one("channel", "choose a channel")
    contacts = list(ContactModel.query(debtor_key(agency_id, client.client_id,
                                                  debtor.debtor_id)))
    fresh = [c for c in contacts if channel not in (c.opted_out or set())]
    for contact in fresh:
        contact.update(actions=[ContactModel.opted_out.add({channel}),
                                ContactModel.updated_at.set(iso(now))])
    if contacts and not fresh:
        return channel  # opted out already (a repeated one-click POST): nothing to record
    _act(agency_id, client.client_id, debtor.debtor_id, "opt_out",
         f"Debtor opted out of {CHANNELS[channel].lower()}", {"channel": channel}, now)
    return channel


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def statement_csv(agency_id: str, client: ClientModel, debtor: DebtorModel,
                  now: datetime) -> str:
    """The account as CSV; a download is recorded (when `now` is given) like any action."""
    if now is not None:
        _act(agency_id, client.client_id, debtor.debtor_id, "statement",
             "Debtor downloaded a statement", {}, now)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["type", "date", "reference", "due_date", "amount", "balance", "currency",
                "status"])
    # Text cells are neutralised (a spreadsheet must not run them); amounts are numbers.
    for i in accounts.debtor_invoices(debtor, consistent=True):
        w.writerow(["invoice", i.issue_date, _cell(i.number), i.due_date,
                    _major(int(i.total_minor), i.currency),
                    _major(int(i.balance_minor), i.currency), i.currency, i.status])
    for p in PaymentModel.query(debtor_key(agency_id, client.client_id, debtor.debtor_id)):
        if p.kind == "charge":
            w.writerow(["charge", p.received_on, _cell((p.allocations or {}).get("description")),
                        "", _major(int(p.amount_minor), p.currency), "", p.currency,
                        (p.allocations or {}).get("status", "due")])
        else:
            sign = -1 if p.kind == "payment" else 1
            w.writerow([p.kind, p.received_on, _cell(p.external_ref), "",
                        _major(sign * int(p.amount_minor), p.currency), "", p.currency, ""])
    return out.getvalue()


def _major(minor: int, currency: str) -> str:
    from chalicelib.kernel.money import to_major

    return str(to_major(minor, currency))


def new_attempt_id() -> str:
    return new_id("ca")
