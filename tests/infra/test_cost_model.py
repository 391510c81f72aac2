"""The cost model: prices written down in docs/COSTS.md are the ones it uses, and the
arithmetic scales the way the bill does."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.cost_model import PRICES, Measured, monthly_cost

ROOT = Path(__file__).resolve().parents[2]
MEASURED = Measured(import_write_units=1.5, import_read_units=0.1, reimport_read_units=0.2,
                    stored_bytes=2800, import_lambda_ms=2)


def test_price_table_in_the_docs_is_the_one_the_model_uses():
    rows = re.findall(r"^\| ([a-z_0-9]+) \| ([0-9.]+) \|$", (ROOT / "docs" / "COSTS.md")
                      .read_text(), flags=re.M)
    assert {k: float(v) for k, v in rows} == PRICES


def test_sms_line_is_touches_times_share_times_price_and_total_adds_up():
    lines = monthly_cost(10, 5000, MEASURED, alarms=7)
    sms = 5000 * MEASURED.touches_per_invoice * MEASURED.sms_share_of_touches
    assert lines["sns_sms"] == pytest.approx(sms * PRICES["sns_sms_uk_per_message"])
    assert lines["cloudwatch_alarms"] == pytest.approx(0.7)
    assert lines["total"] == pytest.approx(sum(v for k, v in lines.items() if k != "total"))


def test_more_invoices_cost_more_and_the_fixed_part_stays_small():
    small, big = monthly_cost(10, 5000, MEASURED), monthly_cost(10, 50_000, MEASURED)
    assert big["total"] > 9 * (small["total"] - 1.5)
    idle = monthly_cost(1, 0, MEASURED)
    assert idle["total"] < 4  # sweep ticks, hourly jobs, alarms, KMS key, a little API use


def test_measured_actions_drive_the_bill_and_email_only_is_the_cheap_lever():
    """The measured cost of a reminder and of a payment move the DynamoDB line; without SMS
    the bill is a few dollars (the comparison docs/COSTS.md makes)."""
    from bench.cost_model import Action

    base = monthly_cost(20, 10_000, MEASURED)
    dearer = monthly_cost(20, 10_000, Measured(**{**MEASURED.__dict__,
                                                  "touch": Action(5, 48, 11, 8500, 150)}))
    assert dearer["dynamodb_requests"] > base["dynamodb_requests"]
    assert dearer["sns_sms"] == base["sns_sms"]
    email_only = monthly_cost(20, 10_000, Measured(**{**MEASURED.__dict__,
                                                      "sms_share_of_touches": 0.0}))
    assert email_only["sns_sms"] == 0 and email_only["total"] < base["total"] / 10
