"""Stripe webhook events: verified, deduplicated on the event id, tolerant of repeats and
out-of-order delivery; payments fulfilled through the one idempotent apply_payment."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.kernel import claims
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import RecoupError, ValidationFailed
from chalicelib.payments import stripe_gateway as gw
from chalicelib.payments import ledger as payments
from chalicelib.store import timeline
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ClaimModel

log = logging.getLogger("recoup.stripe")
BUSY_FOR = timedelta(minutes=2)  # a claim older than this is taken over (the worker died)
HANDLED = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
           "checkout.session.expired", "charge.refunded", "charge.dispute.created")


class Busy(Exception):
    """The same event is being handled right now: Stripe will retry later."""


def checkout_key(agency_id: str, attempt_id: str) -> str:
    return f"{agency_id}#checkout#{attempt_id}"


def handle(raw_body: bytes | str, signature: str | None, now: datetime) -> dict:
    """Verify and act on one delivery. SignatureError or BadEvent (-> 400) before anything
    changes; an event for an account we no longer have is recorded and ignored (200), so
    Stripe stops retrying and nothing answers 5xx."""
    event = gw.verify_event(raw_body, signature, now)
    kind, data = event.get("type"), event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(kind, str) or not isinstance(event.get("id"), str) or not (
            obj is None or isinstance(obj, dict)):
        raise gw.BadEvent("not a Stripe event (id, type, data.object)")
    obj = obj or {}
    if kind not in HANDLED:
        return {"received": True, "ignored": kind}
    meta = obj.get("metadata") or {}
    if not isinstance(meta, dict):
        raise gw.BadEvent("data.object.metadata is not an object")
    meta = {str(k): v for k, v in meta.items()}
    if kind.startswith("charge.") and not meta.get("agency_id"):
        meta = gw.retrieve_payment_intent_metadata(str(obj.get("payment_intent") or ""))
    agency_id = meta.get("agency_id")
    if not agency_id or not isinstance(agency_id, str):
        log.warning("stripe event %s (%s) names no agency; ignored", event.get("id"), kind)
        return {"received": True, "ignored": kind}
    claim = f"{agency_id}#stripe-event#{event['id']}"
    if not _claim(claim, now):
        return {"received": True, "duplicate": True}
    try:
        result = _dispatch(kind, obj, meta, now)
    except (KeyError, TypeError, ValueError, RecoupError, DoesNotExist) as exc:
        # The account (or its client) is gone, or the metadata names none: nothing to apply
        # it to. Record it as done so a redelivery is a duplicate, and say so loudly.
        log.error("stripe event %s (%s) for %s: no account to apply it to (%s: %s)",
                  event["id"], kind, {k: meta.get(k) for k in ("client_id", "debtor_id")},
                  type(exc).__name__, exc)
        result = {"action": "ignored", "reason": "unknown account"}
    ClaimModel(claim, status="done", result=result, created_at=iso(now), updated_at=iso(now)).save()
    return {"received": True, **result}


def _claim(key: str, now: datetime) -> bool:
    """True if this delivery may act; False for a finished duplicate; Busy if in progress
    (a claim older than BUSY_FOR is taken over: its worker died)."""
    won, item = claims.take(key, now, lease=BUSY_FOR)
    if won:
        return True
    if item.status == "done":
        return False
    raise Busy(key)


def _ids(meta: dict) -> tuple[str, str, str]:
    return meta["agency_id"], meta["client_id"], meta["debtor_id"]


def _dispatch(kind: str, obj: dict, meta: dict, now: datetime) -> dict:
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return fulfil(obj, meta, now)
    if kind == "checkout.session.expired":
        return _expired(obj, meta, now)
    if kind == "charge.refunded":
        pid = payments.payment_id_for("stripe", obj.get("payment_intent") or "")
        a, c, d = _ids(meta)
        refunded = int(obj.get("amount_refunded") or 0)
        delta = refunded - payments.reversed_so_far(debtor_key(a, c, d), pid, ("refund",))
        if delta <= 0:
            return {"action": "none"}
        out = payments.reverse_payment(a, c, d, payment_id=pid, amount_minor=delta,
                                       kind="refund", now=now, reason="refunded in Stripe",
                                       reversal_id=payments.payment_id_for(
                                           "refund", obj.get("id", ""), str(refunded)))
        return {"action": "refund", "reversal": out and out["id"]}
    if kind == "charge.dispute.created":
        pid = payments.payment_id_for("stripe", obj.get("payment_intent") or "")
        a, c, d = _ids(meta)
        out = payments.reverse_payment(a, c, d, payment_id=pid, amount_minor=int(obj["amount"]),
                                       kind="chargeback", now=now,
                                       reason=f"card dispute: {obj.get('reason', 'unknown')}",
                                       reversal_id=payments.payment_id_for(
                                           "dispute", obj.get("id", "")))
        return {"action": "chargeback", "reversal": out and out["id"]}
    return {"action": "none"}


def fulfil(session: dict, meta: dict, now: datetime) -> dict:
    """Apply a paid Checkout Session once, whatever order its events arrive in."""
    fresh = gw.retrieve_session(session["id"])  # re-read: the event may be old news
    if fresh is not None:
        session, meta = fresh, dict(fresh.get("metadata") or meta)
    if session.get("payment_status") != "paid":
        return {"action": "awaiting_payment"}
    a, c, d = _ids(meta)
    ref = session.get("payment_intent") or session["id"]
    invoices = [i for i in (meta.get("invoice_ids") or "").split(",") if i]
    discounts: dict = {}
    record = None
    if meta.get("attempt_id"):  # the full checkout as we built it (metadata is size-capped)
        try:
            record = ClaimModel.get(checkout_key(a, meta["attempt_id"]), consistent_read=True)
            invoices = record.result.get("invoice_ids") or invoices
            discounts = record.result.get("discounts") or {}
        except ClaimModel.DoesNotExist:
            pass
    args = dict(amount_minor=int(session["amount_total"]),
                currency=str(session["currency"]).upper(),
                source="plan" if meta.get("plan_id") else "link",
                payment_id=payments.payment_id_for("stripe", ref), received_on=now.date(),
                now=now, actor="debtor", reference=ref, plan_id=meta.get("plan_id") or None,
                discounts=discounts)
    try:
        paid = payments.apply_payment(a, c, d, invoice_ids=invoices or None, **args)
    except ValidationFailed:
        # The money is real even if its invoices vanished (re-imported, renumbered):
        # apply it oldest first, the rest as credit, rather than refuse the webhook forever.
        paid = payments.apply_payment(a, c, d, invoice_ids=None, **args)
    if meta.get("attempt_id"):
        _set_checkout(a, meta["attempt_id"], "completed", now, item=record)  # read above
    return {"action": "payment", "payment_id": paid["id"], "replayed": paid["replayed"]}


_UNREAD = object()


def _set_checkout(agency_id: str, attempt_id: str, status: str, now: datetime,
                  item=_UNREAD) -> bool:
    """Move the checkout record to `status`; "completed" is final (the write is
    conditional, so it never undoes a completion made meanwhile). `item`: the record (or
    None: there is none) as the caller read it just now; not read again."""
    key = checkout_key(agency_id, attempt_id)
    if item is _UNREAD:
        try:
            item = ClaimModel.get(key, consistent_read=True)
        except ClaimModel.DoesNotExist:
            item = None
    if item is not None and item.status == "completed":
        return False  # an "expired" after "completed" changes nothing
    record = item if item is not None else ClaimModel(key, status=status, result={},
                                                      created_at=iso(now))
    record.status, record.updated_at = status, iso(now)
    try:
        record.save(condition=ClaimModel.claim_key.does_not_exist()
                    | (ClaimModel.status != "completed"))
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _expired(session: dict, meta: dict, now: datetime) -> dict:
    a, c, d = _ids(meta)
    if meta.get("attempt_id") and not _set_checkout(a, meta["attempt_id"], "expired", now):
        return {"action": "none"}
    timeline.record(a, c, d, "checkout_expired", "Card checkout abandoned (session expired)",
                    actor="stripe", data={"session_id": session.get("id")}, at=now,
                    entry_id=f"{iso(now)}#expired-{session.get('id')}")
    return {"action": "expired"}
