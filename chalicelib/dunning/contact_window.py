"""Contact windows: when a debtor may be contacted, judged on their own local clock."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
CHANNELS = frozenset({"email", "sms", "call", "letter"})
MON_FRI = frozenset(range(5))
MON_SAT = frozenset(range(6))
EVERY_DAY = frozenset(range(7))

# US Regulation F, 12 CFR 1006.6(b)(1)(i): a consumer is not contacted before 08:00 or
# after 21:00 local. Applied to every consumer whatever the client's policy says.
CONSUMER_EARLIEST = time(8, 0)
CONSUMER_LATEST = time(21, 0)

# Weekends plus the longest holiday runs are a couple of weeks; if a year of days has no
# window the policy itself is broken and saying so beats looping forever.
_MAX_DAYS_AHEAD = 400


class ContactWindowError(ValueError):
    """A policy, time zone or instant the contact rules cannot work with."""


@dataclass(frozen=True)
class ContactPolicy:
    """Days and hours a debtor may be contacted, in the debtor's time zone.

    The window is half-open, [start, end): a touch at exactly `end` waits, because Reg F
    forbids contact "after 9 p.m." and a send queued at 21:00:00 lands after it.
    """

    business_days: frozenset[int] = MON_FRI  # date.weekday(): Monday is 0
    start: time = time(9, 0)
    end: time = time(17, 30)
    skip_holidays: bool = True
    consumer: bool = False

    def __post_init__(self) -> None:
        days = frozenset(self.business_days)
        # Frozen, but callers pass sets/lists/ranges: normalise so equality and hashing work.
        object.__setattr__(self, "business_days", days)
        if not days:
            raise ContactWindowError("business_days: at least one day is needed")
        if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise ContactWindowError("business_days: weekdays are ints 0 (Mon) to 6 (Sun)")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ContactWindowError(f"{name}: a naive local time is needed")
        if not self.start < self.end:
            raise ContactWindowError("end: the window must end after it starts, the same day")
        start, end = self.hours()
        if not start < end:
            raise ContactWindowError("start: no time left between 08:00 and 21:00 for a consumer")

    def hours(self) -> tuple[time, time]:
        """The daily window actually used: for consumers, clipped to 08:00-21:00."""
        if not self.consumer:
            return self.start, self.end
        return max(self.start, CONSUMER_EARLIEST), min(self.end, CONSUMER_LATEST)


B2B_POLICY = ContactPolicy()
# Reg F allows any day 08:00-21:00; we also keep off Sundays and public holidays by default,
# because contact on those days is what consumers complain about, while Saturday is often
# the one day a working debtor can answer. A client may widen days, never the hours.
CONSUMER_POLICY = ContactPolicy(
    business_days=MON_SAT, start=CONSUMER_EARLIEST, end=CONSUMER_LATEST, consumer=True
)


def default_policy(consumer: bool) -> ContactPolicy:
    return CONSUMER_POLICY if consumer else B2B_POLICY


def effective_policy(policy: ContactPolicy, consumer: bool) -> ContactPolicy:
    """The policy with consumer rules forced on when the debtor is a consumer."""
    if consumer and not policy.consumer:
        return replace(policy, consumer=True)
    return policy


def manual_override_allowed(consumer: bool, client_allows: bool) -> bool:
    """Whether a person may send by hand outside the window: never to a consumer (the
    08:00-21:00 hours are the law), to a business only when its client allows it."""
    return client_allows and not consumer


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ContactWindowError(f"unknown time zone {tz!r}") from None


def require_aware(at: datetime, name: str = "instant") -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ContactWindowError(f"{name} must be a timezone-aware datetime")


def local_date(at_utc: datetime, tz: str) -> date:
    require_aware(at_utc)
    return at_utc.astimezone(zone(tz)).date()


def local_instant(day: date, wall: time, tz: str) -> datetime:
    """The first UTC instant at which the clock in `tz` reads `wall` (or later) on `day`.

    Ambiguous wall times (clocks going back) give the first of the two instants; wall times
    that do not exist (clocks going forward) give the moment the clocks jump, which is the
    earliest instant the local clock has passed `wall`.
    """
    z = zone(tz)
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=z, fold=0).astimezone(UTC)
    if first.astimezone(z).replace(tzinfo=None) == naive:
        return first
    # In a gap, fold=0 and fold=1 map either side of the transition: bisect to it. Offsets
    # change on whole seconds, so second resolution finds it exactly.
    other = naive.replace(tzinfo=z, fold=1).astimezone(UTC)
    lo, hi = sorted((int(first.timestamp()), int(other.timestamp())))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(z).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _split_country(country: str | None) -> tuple[str, str | None] | None:
    # "GB-SCT" / "US-CA" carry an ISO 3166-2 subdivision: regional holidays matter
    # (Scotland's 2 January, Easter Monday outside Scotland).
    if not country or not country.strip():
        return None
    code, _, subdiv = country.strip().upper().partition("-")
    return code, (subdiv or None)


@lru_cache(maxsize=512)
def _holiday_dates(code: str, subdiv: str | None, year: int) -> frozenset[date]:
    import holidays  # its calendars load on the first holiday asked for, not at import

    try:
        return frozenset(holidays.country_holidays(code, subdiv=subdiv, years=year))
    except NotImplementedError:
        pass
    if subdiv is not None:
        # An unknown region still gets its country's national holidays.
        return _holiday_dates(code, None, year)
    return frozenset()  # unknown country: no holidays rather than no contact at all


def is_public_holiday(day: date, country: str | None) -> bool:
    parts = _split_country(country)
    if parts is None:
        return False
    return day in _holiday_dates(parts[0], parts[1], day.year)


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ContactWindowError(f"unknown channel {channel!r}")


def allowed_window(
    day: date, tz: str, country: str | None, policy: ContactPolicy, channel: str = "email"
) -> tuple[datetime, datetime] | None:
    """The UTC interval [start, end) when contact is allowed on local `day`, or None."""
    _check_channel(channel)
    if day.weekday() not in policy.business_days:
        return None
    if policy.skip_holidays and is_public_holiday(day, country):
        return None
    if channel == "letter":
        # A letter is read when the post arrives, not when it is queued, so the hour of
        # queuing protects no one; the day still matters because nobody posts on a holiday.
        start = local_instant(day, time(0), tz)
        end = local_instant(day + timedelta(days=1), time(0), tz)
    else:
        first, last = policy.hours()
        start, end = local_instant(day, first, tz), local_instant(day, last, tz)
    # Both ends inside one DST gap would leave nothing: treat the day as closed.
    return (start, end) if start < end else None


def is_allowed(
    at_utc: datetime, tz: str, country: str | None, policy: ContactPolicy, channel: str = "email"
) -> bool:
    require_aware(at_utc, "at_utc")
    window = allowed_window(local_date(at_utc, tz), tz, country, policy, channel)
    return window is not None and window[0] <= at_utc < window[1]


def next_allowed(
    at_utc: datetime, tz: str, country: str | None, policy: ContactPolicy, channel: str = "email"
) -> datetime:
    """`at_utc` (in UTC) if contact is allowed then, else the start of the next window."""
    require_aware(at_utc, "at_utc")
    _check_channel(channel)
    first_day = local_date(at_utc, tz)
    for offset in range(_MAX_DAYS_AHEAD):
        window = allowed_window(first_day + timedelta(days=offset), tz, country, policy, channel)
        if window is None:
            continue
        start, end = window
        if at_utc < start:
            return start
        if at_utc < end:
            return at_utc.astimezone(UTC)
    raise ContactWindowError(f"no allowed contact day within {_MAX_DAYS_AHEAD} days")
