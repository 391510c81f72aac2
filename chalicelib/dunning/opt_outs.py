"""A debtor asks us to stop using a channel: SMS STOP (dunning/feedback) and an emailed
"unsubscribe" / "stop emailing me" (dunning/replies): the one use case both call. The
address is suppressed for the agency, the debtor's contacts at that address stop receiving
the channel (`contact.opted_out`), the timeline says so, and with no email or SMS left a
specialist is asked to call. (Which words mean "stop" is dunning/opt_out and
dunning/reply_rules: pure rules.)"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.dunning import suppression
from chalicelib.dunning.routing import routes
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.store import timeline
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ContactModel

CHANNEL_WORDS = {"sms": "SMS", "email": "email"}


def mark_contacts(where: dict, channel: str, address: str | None, field: str,
                  now: datetime) -> int:
    """Add `channel` to `field` (opted_out, suppressed) of the debtor's contacts at this
    address (every contact with the channel when `address` is None); how many matched."""
    dkey = debtor_key(where["agency_id"], where["client_id"], where["debtor_id"])
    matched = 0
    for c in ContactModel.query(dkey, consistent_read=True):
        mine = (c.email or "").lower() if channel == "email" else (c.phone or "")
        if not mine or (address is not None and mine != address.lower()):
            continue
        matched += 1
        for _ in range(3):
            current = set(getattr(c, field) or ())
            if channel in current:
                break
            setattr(c, field, current | {channel})
            c.updated_at = iso(now)
            try:
                c.save()
                break
            except PutError:
                c = ContactModel.get(c.debtor_key, c.contact_id, consistent_read=True)
    return matched


def no_channel_left(where: dict, now: datetime, reason: str) -> None:
    dkey = debtor_key(where["agency_id"], where["client_id"], where["debtor_id"])
    left = routes(where["agency_id"], list(ContactModel.query(dkey, consistent_read=True)))
    if "email" not in left and "sms" not in left:
        events.publish("call_task_needed", agency_id=where["agency_id"],
                       client_id=where["client_id"], debtor_id=where["debtor_id"],
                       reason=reason, due_at=iso(now), at=iso(now),
                       details={"no_channel_left": True})


def opt_out(ids: tuple[str, str, str], channel: str, address: str, said: str, now: datetime,
            *, actor: str) -> dict:
    """Stop `channel` to `address` for this debtor at once. An email from an address none
    of the debtor's contacts has (a colleague's mailbox, a forward) came through the
    debtor's own reply address: every email contact of the debtor is opted out."""
    agency_id, client_id, debtor_id = ids
    where = {"agency_id": agency_id, "client_id": client_id, "debtor_id": debtor_id}
    address = (address or "").strip()
    if address:
        suppression.suppress(agency_id, channel, address, now,
                             "stop" if channel == "sms" else "unsubscribed")
    matched = mark_contacts(where, channel, address or None, "opted_out", now)
    if not matched and channel == "email":
        matched = mark_contacts(where, channel, None, "opted_out", now)
    word = CHANNEL_WORDS.get(channel, channel)
    timeline.record(*ids, "opted_out", f"{address or 'The debtor'} replied \"{said[:40]}\": "
                    f"no more {word}", actor=actor, at=now,
                    data={"channel": channel, ("phone" if channel == "sms" else "address"):
                          address, "body": said[:2000], "contacts": matched})
    no_channel_left(where, now, f"{channel}_opted_out")
    return {"opted_out": channel, "address": address, "contacts": matched}
