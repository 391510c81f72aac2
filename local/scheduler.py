"""EventBridge for the local stack: every timer the app declares (`@bp.schedule`) fires
when its schedule says, on the local clock (which `python -m local.sweep` moves).

In AWS each schedule is an EventBridge rule; here one thread looks every tick
(RECOUP_TICK_SECONDS, default 30) at each timer and runs the ones whose schedule passed
since they last ran: `rate(...)` after its period, `cron(...)` when one of its instants lies
in between. The sweep runs every tick (faster than its 5 minutes, so a demo reacts
quickly). After a jump of the clock a timer fires once, not once per instant skipped (as
EventBridge would not fire for time that never passed); every timer is idempotent anyway.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

log = logging.getLogger("recoup.local")

EVERY_TICK = frozenset({"dunning_sweep"})
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Timer:
    """One `@bp.schedule` of the app."""
    name: str
    expression: str
    handler: object  # chalice EventSourceHandler: handler(event, context)


def timers(app) -> list[Timer]:
    out = []
    for source in app.event_sources:
        expr = getattr(source, "schedule_expression", None)
        if expr is None:
            continue
        text = expr if isinstance(expr, str) else expr.to_string()
        out.append(Timer(source.name, text, app.handler_map[source.name]))
    return out


def _field(spec: str, low: int, high: int) -> frozenset[int] | None:
    """A cron field as the set of values it allows (None: any). Supports what the app
    uses: `*`, `?`, numbers and comma lists; anything else is refused, not guessed."""
    if spec in ("*", "?"):
        return None
    values = set()
    for part in spec.split(","):
        if not part.isdigit() or not low <= int(part) <= high:
            raise ValueError(f"cron field {spec!r} is not supported by the local scheduler")
        values.add(int(part))
    return frozenset(values)


def instants(expression: str, after: datetime, until: datetime) -> list[datetime]:
    """The instants of a cron schedule in (after, until], UTC (as EventBridge reads it)."""
    m = _CRON.match(expression)
    if not m:
        raise ValueError(f"not a cron expression: {expression!r}")
    minute, hour, dom, month, dow, year = m.groups()
    if dow not in ("*", "?") or year != "*":
        raise ValueError(f"cron {expression!r}: day-of-week and year are not supported locally")
    minutes, hours = _field(minute, 0, 59), _field(hour, 0, 23)
    days, months = _field(dom, 1, 31), _field(month, 1, 12)
    if minutes is None or hours is None:
        raise ValueError(f"cron {expression!r}: give the minute and the hour")
    out = []
    day = after.astimezone(timezone.utc).date()
    while day <= until.date():
        if (days is None or day.day in days) and (months is None or day.month in months):
            for h in sorted(hours):
                for mi in sorted(minutes):
                    at = datetime(day.year, day.month, day.day, h, mi, tzinfo=timezone.utc)
                    if after < at <= until:
                        out.append(at)
        day += timedelta(days=1)
    return out


def due(expression: str, last: datetime, now: datetime) -> bool:
    """Whether a timer that last ran at `last` fires at `now`."""
    rate = _RATE.match(expression)
    if rate:
        seconds = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")]
        return now - last >= timedelta(seconds=seconds)
    return bool(instants(expression, last, now))


def event(name: str, now: datetime) -> dict:
    """What EventBridge hands a scheduled Lambda."""
    return {"version": "0", "id": f"local-{name}-{now.isoformat()}",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "eu-west-2", "resources": [f"local:{name}"], "detail": {}}


class Scheduler(threading.Thread):
    """Fires the app's timers on the local clock until stopped."""

    def __init__(self, app, seconds: float, now: datetime) -> None:
        super().__init__(name="local-scheduler", daemon=True)
        self.seconds = seconds
        self.timers = timers(app)
        self.last = {t.name: now for t in self.timers}  # nothing fires for the past
        self._stop_event = threading.Event()

    def tick(self, now: datetime) -> list[str]:
        """Run what is due at `now`; returns the names of the timers that ran."""
        ran = []
        for t in self.timers:
            last = self.last[t.name]
            if now < last:  # the clock went back (local.sweep --back): start again from now
                self.last[t.name] = now
                continue
            if t.name not in EVERY_TICK and not due(t.expression, last, now):
                continue
            self.last[t.name] = now
            try:
                result = t.handler(event(t.name, now), None)
                if t.name not in EVERY_TICK or (isinstance(result, dict) and result.get("due")):
                    log.info("timer %s: %s", t.name, result)
                ran.append(t.name)
            except Exception:  # noqa: BLE001 - EventBridge would retry; the next tick does
                log.exception("timer %s failed", t.name)
                self.last[t.name] = last
        return ran

    def run(self) -> None:
        from chalicelib.kernel.clock import utcnow

        while not self._stop_event.is_set():
            self.tick(utcnow())
            self._stop_event.wait(self.seconds)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
