"""What the client portal shows: the dashboard, debtor list, monthly report and CSV tables."""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime

from chalicelib.book.invoice_rules import OWED
from chalicelib.dunning import messages
from chalicelib.http.auth import Principal
from chalicelib.reporting import charts
from chalicelib.reporting import presentation as pres
from chalicelib.reporting.kpis import BUCKETS
from chalicelib.kernel.errors import NotFound, ValidationFailed
from chalicelib.reporting import reports
from chalicelib.reporting import store as report_store
from chalicelib.http.access import load_client
from chalicelib.store import paging
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel, TimelineModel

BUCKET_LABELS = {"not_due": "Not due", "1_30": "1–30", "31_60": "31–60", "61_90": "61–90",
                 "90_plus": "90+"}
WAITING = report_store.WAITING
TABLES = ("aging", "top_debtors", "trend", "activity", "change", "debtors", "waiting")


def brand_colour(client: ClientModel) -> str:
    """The client's brand colour if it is a plain hex colour (it lands inside CSS)."""
    colour = str((client.settings or {}).get("brand_colour") or "")
    return colour if re.fullmatch(r"#[0-9a-fA-F]{3,8}", colour) else "#1f4e79"


def brand(client: ClientModel) -> dict:
    return {"name": client.brand_name or client.name, "colour": brand_colour(client)}


def _money(minor: Any, currency: str, loc: Locale) -> str:
    return messages.money(int(minor or 0), currency, loc) if minor is not None else "—"


class Formats:
    """Money and dates as the client reads them: its currency in its own locale."""

    def __init__(self, client: ClientModel) -> None:
        self.locale = messages.client_locale(client)
        self.currency = client.currency
        self.tz = client.timezone or "UTC"

    def money(self, minor: Any, currency: str | None = None) -> str:
        return _money(minor, currency or self.currency, self.locale)

    def day(self, value: Any, fmt: str = "medium") -> str:
        return pres.day_text(value, self.locale, fmt)

    def month(self, value: str) -> str:
        y, m = (int(x) for x in value[:7].split("-"))
        return format_date(date(y, m, 1), "MMM y", locale=self.locale)

    def when(self, instant: str) -> str:
        at = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        return format_datetime(at, "medium", tzinfo=ZoneInfo(self.tz), locale=self.locale)

    def context(self) -> dict:
        return {"money": self.money, "day": self.day, "month_label": self.month,
                "when": self.when}


def presented(report: dict, fmt: Formats) -> dict:
    """What the figures partial shows besides the raw report: labelled rows and periods."""
    f = report["figures"]
    as_of = date.fromisoformat(report["as_of"])
    took = report.get("took_over_on")
    return {
        "period": pres.period_label(date.fromisoformat(f["period_start"]),
                                    date.fromisoformat(f["as_of"]), fmt.locale),
        "takeover": pres.takeover_label(date.fromisoformat(took) if took else None, as_of,
                                        fmt.locale),
        "change_rows": pres.change_rows(report.get("change_since_takeover"), fmt.money),
        "definitions": pres.definitions(report["definitions"]),
        "sources": [(pres.SOURCE_LABELS.get(k, k), v)
                    for k, v in f["collected"]["by_source"].items()],
        "channels": pres.CHANNEL_LABELS,
        "value": lambda path, v: pres.value_text(path, v, fmt.money),
    }


def _charts(report: dict, colour: str, fmt: Formats) -> dict:
    f = report["figures"]
    aging = f["aging"]
    trend = report["trend"]
    months = [fmt.month(t["month"]) for t in trend]
    return {
        "aging": charts.bar_chart(
            "Receivables by age (days past due)", [BUCKET_LABELS[b] for b in BUCKETS],
            [aging[b] for b in BUCKETS], [fmt.money(aging[b]) for b in BUCKETS],
            css_id="aging-chart", colour=colour),
        "collected": charts.bar_chart(
            "Collected per month", months,
            [t["collected_minor"] for t in trend],
            [fmt.money(t["collected_minor"]) for t in trend], css_id="collected-chart",
            colour=colour),
        "dso": charts.line_chart(
            "DSO (countback) at each month end", months,
            [t["dso_countback"] for t in trend], css_id="dso-chart", colour=colour,
            unit=" days"),
    }


def _waiting(client: ClientModel, limit: int = 100,
             fmt: Formats | None = None) -> dict[str, list[dict]]:
    """Open invoices waiting on the client: disputes needing their documents, escalations
    needing their approval (the approval action is the workbench's)."""
    out: dict[str, list[dict]] = {"disputes": [], "escalations": []}
    fmt = fmt or Formats(client)
    # reporting keeps one small item per waiting invoice (report_store.waiting): read those,
    # not the client's open invoices
    for inv in report_store.waiting(client.agency_id, client.client_id)[:limit]:
        row = {"debtor_id": inv["debtor_id"], "number": inv["number"],
               "due_date": inv["due_date"],
               "balance": fmt.money(inv["balance_minor"], inv["currency"]),
               "due": fmt.day(inv["due_date"]), "balance_minor": int(inv["balance_minor"]),
               "reason": inv["reason"], "since": inv["since"]}
        row["since_text"] = fmt.day(row["since"])
        row["reason_text"] = row["reason"].replace("_", " ").capitalize()
        out["disputes" if inv["status"] == "disputed" else "escalations"].append(row)
    return out


def dashboard(p: Principal, client_id: str, as_of: str | None = None, *, today: date) -> dict:
    client = load_client(p, client_id, for_reports=True)
    report = reports.build(client, reports.parse_as_of(as_of, today))
    return _report_page(client, report, waiting=True)


def _report_page(client: ClientModel, report: dict, *, waiting: bool) -> dict:
    b, fmt = brand(client), Formats(client)
    out = {"client": client, "brand": b, "report": report,
           "charts": _charts(report, b["colour"], fmt), "shown": presented(report, fmt),
           **fmt.context()}
    if waiting:
        out["waiting"] = _waiting(client, fmt=fmt)
    return out


# ------------------------------------------------------------------------- the debtor list

PAGE_SIZE = 50
# ?sort= values: the column and whether it reads largest first by default.
SORTS = {"name": ("name", False), "account": ("account_ref", False),
         "status": ("status", False), "balance": ("balance_minor", True),
         "overdue": ("overdue_minor", True), "open": ("open_invoices", True),
         "oldest": ("oldest_due", False)}
_LIST_FIELDS = ["debtor_id", "name", "account_ref", "status", "balance_minor", "overdue_minor",
                "open_invoices", "oldest_due"]


def _sort_key(column: str):
    def key(row: dict):
        value = row[column]
        if column == "oldest_due":  # no open invoice sorts last either way
            return (value == "", value)
        return value.casefold() if isinstance(value, str) else value
    return key


def list_rows(rows: list[dict], q: str | None, sort: str | None) -> tuple[list[dict], str]:
    """Filter by a search (name or account reference, any case) and sort by a column;
    `-col` reverses. Unknown sorts fall back to the most overdue first."""
    needle = (q or "").strip().casefold()
    if needle:
        rows = [r for r in rows if needle in r["name"].casefold()
                or needle in (r["account_ref"] or "").casefold()]
    sort = sort if (sort or "").lstrip("-") in SORTS else "overdue"
    name = sort.lstrip("-")
    column, desc = SORTS[name]
    if sort.startswith("-"):
        desc = not desc
    rows = sorted(rows, key=lambda r: (r["name"].casefold(), r["debtor_id"]))
    if column == "oldest_due":
        dated = sorted((r for r in rows if r["oldest_due"]), key=_sort_key(column), reverse=desc)
        rows = dated + [r for r in rows if not r["oldest_due"]]
    else:
        rows = sorted(rows, key=_sort_key(column), reverse=desc)
    return rows, sort


SEARCH_SCAN = 500  # debtors read per page while searching


def _debtor_page(ckey: str, needle: str, cursor: dict | None) -> tuple[list[dict], dict | None, int]:
    """One page of the client's debtors from ``cursor`` in key order: PAGE_SIZE of them, or,
    for a search, the matches among the next SEARCH_SCAN (name or account reference, any
    case). Returns (rows, next cursor, debtors read)."""
    if not needle:
        result = DebtorModel.query(ckey, attributes_to_get=_LIST_FIELDS, limit=PAGE_SIZE,
                                   last_evaluated_key=cursor)
        rows = [_debtor_row(d) for d in result]
        return rows, result.last_evaluated_key, len(rows)
    result = DebtorModel.query(ckey, attributes_to_get=_LIST_FIELDS, limit=SEARCH_SCAN,
                               last_evaluated_key=cursor)
    read = [_debtor_row(d) for d in result]
    rows = [r for r in read if needle in r["name"].casefold()
            or needle in (r["account_ref"] or "").casefold()]
    return rows, result.last_evaluated_key, len(read)


def debtors(p: Principal, client_id: str, *, q: str | None = None, sort: str | None = None,
            page: str | None = None) -> dict:
    """The client's debtors a page at a time, searchable, each page sortable: one Query of
    PAGE_SIZE debtors (a search: the matches among the next SEARCH_SCAN) from the page's
    cursor, whatever the size of the book. Sorting orders the page shown (a book bigger
    than one page is not sorted across pages: that needs an index per column)."""
    client = load_client(p, client_id, for_reports=True)
    fmt = Formats(client)
    ckey = client_key(p.agency_id, client_id)
    try:
        cursor = paging.decode_cursor(page, "client_key", ckey)
    except ValidationFailed:
        raise ValidationFailed.one("page", "not a page of this list") from None
    found, more, read = _debtor_page(ckey, (q or "").strip().casefold(), cursor)
    rows, sort = list_rows(found, None, sort)
    base = f"/portal/clients/{client_id}/debtors"

    def link(**changes: Any) -> str:
        params = {"q": q or "", "sort": sort, **changes}
        return base + "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    columns = []
    for name, title in (("name", "Debtor"), ("account", "Account"), ("status", "Status"),
                        ("balance", "Balance"), ("overdue", "Overdue"),
                        ("open", "Open invoices"), ("oldest", "Oldest due")):
        active = sort.lstrip("-") == name
        columns.append({"name": name, "title": title, "numeric": name in (
            "balance", "overdue", "open"), "href": link(sort=f"-{name}" if active
                                                         and not sort.startswith("-")
                                                         else name, page=page),
            "aria": ("descending" if SORTS[name][1] != sort.startswith("-") else "ascending")
            if active else None})
    for r in rows:
        r["href"] = f"{base}/{r['debtor_id']}"
        r["status_text"] = STATUS_LABELS.get(r["status"], r["status"].replace("_", " "))
        r["oldest_text"] = fmt.day(r["oldest_due"]) if r["oldest_due"] else "—"
    return {"client": client, "brand": brand(client), "rows": rows, "columns": columns,
            "q": q or "", "sort": sort, "total": len(rows), "read": read,
            "first_page": bool(cursor is None),
            "first": link() if cursor is not None else None,
            "next": link(page=paging.encode_cursor(more)) if more else None, **fmt.context()}


STATUS_LABELS = {"active": "Being chased", "on_hold": "On hold",
                 "in_collections": "With collections", "written_off": "Written off",
                 "open": "Open", "part_paid": "Part paid", "paid": "Paid",
                 "disputed": "Disputed", "settled_outside": "Settled outside"}


# -------------------------------------------------------------------- one debtor (drill-down)

# What a client sees of an account's history: touches sent, payments, promises, plans,
# disputes and escalations. Notes, failed sends, contact edits and replies stay with the agency.
PORTAL_KINDS = ("touch_sent", "letter_to_print", "payment", "promise_recorded", "promise_kept",
                "promise_broken", "plan_created", "plan_approved", "plan_completed",
                "plan_broken", "dispute_opened", "dispute_updated", "escalation_proposed",
                "escalation_decided", "letter_before_action", "debtor_promise",
                "debtor_dispute", "debtor_plan", "credit_alert", "credit_changed",
                "credit_hold")
TIMELINE_LIMIT = 30


def _activity(m: TimelineModel, fmt: Formats) -> dict:
    data = m.data or {}
    if m.kind in ("touch_sent", "letter_to_print"):
        channel = data.get("channel") or ("letter" if m.kind == "letter_to_print" else "")
        tone = data.get("tone")
        what = "statement" if "statement" in str(data.get("template") or "") else \
            f"{tone} reminder" if tone else "reminder"
        text = f"{pres.CHANNEL_LABELS.get(channel, channel.capitalize() or 'Message')} sent: {what}"
    else:
        text = m.summary
    return {"at": m.at, "when": fmt.when(m.at), "kind": m.kind, "text": text,
            "who": "Your customer" if m.actor == "debtor" else "The agency"}


def debtor(p: Principal, client_id: str, debtor_id: str) -> dict:
    """One debtor of the viewer's client: its open invoices and the activity a client may
    see. Another client's debtor is the same 404 as one that does not exist."""
    client = load_client(p, client_id, for_reports=True)
    fmt = Formats(client)
    try:
        d = DebtorModel.get(client_key(p.agency_id, client_id), debtor_id)
    except DebtorModel.DoesNotExist:
        raise NotFound("debtor") from None
    dkey = debtor_key(p.agency_id, client_id, debtor_id)
    invoices = sorted((i for i in InvoiceModel.query(dkey)
                       if i.status in OWED and int(i.balance_minor) > 0),
                      key=lambda i: (i.due_date, i.number))
    rows = [{"number": i.number, "issued": fmt.day(i.issue_date), "due": fmt.day(i.due_date),
             "total": fmt.money(i.total_minor, i.currency),
             "balance": fmt.money(i.balance_minor, i.currency),
             "status": STATUS_LABELS.get(i.status, i.status.replace("_", " ")),
             "reason": ((i.dispute or {}).get("reason") or "").replace("_", " ")}
            for i in invoices]
    entries = []
    for m in TimelineModel.query(dkey, scan_index_forward=False, page_size=100,
                                 filter_condition=TimelineModel.kind.is_in(*PORTAL_KINDS)):
        entries.append(_activity(m, fmt))
        if len(entries) >= TIMELINE_LIMIT:
            break
    return {"client": client, "brand": brand(client),
            "debtor": {"id": d.debtor_id, "name": d.name, "account_ref": d.account_ref,
                       "status": STATUS_LABELS.get(d.status, d.status),
                       "balance": fmt.money(d.balance_minor, d.currency),
                       "overdue": fmt.money(d.overdue_minor, d.currency),
                       "credit": fmt.money(d.credit_minor or 0, d.currency)
                       if int(d.credit_minor or 0) else None,
                       "open_invoices": int(d.open_invoices or 0)},
            "invoices": rows, "activity": entries, **fmt.context()}


def _debtor_row(d: DebtorModel) -> dict:
    return {"debtor_id": d.debtor_id, "name": d.name, "account_ref": d.account_ref, "status": d.status,
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
    return _report_page(client, report, waiting=False)


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
    return (["figure", "key", "baseline", "current", "delta"],
            [[pres.label(k), k, v["baseline"], v["current"], v["delta"]]
             for k, v in change["figures"].items()])


# --------------------------------------------------------------------------- cash forecast

SPLIT_LABELS = (("predicted_minor", "Predicted from payment habits"),
                ("promised_minor", "Promised (weighted by promises kept)"),
                ("plan_minor", "Payment plan instalments"))


def _compact(minor: int, currency: str, loc: Locale) -> str:
    from babel.numbers import format_compact_currency

    from chalicelib.kernel.money import exponent

    return format_compact_currency(minor / 10 ** exponent(currency), currency, locale=loc,
                                   fraction_digits=1)


def forecast(p: Principal, client_id: str, *, now: datetime, csv_href: str) -> dict:
    """The cash forecast page: the stored snapshot (`reporting.forecast`), as the client
    reads it: a chart of the weeks in its currency, a table per currency with the split,
    and past weeks' forecast against what was collected."""
    from chalicelib.reporting import forecast as cash

    client = load_client(p, client_id, for_reports=True)
    fmt = Formats(client)
    data = cash.read(client, now)
    f = data["forecast"]
    tables = []
    for c in f["currencies"]:
        rows = [{"week": week, "label": fmt.day(week), "total": fmt.money(w["total_minor"],
                                                                            c["currency"]),
                 "total_minor": w["total_minor"],
                 "parts": [fmt.money(w[k], c["currency"]) for k, _ in SPLIT_LABELS]}
                for week, w in zip(f["weeks"], c["weeks"])]
        later = c["later"]
        tables.append({"currency": c["currency"], "rows": rows,
                       "later": fmt.money(later["total_minor"], c["currency"]),
                       "later_parts": [fmt.money(later[k], c["currency"]) for k, _ in SPLIT_LABELS],
                       "total": fmt.money(c["total_minor"], c["currency"]),
                       "mine": c["currency"] == client.currency})
    tables.sort(key=lambda t: (not t["mine"], t["currency"]))
    chart = None
    if tables:
        first = tables[0]
        chart = charts.bar_chart(
            f"Expected receipts per week ({first['currency']})",
            [fmt.day(r["week"], "d MMM") for r in first["rows"]],
            [r["total_minor"] for r in first["rows"]],
            [_compact(r["total_minor"], first["currency"], fmt.locale) for r in first["rows"]],
            css_id="forecast-chart", colour=brand_colour(client))
    past = [{"label": fmt.day(r["week"]), "made": fmt.day(r["forecast_made_on"]),
             "forecast": fmt.money(r["forecast_minor"]), "actual": fmt.money(r["actual_minor"]),
             "difference": ("+" if r["difference_minor"] > 0 else "")
             + fmt.money(r["difference_minor"]), "better": r["difference_minor"] >= 0}
            for r in data["versus_actual"]]
    return {"client": client, "brand": brand(client), "tables": tables, "chart": chart,
            "split_labels": [label for _, label in SPLIT_LABELS], "past": past,
            "as_of": fmt.day(f["as_of"]), "computed": fmt.when(f["computed_at"]),
            "kept_rate": round(100 * f["kept_rate"]), "definitions": data["definitions"],
            "csv": csv_href, **fmt.context()}
