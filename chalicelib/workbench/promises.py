"""Promises to pay: one flow whoever makes the promise (a specialist's call outcome, the
debtor on the hosted page, the API). A promise is recorded, announced (`promise_recorded`:
made, kept, broken) so reports count it, pauses the cadence until the date plus grace, and
is kept when paid in full by then, broken otherwise."""
from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta, timezone

from pynamodb.exceptions import PutError

from chalicelib.book.invoice_rules import OWED
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.kernel.money import format_money
from chalicelib.store import accounts, timeline
from chalicelib.store.models import DebtorModel
from chalicelib.workbench import call_rules as calls
from chalicelib.store.keys import debtor_key, new_id, split_debtor_key
from chalicelib.workbench.models import PromiseModel

SHARDS = 4
GRACE_DAYS = 3


def _shard(key: str) -> str:
    return f"pc#{zlib.crc32(key.encode()) % SHARDS:02d}"


def render(m: PromiseModel) -> dict:
    return {"id": m.promise_id, "amount_minor": int(m.amount_minor), "currency": m.currency,
            "promised_for": m.promised_for, "deadline": m.deadline, "status": m.status,
            "paid_minor": int(m.paid_minor), "taken_by": m.taken_by, "created_at": m.created_at}


def record(agency_id: str, client_id: str, debtor_id: str, *, amount_minor: int, currency: str,
           promised_for: date, taken_by: str, now: datetime,
           grace_days: int = GRACE_DAYS) -> PromiseModel:
    key = debtor_key(agency_id, client_id, debtor_id)
    deadline = datetime.combine(promised_for + timedelta(days=grace_days + 1), time(0),
                                tzinfo=timezone.utc)
    m = PromiseModel(key, new_id("p"), amount_minor=amount_minor, currency=currency,
                     promised_for=promised_for.isoformat(), deadline=iso(deadline),
                     taken_by=taken_by, created_at=iso(now), updated_at=iso(now),
                     check_shard=_shard(key), check_sort=f"{iso(deadline)}#{key}")
    entry = timeline.entry(agency_id, client_id, debtor_id, "promise_recorded",
                           f"Promise to pay {format_money(amount_minor, currency)} by "
                           f"{promised_for}", actor=taken_by, data=render(m), at=now)
    # the promise, its timeline entry and its event: one transaction
    events.commit([(m, PromiseModel.promise_id.does_not_exist()),
                   (entry, timeline.TimelineModel.entry_id.does_not_exist())],
                  [_event(agency_id, client_id, debtor_id, m, None, now)])
    return m


def make(debtor: DebtorModel, *, agency_id: str, client_id: str, promised_for: date,
         amount_minor: int, taken_by: str, now: datetime) -> tuple[PromiseModel, datetime]:
    """The one way a promise is made outside a call (the debtor's page, the API): the call
    rules validate it (not in the past, within the policy's horizon), it is recorded and
    announced, and chasing pauses until the date plus grace. Returns (promise, resume)."""
    try:
        action = calls.next_action_for("promise_to_pay", {"date": promised_for,
                                                          "amount_minor": amount_minor}, now)
    except calls.OutcomeError as exc:
        field = {"date": "promise_date"}.get(exc.field, exc.field)
        raise ValidationFailed.one(field, exc.reason) from None
    m = record(agency_id, client_id, debtor.debtor_id, amount_minor=amount_minor,
               currency=debtor.currency, promised_for=promised_for, taken_by=taken_by, now=now)
    pause(debtor, action.at, now)
    return m, action.at


def latest_date(today: date) -> date:
    """The furthest date a promise may name (the call policy's horizon)."""
    return today + timedelta(days=calls.DEFAULT_POLICY.max_promise_days or 30)


def from_debtor(agency_id: str, client_id: str, debtor: DebtorModel, promise_date: str,
                now: datetime) -> str:
    """The debtor promises, on the hosted page, to pay what is due and not disputed by a
    date: the same promise a specialist records (`make`), on the timeline as the debtor's
    action, which raises the specialist's task."""
    try:
        when = date.fromisoformat(promise_date or "")
    except ValueError:
        raise ValidationFailed.one("promise_date", "choose a date") from None
    amount = owed_outside_disputes(debtor)
    if amount <= 0:
        raise ValidationFailed.one("promise_date", "nothing is due outside disputes")
    m, _ = make(debtor, agency_id=agency_id, client_id=client_id, promised_for=when,
                amount_minor=amount, taken_by="debtor", now=now)
    timeline.debtor_acted(agency_id, client_id, debtor.debtor_id, "promise",
                          f"Debtor promised to pay {format_money(amount, debtor.currency)} by "
                          f"{when}", {"promise_id": m.promise_id,
                                      "promise_date": when.isoformat(),
                                      "amount_minor": amount}, now)
    return when.isoformat()


def owed_outside_disputes(debtor: DebtorModel) -> int:
    """What a promise to "pay what is due" covers: open balances not under dispute."""
    return sum(int(i.balance_minor) for i in accounts.debtor_invoices(debtor, consistent=True)
               if i.status in OWED and i.status != "disputed" and int(i.balance_minor) > 0)


def pause(debtor: DebtorModel, until: datetime | None, now: datetime) -> None:
    """Pause (or, with None, resume) the cadence; the account is re-placed in the
    next-action index by the one versioned save."""
    def change(d: DebtorModel) -> None:
        d.paused_until = iso(until) if until else None

    accounts.save_account(debtor, now, change)


def _fact(m: PromiseModel, kept: bool | None) -> dict:
    return {"promised_on": m.created_at[:10], "due_date": m.promised_for,
            "amount_minor": int(m.amount_minor), "kept": kept}


def _event(agency_id: str, client_id: str, debtor_id: str, m: PromiseModel,
           before: bool | None | str, at: datetime):
    """promise_recorded: made (old None), kept or broken (old = the open promise); the
    event id is derived from the promise and its state, so a retry announces it once."""
    old = None if before is None else _fact(m, None)
    new = _fact(m, {"open": None, "kept": True, "broken": False}[m.status])
    return events.stage("promise_recorded", agency_id=agency_id, client_id=client_id,
                        debtor_id=debtor_id, promise_id=m.promise_id, old=old, new=new,
                        at=iso(at), event_id=f"{agency_id}#ev#promise-{m.promise_id}-{m.status}")


def _announce(agency_id: str, client_id: str, debtor_id: str, m: PromiseModel,
              before: bool | None | str, at: datetime) -> None:
    """Announce a promise judged (kept or broken) after its own conditional save."""
    events.store(_event(agency_id, client_id, debtor_id, m, before, at))


def list_promises(agency_id: str, client_id: str, debtor_id: str) -> list[dict]:
    key = debtor_key(agency_id, client_id, debtor_id)
    return [render(m) for m in PromiseModel.query(key, scan_index_forward=False)]


def apply_payment(agency_id: str, client_id: str, debtor_id: str, payment_id: str,
                  amount_minor: int, at: datetime) -> list[str]:
    """Count a payment toward the debtor's open promises (once per payment id); returns the
    ids of promises now kept."""
    kept = []
    key = debtor_key(agency_id, client_id, debtor_id)
    for m in PromiseModel.query(key, filter_condition=PromiseModel.status == "open",
                                consistent_read=True):
        if payment_id in (m.payment_ids or []) or at >= datetime.fromisoformat(m.deadline):
            continue
        for _ in range(3):
            m.paid_minor = int(m.paid_minor) + amount_minor
            m.payment_ids = [*(m.payment_ids or []), payment_id]
            if m.paid_minor >= int(m.amount_minor):
                m.status, m.check_shard, m.check_sort = "kept", None, None
            m.updated_at = iso(at)
            try:
                m.save()
                break
            except PutError:
                m.refresh(consistent_read=True)
                if payment_id in (m.payment_ids or []) or m.status != "open":
                    break
        if m.status == "kept" and payment_id in (m.payment_ids or []):
            kept.append(m.promise_id)
            timeline.record(agency_id, client_id, debtor_id, "promise_kept",
                            f"Promise of {format_money(int(m.amount_minor), m.currency)} kept",
                            actor="system", data=render(m),
                            at=at, entry_id=f"{iso(at)}#kept-{m.promise_id}")
            _announce(agency_id, client_id, debtor_id, m, "open", at)
        amount_minor = 0  # one payment counts toward the oldest open promise only
    return kept


def break_due(now: datetime) -> list[tuple[str, str, str, str]]:
    """Timer: mark promises past their deadline broken (reads only due ones, per shard);
    returns (agency, client, debtor, promise) of each newly broken promise."""
    from chalicelib.workbench import tasks

    out = []
    for shard in range(SHARDS):
        for m in PromiseModel.promise_check.query(f"pc#{shard:02d}",
                                                  PromiseModel.check_sort <= iso(now)):
            m = PromiseModel.get(m.debtor_key, m.promise_id, consistent_read=True)
            if m.status != "open":
                continue
            m.status, m.check_shard, m.check_sort, m.updated_at = "broken", None, None, iso(now)
            try:
                m.save()
            except PutError:
                continue  # a payment landed meanwhile; the next run judges again
            agency_id, client_id, debtor_id = split_debtor_key(m.debtor_key)
            timeline.record(agency_id, client_id, debtor_id, "promise_broken",
                            f"Promise of {format_money(int(m.amount_minor), m.currency)} by "
                            f"{m.promised_for} broken ({format_money(int(m.paid_minor), m.currency)}"
                            " paid)", actor="system", data=render(m),
                            at=now, entry_id=f"{m.deadline}#broken-{m.promise_id}")
            _announce(agency_id, client_id, debtor_id, m, "open", now)
            tasks.raise_task(agency_id, client_id, debtor_id, "promise broken", now=now,
                             source="promises", details={"event_id": f"broken-{m.promise_id}",
                                                         "promise_id": m.promise_id},
                             broken_promise=True)
            from chalicelib.workbench import escalations

            escalations.on_broken_promise(agency_id, client_id, debtor_id, now)
            out.append((agency_id, client_id, debtor_id, m.promise_id))
    return out
