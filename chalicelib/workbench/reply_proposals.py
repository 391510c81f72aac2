"""A debtor's reply read as a promise (with its date) or a dispute is a proposal: the
specialist sees it on the debtor view and confirms it in one click, which makes the promise
(`promises.make`) or opens the dispute (`disputes.open_dispute`), the same use cases a call
or the debtor's page use, then marks the reply handled (`dunning.replies.handled`: chasing
resumes, under the promise's pause if one was made). Any reply may simply be marked
handled. Nothing is applied unless a specialist confirms."""
from __future__ import annotations

from datetime import date, datetime

from chalicelib.book.debtors import load_debtor
from chalicelib.dunning import replies
from chalicelib.http.access import require_staff
from chalicelib.http.auth import Principal
from chalicelib.kernel import claims
from chalicelib.kernel.errors import Conflict, ValidationFailed
from chalicelib.kernel.money import to_major
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import InvoiceModel
from chalicelib.workbench import disputes, promises, tasks

CONFIRMABLE = ("promise_to_pay", "dispute_or_query")


def _open_invoices(agency_id: str, client_id: str, debtor_id: str) -> list[InvoiceModel]:
    key = debtor_key(agency_id, client_id, debtor_id)
    return sorted((i for i in InvoiceModel.query(key, consistent_read=True)
                   if int(i.balance_minor) > 0 and i.status != "disputed"),
                  key=lambda i: (i.due_date, i.number))


def pending(p: Principal, client_id: str, debtor_id: str) -> dict | None:
    """The reply the account waits on and what confirming it would do (None: no reply)."""
    require_staff(p)
    _, debtor = load_debtor(p, client_id, debtor_id)
    r = replies.waiting((p.agency_id, client_id, debtor_id))
    if r is None:
        return None
    label = r.get("label") or "other"
    proposal = None
    if label == "promise_to_pay":
        amount = _promised_amount(r, debtor)
        proposal = {"kind": "promise", "date": r.get("found_date"), "amount_minor": amount,
                    "amount_major": str(to_major(amount, debtor.currency)),
                    "currency": debtor.currency}
    elif label == "dispute_or_query":
        invoices = _open_invoices(p.agency_id, client_id, debtor_id)
        proposal = {"kind": "dispute", "invoice_id": invoices[0].invoice_id if invoices else None,
                    "invoice_number": invoices[0].number if invoices else None,
                    "reason": "other"}
    return {"reply_id": r["reply_id"], "label": label, "channel": r.get("channel"),
            "from": r.get("from"), "subject": r.get("subject"),
            "excerpt": (r.get("body") or "")[:600], "reasons": list(r.get("reasons") or []),
            "received_at": r.get("at"), "attachments": list(r.get("attachments") or []),
            "proposal": proposal}


def _promised_amount(r: dict, debtor) -> int:
    """The amount the reply named (in the account's currency), else what is due outside
    disputes (what "I will pay on Friday" means)."""
    named = r.get("amount_minor")
    if named and (r.get("currency") or debtor.currency) == debtor.currency:
        return int(named)
    return promises.owed_outside_disputes(debtor)


def _current(p: Principal, client_id: str, debtor_id: str, reply_id: str) -> dict:
    r = replies.waiting((p.agency_id, client_id, debtor_id))
    if r is None or r["reply_id"] != reply_id:
        raise Conflict("this reply was handled already (or a newer one arrived); reload")
    return r


def confirm(p: Principal, client_id: str, debtor_id: str, reply_id: str, data, *,
            now: datetime) -> dict:
    """Apply what the reply proposes (fields in `data` override the proposal: promise_date,
    amount_minor; invoice_id, reason, detail), then mark the reply handled."""
    require_staff(p)
    _, debtor = load_debtor(p, client_id, debtor_id)
    r = _current(p, client_id, debtor_id, reply_id)
    label = r.get("label")
    if label not in CONFIRMABLE:
        raise ValidationFailed.one("reply_id", f"a reply read as {str(label).replace('_', ' ')}"
                                               " has nothing to confirm: mark it handled")
    a = p.agency_id
    # once per reply, whoever clicks (a double click, two specialists, a retry)
    won, claim = claims.take(f"{a}#replyconfirm#{client_id}#{debtor_id}#{reply_id}", now,
                             {"by": p.user_id})
    if not won:
        if claim.status == "done":  # applied; a crash may have left the reply waiting
            replies.handled((a, client_id, debtor_id), reply_id, p.user_id, now)
            raise Conflict("this reply's proposal was confirmed already")
        raise Conflict("this reply is being confirmed; reload in a moment")
    try:
        out = _apply(p, client_id, debtor, r, data, now)
    except Exception:
        claims.settle(claim, "failed", now)  # nothing was applied: it may be confirmed again
        raise
    claims.settle(claim, "done", now, promise_id=(out["promise"] or {}).get("id"),
                  dispute_id=(out["dispute"] or {}).get("id"))
    out["handled"] = replies.handled((a, client_id, debtor_id), reply_id, p.user_id, now)
    _close_reply_task(a, client_id, debtor_id, reply_id, now)
    return out


def _apply(p: Principal, client_id: str, debtor, r: dict, data, now: datetime) -> dict:
    a, debtor_id, label = p.agency_id, debtor.debtor_id, r.get("label")
    out: dict = {"reply_id": r["reply_id"], "label": label, "promise": None, "dispute": None}
    if label == "promise_to_pay":
        when = getattr(data, "promise_date", None) or _day(r.get("found_date"))
        if when is None:
            raise ValidationFailed.one("promise_date", "the reply names no date: choose one")
        amount = getattr(data, "amount_minor", None) or _promised_amount(r, debtor)
        if amount <= 0:
            raise ValidationFailed.one("amount_minor", "nothing is due outside disputes")
        m, _ = promises.make(debtor, agency_id=a, client_id=client_id, promised_for=when,
                             amount_minor=amount, taken_by=p.user_id, now=now)
        out["promise"] = promises.render(m)
    else:
        invoice_id = getattr(data, "invoice_id", None)
        if not invoice_id:
            invoices = _open_invoices(a, client_id, debtor_id)
            if not invoices:
                raise ValidationFailed.one("invoice_id", "no open invoice to dispute")
            invoice_id = invoices[0].invoice_id
        detail = getattr(data, "detail", None) or f"From the debtor's reply: {r.get('body', '')}"
        out["dispute"] = disputes.open_dispute(
            a, client_id, debtor_id, invoice_id, getattr(data, "reason", None) or "other",
            owner=p.user_id, detail=detail[:2000], now=now)
    return out


def mark_handled(p: Principal, client_id: str, debtor_id: str, reply_id: str, *,
                 now: datetime) -> dict:
    """The specialist has read the reply (and acted elsewhere, or nothing was needed)."""
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    _current(p, client_id, debtor_id, reply_id)
    handled = replies.handled((p.agency_id, client_id, debtor_id), reply_id, p.user_id, now)
    _close_reply_task(p.agency_id, client_id, debtor_id, reply_id, now)
    return {"reply_id": reply_id, "handled": handled}


def _close_reply_task(agency_id: str, client_id: str, debtor_id: str, reply_id: str,
                      now: datetime) -> None:
    """The call task the reply raised is done, unless it also holds other reasons."""
    slot = tasks.open_task_for(agency_id, client_id, debtor_id)
    if slot is None:
        return
    if all((r.get("details") or {}).get("reply_id") == reply_id for r in slot.reasons or []):
        tasks.close_task(agency_id, client_id, debtor_id, "reply handled", now)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
