"""Reporting facts: stored invoice states to KPI facts, money paid outside, the aggregate as
counter items."""
from __future__ import annotations

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


# ------------------------------------------------------- the aggregate as counter items

# The aggregate is stored as small counter items (numbers added to atomically), bucketed by
# what an event changes, so one event writes a few small items whatever the book's size:
#   m#sales#YYYY-MM    {issue day: credit sales}
#   m#coll#YYYY-MM     {"day#source": collected}
#   m#settled#YYYY-MM  {"day#n" | "day#days_late" | "day#minor" | "day#minor_days_late": sum}
#   m#prom#YYYY-MM     {"day#n" | "day#kept": count}
#   m#act#YYYY-MM      {"name": count} or {"name#key": count} (activity of the month)
#   m#open#YYYY-MM     {due day: open balance of the whole client}  (by due month)
#   d#<debtor id>      {"o#due day": open balance, "x#due day": disputed balance}
# A month item holds at most 31 days of keys; a debtor item grows with that debtor's due
# days, not with the client's book. Reporting's store keeps two more, which need the debtor's
# item read first (reporting/store.py): m#first#YYYY-MM {day: debtors whose oldest open due
# day it is} and the ranking r#<inverted open balance>#<debtor> (one tiny item per debtor).

_BY_DAY = (("sales_by_issue_day", "sales"),)
CLIENT_TOTALS = ("open", "first")  # m#open, m#first: read by the bounded report only
_BY_DAY_KEY = (("collected_by_day", "coll"), ("settled_by_day", "settled"),
               ("promises_by_due_day", "prom"))


def counter_parts(agg: ClientAggregate, activity: Mapping[str, Any] | None = None
                  ) -> dict[str, dict[str, int]]:
    """What to add to which counter item: {part: {attribute: delta}} (zeros left out).
    ``agg`` is usually a delta (an empty aggregate the batch applied its before → after to)."""
    out: dict[str, dict[str, int]] = {}

    def add(part: str, attr: str, value: int) -> None:
        if value:
            row = out.setdefault(part, {})
            row[attr] = row.get(attr, 0) + int(value)

    for field, kind in _BY_DAY:
        for day, value in getattr(agg, field).items():
            add(f"m#{kind}#{day[:7]}", day, value)
    for field, kind in _BY_DAY_KEY:
        for day, row in getattr(agg, field).items():
            for key, value in row.items():
                add(f"m#{kind}#{day[:7]}", f"{day}#{key}", value)
    for field, prefix in (("open_by_due_day", "o"), ("disputed_by_due_day", "x")):
        for due, by_debtor in getattr(agg, field).items():
            for debtor, value in by_debtor.items():
                add(f"d#{debtor}", f"{prefix}#{due}", value)
                if prefix == "o":
                    add(f"m#open#{due[:7]}", due, value)
    for month, row in (activity or {}).items():
        for name, value in row.items():
            if isinstance(value, Mapping):
                for key, n in value.items():
                    add(f"m#act#{month}", f"{name}#{key}", n)
            else:
                add(f"m#act#{month}", name, value)
    return out


def from_counters(currency: str, parts: Mapping[str, Mapping[str, int]]
                  ) -> tuple[ClientAggregate, dict]:
    """The aggregate and the activity by month back from counter items (zeros dropped)."""
    fields: dict[str, dict] = {name: {} for name in ClientAggregate._FIELDS}
    activity: dict[str, dict] = {}
    kinds = dict((kind, field) for field, kind in _BY_DAY + _BY_DAY_KEY)
    for part, attrs in parts.items():
        if part.startswith("d#"):
            debtor = part[2:]
            for attr, value in attrs.items():
                if value and attr[:2] in ("o#", "x#"):
                    target = fields["open_by_due_day" if attr[0] == "o" else "disputed_by_due_day"]
                    target.setdefault(attr[2:], {})[debtor] = int(value)
            continue
        if not part.startswith("m#"):
            continue
        _, kind, month = part.split("#", 2)
        if kind in CLIENT_TOTALS:  # the same money as the debtor items, summed
            continue
        for attr, value in attrs.items():
            if not value:
                continue
            if kind == "act":
                name, _, key = attr.partition("#")
                row = activity.setdefault(month, {})
                if key:
                    row.setdefault(name, {})[key] = int(value)
                else:
                    row[name] = int(value)
            elif kind == "sales":
                fields["sales_by_issue_day"][attr] = int(value)
            elif kind in kinds:
                day, _, key = attr.partition("#")
                fields[kinds[kind]].setdefault(day, {})[key] = int(value)
    return ClientAggregate.from_dict({"version": ClientAggregate.VERSION, "currency": currency,
                                      **fields}), activity


# ------------------------------------------------ the aggregate as JSON parts (before counters)


def merge(parts: Mapping[str, Mapping[str, Any]]) -> tuple[ClientAggregate, dict]:
    """The aggregate and the head's extra fields back from the JSON parts stored before the
    counters (``head`` and ``open#YYYY-MM#n``): read once to move such a client over."""
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
