"""The local stack's EventBridge: every timer the app declares fires when its schedule
says, on the (travelled) local clock, once per jump."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from local import scheduler

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


def test_every_timer_of_the_app_is_understood_by_the_local_scheduler():
    from app import app

    found = scheduler.timers(app)
    names = {t.name for t in found}
    assert {"dunning_sweep", "promise_timer", "sender_check", "monthly_report_emails",
            "task_rerank", "forecast_snapshots"} <= names
    for t in found:  # a schedule the scheduler cannot read would never fire locally
        assert scheduler.due(t.expression, T0, T0 + timedelta(days=40)), t


def test_rates_fire_after_their_period_and_crons_at_their_instants():
    assert not scheduler.due("rate(1 hour)", T0, T0 + timedelta(minutes=59))
    assert scheduler.due("rate(1 hour)", T0, T0 + timedelta(minutes=60))
    assert scheduler.due("rate(5 minutes)", T0, T0 + timedelta(minutes=5))
    daily = "cron(30 4 * * ? *)"
    assert not scheduler.due(daily, T0, T0 + timedelta(hours=18))  # 04:30 not reached yet
    assert scheduler.due(daily, T0, T0 + timedelta(hours=18, minutes=30))
    monthly = "cron(0 7 1 * ? *)"
    assert scheduler.instants(monthly, T0, T0 + timedelta(days=30)) == [
        datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)]
    with pytest.raises(ValueError):
        scheduler.instants("cron(0/5 * * * ? *)", T0, T0 + timedelta(days=1))


class _Handler:
    def __init__(self, fail=False):
        self.events, self.fail = [], fail

    def __call__(self, event, context):
        self.events.append(event)
        if self.fail:
            raise RuntimeError("boom")
        return {"ok": True}


class _App:
    def __init__(self, **handlers):
        from types import SimpleNamespace

        self.handler_map = {name: h for name, (h, _) in handlers.items()}
        self.event_sources = [SimpleNamespace(name=n, schedule_expression=e)
                              for n, (_, e) in handlers.items()]


def test_a_clock_jump_fires_each_due_timer_once_and_a_failure_is_retried_next_tick():
    daily, hourly, broken = _Handler(), _Handler(), _Handler(fail=True)
    s = scheduler.Scheduler(_App(daily=(daily, "cron(30 4 * * ? *)"),
                                 hourly=(hourly, "rate(1 hour)"),
                                 broken=(broken, "rate(1 hour)")), 30, T0)
    assert s.tick(T0 + timedelta(minutes=1)) == []  # nothing is due yet
    # WHEN local.sweep travels the clock five days ahead
    later = T0 + timedelta(days=5)
    assert s.tick(later) == ["daily", "hourly"]  # once each, not once per day skipped
    assert daily.events[0]["detail-type"] == "Scheduled Event"
    assert daily.events[0]["time"] == "2026-11-30T10:00:00Z"
    assert s.tick(later + timedelta(seconds=30)) == []
    # AND the failing timer is tried again on the next tick, the others are not
    assert len(broken.events) == 2
    # WHEN the clock goes back to real time, nothing fires for the past
    assert s.tick(T0) == []
