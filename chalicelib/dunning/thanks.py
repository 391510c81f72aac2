"""Thank-you after a payment: on `payment_applied`, one message per payment (claimed),
through the debtor's first open channel, unless the client switched thank_you off.

It tells the truth about the account as this payment left it: what is still owed (disputed
invoices included, and named), money beyond what was owed named as credit, and "fully
paid" said only by the payment that settled the account: when a bank transfer and a card
payment for the same invoice race, the second is told its money is held as credit."""
from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date

from chalicelib.dunning import channels
from chalicelib.dunning.channels import Message
from chalicelib.book.invoice_rules import OWED
from chalicelib.kernel.clock import iso
from chalicelib.dunning import messages
from chalicelib.kernel import claims, events
from chalicelib.store import timeline
from chalicelib.dunning.dispatch import load, remember_recipient

ACTOR = "dunning"


def on_payment_applied(*, agency_id: str, client_id: str, debtor_id: str, payment_id: str,
                       amount_minor: int, currency: str, at: str | datetime,
                       allocations: list = (), credit_minor: int = 0, **_: object) -> None:
    acc = load(agency_id, client_id, debtor_id)
    if acc is None or not (acc.client.settings or {}).get("thank_you", True):
        return
    from chalicelib.dunning.routing import routes

    rts = routes(agency_id, acc.contacts, acc.suppressed)
    route = rts.get("email") or rts.get("sms")
    if route is None:
        return
    now = at if isinstance(at, datetime) else datetime.fromisoformat(at.replace("Z", "+00:00"))
    key = f"{agency_id}#thanks#{client_id}#{debtor_id}#{payment_id}"
    won, claim = claims.take(key, now, {"channel": route.channel})
    if not won:
        return  # thanked already (or in flight / unknown: never twice)
    owed = [i for i in acc.invoices if i.status in OWED and int(i.balance_minor) > 0]
    disputed = sum(int(i.balance_minor) for i in owed if i.status == "disputed")
    applied = sum(int(a.get("applied_minor", 0)) for a in allocations or ())
    loc = messages.locale_for(acc.client, acc.debtor)
    paid_on = date.fromisoformat(at[:10])
    ctx = messages.context(acc.client, acc.debtor, owed, now, acc.tz,
                           contact_name=route.contact.name if route.contact else None,
                           channel=route.channel,
                           amount=messages.money(int(amount_minor), currency, loc),
                           paid_on=format_date(paid_on, "long", locale=loc),
                           credit=messages.money(int(credit_minor), currency, loc)
                           if int(credit_minor or 0) > 0 else None,
                           already_settled=applied == 0 and not owed,
                           disputed_total=messages.money(disputed, currency, loc)
                           if disputed else None)
    out = messages.render(acc.client, route.channel, "thank_you", "friendly", ctx)
    sent = channels.send(Message(channel=route.channel, to=route.address or "", text=out.text,
                                 subject=out.subject, html=out.html,
                                 sender=acc.client.sender_email, reply_to=acc.client.reply_to,
                                 headers=messages.unsubscribe_headers(acc.client, ctx)
                                 if route.channel == "email" else {}))
    if not sent.ok:
        claims.settle(claim, "failed", now, error=sent.error)
        timeline.record(agency_id, client_id, debtor_id, "touch_failed",
                        f"Thank-you {route.channel} failed: {sent.error}", actor=ACTOR, at=now)
        return
    remember_recipient(acc, route, sent, now)
    timeline.record(agency_id, client_id, debtor_id, "touch_sent",
                    f"Thank-you {route.channel} sent to {route.address}", actor=ACTOR, at=now,
                    data={"channel": route.channel, "template": "thank_you", "to": route.address,
                          "subject": out.subject, "text": out.text, "html": out.html,
                          "message_id": sent.message_id, "claim_key": key,
                          "payment_id": payment_id})
    claims.settle(claim, "done", now, message_id=sent.message_id, at=iso(now))


events.subscribe("payment_applied", on_payment_applied)
