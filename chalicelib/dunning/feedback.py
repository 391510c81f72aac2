"""Feedback from the channels: SES bounces and complaints, SMS replies (STOP). Each is
handled once however often it is delivered; the address is suppressed for the agency and
the contact stops receiving that channel, so the next touch goes elsewhere."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from chalicelib.dunning import channels
from chalicelib.dunning.channels import Message
from chalicelib.dunning.opt_out import means_stop
from chalicelib.dunning import messages, opt_outs, suppression
from chalicelib.kernel import claims
from chalicelib.store import timeline
from chalicelib.store.models import ClientModel, DebtorModel

ACTOR = "feedback"


def _where(key: str) -> dict | None:
    found = claims.lookup(key)
    return dict(found.result) if found is not None else None


def ses_notification(message: str, now: datetime) -> dict:
    """An SES notification (via SNS): permanent bounces and complaints suppress the address."""
    n = json.loads(message)
    kind = n.get("notificationType") or n.get("eventType")
    if kind == "Bounce":
        if n["bounce"].get("bounceType") != "Permanent":
            return {"ignored": "transient bounce"}
        recipients = [r["emailAddress"] for r in n["bounce"].get("bouncedRecipients", [])]
        feedback_id = n["bounce"].get("feedbackId")
    elif kind == "Complaint":
        recipients = [r["emailAddress"] for r in n["complaint"].get("complainedRecipients", [])]
        feedback_id = n["complaint"].get("feedbackId")
    else:
        return {"ignored": kind}
    message_id = n["mail"]["messageId"]
    where = _where(f"sesmsg#{message_id}")
    if where is None:
        return {"ignored": f"unknown message {message_id}"}
    feedback_id = feedback_id or hashlib.sha256(message.encode()).hexdigest()
    if not claims.once(f"{where['agency_id']}#feedback#ses#{feedback_id}", now):
        return {"duplicate": feedback_id}
    reason = "bounced" if kind == "Bounce" else "complained"
    for address in recipients:
        suppression.suppress(where["agency_id"], "email", address, now, reason)
        opt_outs.mark_contacts(where, "email", address, "suppressed", now)
        timeline.record(where["agency_id"], where["client_id"], where["debtor_id"],
                        "contact_suppressed", f"Email to {address} {reason}: no more email to "
                        "this address", actor=ACTOR, at=now,
                        data={"channel": "email", "address": address, "reason": reason,
                              "message_id": message_id})
    opt_outs.no_channel_left(where, now, f"email_{reason}")
    return {"suppressed": recipients}


def sms_reply(message: str, now: datetime) -> dict:
    """An inbound SMS (SNS two-way): STOP opts out at once with one confirmation at most;
    anything else lands on the timeline and asks a specialist to read it."""
    n = json.loads(message)
    phone = n["originationNumber"]
    body = n.get("messageBody") or ""
    where = _where(f"smsroute#{phone}")
    if where is None:
        return {"ignored": "unknown number"}
    agency_id = where["agency_id"]
    inbound_id = n.get("inboundMessageId") or hashlib.sha256(message.encode()).hexdigest()
    if not claims.once(f"{agency_id}#feedback#sms#{inbound_id}", now):
        return {"duplicate": inbound_id}
    ids = (agency_id, where["client_id"], where["debtor_id"])
    if not means_stop(body):
        from chalicelib.dunning import replies

        landed = replies.receive(ids, channel="sms", message_id=inbound_id, sender=phone,
                                 subject="", body=body, now=now, kind="sms_reply")
        return {**landed, "reply_id": landed.get("reply"), "reply": True}
    opt_outs.opt_out(ids, "sms", phone, body, now, actor=ACTOR)
    confirmed = False
    if claims.once(f"{agency_id}#smsconfirm#{phone}", now):
        confirmed = _confirm(ids, phone, now)
    return {"opted_out": phone, "confirmation_sent": confirmed}


def _confirm(ids: tuple[str, str, str], phone: str, now: datetime) -> bool:
    agency_id, client_id, debtor_id = ids
    try:
        client = ClientModel.get(agency_id, client_id)
        debtor = DebtorModel.get(f"{agency_id}#{client_id}", debtor_id)
    except (ClientModel.DoesNotExist, DebtorModel.DoesNotExist):
        return False
    tz = debtor.timezone or client.timezone
    ctx = messages.context(client, debtor, [], now, tz, channel="sms")
    out = messages.render(client, "sms", "opt_out_confirmation", "friendly", ctx)
    # The confirmation goes straight to the provider: the number is already opted out.
    sent = channels.adapter("sms").send(Message(channel="sms", to=phone, text=out.text))
    timeline.record(*ids, "touch_sent" if sent.ok else "touch_failed",
                    f"Opt-out confirmation SMS to {phone}" + ("" if sent.ok else " failed"),
                    actor=ACTOR, at=now, data={"channel": "sms", "to": phone, "text": out.text,
                                               "message_id": sent.message_id})
    return sent.ok
