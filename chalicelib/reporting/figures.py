"""Reporting facts: stored invoice states to KPI facts, money paid outside, aggregate parts."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from chalicelib.reporting.kpis import ClientAggregate, InvoiceFact, PaymentFact, SOURCES

# Invoice statuses that stop an invoice being a receivable for the KPIs. A write-off is not
# money collected, so it leaves the book like a void invoice (weak point: it also leaves
# past credit sales; kpis has no write-off notion yet).
NOT_RECEIVABLE = frozenset({"written_off", "void", "cancelled"})
PART_LIMIT = 300_000  # bytes of one stored open-balance part; DynamoDB's item limit is 400 KB


# ------------------------------------------------------------------------------- the facts


def _source(name: str | None) -> str:
    return name if name in SOURCES else "other"


def fact_from_state(state: Mapping[str, Any], payments: list | tuple = ()) -> InvoiceFact:
    """An invoice fact from a stored invoice's state (see services/invoices.state) and the
    Recoup payments applied to it ([payment_id, ISO day, amount, source] each)."""
    status = state.get("status") or "open"
    kpi_status = "void" if status in NOT_RECEIVABLE else (
        "disputed" if status == "disputed" else "open")
    total = int(state["total_minor"])
    pays = [PaymentFact(date.fromisoformat(d), int(a), _source(s)) for _, d, a, s in payments
            if int(a) > 0]
    pays += [PaymentFact(date.fromisoformat(d), int(a), "other")
             for d, a in state.get("paid_outside") or [] if int(a) > 0]
    pays.sort(key=lambda p: p.paid_on)
    # Never more on an invoice than its total (a stale outside figure must not break facts).
    kept, room = [], total
    for p in pays:
        if room <= 0:
            break
        kept.append(p if p.amount_minor <= room else replace(p, amount_minor=room))
        room -= kept[-1].amount_minor
    reason = (state.get("dispute") or {}).get("reason") if kpi_status == "disputed" else None
    return InvoiceFact(str(state["invoice_id"]), str(state["debtor_id"]),
                       date.fromisoformat(state["issue_date"]),
                       date.fromisoformat(state["due_date"]), total, state["currency"],
                       tuple(kept), kpi_status, reason)


# ----------------------------------------------------------------- activity (non-money) counts


def bump_activity(activity: dict, month: str, name: str, key: str | None = None,
                  delta: int = 1) -> None:
    """activity[month][name] is a count, or {key: count} when a key is given."""
    row = activity.setdefault(month, {})
    if key is None:
        row[name] = row.get(name, 0) + delta
        if not row[name]:
            del row[name]
    else:
        inner = row.setdefault(name, {})
        inner[key] = inner.get(key, 0) + delta
        if not inner[key]:
            del inner[key]
        if not inner:
            del row[name]
    if not row:
        del activity[month]


def dispute_activity(activity: dict, old: Mapping | None, new: Mapping | None, day: date) -> None:
    """A dispute opened or resolved between two invoice states, counted in ``day``'s month."""
    was = bool(old) and old.get("status") == "disputed"
    now = bool(new) and new.get("status") == "disputed"
    month = day.isoformat()[:7]
    if now and not was:
        reason = ((new or {}).get("dispute") or {}).get("reason") or "unspecified"
        bump_activity(activity, month, "disputes_opened", reason[:60])
    elif was and not now:
        bump_activity(activity, month, "disputes_resolved")


# ---------------------------------------------------------------- splitting the aggregate


def _shard(debtor_id: str, shards: int) -> int:
    return int(hashlib.sha1(debtor_id.encode()).hexdigest()[:8], 16) % shards


def split(agg: ClientAggregate, extra: Mapping[str, Any], shards: Mapping[str, int]) -> dict[str, dict]:
    """The aggregate as stored parts: ``head`` (day-keyed sums, activity, bookkeeping) and
    ``open#YYYY-MM#n`` parts (balances by due day and debtor, sharded by debtor hash)."""
    data = agg.to_dict()
    opened = data.pop("open_by_due_day")
    disputed = data.pop("disputed_by_due_day")
    parts: dict[str, dict] = {"head": {**data, **extra, "shards": dict(shards)}}
    for name, source in (("open", opened), ("disputed", disputed)):
        for due, by_debtor in source.items():
            month = due[:7]
            n = shards.get(month, 1)
            for debtor, bal in by_debtor.items():
                key = f"open#{month}#{_shard(debtor, n)}"
                part = parts.setdefault(key, {"open": {}, "disputed": {}})
                part[name].setdefault(due, {})[debtor] = bal
    return parts


def split_within_limit(agg: ClientAggregate, extra: Mapping[str, Any],
                       shards: Mapping[str, int] | None = None) -> dict[str, dict]:
    """Split, doubling a month's shards until every part is under PART_LIMIT bytes."""
    shards = dict(shards or {})
    while True:
        parts = split(agg, extra, shards)
        big = {k.split("#")[1] for k, v in parts.items()
               if k != "head" and len(dumps(v)) > PART_LIMIT}
        if not big:
            return parts
        for month in big:
            shards[month] = shards.get(month, 1) * 2


def merge(parts: Mapping[str, Mapping[str, Any]]) -> tuple[ClientAggregate, dict]:
    """The aggregate and the head's extra fields back from stored parts."""
    head = dict(parts["head"])
    opened: dict[str, dict] = {}
    disputed: dict[str, dict] = {}
    for key, part in parts.items():
        if key == "head":
            continue
        for target, name in ((opened, "open"), (disputed, "disputed")):
            for due, by_debtor in part.get(name, {}).items():
                target.setdefault(due, {}).update(by_debtor)
    fields = {k: head.pop(k) for k in ("version", "currency", *ClientAggregate._FIELDS)
              if k in head}
    fields["open_by_due_day"] = opened
    fields["disputed_by_due_day"] = disputed
    return ClientAggregate.from_dict(fields), head


# ------------------------------------------------------------------------------ JSON storage


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> Any:
    """Ratios come back as Decimal (one decimal place survives a float round trip)."""
    return json.loads(text, parse_float=Decimal)
