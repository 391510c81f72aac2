"""Invoice disputes: opened from a call or by staff, owned, resolved for the debtor (credit
note) or for the client; a disputed invoice is not chased until then."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import iso
from chalicelib.book.invoice_rules import status_for_balance
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.book import invoices
from chalicelib.store import accounts, timeline
from chalicelib.http.access import require_staff
from chalicelib.book.debtors import load_debtor
from chalicelib.store.keys import debtor_key, new_id
from chalicelib.store.models import InvoiceModel, PaymentModel, TimelineModel
from chalicelib.workbench.models import DisputeModel

REASONS = ("pricing", "goods_not_received", "quality", "duplicate", "already_paid", "other")
# How the debtor's page words each reason (the same codes the specialist and the API use).
DEBTOR_LABELS = {
    "goods_not_received": "Goods or service not received",
    "pricing": "The amount is wrong",
    "already_paid": "I have already paid",
    "quality": "Problem with the goods or service",
    "duplicate": "I was charged twice for this",
    "other": "Something else",
}
STATUSES = ("open", "waiting_on_client", "resolved_for_debtor", "resolved_for_client")
OPEN = ("open", "waiting_on_client")


def render(m: DisputeModel) -> dict:
    return {"id": m.dispute_id, "invoice_id": m.invoice_id, "invoice_number": m.invoice_number,
            "reason": m.reason, "detail": m.detail, "owner": m.owner, "status": m.status,
            "credit_minor": int(m.credit_minor), "history": m.history or [],
            "created_at": m.created_at, "updated_at": m.updated_at}


def _invoice(agency_id: str, client_id: str, debtor_id: str, invoice_id: str) -> InvoiceModel:
    try:
        return InvoiceModel.get(debtor_key(agency_id, client_id, debtor_id), invoice_id,
                                consistent_read=True)
    except InvoiceModel.DoesNotExist:
        raise NotFound("invoice") from None


def open_dispute(agency_id: str, client_id: str, debtor_id: str, invoice_id: str, reason: str,
                 *, owner: str, detail: str | None = None, now: datetime) -> dict:
    if reason not in REASONS:
        raise ValidationFailed.one("reason", f"must be one of {', '.join(REASONS)}")
    inv = _invoice(agency_id, client_id, debtor_id, invoice_id)
    if int(inv.balance_minor) <= 0:
        raise ValidationFailed.one("invoice_id", f"invoice {inv.number} is {inv.status}; "
                                                 "nothing is owed")
    if inv.status == "disputed":
        raise Conflict(f"invoice {inv.number} is already disputed")
    m = DisputeModel(debtor_key(agency_id, client_id, debtor_id), new_id("x"),
                     invoice_id=invoice_id, invoice_number=inv.number, reason=reason,
                     detail=detail, owner=owner, created_at=iso(now), updated_at=iso(now),
                     history=[{"at": iso(now), "by": owner, "status": "open"}])
    old = invoices.state(inv)
    inv.status = "disputed"
    inv.dispute = {"dispute_id": m.dispute_id, "reason": reason, "opened_at": iso(now),
                   "by": owner}
    entry = timeline.entry(agency_id, client_id, debtor_id, "dispute_opened",
                           f"Invoice {inv.number} disputed ({reason.replace('_', ' ')})"
                           + (f": {detail}" if detail else ""), actor=owner, data=render(m),
                           at=now)
    # the dispute, the invoice on hold, the timeline and the event: all or nothing
    _save_invoice(agency_id, client_id, inv, old, now,
                  also=((m, DisputeModel.dispute_id.does_not_exist()),
                        (entry, TimelineModel.entry_id.does_not_exist())))
    return render(m)


def from_debtor(agency_id: str, client_id: str, debtor_id: str, invoice_id: str, reason: str,
                message: str | None, now: datetime) -> str:
    """The debtor disputes an invoice on the hosted page: the same dispute a specialist
    opens, owned by "debtor" until a specialist takes it; the debtor's action lands on the
    timeline and raises a task. A second dispute of the same invoice only adds the action.
    Returns the invoice number."""
    if reason not in DEBTOR_LABELS:
        raise ValidationFailed.one("reason", "choose a reason")
    message = (message or "").strip()[:2000]
    try:
        inv = _invoice(agency_id, client_id, debtor_id, invoice_id or "")
    except NotFound:
        raise ValidationFailed.one("invoice_id", "choose an invoice") from None
    if inv.status == "disputed":
        dispute_id = (inv.dispute or {}).get("dispute_id")
    else:
        dispute_id = open_dispute(agency_id, client_id, debtor_id, inv.invoice_id, reason,
                                  owner="debtor", detail=message or None, now=now)["id"]
    timeline.debtor_acted(agency_id, client_id, debtor_id, "dispute",
                          f"Debtor disputed invoice {inv.number}: {DEBTOR_LABELS[reason]}",
                          {"invoice_id": inv.invoice_id, "reason": reason,
                           "message": message, "dispute_id": dispute_id}, now)
    return inv.number


def _save_invoice(agency_id: str, client_id: str, inv: InvoiceModel, before: dict,
                  now: datetime, also: tuple = ()) -> None:
    try:
        invoices.save_with_event(agency_id, client_id, inv, before, now, also=also)
    except TransactWriteError as exc:
        raise Conflict("invoice changed meanwhile; reload and retry") from exc
    _recompute_account(inv, now)


def _recompute_account(inv: InvoiceModel, now: datetime) -> None:
    from chalicelib.store.models import DebtorModel

    accounts.save_account(DebtorModel.get(inv.client_key, inv.debtor_id), now)


def list_disputes(p: Principal, client_id: str, debtor_id: str) -> dict:
    load_debtor(p, client_id, debtor_id)
    key = debtor_key(p.agency_id, client_id, debtor_id)
    return {"items": [render(m) for m in DisputeModel.query(key)], "next_cursor": None}


def update_dispute(p: Principal, client_id: str, debtor_id: str, dispute_id: str, data,
                   now: datetime) -> dict:
    """Change owner or status; resolving for the debtor issues a credit note."""
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    key = debtor_key(p.agency_id, client_id, debtor_id)
    try:
        m = DisputeModel.get(key, dispute_id, consistent_read=True)
    except DisputeModel.DoesNotExist:
        raise NotFound("dispute") from None
    if m.status not in OPEN:
        raise Conflict(f"dispute is {m.status}")
    if data.owner:
        m.owner = data.owner
    inv = _invoice(p.agency_id, client_id, debtor_id, m.invoice_id)
    old = invoices.state(inv)
    status = data.status or m.status
    summary = f"Dispute on invoice {m.invoice_number}: {status.replace('_', ' ')}"
    if status == "resolved_for_debtor":
        credit = data.credit_minor if data.credit_minor is not None else int(inv.balance_minor)
        if not 0 < credit <= int(inv.balance_minor):
            raise ValidationFailed.one("credit_minor", "must be above 0 and at most the "
                                       f"invoice balance {int(inv.balance_minor)}")
        PaymentModel(key, new_id("cn"), kind="credit", source="other", amount_minor=credit,
                     currency=inv.currency, received_on=now.date().isoformat(),
                     allocations=[{"invoice_id": inv.invoice_id, "amount_minor": credit}],
                     external_ref=f"credit note for dispute {dispute_id}",
                     created_at=iso(now)).save()
        m.credit_minor = credit
        inv.balance_minor = int(inv.balance_minor) - credit
        summary += f"; credit note {format_money(credit, inv.currency)}"
    if status in ("resolved_for_debtor", "resolved_for_client"):
        inv.status = status_for_balance(int(inv.total_minor), int(inv.balance_minor))
        inv.dispute = {**(inv.dispute or {}), "closed_at": iso(now), "outcome": status}
        _save_invoice(p.agency_id, client_id, inv, old, now)
    m.status = status
    m.history = [*(m.history or []), {"at": iso(now), "by": p.user_id, "status": status,
                                      "note": data.note, "owner": m.owner}]
    m.updated_at = iso(now)
    try:
        m.save()
    except PutError as exc:
        raise Conflict("dispute changed meanwhile; reload and retry") from exc
    timeline.record(p.agency_id, client_id, debtor_id, "dispute_updated",
                    summary + (f" ({data.note})" if data.note else ""), actor=p.user_id,
                    data=render(m), at=now)
    return render(m)
