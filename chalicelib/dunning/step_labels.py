"""What a cadence step is called where people read it (the debtor's timeline): the stored
occurrence key ("due+30#2", kept as it is for claims and touch keys) becomes words
("final notice, 30 days after due (2nd repeat)"). Pure: no store, no AWS."""
from __future__ import annotations

import re

# the standard templates (dunning.cadence.DEFAULT_CADENCE, first contact, manual sends)
TEMPLATE_LABELS = {
    "first_contact": "first contact",
    "reminder_upcoming": "reminder before the due date",
    "reminder_due_today": "due-today reminder",
    "sms_overdue_nudge": "overdue nudge",
    "overdue_firm": "firm reminder",
    "sms_overdue_firm": "firm reminder",
    "call_overdue": "call",
    "final_notice": "final notice",
    "statement": "statement of account",
}
_DUE = re.compile(r"due(?:([+-])(\d+))?")
_SUMMARY_STEP = re.compile(r"\((\w+), step ([^)\s]+)\)")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def template_label(template: str | None) -> str | None:
    if not template:
        return None
    return TEMPLATE_LABELS.get(template) or template.replace("_", " ")


def _timing(step_key: str) -> str | None:
    m = _DUE.fullmatch(step_key)
    if not m:
        return None
    sign, days = m.groups()
    if not days or int(days) == 0:
        return "on the due date"
    n = int(days)
    unit = "day" if n == 1 else "days"
    return f"{n} {unit} {'after' if sign == '+' else 'before'} due"


def step_label(occurrence_key: str, template: str | None = None,
               tone: str | None = None, *, inline: bool = False) -> str:
    """"due+30#2", "final_notice" -> "final notice, 30 days after due (2nd repeat)";
    "first-contact" -> "first contact"; a client's own step key is kept as its name."""
    key, _, k = occurrence_key.partition("#")
    if key == "first-contact":
        return "first contact"
    if key == "manual":
        return "sent by hand"
    name = template_label(template)
    timing = _timing(key)
    if timing is None:  # a client's own step name ("chase-1"): say it as it is
        timing = f"step {key}"
    words = ", ".join(w for w in (name or (f"{tone} reminder" if tone else None), timing) if w)
    repeat = int(k) if k.isdigit() else 0
    if not repeat:
        return words
    return words + (f", {ordinal(repeat)} repeat" if inline else f" ({ordinal(repeat)} repeat)")


def humane_summary(summary: str, data: dict | None) -> str:
    """A touch's timeline line with its step in words: "Email sent (final, step due+30#2)
    to x" -> "Email sent (final notice, 30 days after due, 2nd repeat) to x"."""
    data = data or {}

    def repl(m: re.Match) -> str:
        tone, key = m.groups()
        return f"({step_label(key, data.get('template'), tone, inline=True)})"

    return _SUMMARY_STEP.sub(repl, summary or "")
