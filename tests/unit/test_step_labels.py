"""Timeline lines say a cadence step in words; the stored key is left as it is."""
from __future__ import annotations

import pytest

from chalicelib.dunning.step_labels import humane_summary, step_label


@pytest.mark.parametrize("key,template,tone,said", [
    ("due+30#2", "final_notice", "final", "final notice, 30 days after due (2nd repeat)"),
    ("due+30#0", "final_notice", "final", "final notice, 30 days after due"),
    ("due-3#0", "reminder_upcoming", "friendly", "reminder before the due date, 3 days before due"),
    ("due#0", "reminder_due_today", "friendly", "due-today reminder, on the due date"),
    ("due+1#11", None, "firm", "firm reminder, 1 day after due (11th repeat)"),
    ("first-contact", "first_contact", "friendly", "first contact"),
    ("chase-1#1", "my_own_letter", "firm", "my own letter, step chase-1 (1st repeat)"),
])
def test_a_step_key_reads_as_words(key, template, tone, said):
    assert step_label(key, template, tone) == said


def test_a_touch_line_is_rewritten_and_other_lines_are_not():
    line = "Email sent (final, step due+30#2) to ap@x.example.com"
    assert humane_summary(line, {"template": "final_notice"}) == (
        "Email sent (final notice, 30 days after due, 2nd repeat) to ap@x.example.com")
    assert humane_summary("Call task raised (firm, step due+21#0)",
                          {"template": "call_overdue"}) == "Call task raised (call, 21 days after due)"
    manual = "Email sent by Sam (manual statement, friendly) to a@b.example.com"
    assert humane_summary(manual, {}) == manual
