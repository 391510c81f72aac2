"""What the client portal shows: the dashboard, debtor list, monthly report and CSV tables."""
from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from chalicelib.http.auth import Principal
from chalicelib.reporting import charts
from chalicelib.reporting.kpis import BUCKETS
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import NotFound, ValidationFailed
from chalicelib.reporting import reports
from chalicelib.http.access import load_client
from chalicelib.store import paging
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel

BUCKET_LABELS = {"not_due": "Not due", "1_30": "1–30", "31_60": "31–60", "61_90": "61–90",
                 "90_plus": "90+"}
WAITING = ("disputed", "in_collections")
TABLES = ("aging", "top_debtors", "trend", "activity", "change", "debtors", "waiting")


def brand_colour(client: ClientModel) -> str:
    """The client's brand colour if it is a plain hex colour (it lands inside CSS)."""
    colour = str((client.settings or {}).get("brand_colour") or "")
    return colour if re.fullmatch(r"#[0-9a-fA-F]{3,8}", colour) else "#1f4e79"


def brand(client: ClientModel) -> dict:
    return {"name": client.brand_name or client.name, "colour": brand_colour(client)}


def _money(minor: Any, currency: str) -> str:
    return format_money(int(minor or 0), currency) if minor is not None else "—"


def _charts(report: dict, colour: str) -> dict:
    f, cur = report["figures"], report["client"]["currency"]
    aging = f["aging"]
    trend = report["trend"]
    return {
        "aging": charts.bar_chart(
            "Receivables by age (days past due)", [BUCKET_LABELS[b] for b in BUCKETS],
            [aging[b] for b in BUCKETS], [_money(aging[b], cur) for b in BUCKETS],
            css_id="aging-chart", colour=colour),
        "collected": charts.bar_chart(
            "Collected per month", [t["month"] for t in trend],
            [t["collected_minor"] for t in trend],
            [_money(t["collected_minor"], cur) for t in trend], css_id="collected-chart",
            colour=colour),
        "dso": charts.line_chart(
            "DSO (countback) at each month end", [t["month"] for t in trend],
            [t["dso_countback"] for t in trend], css_id="dso-chart", colour=colour,
            unit=" days"),
    }


def _waiting(client: ClientModel, limit: int = 100) -> dict[str, list[dict]]:
    """Open invoices waiting on the client: disputes needing their documents, escalations
    needing their approval (the approval action is the workbench's)."""
    ckey = client_key(client.agency_id, client.client_id)
    out: dict[str, list[dict]] = {"disputes": [], "escalations": []}
    query = InvoiceModel.open_by_due.query(
        ckey, filter_condition=InvoiceModel.status.is_in(*WAITING), limit=limit)
    for inv in query:
        row = {"debtor_id": inv.debtor_id, "number": inv.number, "due_date": inv.due_date,
               "balance": _money(inv.balance_minor, inv.currency),
               "balance_minor": int(inv.balance_minor),
               "reason": (inv.dispute or {}).get("reason", ""),
               "since": ((inv.dispute or {}).get("opened_at") or inv.updated_at)[:10]}
        out["disputes" if inv.status == "disputed" else "escalations"].append(row)
    return out


def dashboard(p: Principal, client_id: str, as_of: str | None = None, *, today: date) -> dict:
    client = load_client(p, client_id, for_reports=True)
    report = reports.build(client, reports.parse_as_of(as_of, today))
    b = brand(client)
    return {"client": client, "brand": b, "report": report, "charts": _charts(report, b["colour"]),
            "waiting": _waiting(client), "money": lambda m: _money(m, client.currency)}


def debtors(p: Principal, client_id: str, cursor: str | None) -> dict:
    client = load_client(p, client_id, for_reports=True)
    page = paging.page(DebtorModel.query, limit=50, cursor=cursor, hash_attr="client_key",
                       hash_value=client_key(p.agency_id, client_id), render=_debtor_row)
    return {"client": client, "brand": brand(client), "page": page,
            "money": lambda m: _money(m, client.currency)}


def _debtor_row(d: DebtorModel) -> dict:
    return {"name": d.name, "account_ref": d.account_ref, "status": d.status,
            "balance_minor": int(d.balance_minor or 0), "overdue_minor": int(d.overdue_minor or 0),
            "open_invoices": int(d.open_invoices or 0), "oldest_due": d.oldest_due or ""}


def month_end(month: str | None, today: date) -> date:
    if not month:
        return today
    try:
        y, m = (int(x) for x in month.split("-"))
        last = date(y, m, calendar.monthrange(y, m)[1])
    except ValueError:
        raise ValidationFailed.one("month", "must be YYYY-MM") from None
    return min(last, today)


def monthly(p: Principal, client_id: str, month: str | None, *, today: date) -> dict:
    client = load_client(p, client_id, for_reports=True)
    report = reports.build(client, month_end(month, today))
    b = brand(client)
    return {"client": client, "brand": b, "report": report, "charts": _charts(report, b["colour"]),
            "money": lambda m: _money(m, client.currency)}


def table(p: Principal, client_id: str, name: str, *, today: date) -> tuple[list[str], list[list]]:
    """One table of the portal as (header, rows) for CSV."""
    if name not in TABLES:
        raise NotFound("table")
    client = load_client(p, client_id, for_reports=True)
    if name == "debtors":
        rows = [_debtor_row(d) for d in DebtorModel.query(client_key(p.agency_id, client_id))]
        cols = ["name", "account_ref", "status", "balance_minor", "overdue_minor",
                "open_invoices", "oldest_due"]
        return cols, [[r[c] for c in cols] for r in rows]
    if name == "waiting":
        w = _waiting(client, limit=1000)
        return (["waiting_for", "invoice", "due_date", "balance_minor", "reason", "since"],
                [[kind, r["number"], r["due_date"], r["balance_minor"], r["reason"], r["since"]]
                 for kind in ("disputes", "escalations") for r in w[kind]])
    report = reports.build(client, today)
    f = report["figures"]
    if name == "aging":
        return ["bucket", "balance_minor"], [[BUCKET_LABELS[b], f["aging"][b]] for b in BUCKETS]
    if name == "top_debtors":
        cols = ["name", "account_ref", "overdue_minor", "disputed_minor", "oldest_due_date"]
        return cols, [[r.get(c) for c in cols] for r in f["top_overdue_debtors"]]
    if name == "trend":
        cols = ["month", "receivables_minor", "dso_countback", "collected_minor"]
        return cols, [[t[c] for c in cols] for t in report["trend"]]
    if name == "activity":
        rows = []
        for month, acts in sorted(report["activity_by_month"].items()):
            for what, value in sorted(acts.items()):
                if isinstance(value, dict):
                    rows += [[month, what, k, v] for k, v in sorted(value.items())]
                else:
                    rows.append([month, what, "", value])
        return ["month", "activity", "detail", "count"], rows
    change = report["change_since_takeover"] or {"figures": {}}
    return (["figure", "baseline", "current", "delta"],
            [[k, v["baseline"], v["current"], v["delta"]] for k, v in change["figures"].items()])
