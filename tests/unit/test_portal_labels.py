"""How the client reads its figures: period and takeover labels, units, rendered definitions."""
from __future__ import annotations

from datetime import date

import pytest
from babel import Locale

from chalicelib.reporting import presentation as pres
from chalicelib.reporting.kpis import DEFINITIONS, compare

GB = Locale.parse("en_GB")


def test_the_november_report_names_its_month_not_a_negative_span():
    # GIVEN the November report (as of 30 Nov) of a client the agency took over on 1 Dec
    # THEN the period reads as November and the comparison says it starts after the report
    assert pres.period_label(date(2026, 11, 1), date(2026, 11, 30), GB) == \
        "1–30 Nov 2026 (30 days)"
    label = pres.takeover_label(date(2026, 12, 1), date(2026, 11, 30), GB)
    assert "1 December 2026" in label and "after this report" in label
    assert "-1" not in label and "days)" not in label


def test_the_takeover_label_counts_days_since_and_says_one_day():
    assert pres.takeover_label(date(2026, 12, 1), date(2026, 12, 3), GB) == \
        "Since the agency took over on 1 December 2026 (2 days)"
    assert pres.takeover_label(date(2026, 12, 1), date(2026, 12, 2), GB).endswith("(1 day)")
    assert pres.takeover_label(None, date(2026, 12, 2), GB) is None
    assert pres.takeover_label(date(2026, 12, 2), date(2026, 12, 2), GB).endswith("(today)")
    assert pres.period_label(date(2026, 12, 3), date(2026, 12, 3), GB) == "3 Dec 2026 (1 day)"
    with pytest.raises(ValueError):
        pres.period_label(date(2026, 12, 3), date(2026, 12, 1), GB)


def test_every_compared_figure_has_a_label_and_a_unit():
    snap = {"currency": "GBP", "as_of": "2026-12-01", "receivables_minor": 100_000,
            "overdue_minor": 50_000, "aging": {"1_30": 20_000}, "collected": {"total_minor": 0},
            "dso_countback": 40.5, "cei": 80, "promise_kept_rate": {"rate": 50}}
    now = {**snap, "as_of": "2026-12-31", "overdue_minor": 30_000, "dso_countback": 35,
           "cei": 85.5, "aging": {"1_30": 10_000}}
    money = lambda m: f"£{m / 100:,.2f}"  # noqa: E731
    rows = {r["key"]: r for r in pres.change_rows(compare(snap, now), money)}
    for r in rows.values():
        assert r["label"] and "_" not in r["label"] and "minor" not in r["label"]
    assert rows["aging.1_30"]["label"] == "1–30 days past due"
    assert rows["overdue_minor"]["then"] == "£500.00" and rows["overdue_minor"]["change"] == "−£200.00"
    assert rows["dso_countback"]["now"] == "35 days" and rows["dso_countback"]["change"] == "−5.5 days"
    assert rows["cei"]["change"] == "+5.5 points" and rows["cei"]["now"] == "85.5%"
    assert rows["receivables_minor"]["change"] == "no change"
    assert rows["aging.1_30"]["now"] == "£100.00" and rows["aging.1_30"]["change"] == "−£100.00"
    ordered = [r["key"] for r in pres.change_rows(compare(snap, now), money)]
    assert ordered[:3] == ["receivables_minor", "overdue_minor", "credit_sales_minor"]


def test_definitions_render_their_markup_and_escape_the_rest():
    d = pres.definition("dso_countback", DEFINITIONS["dso_countback"])
    assert d["label"] == "DSO (countback)"
    assert "<code>months</code>" in d["html"] and "``" not in d["html"]
    assert "``" not in d["text"] and not d["text"].startswith("DSO (countback):")
    evil = pres.definition("x", "X: <b>bold</b> ``a``")
    assert "&lt;b&gt;" in evil["html"] and "<code>a</code>" in evil["html"]
