"""Per-client reports and the agency overview, read from the maintained aggregates only."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.http.auth import Principal
from chalicelib.reporting import kpis
from chalicelib.reporting.figures import dumps
from chalicelib.kernel.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.reporting import store as report_store
from chalicelib.http.access import load_client
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel, UserModel
from chalicelib.reporting.models import ReportModel

TREND_MONTHS = 6
ACTIVITY_DEFINITIONS = {
    "touches": "Touches by channel: emails, texts, calls and letters sent in the month.",
    "disputes_opened": "Disputes opened in the month, by the reason the debtor gave.",
    "disputes_resolved": "Disputes closed in the month (the invoice left the disputed state).",
    "escalations": "Accounts escalated to collections in the month.",
    "recoveries": "Escalated accounts recovered in the month (and the amount recovered).",
    "other_currencies": "Accounts in another currency the client accepts: their balances "
                        "by currency, kept apart from the figures in the client's currency.",
    "change_since_takeover": "Each figure now against the baseline stored at the client's "
                             "first full import (the day the agency took the book over).",
}


def plain(value: Any) -> Any:
    """JSON-ready: Decimals become numbers, dates ISO strings."""
    return json.loads(dumps(value))


def _headline_day(state: report_store.Loaded, today: date) -> date:
    horizon = state.agg.horizon
    return max(today, horizon) if horizon else today


def store_snapshots(agency_id: str, client_id: str, state: report_store.Loaded,
                    now: datetime, *, baseline: bool = False) -> None:
    """After a batch: today's snapshot (for history), the overview summary, and at the
    first full import the baseline (written once, never replaced)."""
    day = _headline_day(state, now.date())
    snap = kpis.snapshot(state.agg, day)
    report_store.put_item(agency_id, client_id, f"snap#{day.isoformat()}", snap, now)
    month = state.head.get("activity", {}).get(day.isoformat()[:7], {})
    summary = {"as_of": day.isoformat(), "currency": snap["currency"],
               **{k: snap[k] for k in ("receivables_minor", "overdue_minor", "dso_countback",
                                       "cei", "aging", "collected")},
               "debtors_overdue": state.agg.debtors_overdue(day),
               "promise_kept_rate": snap["promise_kept_rate"], "activity": month}
    report_store.put_item(agency_id, client_id, "summary", summary, now)
    if baseline or state.first:  # the client's first batch: list it for the monthly job
        report_store.register(agency_id, client_id, now)
    if baseline:
        report_store.put_item(agency_id, client_id, "baseline", snap, now, only_if_new=True)


def parse_as_of(text: str | None, today: date) -> date:
    if not text:
        return today
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.one("as_of", "must be a date YYYY-MM-DD") from None


def _month_ends(as_of: date, months: int) -> list[date]:
    out, day = [], as_of
    for _ in range(months):
        out.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return list(reversed(out))


def _trend(agg: kpis.ClientAggregate, as_of: date) -> list[dict]:
    """Month by month: receivables and countback DSO at each month end (exact for any past
    day: both need only sales and collections by day) and the money collected that month."""
    rows = []
    for end in _month_ends(as_of, TREND_MONTHS):
        start = end.replace(day=1)
        rows.append({"month": end.isoformat()[:7], "as_of": end.isoformat(),
                     "receivables_minor": agg.receivables_on(end),
                     "dso_countback": kpis._dp1(kpis._countback(agg, end, 12)),
                     "collected_minor": sum(agg.collected(start, end).values())})
    return rows


def _debtor_names(agency_id: str, client_id: str, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    ckey = client_key(agency_id, client_id)
    return {d.debtor_id: {"name": d.name, "account_ref": d.account_ref, "status": d.status}
            for d in DebtorModel.batch_get([(ckey, i) for i in ids])}


def other_currencies(client: ClientModel) -> list[dict]:
    """Accounts in a currency the client accepts besides its own, by currency: never mixed
    into the figures (which are in the client's currency), never left out either. Read from
    the accounts' positions (as of their last change), only for clients that accept one."""
    accepted = {str(c).upper() for c in (client.settings or {}).get("accepted_currencies")
                or []} - {client.currency.upper()}
    if not accepted:
        return []
    totals: dict[str, dict] = {}
    for d in DebtorModel.query(client_key(client.agency_id, client.client_id),
                               filter_condition=DebtorModel.currency.is_in(*sorted(accepted))):
        row = totals.setdefault(d.currency, {"currency": d.currency, "receivables_minor": 0,
                                             "overdue_minor": 0, "accounts": 0,
                                             "accounts_overdue": 0})
        row["receivables_minor"] += int(d.balance_minor or 0)
        row["overdue_minor"] += int(d.overdue_minor or 0)
        row["accounts"] += 1
        row["accounts_overdue"] += int(d.overdue_minor or 0) > 0
    return [totals[c] for c in sorted(totals)]


def client_report(p: Principal, client_id: str, as_of: str | None = None,
                  *, today: date) -> dict:
    client = load_client(p, client_id, for_reports=True)
    return build(client, parse_as_of(as_of, today))


def build(client: ClientModel, as_of: date) -> dict:
    """The report as of a day: live from the aggregate, or from the stored snapshot when the
    day is before the aggregate's latest payment (its balances are today's)."""
    aid, cid = client.agency_id, client.client_id
    state = report_store.read(aid, cid, client.currency)  # bounded: see reporting/store
    horizon = state.agg.horizon
    trend = _trend(state.agg, as_of)
    if horizon is not None and as_of < horizon:
        figures = report_store.latest_snapshot(aid, cid, as_of.isoformat())
        if figures is None:
            raise NotFound(f"figures as of {as_of.isoformat()}")
        source = f"snapshot of {figures['as_of']}"
    else:
        figures = kpis.snapshot(state.agg, as_of)
        source = "live"
    baseline = report_store.get_item(aid, cid, "baseline")
    change = None
    # A report dated before the takeover has no "since": comparing would count days back.
    if baseline and baseline.get("currency") == figures.get("currency") \
            and baseline["as_of"] <= figures["as_of"]:
        change = kpis.compare(baseline, figures)
    names = _debtor_names(aid, cid, [r["debtor_id"] for r in figures["top_overdue_debtors"]])
    for row in figures["top_overdue_debtors"]:
        row.update(names.get(row["debtor_id"], {"name": "?", "account_ref": "", "status": ""}))
    activity = state.head.get("activity", {})
    return plain({
        "client": {"id": cid, "name": client.name, "brand_name": client.brand_name,
                   "currency": client.currency},
        "as_of": as_of.isoformat(), "source": source, "figures": figures,
        "activity": {"month": as_of.isoformat()[:7],
                     **activity.get(as_of.isoformat()[:7], {})},
        "activity_by_month": activity,
        "trend": trend, "baseline": baseline, "change_since_takeover": change,
        "took_over_on": baseline.get("as_of") if baseline else None,
        "other_currencies": other_currencies(client),
        "definitions": {**kpis.DEFINITIONS, **ACTIVITY_DEFINITIONS},
    })


def overview(p: Principal) -> dict:
    """All clients side by side, and each specialist's workload and results, from the
    per-client summary items (one query for clients, one batch read for summaries)."""
    if p.role == "client_viewer":
        raise Forbidden("client viewers see their own report only")
    clients = [c for c in ClientModel.query(p.agency_id) if not c.archived]
    if p.role == "specialist":
        clients = [c for c in clients if p.user_id in (c.specialist_ids or [])]
    keys = [(client_key(p.agency_id, c.client_id), "summary") for c in clients]
    summaries = {m.client_key.split("#", 1)[1]: json.loads(m.body)
                 for m in ReportModel.batch_get(keys)} if keys else {}
    rows = []
    for c in clients:
        s = summaries.get(c.client_id, {})
        rows.append({"client_id": c.client_id, "name": c.name, "currency": c.currency,
                     "specialist_ids": list(c.specialist_ids or []),
                     "chasing": (c.settings or {}).get("chasing", "active"),
                     "sender_email": c.sender_email,
                     "sender_status": c.sender_status or "unknown", **s})
    people: dict[str, dict] = {}
    staff = {u.user_id: u for u in UserModel.query(p.agency_id)
             if u.role in ("specialist", "admin")} if p.is_admin else {}
    for row in rows:
        for uid in row["specialist_ids"]:
            if p.role == "specialist" and uid != p.user_id:
                continue
            who = people.setdefault(uid, {"user_id": uid, "name": getattr(
                staff.get(uid), "name", None), "clients": 0, "by_currency": {}})
            who["clients"] += 1
            money = who["by_currency"].setdefault(row.get("currency") or "?", {
                "receivables_minor": 0, "overdue_minor": 0, "collected_minor": 0,
                "debtors_overdue": 0})
            money["receivables_minor"] += row.get("receivables_minor", 0)
            money["overdue_minor"] += row.get("overdue_minor", 0)
            money["collected_minor"] += (row.get("collected") or {}).get("total_minor", 0)
            money["debtors_overdue"] += row.get("debtors_overdue", 0)
            touches = (row.get("activity") or {}).get("touches", {})
            who["touches"] = who.get("touches", 0) + sum(touches.values())
    return {"clients": rows, "specialists": sorted(people.values(), key=lambda w: w["user_id"]),
            "definitions": {"collected_minor": kpis.DEFINITIONS["collected"],
                            "debtors_overdue": "Accounts with a balance past due."}}
