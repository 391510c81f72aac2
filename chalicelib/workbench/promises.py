"""Promises to pay: kept when paid in full by the date plus grace, broken otherwise."""
from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta, timezone

from pynamodb.exceptions import PutError

from chalicelib.kernel.clock import iso
from chalicelib.kernel.money import format_money
from chalicelib.store import timeline
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
    m.save(condition=PromiseModel.promise_id.does_not_exist())
    timeline.record(agency_id, client_id, debtor_id, "promise_recorded",
                    f"Promise to pay {format_money(amount_minor, currency)} by {promised_for}",
                    actor=taken_by, data=render(m), at=now)
    return m


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
            tasks.raise_task(agency_id, client_id, debtor_id, "promise broken", now=now,
                             source="promises", details={"event_id": f"broken-{m.promise_id}",
                                                         "promise_id": m.promise_id},
                             broken_promise=True)
            from chalicelib.workbench import escalations

            escalations.on_broken_promise(agency_id, client_id, debtor_id, now)
            out.append((agency_id, client_id, debtor_id, m.promise_id))
    return out
