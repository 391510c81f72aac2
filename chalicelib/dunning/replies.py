"""A debtor's reply (email via SES receiving, free-text SMS) read once and acted on: the one
use case every entry point calls.

The reply lands on the timeline with its classification and reasons (dunning/reply_rules)
and any attachments' S3 keys. A human reply pauses the cadence (`debtor.reply_waiting`,
read by the planner as a stop) until a specialist marks it handled; an out-of-office reply
moves the next touch after the return date (`paused_until`) without pausing; promises and
disputes are proposed to the specialist (`call_task_needed` with the proposal in its
details), never applied here: the workspace shows the proposal (`waiting`) and a specialist
confirms it through the workbench's promise and dispute use cases. "Unsubscribe" / "stop
emailing me" opts the debtor out of that channel at once (dunning/opt_outs)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from email.utils import parseaddr

from chalicelib.dunning import contact_window as cw, opt_outs, planner as dunning_plan
from chalicelib.dunning.reply_rules import classify
from chalicelib.kernel import claims, events
from chalicelib.kernel.clock import iso
from chalicelib.store import accounts, timeline
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ClientModel, DebtorModel, TimelineModel

ACTOR = "debtor_reply"
KINDS = ("reply_received", "sms_reply")  # the timeline kinds a reply lands as
_PROPOSE = {"promise_to_pay": "reply_promise", "dispute_or_query": "reply_dispute",
            "already_paid": "reply_paid"}


def receive(ids: tuple[str, str, str], *, channel: str, message_id: str, sender: str,
            subject: str, body: str, now: datetime, attachments: list[dict] | None = None,
            kind: str = "reply_received") -> dict:
    """Land one reply; the same `message_id` lands once however often it is delivered."""
    agency_id, client_id, debtor_id = ids
    if not claims.once(f"{agency_id}#reply#{channel}#{message_id}", now):
        return {"duplicate": message_id}
    client = ClientModel.get(agency_id, client_id)
    debtor = DebtorModel.get(f"{agency_id}#{client_id}", debtor_id, consistent_read=True)
    today = cw.local_date(now, dunning_plan.time_zone(client, debtor))
    v = classify(subject, body, today)
    reply_id = f"{channel}-{message_id}"[:120]
    data = {"reply_id": reply_id, "channel": channel, "from": sender, "subject": subject,
            "body": body[:4000], "label": v.label, "reasons": list(v.reasons),
            "found_date": v.found_date.isoformat() if v.found_date else None,
            "amount_minor": v.amount_minor, "currency": v.currency,
            "attachments": attachments or []}
    timeline.record(*ids, kind, f"Reply by {channel} from {sender}: {v.label.replace('_', ' ')}"
                    f" ({'; '.join(v.reasons)[:200]})", actor=ACTOR, at=now, data=data,
                    entry_id=f"{iso(now)}#reply-{reply_id[-40:]}")
    if v.label == "unsubscribe":
        # the debtor revoked consent for this channel: honoured at once, nothing to pause
        out = opt_outs.opt_out(ids, channel, _address(sender), body, now, actor=ACTOR)
        return {"reply": reply_id, "label": v.label, "paused": False,
                "opted_out": out["opted_out"]}
    if v.label == "out_of_office":
        back = v.found_date or (today + timedelta(days=7))
        _after_return(debtor, back, now)
        return {"reply": reply_id, "label": v.label, "paused": False,
                "next_touch_after": back.isoformat()}
    accounts.save_account(debtor, now, change=lambda d: setattr(d, "reply_waiting", reply_id))
    details = {"reply_id": reply_id, "label": v.label, "reasons": list(v.reasons),
               "channel": channel, "from": sender, "excerpt": body[:300]}
    if v.label in _PROPOSE:
        details["proposal"] = {"kind": v.label, "date": data["found_date"],
                               "amount_minor": v.amount_minor, "currency": v.currency}
    events.publish("call_task_needed", agency_id=agency_id, client_id=client_id,
                   debtor_id=debtor_id, reason=_PROPOSE.get(v.label, "reply" if channel ==
                   "email" else "sms_reply"), due_at=iso(now), at=iso(now), details=details,
                   event_id=f"{agency_id}#ev#reply-{reply_id[-60:]}")
    return {"reply": reply_id, "label": v.label, "paused": True}


def _after_return(debtor: DebtorModel, back: date, now: datetime) -> None:
    until = (back + timedelta(days=1)).isoformat()
    if (debtor.paused_until or "") >= until:
        return

    def change(d: DebtorModel) -> None:
        if (d.paused_until or "") < until:
            d.paused_until = until
    accounts.save_account(debtor, now, change=change)


def handled(ids: tuple[str, str, str], reply_id: str, by: str, now: datetime) -> bool:
    """A specialist has dealt with the reply: the cadence resumes. False if it was not the
    reply the account waits on (already handled, or a newer one arrived)."""
    agency_id, client_id, debtor_id = ids
    debtor = DebtorModel.get(f"{agency_id}#{client_id}", debtor_id, consistent_read=True)
    if debtor.reply_waiting != reply_id:
        return False
    accounts.save_account(debtor, now, change=lambda d: setattr(
        d, "reply_waiting", None if d.reply_waiting == reply_id else d.reply_waiting))
    timeline.record(*ids, "reply_handled", f"Reply handled by {by}: chasing resumes",
                    actor=by, at=now, data={"reply_id": reply_id})
    return True


def _address(sender: str) -> str:
    """"Ann <ap@x.example>" -> ap@x.example; a phone number stays as it is."""
    return parseaddr(sender)[1] or sender


def waiting(ids: tuple[str, str, str]) -> dict | None:
    """The reply the account waits on (its timeline data: label, reasons, proposal facts,
    excerpt, attachments), or None when no reply waits."""
    agency_id, client_id, debtor_id = ids
    debtor = DebtorModel.get(f"{agency_id}#{client_id}", debtor_id, consistent_read=True)
    reply_id = debtor.reply_waiting
    if not reply_id:
        return None
    # newest first (the waiting reply is the latest one); a filter may not name the sort
    # key in DynamoDB, so the entry id (it ends with the reply id, see receive) is checked here
    mark = f"#reply-{reply_id[-40:]}"
    for e in TimelineModel.query(debtor_key(agency_id, client_id, debtor_id),
                                 scan_index_forward=False,
                                 filter_condition=TimelineModel.kind.is_in(*KINDS)):
        if e.entry_id.endswith(mark) and (e.data or {}).get("reply_id") == reply_id:
            return {**e.data, "at": e.at, "summary": e.summary}
    return {"reply_id": reply_id, "label": "other", "reasons": [], "at": None,
            "summary": "Reply"}
