"""Behaviour follows the money: a debtor's segment is recomputed when a payment is applied,
a promise is judged or its invoices change; an import (one `invoice_changed` batch) refits
the client's prior first. Idempotent: a recompute from the same facts changes nothing."""
from __future__ import annotations

from datetime import datetime

from chalicelib.behaviour import profiles
from chalicelib.kernel import events

SETTLED = frozenset({"paid", "written_off"})


def _when(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _telling(change: dict) -> bool:
    """An invoice change that bears on behaviour: settled, disputed, or history arriving."""
    old, new = change.get("old") or {}, change.get("new") or {}
    return (new.get("status") != old.get("status")
            and (new.get("status") in SETTLED or new.get("status") == "disputed"
                 or old.get("status") == "disputed"))


def on_payment_applied(*, agency_id, client_id, debtor_id, at, **_):
    profiles.recompute_segment(agency_id, client_id, debtor_id, _when(at))


def on_promise_recorded(*, agency_id, client_id, debtor_id, new=None, at, **_):
    if new and new.get("kept") is not None:  # kept or broken, not merely made
        profiles.recompute_segment(agency_id, client_id, debtor_id, _when(at))


def on_invoice_changed(*, agency_id, client_id, at, debtor_id=None, old=None, new=None,
                       changes=None, batch_id=None, import_mode=None, **_):
    now = _when(at)
    if changes is not None:  # an import, in one or more parts; the last names the mode
        debtors = sorted({c["debtor_id"] for c in changes if c.get("debtor_id") and _telling(c)})
        if import_mode is not None:  # the last part: refit the prior (one read of the book)
            if debtors:
                profiles.recompute_client(agency_id, client_id, debtors, now)
            return
        prior = profiles.prior_for(agency_id, client_id, now)
        for d in debtors:
            profiles.recompute_segment(agency_id, client_id, d, now, prior=prior)
        return
    if debtor_id and _telling({"old": old, "new": new}):
        profiles.recompute_segment(agency_id, client_id, debtor_id, now)


events.subscribe("payment_applied", on_payment_applied)
events.subscribe("promise_recorded", on_promise_recorded)
events.subscribe("invoice_changed", on_invoice_changed)
