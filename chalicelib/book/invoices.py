"""Invoices of a debtor: create, change status (dispute, hold, write-off), list."""
from __future__ import annotations

from datetime import date, datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import iso
from chalicelib.book.invoice_rules import OWED, status_for_balance
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.http.schemas import InvoiceIn, InvoicePatch
from chalicelib.book.invoice_rules import Settlement, adjust_paid_outside, bounded, stated
from chalicelib.kernel import events
from chalicelib.store import accounts, timeline
from chalicelib.http.access import load_client, require_staff
from chalicelib.book.debtors import load_debtor
from chalicelib.store import paging
from chalicelib.store.keys import client_key, debtor_key, invoice_id_for
from chalicelib.store.models import DebtorModel, InvoiceModel


def render(i: InvoiceModel) -> dict:
    return {"id": i.invoice_id, "debtor_id": i.debtor_id, "number": i.number,
            "reference": i.reference, "issue_date": i.issue_date, "due_date": i.due_date,
            "currency": i.currency, "total_minor": int(i.total_minor),
            "balance_minor": int(i.balance_minor), "status": i.status, "dispute": i.dispute,
            **settlement_fields(i), "version": i.version}


def settlement_fields(i: InvoiceModel) -> dict:
    """When it was paid (see invoice_rules.Settlement) and whether the client's book had it
    disputed: the payment history the behaviour of a debtor is read from."""
    return {"paid_on": i.paid_on, "paid_earliest": i.paid_earliest,
            "paid_latest": i.paid_latest, "settled_source": i.settled_source,
            "disputed_in_book": i.disputed_in_book}


def record_settlement(inv: InvoiceModel, s: Settlement | None) -> bool:
    """Store when the invoice was paid (None clears it: owed again); True if that changed."""
    new = (None, None, None, None) if s is None else (
        s.paid_on.isoformat() if s.paid_on else None, s.earliest.isoformat(),
        s.latest.isoformat(), s.source)
    old = (inv.paid_on, inv.paid_earliest, inv.paid_latest, inv.settled_source)
    inv.paid_on, inv.paid_earliest, inv.paid_latest, inv.settled_source = new
    return new != old


def history_row(i: InvoiceModel) -> dict:
    """One settled invoice as the payment history gives it."""
    paid = i.paid_outside or []
    return {"invoice_id": i.invoice_id, "debtor_id": i.debtor_id, "number": i.number,
            "issue_date": i.issue_date, "due_date": i.due_date, "currency": i.currency,
            "total_minor": int(i.total_minor), "status": i.status,
            "was_disputed": bool(i.disputed_in_book or i.dispute),
            # paid in more than one go, as far as the book and Recoup saw it
            "paid_in_parts": len(paid) >= 2 or (bool(paid) and i.settled_source == "recoup"),
            **settlement_fields(i)}


def payment_history(agency_id: str, client_id: str, debtor_id: str) -> list[dict]:
    """A debtor's settled invoices with their issue, due and paid dates and amounts, oldest
    issue first: one Query of the debtor's invoice partition (open ones are skipped)."""
    out = [history_row(i)
           for i in InvoiceModel.query(debtor_key(agency_id, client_id, debtor_id),
                                       filter_condition=InvoiceModel.paid_latest.exists())]
    return sorted(out, key=lambda r: (r["issue_date"], r["number"]))


def client_payment_history(agency_id: str, client_id: str) -> list[dict]:
    """Every settled invoice of a client (the behaviour prior is learnt from it): one Query
    of the client's `by_client_number` index, open invoices skipped."""
    return [history_row(i) for i in InvoiceModel.by_client_number.query(
        client_key(agency_id, client_id), filter_condition=InvoiceModel.paid_latest.exists())]


def state(i: InvoiceModel) -> dict:
    """The invoice as events carry it (invoice_changed old/new): what reports need."""
    return {"invoice_id": i.invoice_id, "debtor_id": i.debtor_id, "number": i.number,
            "issue_date": i.issue_date, "due_date": i.due_date, "currency": i.currency,
            "total_minor": int(i.total_minor), "balance_minor": int(i.balance_minor),
            "status": i.status, "dispute": i.dispute,
            "paid_outside": [[d, int(a)] for d, a in (i.paid_outside or [])],
            "version": int(i.version or 0)}


def save_with_event(agency_id: str, client_id: str, inv: InvoiceModel, before: dict | None,
                    now: datetime, *, condition=None, also: tuple = ()) -> None:
    """The one way an invoice change is saved: the invoice (under its version, and
    `condition`), any `also` items ((item, condition) pairs: a dispute, a timeline entry)
    and its `invoice_changed` event in one transaction, so no crash can separate them. The
    event names the version being saved (a transaction bumps it only once it commits).
    TransactWriteError if any condition no longer holds."""
    index_fields(inv)
    inv.updated_at = iso(now)
    after = {**state(inv), "version": int(inv.version or 0) + 1}
    event = events.stage("invoice_changed", agency_id=agency_id, client_id=client_id,
                         debtor_id=inv.debtor_id, invoice_id=inv.invoice_id, old=before,
                         new=after, at=now)
    events.commit([(inv, condition), *also], [event])


def index_fields(inv: InvoiceModel) -> None:
    """Keep the sparse open-by-due index in step with the invoice's status."""
    if inv.status in OWED and int(inv.balance_minor) > 0:
        inv.open_key = inv.client_key
        inv.due_sort = f"{inv.due_date}#{inv.number}"
    else:
        inv.open_key = None
        inv.due_sort = None


def new_invoice(agency_id: str, client_id: str, debtor_id: str, *, number: str,
                reference: str | None, issue_date: date, due_date: date, currency: str,
                total_minor: int, balance_minor: int, now: str,
                paid_on: date | None = None) -> InvoiceModel:
    inv = InvoiceModel(
        debtor_key(agency_id, client_id, debtor_id), invoice_id_for(agency_id, client_id, number),
        client_key=client_key(agency_id, client_id), debtor_id=debtor_id, number=number,
        reference=reference, issue_date=issue_date.isoformat(), due_date=due_date.isoformat(),
        currency=currency, total_minor=total_minor, balance_minor=balance_minor,
        status=status_for_balance(total_minor, balance_minor), created_at=now, updated_at=now)
    # Paid before it reached Recoup: the real date is unknown, so it counts from the issue date.
    paid = adjust_paid_outside([], total_minor - balance_minor, issue_date)
    inv.paid_outside = paid or None
    if balance_minor <= 0:  # settled before it reached Recoup: its paid day, or its bounds
        record_settlement(inv, stated("book", paid_on) if paid_on else bounded(
            "book", issue_date, max(issue_date, date.fromisoformat(now[:10]))))
    index_fields(inv)
    return inv


def create_invoice(p: Principal, client_id: str, debtor_id: str, data: InvoiceIn, *,
                   now: datetime) -> dict:
    require_staff(p)
    client, debtor = load_debtor(p, client_id, debtor_id)
    currency = data.currency or debtor.currency or client.currency
    existing = list(InvoiceModel.by_client_number.query(client_key(p.agency_id, client_id),
                                                        InvoiceModel.number == data.number))
    if existing:
        raise Conflict(f"invoice number {data.number!r} already exists for this client")
    inv = new_invoice(p.agency_id, client_id, debtor_id, number=data.number,
                      reference=data.reference, issue_date=data.issue_date,
                      due_date=data.due_date, currency=currency, total_minor=data.total_minor,
                      balance_minor=data.total_minor if data.balance_minor is None
                      else data.balance_minor, now=iso(now))
    try:
        save_with_event(p.agency_id, client_id, inv, None, now,
                        condition=InvoiceModel.invoice_id.does_not_exist())
    except TransactWriteError:
        raise Conflict(f"invoice number {data.number!r} already exists for this client") from None
    _refresh_debtor(debtor, now)
    timeline.record(p.agency_id, client_id, debtor_id, "invoice_added",
                    f"Invoice {inv.number} added: {format_money(int(inv.total_minor), currency)} "
                    f"due {inv.due_date}", actor=p.user_id, data={"invoice_id": inv.invoice_id}, at=now)
    return render(inv)


def _refresh_debtor(debtor: DebtorModel, now: datetime) -> None:
    accounts.save_account(debtor, now)


def _load(p: Principal, client_id: str, debtor_id: str, invoice_id: str):
    client, debtor = load_debtor(p, client_id, debtor_id)
    try:
        inv = InvoiceModel.get(debtor_key(p.agency_id, client_id, debtor_id), invoice_id)
    except InvoiceModel.DoesNotExist:
        raise NotFound("invoice") from None
    return client, debtor, inv


def get_invoice(p: Principal, client_id: str, debtor_id: str, invoice_id: str) -> dict:
    return render(_load(p, client_id, debtor_id, invoice_id)[2])


def update_invoice(p: Principal, client_id: str, debtor_id: str, invoice_id: str,
                   patch: InvoicePatch, *, now: datetime) -> dict:
    require_staff(p)
    _, debtor, inv = _load(p, client_id, debtor_id, invoice_id)
    changes = patch.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    if "due_date" in changes and changes["due_date"].isoformat() < inv.issue_date:
        raise ValidationFailed.one("due_date", "is before the issue date")
    new_status = changes.pop("status", None)
    if new_status and int(inv.balance_minor) <= 0:
        raise ValidationFailed.one("status", f"invoice is {inv.status}; nothing is owed")
    if new_status == "disputed" and not reason:
        raise ValidationFailed.one("reason", "a dispute needs a reason")
    old_status = inv.status
    before = state(inv)
    for k, v in changes.items():
        setattr(inv, k, v.isoformat() if isinstance(v, date) else v)
    if new_status:
        inv.status = new_status if new_status != "open" else status_for_balance(
            int(inv.total_minor), int(inv.balance_minor))
        if new_status == "disputed":
            inv.dispute = {"reason": reason, "opened_at": iso(now), "by": p.user_id}
        elif old_status == "disputed":
            inv.dispute = {**(inv.dispute or {}), "closed_at": iso(now)}
        if new_status == "written_off":
            inv.balance_minor = 0
    index_fields(inv)
    inv.updated_at = iso(now)
    try:
        save_with_event(p.agency_id, client_id, inv, before, now)
    except TransactWriteError as exc:
        raise Conflict("invoice changed meanwhile; reload and retry") from exc
    _refresh_debtor(debtor, now)
    what = ", ".join(sorted(changes))
    if new_status and new_status != old_status:
        what = f"status {old_status} → {inv.status}" + (f" ({reason})" if reason else "") + (
            f"; {what}" if what else "")
    timeline.record(p.agency_id, client_id, debtor_id, "invoice_updated",
                    f"Invoice {inv.number}: {what}", actor=p.user_id,
                    data={"invoice_id": invoice_id}, at=now)
    return render(inv)


def list_debtor_invoices(p: Principal, client_id: str, debtor_id: str, *, limit: int,
                         cursor: str | None) -> dict:
    load_debtor(p, client_id, debtor_id)
    return paging.page(InvoiceModel.query, limit=limit, cursor=cursor, hash_attr="debtor_key",
                       hash_value=debtor_key(p.agency_id, client_id, debtor_id), render=render)


def list_client_invoices(p: Principal, client_id: str, *, limit: int, cursor: str | None,
                         open_only: bool, due_before: str | None, due_after: str | None) -> dict:
    load_client(p, client_id)
    ckey = client_key(p.agency_id, client_id)
    if open_only or due_before or due_after:
        cond = None
        try:
            lo = date.fromisoformat(due_after).isoformat() if due_after else None
            hi = date.fromisoformat(due_before).isoformat() if due_before else None
        except ValueError:
            raise ValidationFailed.one("due_before" if due_before else "due_after",
                                       "must be a date YYYY-MM-DD") from None
        if lo and hi:
            cond = InvoiceModel.due_sort.between(lo, hi + "#\uffff")
        elif lo:
            cond = InvoiceModel.due_sort >= lo
        elif hi:
            cond = InvoiceModel.due_sort <= hi + "#\uffff"
        kwargs = {"range_key_condition": cond} if cond is not None else {}
        return paging.page(InvoiceModel.open_by_due.query, limit=limit, cursor=cursor,
                           hash_attr="open_key", hash_value=ckey, render=render, **kwargs)
    return paging.page(InvoiceModel.by_client_number.query, limit=limit, cursor=cursor,
                       hash_attr="client_key", hash_value=ckey, render=render)
