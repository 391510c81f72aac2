"""The workbench's reactions to other capabilities' events: call tasks, promises kept, paid
accounts leaving the queue, a client's open tasks following its specialists into their
take-next queues. Each handler is idempotent (events may arrive twice)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.kernel import events
from chalicelib.workbench import promises, tasks
from chalicelib.store.keys import client_key
from chalicelib.store.models import DebtorModel

ACTION_REASONS = {"plan_proposed": "proposed a payment plan", "dispute": "raised a dispute",
                  "question": "asked a question", "promise": "promised to pay",
                  "callback": "asked for a call"}


def _when(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def on_call_task_needed(*, agency_id, client_id, debtor_id, reason, at, due_at=None, details=None,
                        **_):
    tasks.raise_task(agency_id, client_id, debtor_id, reason, due_at=_when(due_at),
                     details=dict(details or {}), source="dunning", now=_when(at))


def on_debtor_action(*, agency_id, client_id, debtor_id, action, at, details=None, **_):
    details = dict(details or {})
    text = ACTION_REASONS.get(action, action.replace("_", " "))
    tasks.raise_task(agency_id, client_id, debtor_id, f"debtor {text} on the payment page",
                     details={"action": action, **details}, source="debtor",
                     dispute=action == "dispute", now=_when(at))


def on_payment_applied(*, agency_id, client_id, debtor_id, payment_id, amount_minor, at,
                       **_):
    when = _when(at)
    promises.apply_payment(agency_id, client_id, debtor_id, payment_id, int(amount_minor), when)
    try:
        debtor = DebtorModel.get(client_key(agency_id, client_id), debtor_id,
                                 consistent_read=True)
    except DebtorModel.DoesNotExist:
        return
    if int(debtor.balance_minor) <= 0:
        tasks.close_task(agency_id, client_id, debtor_id, "account paid", when)
    else:  # part paid: what is left, and how late it is likely to be, ranks the call
        tasks.refresh_rank(agency_id, client_id, debtor_id, when)


def on_client_changed(*, agency_id, client_id, at, fields=(), **_):
    if "specialist_ids" in (fields or ()):
        tasks.requeue_client(agency_id, client_id, _when(at))


events.subscribe("call_task_needed", on_call_task_needed)
events.subscribe("debtor_action", on_debtor_action)
events.subscribe("payment_applied", on_payment_applied)
events.subscribe("client_changed", on_client_changed)
