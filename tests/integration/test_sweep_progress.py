"""`python -m local.sweep` shows its progress to the end: the sweep's shards, then every due
account's dispatch, each phase its own bar ending on its own line, then the day's summary
(issue 12: a sweep with a big client loaded printed nothing for minutes)."""
from __future__ import annotations

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import load_book, row

NOW = FIXED_NOW


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def test_a_swept_day_shows_each_shard_and_each_dispatch_before_its_summary(tenant, capsys):
    from chalicelib.kernel.settings import get_settings
    from local.sweep import run_as_of

    # GIVEN three accounts due a reminder
    load_book(tenant, [row(f"P{n}", f"INV-P{n}", "2026-11-18") for n in range(3)], NOW)
    capsys.readouterr()

    # WHEN a day is swept
    outcomes = run_as_of(NOW)

    # THEN the bars show every shard, then the three dispatches, then the summary
    shown = capsys.readouterr()
    shards = get_settings().sweep_shards
    lines = [line.split("\r")[-1] for line in shown.err.splitlines()]
    assert outcomes == {"sent": 3}
    assert any("finding due accounts" in ln and f"{shards}/{shards}" in ln for ln in lines)
    assert any("dispatching" in ln and "3/3" in ln for ln in lines)
    # the shard bar moves shard by shard (not only 0 and 100%)
    steps = [part for part in shown.err.split("\r") if "finding due accounts" in part]
    assert len(steps) >= 2
    assert shown.err.endswith("\n")  # no bar left half drawn
    assert "3 due, outcomes {'sent': 3}" in shown.out
