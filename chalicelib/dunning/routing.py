"""Which contact (and address) a touch on each channel goes to: primary first, skipping
opted-out, bounced and suppressed ones. What is left decides the channels a cadence may use."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.dunning import suppression
from chalicelib.store.models import ClaimModel, ContactModel


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


def marker_reads(keys) -> list[tuple]:
    """The `batch.get_many` keys of these suppression markers (claims items)."""
    return [(ClaimModel, k, None) for k in sorted(keys)]


def suppressed_among(keys, found: dict) -> frozenset[str]:
    """The suppression keys among `keys` that a `batch.get_many` of `marker_reads` found."""
    return frozenset(k for k in keys if (ClaimModel, k, None) in found)


def suppression_keys(agency_id: str, contacts: list[ContactModel]) -> set[str]:
    """The agency suppression-list keys `blocked` would look up for these contacts (so a
    caller can read them all in one request with what else it reads)."""
    out = set()
    for c in contacts:
        for channel in ("email", "sms"):
            address = _address(c, channel)
            if address:
                out.add(suppression.key(agency_id, channel, address))
    return out


def blocked(agency_id: str, contact: ContactModel, channel: str,
            suppressed: frozenset[str] | None = None) -> str | None:
    """Why `contact` may not be reached on `channel` (None when it may): the one rule the
    cadence's routes and a specialist's manual send both use. `suppressed`: the keys of
    `suppression_keys` found on the list, read just now by the caller (else looked up)."""
    address = _address(contact, channel) if channel != "letter" else "post"
    if not address:
        return f"no {channel} address"
    if channel in (contact.opted_out or set()):
        return f"opted out of {channel}"
    if channel in (contact.suppressed or set()):
        return f"{channel} suppressed (bounced, complained or refused by the carrier)"
    # A call task is for a person; only SMS opt-outs and bounces are agency-wide.
    if channel in ("email", "sms") and (
            suppression.key(agency_id, channel, address) in suppressed if suppressed is not None
            else suppression.is_suppressed(agency_id, channel, address)):
        return f"{address} is on the agency's suppression list"
    return None


def routes(agency_id: str, contacts: list[ContactModel],
           suppressed: frozenset[str] | None = None) -> dict[str, Route]:
    ordered = sorted(contacts, key=lambda c: (c.role != "primary", c.contact_id))
    out: dict[str, Route] = {}
    for channel in ("email", "sms", "call"):
        for c in ordered:
            if blocked(agency_id, c, channel, suppressed) is None:
                out[channel] = Route(channel, c, _address(c, channel))
                break
    if not ordered or any("letter" not in (c.opted_out or set()) for c in ordered):
        out["letter"] = Route("letter", ordered[0] if ordered else None, None)
    return out


def why_not(agency_id: str, contacts: list[ContactModel], channel: str) -> str:
    """Why no contact of the account may be reached on `channel` (for a refusal)."""
    if not contacts:
        return "the account has no contacts"
    ordered = sorted(contacts, key=lambda c: (c.role != "primary", c.contact_id))
    reasons = []
    for c in ordered:
        reason = blocked(agency_id, c, channel)
        if reason and reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons) or f"no contact may be reached by {channel}"
