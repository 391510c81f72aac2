"""Which contact (and address) a touch on each channel goes to: primary first, skipping
opted-out, bounced and suppressed ones. What is left decides the channels a cadence may use."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.dunning import suppression
from chalicelib.store.models import ContactModel


@dataclass(frozen=True)
class Route:
    channel: str
    contact: ContactModel | None
    address: str | None


def _address(contact: ContactModel, channel: str) -> str | None:
    if channel == "email":
        return contact.email
    if channel in ("sms", "call"):
        return contact.phone
    return None


def routes(agency_id: str, contacts: list[ContactModel]) -> dict[str, Route]:
    ordered = sorted(contacts, key=lambda c: (c.role != "primary", c.contact_id))
    out: dict[str, Route] = {}
    for channel in ("email", "sms", "call"):
        for c in ordered:
            address = _address(c, channel)
            if not address or channel in (c.opted_out or set()) \
                    or channel in (c.suppressed or set()):
                continue
            # A call task is for a person; only SMS opt-outs and bounces are agency-wide.
            if channel != "call" and suppression.is_suppressed(agency_id, channel, address):
                continue
            out[channel] = Route(channel, c, address)
            break
    if not ordered or any("letter" not in (c.opted_out or set()) for c in ordered):
        out["letter"] = Route("letter", ordered[0] if ordered else None, None)
    return out
