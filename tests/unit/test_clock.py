"""One clock for the local stack: clock.utcnow() honours the travel file local.sweep writes,
so the running ticker, pump and handlers read the instant being swept."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.kernel import clock
from tests.conftest import FIXED_NOW


def test_the_pin_and_the_travel_file_move_the_clock(tmp_path, monkeypatch):
    path = str(tmp_path / "clock.json")
    monkeypatch.delenv("RECOUP_DEMO_NOW", raising=False)
    monkeypatch.setenv("RECOUP_CLOCK_FILE", path)
    real = datetime.fromtimestamp(clock.wall_seconds(), timezone.utc)
    assert abs(clock.utcnow() - real) < timedelta(seconds=5)  # no file: real time
    clock.write_travel(path, at=FIXED_NOW)
    assert clock.utcnow() == FIXED_NOW  # stands still there
    clock.write_travel(path, offset_seconds=400 * 86400)
    assert abs(clock.utcnow() - (real + timedelta(days=400))) < timedelta(seconds=5)
    clock.write_travel(path)  # cleared
    assert abs(clock.utcnow() - real) < timedelta(seconds=5)
    monkeypatch.setenv("RECOUP_DEMO_NOW", "2027-01-02T03:04:05+00:00")  # the pin wins
    clock.write_travel(path, at=FIXED_NOW)
    assert clock.utcnow() == datetime(2027, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_a_sweep_against_the_running_stack_moves_its_clock(tmp_path, monkeypatch):
    from local import sweep as local_sweep

    path = str(tmp_path / "clock.json")
    monkeypatch.delenv("RECOUP_DEMO_NOW", raising=False)
    monkeypatch.setenv("RECOUP_CLOCK_FILE", path)
    seen = {}

    def fake_sweep(now, **_):
        seen["sweep"], seen["handlers"] = now, clock.utcnow()
        return {"due": 0}

    monkeypatch.setattr("chalicelib.dunning.sweep.sweep", fake_sweep)
    monkeypatch.setattr("local.workers.drain_once", lambda now=None, wait_seconds=0: [])
    at = FIXED_NOW + timedelta(days=30)
    local_sweep.run_as_of(at, path)
    assert seen == {"sweep": at, "handlers": at}  # the live stack reads the same instant
