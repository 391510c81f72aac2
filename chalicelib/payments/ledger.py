"""Applying and reversing payments: allocation to invoices under optimistic locking, one
transaction per attempt, a deterministic payment id so a replay changes nothing."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import date, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.kernel.clock import iso
from chalicelib.payments import allocation as alloc_domain
from chalicelib.book.invoice_rules import OWED, stated, status_for_balance
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.kernel import events
from chalicelib.store import accounts, timeline
from chalicelib.book.invoices import index_fields, record_settlement
from chalicelib.book.debtors import load_debtor
from chalicelib.http.access import require_staff
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import DebtorModel, InvoiceModel, OutboxModel, PaymentModel

log = logging.getLogger("recoup.payments")
ATTEMPTS = 8


def payment_id_for(*parts: str) -> str:
    """Deterministic id from the external reference (payment intent, event, bank ref)."""
    return "p" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def render(m: PaymentModel) -> dict:
    return {"id": m.payment_id, "kind": m.kind, "source": m.source,
            "amount_minor": int(m.amount_minor), "currency": m.currency,
            "received_on": m.received_on, "allocations": m.allocations,
            "reference": m.external_ref, "created_at": m.created_at}


def _load(agency_id: str, client_id: str, debtor_id: str, *payment_ids: str):
    """({payment id: the money movement if stored}, the debtor, its invoices, its client),
    read consistently in two requests: the movements, the debtor and the client together,
    then the invoices (after the debtor: a payment committed in between moves the
    debtor's version, so this writer's transaction fails and reads again). NotFound if the
    debtor is gone."""
    from chalicelib.store import batch
    from chalicelib.store.models import ClientModel

    dkey, ckey = debtor_key(agency_id, client_id, debtor_id), client_key(agency_id, client_id)
    got = batch.get_many([*((PaymentModel, dkey, pid) for pid in payment_ids),
                          (DebtorModel, ckey, debtor_id), (ClientModel, agency_id, client_id)],
                         consistent=True)
    found = {pid: got[(PaymentModel, dkey, pid)] for pid in payment_ids
             if (PaymentModel, dkey, pid) in got}
    debtor = got.get((DebtorModel, ckey, debtor_id))
    if debtor is None:
        if found:
            return found, None, [], None  # the caller answers from what is stored
        raise NotFound("debtor")
    return (found, debtor, accounts.debtor_invoices(debtor, consistent=True),
            got.get((ClientModel, agency_id, client_id)))


def _open_items(invoices: list[InvoiceModel], currency: str) -> list[alloc_domain.OpenItem]:
    return [alloc_domain.OpenItem(i.invoice_id, date.fromisoformat(i.due_date),
                                  date.fromisoformat(i.issue_date), int(i.balance_minor),
                                  i.currency, i.status)
            for i in invoices if i.currency == currency and i.status in OWED
            and int(i.balance_minor) > 0]


def _less(item: alloc_domain.OpenItem, discount: int) -> alloc_domain.OpenItem:
    """The open item as this payment sees it: what settles it after the discount."""
    if not discount or discount >= item.balance_minor:
        return item
    return dataclasses.replace(item, balance_minor=item.balance_minor - discount)


def record_received(p, client_id: str, debtor_id: str, data, *, now: datetime) -> dict:
    """A payment a specialist records (bank transfer, cheque, cash): the API's POST
    .../payments and the debtor view's form. The id comes from method, reference, amount and
    day, so the same payment entered twice (a double click, a retry) is applied once."""
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    return apply_payment(
        p.agency_id, client_id, debtor_id, amount_minor=data.amount_minor,
        currency=data.currency, source=data.method,
        payment_id=payment_id_for("manual", data.method, data.reference,
                                  str(data.amount_minor), data.received_on.isoformat()),
        received_on=data.received_on, now=now, actor=p.user_id,
        invoice_ids=data.invoice_ids, reference=data.reference)


def apply_payment(agency_id: str, client_id: str, debtor_id: str, *, amount_minor: int,
                  currency: str, source: str, payment_id: str, received_on: date,
                  now: datetime, actor: str, invoice_ids: list[str] | None = None,
                  reference: str | None = None, plan_id: str | None = None,
                  discounts: dict[str, int] | None = None) -> dict:
    """Allocate a payment (chosen invoices, else oldest due first; the rest is account
    credit), save invoices, debtor, payment and timeline entry in one transaction. A stale
    version anywhere re-reads everything and allocates again, so two payments racing for
    the same invoice reconcile exactly. Returns the payment with `replayed` True when this
    payment id was applied before (nothing changes then). `discounts` (invoice id -> minor
    units) are early-payment discounts offered at checkout: granted only on an invoice this
    payment settles in full, and recorded on the allocation line."""
    from chalicelib.payments import plans

    dkey = debtor_key(agency_id, client_id, debtor_id)
    for attempt in range(ATTEMPTS):
        found, debtor, invoices, client = _load(agency_id, client_id, debtor_id, payment_id)
        if payment_id in found:
            return {**render(found[payment_id]), "replayed": True}
        known = {i.invoice_id for i in invoices}
        chosen = [i for i in invoice_ids if i in known] if invoice_ids else None
        if invoice_ids and not chosen:
            raise ValidationFailed.one("invoice_ids", "none of these invoices is on the account")
        offered = {k: int(v) for k, v in (discounts or {}).items() if int(v) > 0}
        items = [_less(o, offered.get(o.invoice_id, 0)) for o in _open_items(invoices, currency)]
        chosen = [i for i in (chosen or []) if i in {o.invoice_id for o in items}] \
            if chosen is not None else None
        try:
            result = alloc_domain.allocate(amount_minor, currency, items, chosen)
        except alloc_domain.AllocationError as exc:
            raise ValidationFailed.one("amount_minor", str(exc)) from None
        by_id = {i.invoice_id: i for i in invoices}
        changed = []
        granted: dict[str, int] = {}
        for line in result.lines:
            inv = by_id[line.invoice_id]
            discount = offered.get(line.invoice_id, 0)
            if line.new_balance == 0 and discount:
                granted[line.invoice_id] = discount
            new_balance = line.new_balance + (0 if line.new_balance == 0 else discount)
            inv.balance_minor = new_balance
            inv.status = status_for_balance(int(inv.total_minor), new_balance, inv.status)
            if new_balance == 0:  # settled through Recoup: paid the day the money arrived
                record_settlement(inv, stated("recoup", received_on))
            inv.updated_at = iso(now)
            index_fields(inv)
            changed.append(inv)
        debtor.credit_minor = int(debtor.credit_minor or 0) + result.credit_minor
        accounts.recompute(debtor, now, invoices, client=client)
        debtor.updated_at = iso(now)
        allocations = [{"invoice_id": ln.invoice_id, "number": by_id[ln.invoice_id].number,
                        "applied_minor": ln.applied_minor, "previous_balance": ln.previous_balance,
                        "new_balance": ln.new_balance, "previous_status": ln.previous_status,
                        "new_status": ln.new_status,
                        "discount_minor": granted.get(ln.invoice_id, 0)} for ln in result.lines]
        pay = PaymentModel(dkey, payment_id, kind="payment", source=source,
                           amount_minor=amount_minor, currency=currency,
                           received_on=received_on.isoformat(),
                           allocations={"lines": allocations, "credit_minor": result.credit_minor,
                                        "plan_id": plan_id},
                           external_ref=reference, created_at=iso(now))
        money = format_money(amount_minor, currency)
        paid_text = ", ".join(f"{a['number']} {format_money(a['applied_minor'], currency)}"
                              for a in allocations) or "no invoice"
        summary = f"Payment {money} received ({source}): {paid_text}"
        if granted:
            summary += (f"; early-payment discount {format_money(sum(granted.values()), currency)}"
                        " allowed")
        if result.credit_minor:
            summary += f"; {format_money(result.credit_minor, currency)} kept as credit"
        entry = timeline.entry(agency_id, client_id, debtor_id, "payment", summary, actor=actor,
                               data={"payment_id": payment_id, "amount_minor": amount_minor,
                                     "currency": currency, "allocations": allocations,
                                     "credit_minor": result.credit_minor, "plan_id": plan_id},
                               at=now, entry_id=f"{iso(now)}#pay-{payment_id}")
        plan = plans.after_payment(dkey, plan_id, amount_minor, now) if plan_id else None
        # The event is stored in the payment's own transaction: no crash can separate them.
        applied = events.stage("payment_applied", event_id=f"{agency_id}#ev#{payment_id}",
                               agency_id=agency_id, client_id=client_id, debtor_id=debtor_id,
                               payment_id=payment_id, amount_minor=amount_minor,
                               currency=currency, allocations=allocations, source=source,
                               credit_minor=result.credit_minor, at=iso(now))
        try:
            _commit(f"{payment_id}-{attempt}", changed, debtor, pay, entry,
                    [plan] if plan is not None else [], [applied])
        except TransactWriteError as exc:
            log.info("payment %s: conflict on attempt %d (%s); re-reading", payment_id,
                     attempt + 1, getattr(exc, "cause_response_code", exc))
            continue
        out = render(pay)
        events.after_commit([applied])
        if plan is not None:
            plans.after_commit(agency_id, client_id, debtor_id, plan, now)
        return {**out, "replayed": False}
    raise Conflict("the account kept changing; the payment was not applied, retry")


def _commit(token: str, invoices: list, debtor, money: PaymentModel, entry, extra=(),
            announced=()) -> None:
    """One transaction for a money movement: the invoices and debtor under their versions,
    the payment (or reversal) and its timeline entry only if new, any extra item, and the
    events that announce it (outbox items, only if new)."""
    with TransactWrite(connection=events.connection(), client_request_token=token) as tx:
        for inv in invoices:
            tx.save(inv)
        tx.save(debtor)
        tx.save(money, condition=PaymentModel.payment_id.does_not_exist())
        tx.save(entry, condition=timeline.TimelineModel.entry_id.does_not_exist())
        for item in extra:
            tx.save(item)
        for item in announced:
            tx.save(item, condition=OutboxModel.event_id.does_not_exist())


def _allocation_of(pay: PaymentModel) -> alloc_domain.Allocation:
    data = pay.allocations or {}
    lines = tuple(alloc_domain.AllocationLine(
        a["invoice_id"], int(a["applied_minor"]), int(a["previous_balance"]),
        int(a["new_balance"]), a["new_status"], a["previous_status"])
        for a in data.get("lines", []))
    return alloc_domain.Allocation(int(pay.amount_minor), pay.currency, lines,
                                   int(data.get("credit_minor", 0)))


def reversed_so_far(dkey: str, payment_id: str,
                    kinds: tuple[str, ...] = ("refund", "chargeback")) -> int:
    return sum(int(p.amount_minor) for p in PaymentModel.query(dkey, consistent_read=True)
               if p.kind in kinds
               and (p.allocations or {}).get("reverses") == payment_id)


def reverse_payment(agency_id: str, client_id: str, debtor_id: str, *, payment_id: str,
                    amount_minor: int, kind: str, reversal_id: str, now: datetime,
                    reason: str) -> dict | None:
    """Reopen balances for a refund or chargeback of `amount_minor` (credit first, then
    invoices, newest-paid first). Deterministic reversal_id: a replay changes nothing.
    None if the payment is unknown."""
    dkey = debtor_key(agency_id, client_id, debtor_id)
    for attempt in range(ATTEMPTS):
        try:
            found, debtor, invoices, client = _load(agency_id, client_id, debtor_id,
                                                    reversal_id, payment_id)
        except NotFound:
            return None  # no account, so no payment of it
        if reversal_id in found:
            return {**render(found[reversal_id]), "replayed": True}
        pay = found.get(payment_id)
        if pay is None:
            return None
        left = int(pay.amount_minor) - reversed_so_far(dkey, payment_id)
        amount = min(amount_minor, left)
        if amount <= 0:
            return {**render(pay), "replayed": True}
        rev = alloc_domain.reverse(_allocation_of(pay), amount)
        if debtor is None:
            raise NotFound("debtor")
        by_id = {i.invoice_id: i for i in invoices}
        changed = []
        for line in rev.lines:
            inv = by_id.get(line.invoice_id)
            if inv is None:
                continue
            inv.balance_minor = int(inv.balance_minor) + line.restored_minor
            keep = line.status if line.status in ("disputed",) else None
            inv.status = keep or status_for_balance(int(inv.total_minor), int(inv.balance_minor))
            if int(inv.balance_minor) > 0:
                record_settlement(inv, None)  # owed again: no longer paid
            inv.updated_at = iso(now)
            index_fields(inv)
            changed.append(inv)
        debtor.credit_minor = int(debtor.credit_minor or 0) - rev.credit_removed_minor
        accounts.recompute(debtor, now, invoices, client=client)
        debtor.updated_at = iso(now)
        lines = [{"invoice_id": ln.invoice_id, "restored_minor": ln.restored_minor}
                 for ln in rev.lines]
        item = PaymentModel(dkey, reversal_id, kind=kind, source="stripe", amount_minor=amount,
                            currency=pay.currency, received_on=now.date().isoformat(),
                            allocations={"reverses": payment_id, "lines": lines,
                                         "credit_removed_minor": rev.credit_removed_minor},
                            external_ref=reason, created_at=iso(now))
        word = "Refund" if kind == "refund" else "Chargeback"
        entry = timeline.entry(agency_id, client_id, debtor_id, kind,
                               f"{word} {format_money(amount, pay.currency)}: balances reopened",
                               actor="stripe", data={"payment_id": payment_id, "lines": lines},
                               at=now, entry_id=f"{iso(now)}#rev-{reversal_id}")
        announced = [
            events.stage("payment_reversed", event_id=f"{agency_id}#ev#{reversal_id}",
                         agency_id=agency_id, client_id=client_id, debtor_id=debtor_id,
                         payment_id=payment_id, amount_minor=amount, currency=pay.currency,
                         at=iso(now), reversal_id=reversal_id,
                         allocations=[{"invoice_id": ln["invoice_id"],
                                       "amount_minor": ln["restored_minor"]} for ln in lines]),
            events.stage("call_task_needed", event_id=f"{agency_id}#ev#{reversal_id}-call",
                         agency_id=agency_id, client_id=client_id, debtor_id=debtor_id,
                         reason=kind, due_at=iso(now), at=iso(now),
                         details={"payment_id": payment_id, "amount_minor": amount,
                                  "currency": pay.currency, "why": reason})]
        try:
            _commit(f"{reversal_id}-{attempt}", changed, debtor, item, entry, (), announced)
        except TransactWriteError:
            continue
        events.after_commit(announced)
        return {**render(item), "replayed": False}
    raise Conflict("the account kept changing; the reversal was not applied")


def list_payments(agency_id: str, client_id: str, debtor_id: str) -> list[dict]:
    return [render(p) for p in PaymentModel.query(debtor_key(agency_id, client_id, debtor_id))]
