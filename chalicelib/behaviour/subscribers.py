"""Behaviour follows the money: a debtor's segment is recomputed when a payment is applied,
a promise is judged or its invoices change; an import (one `invoice_changed` batch) refits
the client's prior first. Idempotent: a recompute from the same facts changes nothing.

Credit follows exposure and risk: the one debtor an invoice change, a payment, a reversal
or a segment change touches is evaluated against its client's credit policy
(`behaviour/credit.evaluate`; an import part evaluates the debtors it names); a policy
change re-checks the debtors it may concern (`credit.recheck_client`). Idempotent too: an
evaluation from the same facts raises nothing new."""
from __future__ import annotations

from datetime import datetime

from chalicelib.behaviour import credit, profiles
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso

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
        if import_mode is None:
            return  # an earlier part: the last one recomputes every debtor the import wrote
        # the last part: refit the prior and recompute, from one read of the book, the
        # debtors of this part's telling changes and, for the earlier parts', of the
        # invoices the import wrote (they carry its instant) settled or disputed
        debtors = sorted({c["debtor_id"] for c in changes if c.get("debtor_id") and _telling(c)})
        stamp = iso(now)
        profiles.recompute_client(
            agency_id, client_id, debtors, now,
            telling=lambda i: i.updated_at == stamp and i.status in SETTLED | {"disputed"})
        return
    if debtor_id and _telling({"old": old, "new": new}):
        profiles.recompute_segment(agency_id, client_id, debtor_id, now)


# ------------------------------------------------------------------------------ credit


def credit_on_invoice_changed(*, agency_id, client_id, at, debtor_id=None, changes=None,
                              batch_id=None, **_):
    now = _when(at)
    if changes is not None:  # an import part: the debtors it names, each once
        credit.evaluate_many(agency_id, client_id, [
            (d, f"import:{batch_id}")
            for d in sorted({c["debtor_id"] for c in changes if c.get("debtor_id")})], now)
        return
    if debtor_id:
        credit.evaluate(agency_id, client_id, debtor_id, now, cause="invoice")


def credit_on_payment(*, agency_id, client_id, debtor_id, at, payment_id="", **_):
    credit.evaluate(agency_id, client_id, debtor_id, _when(at), cause=f"payment:{payment_id}")


def credit_on_segment_changed(*, agency_id, client_id, debtor_id, at, new=None, moves=None,
                              **_):
    if moves is None:
        credit.evaluate(agency_id, client_id, debtor_id, _when(at), cause=f"segment:{new}")
        return
    # many debtors' moves (an import): the client read once
    credit.evaluate_many(agency_id, client_id,
                         [(m["debtor_id"], f"segment:{m['new']}") for m in moves], _when(at))


def credit_on_client_changed(*, agency_id, client_id, at, fields=(), **_):
    if "settings.credit_policy" in (fields or ()):
        credit.recheck_client(agency_id, client_id, _when(at))


events.subscribe("client_changed", credit_on_client_changed)
events.subscribe("invoice_changed", credit_on_invoice_changed)
events.subscribe("payment_applied", credit_on_payment)
events.subscribe("payment_reversed", credit_on_payment)
events.subscribe("segment_changed", credit_on_segment_changed)
events.subscribe("payment_applied", on_payment_applied)
events.subscribe("promise_recorded", on_promise_recorded)
events.subscribe("invoice_changed", on_invoice_changed)
