"""Logging a call's outcome: the attempt counts for the caps, the timeline says what happened,
and the account's next action follows the call rules (domain.calls.next_action_for)."""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import iso
from chalicelib.workbench import call_rules as calls
from chalicelib.kernel.errors import Conflict, ValidationFailed
from chalicelib.store import timeline
from chalicelib.workbench import disputes, promises, tasks
from chalicelib.book.debtors import load_debtor
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ContactModel
from chalicelib.workbench.models import CallTaskModel

LABELS = {"no_answer": "no answer", "voicemail": "voicemail left",
          "wrong_number": "wrong number", "promise_to_pay": "promise to pay",
          "dispute": "dispute raised", "payment_plan_agreed": "payment plan agreed",
          "paid_already": "says already paid", "callback_requested": "callback requested",
          "refuses_to_pay": "refuses to pay"}


def _flag_contact(agency_id: str, client_id: str, debtor_id: str, contact_id: str,
                  now: datetime) -> None:
    try:
        c = ContactModel.get(debtor_key(agency_id, client_id, debtor_id), contact_id)
    except ContactModel.DoesNotExist:
        raise ValidationFailed.one("contact_id", "no such contact on this account") from None
    c.opted_out = set(c.opted_out or set()) | {"call", "sms"}
    c.notes = ((c.notes or "") + f" [wrong number {now.date()}]").strip()
    c.updated_at = iso(now)
    c.save()


def log_outcome(p: Principal, client_id: str, task_id: str, data, *,
                now: datetime) -> dict:
    slot = tasks.load_task(p, client_id, task_id)
    client, debtor = load_debtor(p, client_id, slot.debtor_id)
    if slot.status != "open":
        raise Conflict("this task is closed; its outcome was logged already")
    if tasks._held_by_other(slot, p.user_id, now):
        raise Conflict("another specialist holds this task")
    details = data.model_dump(exclude_none=True, exclude={"outcome", "note"})
    try:
        action = calls.next_action_for(data.outcome, details, now)
    except calls.OutcomeError as exc:
        raise ValidationFailed.one(exc.field, exc.reason) from None
    consent = tasks.parse(slot.consent_at)
    consented = bool(consent and consent + timedelta(days=7) > now)
    attempt = calls.attempt_for(data.outcome, now, consented=consented)
    a, c, d = p.agency_id, client_id, slot.debtor_id
    effects: dict = {}
    # Side effects first, so a refusal (e.g. invoice already disputed) leaves the task open.
    if "open_dispute" in action.flags:
        effects["dispute"] = disputes.open_dispute(a, c, d, details["invoice_id"],
                                                   details["reason"], owner=p.user_id,
                                                   detail=data.detail, now=now)
    if "flag_contact" in action.flags:
        _flag_contact(a, c, d, details["contact_id"], now)
    if "record_promise" in action.flags:
        effects["promise"] = promises.render(promises.record(
            a, c, d, amount_minor=action.data["amount_minor"], currency=debtor.currency,
            promised_for=action.data["date"], taken_by=p.user_id, now=now))
    if "create_plan" in action.flags:  # the same plan the API and the debtor's page make
        from chalicelib.payments import plans

        effects["plan"] = plans.create_plan(
            a, client, debtor, instalments=action.data["instalments"],
            first_due=action.data["first_due"], interval="monthly", source="specialist",
            actor=p.user_id, now=now)
    if action.kind in ("pause_until", "flag_reconciliation"):
        promises.pause(debtor, action.at, now)
    elif action.kind == "resume_cadence" and debtor.paused_until:
        promises.pause(debtor, None, now)
    summary = f"Call: {LABELS[data.outcome]}. {action.note[0].upper()}{action.note[1:]}"
    timeline.record(a, c, d, "call_outcome", summary + (f" — {data.note}" if data.note else ""),
                    actor=p.user_id, at=now,
                    data={"task_id": task_id, "outcome": data.outcome, "note": data.note,
                          "next_action": action.kind, "next_at": iso(action.at)
                          if action.at else None,
                          "details": {k: str(v) for k, v in details.items()}})
    _close(slot, attempt, now)
    follow_up = None
    if action.kind == "new_task_at":
        callback = "callback" in action.flags
        follow_up = tasks.raise_task(
            a, c, d, "callback requested" if callback else f"retry after {LABELS[data.outcome]}",
            due_at=action.at, source="outcome", now=now,
            details={"event_id": f"{task_id}-followup"},
            callback_at=action.at if callback else None,
            consent_at=now if callback else None)
    if action.kind == "escalation_review":
        from chalicelib.workbench import escalations

        effects["escalation"] = escalations.propose(a, c, d, ["debtor refuses to pay"], now=now)
    if data.outcome == "dispute":
        _count_dispute(slot)
    return {"task_id": task_id, "outcome": data.outcome,
            "next_action": {"kind": action.kind, "at": iso(action.at) if action.at else None,
                            "note": action.note},
            "next_task": tasks.render(follow_up, now) if follow_up else None, **effects}


def _close(slot: CallTaskModel, attempt: calls.CallAttempt, now: datetime) -> None:
    keep_after = now - timedelta(days=tasks.ATTEMPT_MEMORY_DAYS)
    for _ in range(3):
        before = tasks.queued(slot)
        recent = [x for x in slot.attempts or [] if tasks.parse(x["at"]) > keep_after]
        slot.attempts = [*recent, {"at": iso(attempt.at), "connected": attempt.connected,
                                   "exempt": attempt.exempt}]
        tasks.close_slot(slot)
        slot.callback_at = None
        slot.updated_at = iso(now)
        try:
            tasks.save_slot(slot, before, condition=CallTaskModel.status == "open")
            return
        except (PutError, TransactWriteError):
            slot.refresh(consistent_read=True)
            if slot.status != "open":
                raise Conflict("this task was closed meanwhile") from None


def _count_dispute(slot: CallTaskModel) -> None:
    try:
        slot.update(actions=[CallTaskModel.disputes.add(1)], add_version_condition=False)
    except UpdateError:  # pragma: no cover - the count only feeds the risk score
        pass
