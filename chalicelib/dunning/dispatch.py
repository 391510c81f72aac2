"""Dispatch: re-read an account, decide, claim the touch, send it once, record it and set
the next action. This is the SQS consumer's work; every step is safe to repeat.

DynamoDB requests for one reminder (the request path; `bench/dispatch_rate.py` counts
them and tests/integration/test_request_path_cost.py holds the line): three reads (the
contacts, one BatchGetItem for the client, the debtor and the agency suppression markers
of the contacts' addresses, then the invoices, read after the debtor so a payment that
lands in between fails the account's version check), the claim (a conditional put,
before the send), and one transaction after it: the claim settled, the recipient for
feedback, the timeline entry, the account's new state under its version and the outbox
event. The queue consumer reads a batch's accounts together (`dispatch_batch`): one
BatchGetItem for all of them, so n reminders read in 2n + 1 requests, not 3n. Everything
the event's consumers do (reports, call tasks) happens off this path."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.dunning import reply_address
from chalicelib.dunning import channels
from chalicelib.dunning.channels import Message, Sent
from chalicelib.kernel.clock import iso
from chalicelib.dunning.cadence import PlannedTouch
from chalicelib.dunning import messages, planner as dunning_plan, scheduling, sender
from chalicelib.kernel import claims, events
from chalicelib.store import accounts, batch
from chalicelib.store import timeline
from chalicelib.dunning.routing import (
    Route, marker_reads, routes, suppressed_among, suppression_keys,
)
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import (
    ClaimModel, ClientModel, ContactModel, DebtorModel, InvoiceModel, OutboxModel,
    TimelineModel,
)

log = logging.getLogger("recoup.dispatch")
# A claim still `claimed` after the queue's visibility timeout belongs to a delivery that
# died: the provider may or may not have accepted the message, so it is never re-sent.
STALE_CLAIM = timedelta(seconds=360)
ACTOR = "dunning"


class DispatchFailed(RuntimeError):
    """A send failed in a way worth retrying (the message goes back to the queue)."""


@dataclass
class Account:
    client: ClientModel
    debtor: DebtorModel
    invoices: list
    contacts: list[ContactModel]
    # keys of the contacts' addresses on the agency suppression list, read with the account
    suppressed: frozenset[str] | None = None

    @property
    def ids(self) -> tuple[str, str, str]:
        agency_id, client_id = self.debtor.client_key.split("#", 1)
        return agency_id, client_id, self.debtor.debtor_id

    @property
    def tz(self) -> str:
        return dunning_plan.time_zone(self.client, self.debtor, self.contacts)

    @property
    def tz_record(self) -> dict:
        tz, source, guess = dunning_plan.zone_and_source(self.client, self.debtor,
                                                         self.contacts)
        return {"tz": tz, "tz_source": source, "tz_guess": guess}


AccountIds = tuple[str, str, str]  # (agency_id, client_id, debtor_id)


def load(agency_id: str, client_id: str, debtor_id: str) -> Account | None:
    """Everything the decision needs, read consistently (a late timer sees the payment),
    in three requests (`load_many` of one account)."""
    ids = (agency_id, client_id, debtor_id)
    return load_many([ids])[ids]


def load_many(accounts: Sequence[AccountIds]) -> dict[AccountIds, Account | None]:
    """What the decisions of several accounts (a queue batch) need, read consistently, in
    2n + 1 requests for n accounts: each account's contacts; one BatchGetItem for the
    clients (each once), the debtors and the agency suppression markers of every contact
    address; each account's invoices (after its debtor: a payment committed after this
    read moves the debtor's version, so the account save re-reads). None for an account
    whose client or debtor is gone. Accounts of one client share its item."""
    wanted = list(dict.fromkeys(accounts))
    contacts = {ids: list(ContactModel.query(debtor_key(*ids), consistent_read=True))
                for ids in wanted}
    marks = {ids: suppression_keys(ids[0], contacts[ids]) for ids in wanted}
    keys = [*dict.fromkeys((ClientModel, a, c) for a, c, _ in wanted),
            *((DebtorModel, f"{a}#{c}", d) for a, c, d in wanted),
            *(key for ks in marks.values() for key in marker_reads(ks))]
    got = batch.get_many(keys, consistent=True)
    out: dict[AccountIds, Account | None] = {}
    for ids in wanted:
        agency_id, client_id, debtor_id = ids
        client = got.get((ClientModel, agency_id, client_id))
        debtor = got.get((DebtorModel, f"{agency_id}#{client_id}", debtor_id))
        if client is None or debtor is None:
            out[ids] = None
            continue
        invoices = list(InvoiceModel.query(debtor_key(*ids), consistent_read=True))
        out[ids] = Account(client, debtor, invoices, contacts[ids],
                           suppressed_among(marks[ids], got))
    return out


_UNREAD = object()  # dispatch_account: no account read for it yet


def dispatch_account(agency_id: str, client_id: str, debtor_id: str, now: datetime,
                     acc: Account | None | object = _UNREAD) -> str:
    """Do what is due for one account now; returns what happened (for logs and tests).
    `acc`: the account as `load_many` just read it for a batch (else it is read here)."""
    for _ in range(3):  # a permanent channel failure re-decides on the next channel
        outcome = _attempt(agency_id, client_id, debtor_id, now, acc)
        if outcome != "redecide":
            return outcome
        acc = _UNREAD  # re-read: the closed channel is on the contact now
    return "no_channel_left"


def _attempt(agency_id: str, client_id: str, debtor_id: str, now: datetime,
             acc: Account | None | object = _UNREAD) -> str:
    if acc is _UNREAD:
        acc = load(agency_id, client_id, debtor_id)
    if acc is None:
        return "gone"
    rts = routes(agency_id, acc.contacts, acc.suppressed)
    decision = dunning_plan.decide(acc.client, acc.debtor, acc.invoices, now,
                                   contacts=acc.contacts, channels=frozenset(rts))
    touch = decision.touch
    if touch is None:
        _store_next(acc, decision.next_action_at)
        return decision.reason
    if touch.channel == "email" and not sender.ready(acc.client, now):
        return _hold_for_sender(acc, touch, now)
    return send_touch(acc, touch, rts, touch_claim_key(acc, touch.claim_key), now)


@dataclass(frozen=True)
class Origin:
    """Who a touch is sent for: the cadence (the sweep), or a person sending by hand
    (`dunning/manual.py`). A manual send goes through the same claim, delivery, record and
    apply as the cadence's; only the timeline's actor and wording differ."""
    actor: str = ACTOR
    manual: str | None = None  # "reminder" | "statement" when a person sent it
    by: str | None = None  # the person's name for the timeline (actor is their user id)
    notes: tuple[str, ...] = ()  # stated on the timeline (window override, step covered)
    data: dict = field(default_factory=dict)  # kept on the timeline entry


CADENCE = Origin()


def touch_claim_key(acc: Account, claim_key: str) -> str:
    agency_id, client_id, debtor_id = acc.ids
    return f"{agency_id}#touch#{client_id}#{debtor_id}#{claim_key}"


def send_touch(acc: Account, touch: PlannedTouch, rts: dict, key: str, now: datetime,
               origin: Origin = CADENCE) -> str:
    """Claim, deliver, record and apply one touch: the one send path (the sweep's touches
    and a specialist's manual sends). Returns sent | redecide (a permanent failure closed
    the channel) | held_sender_unverified (SES refused the client's sender) | in_flight |
    sent_unknown | already_<status>; raises DispatchFailed when a retry may succeed (the
    claim is released as failed)."""
    won, claim = claims.take(key, now, {"covers": list(touch.covers), "step": touch.occurrence_key,
                                        "channel": touch.channel, "actor": origin.actor})
    if not won:
        return _already_claimed(acc, touch, claim, now, rts)
    route = rts[touch.channel]
    sent, record, staged = _deliver(acc, touch, route, key, now, origin)
    if not sent.ok and sent.sender_fault:  # SES refused the client's sender, not the debtor
        claims.settle(claim, "failed", now, error=sent.error)
        sender.refused(acc.client, now)
        return _hold_for_sender(acc, touch, now)
    if not sent.ok:
        claims.settle(claim, "failed", now, error=sent.error)
        timeline.record(*acc.ids, "touch_failed",
                        f"{touch.channel} to {route.address or 'account'} failed: {sent.error}",
                        actor=origin.actor, at=now,
                        data={"claim_key": key, "channel": touch.channel,
                              "permanent": sent.permanent})
        if sent.permanent and route.contact is not None:
            _close_channel(route.contact, touch.channel, now)
            return "redecide"
        raise DispatchFailed(f"{touch.channel} send failed: {sent.error}")
    _record_sent(acc, touch, route, key, sent, record, now, origin, claim=claim,
                 rts=rts, staged=staged)
    return "sent"


def compose(acc: Account, touch: PlannedTouch, route: Route,
            now: datetime, *, overrides: dict[str, str | None] | None = None,
            strict: bool = False) -> tuple[dict, messages.Rendered]:
    """The message a touch sends: the dry run and a manual send's preview show exactly
    this text. With `overrides` (a proposed template edit, the cadence editor's preview)
    a broken template raises instead of falling back to ours."""
    due = [i for i in acc.invoices if i.invoice_id in set(touch.invoice_ids)]
    contact_name = route.contact.name if route.contact is not None else None
    ctx = messages.context(acc.client, acc.debtor, due, now, acc.tz, contact_name=contact_name,
                           tone=touch.tone, channel=touch.channel)
    if overrides is not None or strict:
        return ctx, messages.render_checked(acc.client, touch.channel, touch.template,
                                            touch.tone, ctx, due, overrides=overrides,
                                            strict=strict)
    return ctx, messages.render(acc.client, touch.channel, touch.template, touch.tone, ctx, due)


def _deliver(acc: Account, touch: PlannedTouch, route: Route, key: str,
             now: datetime, origin: Origin = CADENCE) -> tuple[Sent, dict, list]:
    """Send the touch; (what the channel said, the record for the timeline, what is to be
    stored with the touch's record: the recipient, a letter to print, a call task's event).
    """
    agency_id, client_id, debtor_id = acc.ids
    if touch.channel == "call":  # the call task is raised by the event, stored with the touch
        event = events.stage("call_task_needed", agency_id=agency_id, client_id=client_id,
                             debtor_id=debtor_id, reason="cadence_step", due_at=iso(now),
                             at=iso(now),
                             details={"step": touch.occurrence_key, "template": touch.template,
                                      "tone": touch.tone, "invoice_ids": list(touch.invoice_ids),
                                      "phone": route.address},
                             event_id=f"{agency_id}#ev#call-{_short(key)}")  # once per step
        return Sent(True, message_id=f"call-task:{_short(key)}"), {"to": route.address}, [event]
    ctx, out = compose(acc, touch, route, now)
    record = {"to": route.address, "subject": out.subject, "text": out.text, "html": out.html,
              "attachments": [a.filename for a in out.attachments]}
    if touch.channel == "letter":
        letter = timeline.entry(*acc.ids, "letter_to_print", f"Letter to print ({touch.tone})",
                                actor=origin.actor, at=now,
                                entry_id=f"{iso(now)}#letter-{_short(key)}",
                                data={"claim_key": key, "text": out.text,
                                      "invoice_ids": list(touch.invoice_ids)})
        return Sent(True, message_id=f"letter:{_short(key)}"), record, [letter]
    msg = Message(channel=touch.channel, to=route.address or "", text=out.text,
                  subject=out.subject, html=out.html, sender=acc.client.sender_email,
                  reply_to=reply_address.for_account(acc.client, acc.ids, now),
                  attachments=out.attachments,
                  headers={"X-Recoup-Account": "/".join(acc.ids),
                           **(messages.unsubscribe_headers(acc.client, ctx)
                              if touch.channel == "email" else {})})
    sent = channels.send(msg)
    return sent, record, [recipient(acc, route, sent, now)] if sent.ok else []


def recipient(acc: Account, route: Route, sent: Sent, now: datetime) -> ClaimModel:
    """The item by which feedback (a bounce by message id, an SMS reply by number) finds
    the account (not yet saved)."""
    contact_id = route.contact.contact_id if route.contact is not None else None
    data = {"agency_id": acc.ids[0], "client_id": acc.ids[1], "debtor_id": acc.ids[2],
            "contact_id": contact_id, "address": route.address}
    if route.channel == "email":
        key = f"sesmsg#{sent.message_id}"
    else:
        key = f"smsroute#{route.address}"
    return ClaimModel(key, status="done", result=data, created_at=iso(now))


def remember_recipient(acc: Account, route: Route, sent: Sent, now: datetime) -> None:
    """Store `recipient` on its own (a message sent outside the touch path: a thank-you)."""
    recipient(acc, route, sent, now).save()


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _record_sent(acc: Account, touch: PlannedTouch, route: Route, key: str, sent: Sent,
                 record: dict, now: datetime, origin: Origin = CADENCE, *,
                 claim: ClaimModel, rts: dict, staged: list) -> None:
    """Record a delivered touch in one transaction: the claim settled `done`, what the
    delivery staged (recipient, letter, call task), the timeline entry, the `touch_sent`
    event and the account's new state (`_apply_touch`). A crash before it leaves the claim
    `claimed` (never re-sent: a retry reports the outcome unknown)."""
    what = {"email": "Email", "sms": "SMS", "call": "Call task", "letter": "Letter"}[touch.channel]
    if origin.manual:
        summary = f"{what} sent by {origin.by or origin.actor} (manual {origin.manual}, {touch.tone})"
    else:
        summary = f"{what} sent ({touch.tone}, step {touch.occurrence_key})"
    if route.address and touch.channel != "call":
        summary += f" to {route.address}"
    if touch.channel == "call":
        summary = f"Call task raised ({touch.tone}, step {touch.occurrence_key})"
    if origin.notes:
        summary += "; " + "; ".join(origin.notes)
    entry = timeline.entry(*acc.ids, "touch_sent", summary, actor=origin.actor, at=now,
                           entry_id=f"{iso(now)}#touch-{_short(key)}",
                           data={**record, "channel": touch.channel,
                                 "step": touch.occurrence_key, "template": touch.template,
                                 "tone": touch.tone, "invoice_ids": list(touch.invoice_ids),
                                 "passed": list(touch.passed), "fallback": touch.fallback,
                                 "message_id": sent.message_id, "claim_key": key,
                                 **acc.tz_record, **origin.data})
    agency_id, client_id, debtor_id = acc.ids
    event = events.stage("touch_sent", agency_id=agency_id, client_id=client_id,
                         debtor_id=debtor_id, channel=touch.channel,
                         step=touch.occurrence_key, at=iso(now),
                         event_id=f"{agency_id}#ev#touch-{_short(key)}")
    claim.status = "done"
    claim.result = {**(claim.result or {}), "message_id": sent.message_id}
    claim.updated_at = iso(now)
    together = [(claim, None), (entry, TimelineModel.entry_id.does_not_exist())]
    announced = [event]
    for item in staged:
        if isinstance(item, OutboxModel):
            announced.append(item)
        elif isinstance(item, TimelineModel):
            together.append((item, TimelineModel.entry_id.does_not_exist()))
        else:
            together.append((item, None))
    _apply_touch(acc, touch, now, rts, together=together, announced=announced)


def _already_claimed(acc: Account, touch: PlannedTouch, claim: ClaimModel, now: datetime,
                     rts: dict) -> str:
    status = claim.status
    if status == "claimed":
        started = datetime.fromisoformat(claim.created_at.replace("Z", "+00:00"))
        if now - started < STALE_CLAIM:
            return "in_flight"  # another delivery is sending it right now
        if claims.once(f"{claim.claim_key}#unknown", now):
            agency_id, client_id, debtor_id = acc.ids
            timeline.record(agency_id, client_id, debtor_id, "touch_unknown",
                            f"A {touch.channel} reminder may or may not have been sent (the "
                            "sender stopped mid-way); not re-sent. Please check with the debtor.",
                            actor=ACTOR, at=now, data={"claim_key": claim.claim_key,
                                                       "channel": touch.channel})
            events.publish("call_task_needed", agency_id=agency_id, client_id=client_id,
                           debtor_id=debtor_id, reason="touch_outcome_unknown", due_at=iso(now),
                           at=iso(now),
                           details={"claim_key": claim.claim_key, "channel": touch.channel},
                           event_id=f"{agency_id}#ev#unknown-{_short(claim.claim_key)}")
            claims.settle(claim, "unknown", now)
    _apply_touch(acc, touch, now, rts)
    return "sent_unknown" if status == "claimed" else f"already_{status}"


def _apply_touch(acc: Account, touch: PlannedTouch, now: datetime, rts: dict, *,
                 together: list | None = None, announced: list | None = None) -> None:
    """Mark the touch's invoice occurrences sent and move the account's next action (the
    one versioned account write: a conflicting payment or import is re-read and redone),
    in one transaction with `together` and `announced` (the touch's record). If the
    account keeps changing, the record is stored on its own and the retry (which finds
    the claim done) finishes the account."""
    def change(debtor: DebtorModel) -> None:
        dunning_plan.record_touch(debtor, touch, now, acc.tz)

    def next_action(debtor: DebtorModel, invoices: list) -> bool:
        debtor.touch_keys = dunning_plan.trim_touch_keys(set(debtor.touch_keys or ()),
                                                         invoices)
        decision = dunning_plan.decide(acc.client, debtor, invoices, now, contacts=acc.contacts,
                                       channels=frozenset(rts))
        scheduling.set_next_action(debtor, now if decision.touch else decision.next_action_at)
        return True

    try:
        accounts.save_account(acc.debtor, now, change, recompute_with=next_action,
                              invoices=acc.invoices, together=together or (),
                              announced=announced or ())
    except (PutError, TransactWriteError):
        if together or announced:
            accounts.commit_with(None, list(together or ()), list(announced or ()))
        raise DispatchFailed("account kept changing; the retry will finish recording") \
            from None


def _hold_for_sender(acc: Account, touch: PlannedTouch, now: datetime) -> str:
    """An email step while the client's sender is not verified: nothing goes on any other
    channel; the account leaves the sweep until the sender is verified (re-planned then).
    The timeline says so once per account and state of the sender."""
    agency_id, client_id, debtor_id = acc.ids
    status = acc.client.sender_status or "unknown"
    if claims.once(f"{agency_id}#sender-held#{client_id}#{debtor_id}#{status}"
                   f"#{acc.client.sender_checked_at}", now):
        timeline.record(agency_id, client_id, debtor_id, "touch_held",
                        f"Email held: the sender {acc.client.sender_email} is not verified "
                        f"({status}); it goes once it is. Nothing was sent instead.",
                        actor=ACTOR, at=now, data={"step": touch.occurrence_key,
                                                   "channel": "email",
                                                   "sender_status": status})
    _store_next(acc, None)
    return "held_sender_unverified"


def _store_next(acc: Account, at: datetime | None) -> None:
    if scheduling.set_next_action(acc.debtor, at):
        try:
            acc.debtor.save()
        except PutError:
            pass  # whoever changed it recomputed the next action too


def _close_channel(contact: ContactModel, channel: str, now: datetime) -> None:
    """A permanent failure (number opted out at the carrier): stop using that channel."""
    contact.suppressed = set(contact.suppressed or ()) | {channel}
    contact.updated_at = iso(now)
    try:
        contact.save()
    except PutError:
        fresh = ContactModel.get(contact.debtor_key, contact.contact_id, consistent_read=True)
        fresh.suppressed = set(fresh.suppressed or ()) | {channel}
        fresh.save()


# ------------------------------------------------------------------- the queue consumer

def handle(body: str, now: datetime) -> str:
    msg = json.loads(body)
    return dispatch_account(msg["agency_id"], msg["client_id"], msg["debtor_id"],
                            now)


def dispatch_batch(records: Sequence[tuple[str, str]], now: datetime
                   ) -> list[tuple[str, str | None]]:
    """Work one queue batch: (body, receipt handle) pairs -> (receipt handle, outcome),
    outcome None for a message that failed (it goes back to the queue). The accounts are
    read together (`load_many`: their contacts and invoices one request each, one
    BatchGetItem for the rest); each is then decided, claimed, sent and recorded on its
    own, so one account's failure leaves the others' sends and records alone. A second
    message for an account already in the batch re-reads it after the first is done."""
    results: list[tuple[str, str | None]] = []
    work: list[tuple[str, AccountIds]] = []
    for body, receipt in records:
        try:
            msg = json.loads(body)
            work.append((receipt, (msg["agency_id"], msg["client_id"], msg["debtor_id"])))
        except Exception:  # noqa: BLE001 - a poison message fails alone
            log.exception("dispatch message unreadable")
            results.append((receipt, None))
    try:
        loaded = load_many([ids for _, ids in work])
    except Exception:  # noqa: BLE001 - each account then reads (and fails) on its own
        log.exception("batch read failed; reading account by account")
        loaded = {}
    for receipt, ids in work:
        try:
            outcome = dispatch_account(*ids, now, loaded.pop(ids, _UNREAD))
            log.info("dispatch %s", outcome)
            results.append((receipt, outcome))
        except Exception:  # noqa: BLE001 - one bad account must not sink the batch
            log.exception("dispatch failed; the message will be retried")
            results.append((receipt, None))
    return results


def handle_batch(records: list[tuple[str, str]], now: datetime) -> list[str]:
    """Process (body, receipt handle) pairs; returns the receipt handles that failed.

    Chalice cannot switch on ReportBatchItemFailures for its event source, so when some
    fail the successes are deleted here and the caller raises: only failures come back.
    """
    results = dispatch_batch(records, now)
    done = [r for r, outcome in results if outcome is not None]
    failed = [r for r, outcome in results if outcome is None]
    if failed and done:
        from chalicelib.dunning.sweep import delete_messages

        delete_messages(done)
    return failed
