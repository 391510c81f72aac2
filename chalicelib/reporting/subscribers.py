"""Keeps each client's report aggregate in step with events (subscribed via events.SUBSCRIBERS).

One path in every environment: the services that change invoices publish in-process events
(the importer once per import with the whole list), and these handlers apply them as one
batch with a deterministic id, so a redelivered event is a no-op (report_store). No
DynamoDB stream handler is needed; if one is added later it must call the same handlers
with the same batch ids, or it would count twice.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from chalicelib.reporting import kpis
from chalicelib.reporting.figures import bump_activity, dispute_activity
from chalicelib.kernel import events
from chalicelib.reporting import store as report_store
from chalicelib.reporting.store import NO_CHANGE, Loaded
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ClientModel, InvoiceModel, PaymentModel


def _client(agency_id: str, client_id: str) -> ClientModel | None:
    try:
        return ClientModel.get(agency_id, client_id)
    except ClientModel.DoesNotExist:
        return None


def _when(at: Any) -> datetime:
    if isinstance(at, datetime):
        return at
    if isinstance(at, str) and at:
        return datetime.fromisoformat(at.replace("Z", "+00:00"))
    raise ValueError(f"event without a time (at={at!r}): publishers pass at")


def _day(at: Any) -> date:
    if isinstance(at, date) and not isinstance(at, datetime):
        return at
    return _when(at).date()


def after_batch(agency_id: str, client_id: str, now: datetime,
                baseline: bool = False) -> Any:
    """Store today's snapshot and the overview summary (and the onboarding baseline)."""
    from chalicelib.reporting import reports

    def run(state: Loaded) -> None:
        reports.store_snapshots(agency_id, client_id, state, now, baseline=baseline)

    return run


def on_invoice_changed(agency_id: str, client_id: str, debtor_id: str | None = None,
                       invoice_id: str | None = None, old: dict | None = None,
                       new: dict | None = None, changes: list[dict] | None = None,
                       batch_id: str | None = None, at: Any = None,
                       import_mode: str | None = None, **_: Any) -> None:
    """One invoice (old/new) or a list of them (``changes``, an import) changed."""
    client = _client(agency_id, client_id)
    if client is None:
        return
    rows = changes if changes is not None else [
        {"debtor_id": debtor_id, "invoice_id": invoice_id, "old": old, "new": new}]
    if not rows and import_mode != "full":
        return
    if batch_id is None:
        first = rows[0]["new"] or rows[0]["old"] or {}
        batch_id = f"inv:{rows[0]['invoice_id']}@{first.get('version')}"
    now = _when(at)

    def change_to(state: dict | None):
        def change(entry: dict | None):
            if state is None:
                return None if entry is not None else NO_CHANGE
            have = int((entry or {}).get("state", {}).get("version") or 0)
            if entry is not None and have and int(state.get("version") or 0) <= have:
                return NO_CHANGE  # an older state arriving late
            return {"state": state, "payments": (entry or {}).get("payments", [])}
        return change

    def mutate(loaded: Loaded, olds: dict, news: dict) -> None:
        for inv_id, new_entry in news.items():
            before = (olds.get(inv_id) or {}).get("state")
            dispute_activity(loaded.head["activity"], before, (new_entry or {}).get("state"),
                             now.date())

    report_store.apply_batch(
        agency_id, client_id, client.currency, batch_id,
        {r["invoice_id"]: change_to(r["new"]) for r in rows}, now=now, mutate=mutate,
        after=after_batch(agency_id, client_id, now, baseline=import_mode == "full"))


def _source(name: str | None) -> str:
    return name if name in kpis.SOURCES else "other"


def _applied(allocation: dict) -> int:
    """Minor units an allocation put on its invoice (payments name it applied_minor)."""
    return int(allocation.get("applied_minor", allocation.get("amount_minor")) or 0)


def on_payment_applied(agency_id: str, client_id: str, debtor_id: str, payment_id: str,
                       allocations: list[dict] | None = None, source: str | None = None,
                       at: Any = None, **_: Any) -> None:
    """Money received: each allocation ({invoice_id, amount_minor}) is a payment fact."""
    client = _client(agency_id, client_id)
    if client is None:
        return
    day = _day(at).isoformat()
    dkey = debtor_key(agency_id, client_id, debtor_id)

    def add(inv_id: str, amount: int):
        def change(entry: dict | None):
            if entry is None:
                try:
                    from chalicelib.book.invoices import state

                    entry = {"state": state(InvoiceModel.get(dkey, inv_id)), "payments": []}
                except InvoiceModel.DoesNotExist:
                    return NO_CHANGE
            if any(p[0] == payment_id for p in entry["payments"]):
                return NO_CHANGE
            return {**entry, "payments": entry["payments"] + [
                [payment_id, day, int(amount), _source(source)]]}
        return change

    changes = {a["invoice_id"]: add(a["invoice_id"], _applied(a))
               for a in allocations or [] if _applied(a) > 0}
    now = _when(at)
    report_store.apply_batch(agency_id, client_id, client.currency, f"pay:{payment_id}", changes,
                             now=now, after=after_batch(agency_id, client_id, now))


def on_payment_reversed(agency_id: str, client_id: str, debtor_id: str, payment_id: str,
                        at: Any = None, allocations: list[dict] | None = None,
                        reversal_id: str | None = None, **_: Any) -> None:
    """Money given back (refund, chargeback): allocations name how much each invoice got
    back; without them the whole payment is taken out."""
    client = _client(agency_id, client_id)
    if client is None:
        return
    if allocations is None:
        try:
            stored = PaymentModel.get(debtor_key(agency_id, client_id, debtor_id),
                                      payment_id).allocations or []
            allocations = stored.get("lines", []) if isinstance(stored, dict) else stored
        except PaymentModel.DoesNotExist:
            allocations = []

    def remove(amount: int | None):
        def change(entry: dict | None):
            if entry is None or not any(p[0] == payment_id for p in entry["payments"]):
                return NO_CHANGE
            kept = []
            for p in entry["payments"]:
                if p[0] == payment_id and amount is not None and int(p[2]) > amount:
                    kept.append([p[0], p[1], int(p[2]) - amount, p[3]])
                elif p[0] != payment_id:
                    kept.append(p)
            return {**entry, "payments": kept}
        return change

    now = _when(at)
    changes = {a["invoice_id"]: remove(_applied(a) if reversal_id else None)
               for a in allocations if "invoice_id" in a}
    report_store.apply_batch(agency_id, client_id, client.currency,
                             f"rev:{reversal_id or payment_id}", changes, now=now,
                             after=after_batch(agency_id, client_id, now))


def _activity(agency_id: str, client_id: str, batch_id: str, at: Any, name: str,
              key: str | None = None, delta: int = 1, minor: int = 0) -> None:
    client = _client(agency_id, client_id)
    if client is None:
        return
    now = _when(at)
    month = now.date().isoformat()[:7]

    def mutate(loaded: Loaded, olds: dict, news: dict) -> None:
        bump_activity(loaded.head["activity"], month, name, key, delta)
        if minor:
            bump_activity(loaded.head["activity"], month, name + "_minor", None, minor)

    report_store.apply_batch(agency_id, client_id, client.currency, batch_id, {}, now=now,
                             mutate=mutate)


def _digest(*parts: Any) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def on_touch_sent(agency_id: str, client_id: str, debtor_id: str, channel: str,
                  step: Any = None, at: Any = None, **_: Any) -> None:
    _activity(agency_id, client_id, f"touch:{_digest(debtor_id, step, at, channel)}", at,
              "touches", channel or "other")


def on_escalation_changed(agency_id: str, client_id: str, debtor_id: str, escalation_id: str,
                          status: str, recovered_minor: int = 0, at: Any = None,
                          **_: Any) -> None:
    """status: requested | approved | recovered | closed (the workbench publishes it)."""
    name = {"requested": "escalations", "recovered": "recoveries"}.get(status)
    if name:
        _activity(agency_id, client_id, f"esc:{escalation_id}:{status}", at, name,
                  minor=int(recovered_minor or 0) if name == "recoveries" else 0)


def _promise(data: dict | None, debtor_id: str) -> kpis.PromiseFact | None:
    if not data:
        return None
    return kpis.PromiseFact(debtor_id, date.fromisoformat(str(data["promised_on"])[:10]),
                            date.fromisoformat(str(data["due_date"])[:10]),
                            int(data["amount_minor"]), data.get("kept"))


def on_promise_recorded(agency_id: str, client_id: str, debtor_id: str, promise_id: str,
                        old: dict | None = None, new: dict | None = None, at: Any = None,
                        **_: Any) -> None:
    """A promise made (old None), judged or changed, or withdrawn (new None)."""
    client = _client(agency_id, client_id)
    if client is None:
        return
    event = kpis.PromiseRecorded(_promise(old, debtor_id), _promise(new, debtor_id))

    def mutate(loaded: Loaded, olds: dict, news: dict) -> None:
        loaded.agg.apply(event)

    now = _when(at)
    report_store.apply_batch(agency_id, client_id, client.currency,
                             f"promise:{promise_id}:{_digest(old, new)}", {}, now=now,
                             mutate=mutate, after=after_batch(agency_id, client_id, now))


events.subscribe("invoice_changed", on_invoice_changed)
events.subscribe("payment_applied", on_payment_applied)
events.subscribe("payment_reversed", on_payment_reversed)
events.subscribe("touch_sent", on_touch_sent)
events.subscribe("escalation_changed", on_escalation_changed)
events.subscribe("promise_recorded", on_promise_recorded)
