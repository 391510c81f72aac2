"""Next action of an account (replaced by the cadence planner)."""
from __future__ import annotations


def next_action_at(debtor, invoices, now):
    return None
