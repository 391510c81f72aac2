"""How the client reads its figures: human labels, units, period and takeover labels, and
the definitions as text with their markup rendered (pure: the portal and the playbook pass
their own money formatter and locale)."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date, format_interval
from markupsafe import Markup, escape

Money = Callable[[int], str]

# Every figure the report compares (kpis._DIRECTION's paths) and every figure it defines.
FIGURE_LABELS: dict[str, str] = {
    "receivables_minor": "Receivables",
    "overdue_minor": "Overdue",
    "credit_sales_minor": "Credit sales in the period",
    "aging.not_due": "Not yet due",
    "aging.1_30": "1–30 days past due",
    "aging.31_60": "31–60 days past due",
    "aging.61_90": "61–90 days past due",
    "aging.90_plus": "Over 90 days past due",
    "dso_countback": "DSO (countback)",
    "dso_simple": "DSO (simple)",
    "best_possible_dso": "Best possible DSO",
    "add": "Average days delinquent",
    "cei": "Collection effectiveness index (CEI)",
    "collected.total_minor": "Collected in the period",
    "average_days_to_pay.plain": "Average days to pay",
    "average_days_to_pay.weighted": "Average days to pay (weighted by amount)",
    "promise_kept_rate.rate": "Promise-kept rate",
}
DEFINITION_LABELS: dict[str, str] = {
    "receivables": "Receivables", "aging": "Aging", "dso_countback": "DSO (countback)",
    "dso_simple": "DSO (simple)", "best_possible_dso": "Best possible DSO",
    "add": "Average days delinquent", "cei": "Collection effectiveness index (CEI)",
    "collected": "Collected", "average_days_to_pay": "Average days to pay",
    "promise_kept_rate": "Promise-kept rate", "top_overdue_debtors": "Top overdue debtors",
    "touches": "Touches", "disputes_opened": "Disputes opened",
    "disputes_resolved": "Disputes resolved", "escalations": "Escalations",
    "recoveries": "Recoveries", "change_since_takeover": "Change since the agency took over",
}
SOURCE_LABELS = {"link": "Pay link", "transfer": "Bank transfer", "plan": "Payment plan",
                 "cheque": "Cheque", "other": "Paid outside Recoup"}
CHANNEL_LABELS = {"email": "Email", "sms": "Text message", "call": "Phone call",
                  "letter": "Letter"}
_DAYS = {"dso_countback", "dso_simple", "best_possible_dso", "add",
         "average_days_to_pay.plain", "average_days_to_pay.weighted"}
_PERCENT = {"cei", "promise_kept_rate.rate"}
_CODE = re.compile(r"``(.+?)``")


def label(path: str) -> str:
    """A figure's name as a person reads it (never its storage key)."""
    return FIGURE_LABELS.get(path) or DEFINITION_LABELS.get(path) or \
        path.replace("_minor", "").replace(".", " ").replace("_", " ").capitalize()


def unit(path: str) -> str:
    if path.endswith("_minor") or path.startswith("aging."):  # aging buckets are balances
        return "money"
    return "days" if path in _DAYS else "percent" if path in _PERCENT else "number"


def _number(value: Any) -> str:
    text = f"{float(value):,.1f}"
    return text[:-2] if text.endswith(".0") else text


def value_text(path: str, value: Any, money: Money) -> str:
    """A figure's value with its unit: money formatted, days and percentages labelled."""
    if value is None:
        return "—"
    kind = unit(path)
    if kind == "money":
        return money(int(value))
    if kind == "days":
        return f"{_number(value)} days"
    if kind == "percent":
        return f"{_number(value)}%"
    return _number(value)


def delta_text(path: str, delta: Any, money: Money) -> str:
    """A change, signed (+ / −) in the figure's unit; percentages move in points."""
    if delta is None:
        return "—"
    if not delta:
        return "no change"
    sign = "+" if delta > 0 else "−"
    if unit(path) == "percent":
        return f"{sign}{_number(abs(delta))} points"
    return sign + value_text(path, abs(delta), money)


def change_rows(change: Mapping[str, Any] | None, money: Money) -> list[dict]:
    """The 'since the agency took over' table: one labelled, formatted row per figure."""
    rows = []
    order = list(FIGURE_LABELS)
    figures = (change or {}).get("figures") or {}
    for path in sorted(figures, key=lambda k: order.index(k) if k in order else len(order)):
        v = figures[path]
        rows.append({"key": path, "label": label(path),
                     "then": value_text(path, v.get("baseline"), money),
                     "now": value_text(path, v.get("current"), money),
                     "change": delta_text(path, v.get("delta"), money),
                     "better": v.get("better")})
    return rows


def day_text(value: date | str | None, locale: Locale, fmt: str = "medium") -> str:
    if not value:
        return "—"
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return format_date(day, fmt, locale=locale)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def period_label(start: date, end: date, locale: Locale) -> str:
    """'1–30 Nov 2026 (30 days)': both ends inclusive, in the client's locale."""
    if end < start:
        raise ValueError("a period cannot end before it starts")
    span = format_date(start, "medium", locale=locale) if start == end else \
        format_interval(start, end, "yMMMd", locale=locale)
    return f"{span} ({_days((end - start).days + 1)})"


def takeover_label(took_over: date | None, as_of: date, locale: Locale) -> str | None:
    """The heading of the comparison with the baseline: the day the agency took over and
    how long ago that was as of the report's day. A report dated before the takeover has
    nothing to compare (it says so rather than counting negative days)."""
    if took_over is None:
        return None
    on = format_date(took_over, "long", locale=locale)
    if as_of < took_over:
        return (f"The agency took over on {on}, after this report's date: "
                f"there is no change to show yet")
    n = (as_of - took_over).days
    return f"Since the agency took over on {on} ({_days(n) if n else 'today'})"


def definition(name: str, text: str) -> dict:
    """A definition as the client reads it: its label and the text with the docstring
    markup rendered (``name`` becomes code), everything else escaped."""
    head, sep, body = text.partition(": ")
    if not sep:
        body = text
    html = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(body)))
    return {"key": name, "label": DEFINITION_LABELS.get(name) or (head if sep else label(name)),
            "html": Markup(html), "text": _CODE.sub(r"\1", body)}


def definitions(defs: Mapping[str, str]) -> list[dict]:
    return [definition(k, v) for k, v in defs.items()]
