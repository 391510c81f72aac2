"""Contact windows: quiet hours, business days, public holidays and DST, on fixed instants."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.dunning.contact_window import (
    B2B_POLICY,
    CONSUMER_POLICY,
    EVERY_DAY,
    ContactPolicy,
    ContactWindowError,
    allowed_window,
    effective_policy,
    is_allowed,
    is_public_holiday,
    local_date,
    local_instant,
    next_allowed,
)

UTC = timezone.utc
NY = "America/New_York"
LONDON = "Europe/London"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ----------------------------------------------------------------- consumer quiet hours

def test_consumer_is_not_contacted_at_0730_local_and_waits_for_0800():
    # GIVEN a consumer in New York, Tuesday 2026-11-24 07:30 EST (12:30 UTC)
    at = utc(2026, 11, 24, 12, 30)
    # WHEN we ask whether we may email now
    # THEN no: it waits until 08:00 local the same morning
    assert not is_allowed(at, NY, "US", CONSUMER_POLICY)
    assert next_allowed(at, NY, "US", CONSUMER_POLICY) == utc(2026, 11, 24, 13, 0)


def test_consumer_at_2105_waits_until_0800_next_morning():
    # GIVEN a consumer in New York, Tuesday 21:05 EST (Wednesday 02:05 UTC)
    at = utc(2026, 11, 25, 2, 5)
    # THEN the touch is not sent tonight, and waits until Wednesday 08:00 EST
    assert not is_allowed(at, NY, "US", CONSUMER_POLICY)
    assert next_allowed(at, NY, "US", CONSUMER_POLICY) == utc(2026, 11, 25, 13, 0)


def test_at_2100_exactly_is_already_too_late_for_a_consumer():
    # The window is half-open: 20:59:59 is allowed, 21:00:00 is not.
    assert is_allowed(utc(2026, 11, 25, 1, 59, 59), NY, "US", CONSUMER_POLICY)
    assert not is_allowed(utc(2026, 11, 25, 2, 0), NY, "US", CONSUMER_POLICY)


def test_consumer_rules_cannot_be_loosened_by_a_wide_client_policy():
    # GIVEN a client policy of 06:00-23:00 every day, applied to a consumer
    wide = ContactPolicy(business_days=EVERY_DAY, start=time(6), end=time(23))
    policy = effective_policy(wide, consumer=True)
    # THEN the hours are clipped to 08:00-21:00 local
    assert policy.hours() == (time(8), time(21))
    assert not is_allowed(utc(2026, 11, 24, 12, 0), NY, "US", policy)  # 07:00 EST
    assert is_allowed(utc(2026, 11, 24, 13, 0), NY, "US", policy)  # 08:00 EST
    assert not is_allowed(utc(2026, 11, 25, 2, 30), NY, "US", policy)  # 21:30 EST
    # AND a B2B debtor under the same policy may be reached at 07:00
    assert is_allowed(utc(2026, 11, 24, 12, 0), NY, "US", wide)


def test_default_consumer_policy_allows_saturday_but_not_sunday():
    # 2026-11-28 is a Saturday, 2026-11-29 a Sunday
    assert is_allowed(utc(2026, 11, 28, 15, 0), NY, "US", CONSUMER_POLICY)
    assert not is_allowed(utc(2026, 11, 29, 15, 0), NY, "US", CONSUMER_POLICY)
    assert next_allowed(utc(2026, 11, 29, 15, 0), NY, "US", CONSUMER_POLICY) == utc(2026, 11, 30, 13, 0)


def test_a_consumer_policy_with_no_hours_left_is_refused():
    with pytest.raises(ContactWindowError, match="consumer"):
        ContactPolicy(start=time(21, 30), end=time(23), consumer=True)


# ------------------------------------------------------------ B2B days and public holidays

def test_b2b_saturday_waits_until_monday_0900():
    # GIVEN a business in London, Saturday 2026-11-28 10:00 GMT
    at = utc(2026, 11, 28, 10, 0)
    # THEN nothing goes out until Monday 09:00
    assert not is_allowed(at, LONDON, "GB", B2B_POLICY)
    assert next_allowed(at, LONDON, "GB", B2B_POLICY) == utc(2026, 11, 30, 9, 0)


def test_b2b_after_1730_waits_until_next_business_morning():
    assert is_allowed(utc(2026, 11, 24, 17, 29), LONDON, "GB", B2B_POLICY)
    assert next_allowed(utc(2026, 11, 24, 17, 30), LONDON, "GB", B2B_POLICY) == utc(2026, 11, 25, 9, 0)


def test_inside_the_window_the_same_instant_comes_back():
    at = utc(2026, 11, 24, 11, 17, 3)
    assert next_allowed(at, LONDON, "GB", B2B_POLICY) == at


def test_uk_christmas_bank_holidays_are_skipped():
    # GIVEN Thursday 2026-12-24 after hours in London: 25 (Fri) and 26 (Sat) are bank
    # holidays, 27 is Sunday and 28 (Mon) is Boxing Day observed
    at = utc(2026, 12, 24, 18, 0)
    # THEN the next contact is Tuesday 29 December 09:00
    assert next_allowed(at, LONDON, "GB", B2B_POLICY) == utc(2026, 12, 29, 9, 0)
    assert not is_allowed(utc(2026, 12, 28, 10, 0), LONDON, "GB", B2B_POLICY)


def test_without_holiday_skipping_boxing_day_observed_is_a_normal_monday():
    policy = ContactPolicy(skip_holidays=False)
    assert is_allowed(utc(2026, 12, 28, 10, 0), LONDON, "GB", policy)


def test_us_thanksgiving_is_skipped():
    # GIVEN Wednesday 2026-11-25 18:00 EST; Thursday 26 is Thanksgiving
    at = utc(2026, 11, 25, 23, 0)
    # THEN the next window is Friday 27 at 09:00 EST
    assert next_allowed(at, NY, "US", B2B_POLICY) == utc(2026, 11, 27, 14, 0)


def test_unknown_or_missing_country_means_no_holidays_not_no_contact():
    christmas_noon = utc(2026, 12, 25, 12, 0)
    assert is_allowed(christmas_noon, LONDON, None, B2B_POLICY)
    assert is_allowed(christmas_noon, LONDON, "XX", B2B_POLICY)
    assert not is_allowed(christmas_noon, LONDON, "gb", B2B_POLICY)  # case does not matter


def test_a_subdivision_brings_regional_holidays():
    # 2 January 2026 (Friday) is a bank holiday in Scotland only
    assert is_public_holiday(date(2026, 1, 2), "GB-SCT")
    assert not is_public_holiday(date(2026, 1, 2), "GB")
    assert not is_allowed(utc(2026, 1, 2, 10, 0), LONDON, "GB-SCT", B2B_POLICY)
    # An unknown subdivision falls back to the national holidays
    assert is_public_holiday(date(2026, 12, 25), "GB-ZZZ")


# ------------------------------------------------------------------------------------ DST

def test_london_spring_forward_moves_0900_from_0900z_to_0800z():
    # Clocks go forward on Sunday 2026-03-29. Friday 27 is GMT, Monday 30 is BST.
    friday_evening = utc(2026, 3, 27, 18, 0)
    assert allowed_window(date(2026, 3, 27), LONDON, "GB", B2B_POLICY)[0] == utc(2026, 3, 27, 9, 0)
    assert next_allowed(friday_evening, LONDON, "GB", B2B_POLICY) == utc(2026, 3, 30, 8, 0)


def test_london_fall_back_moves_0900_from_0800z_to_0900z():
    # Clocks go back on Sunday 2026-10-25. Friday 23 is BST, Monday 26 is GMT.
    assert next_allowed(utc(2026, 10, 22, 18, 0), LONDON, "GB", B2B_POLICY) == utc(2026, 10, 23, 8, 0)
    assert next_allowed(utc(2026, 10, 23, 18, 0), LONDON, "GB", B2B_POLICY) == utc(2026, 10, 26, 9, 0)
    # 08:30Z on Monday is 08:30 GMT: still before the window
    assert not is_allowed(utc(2026, 10, 26, 8, 30), LONDON, "GB", B2B_POLICY)


def test_new_york_spring_forward_and_fall_back():
    # Spring forward Sunday 2026-03-08: Friday 6 09:00 EST = 14:00Z, Monday 9 09:00 EDT = 13:00Z
    assert next_allowed(utc(2026, 3, 6, 12, 0), NY, "US", B2B_POLICY) == utc(2026, 3, 6, 14, 0)
    assert next_allowed(utc(2026, 3, 6, 23, 0), NY, "US", B2B_POLICY) == utc(2026, 3, 9, 13, 0)
    # Fall back Sunday 2026-11-01: Friday Oct 30 is EDT, Monday Nov 2 is EST
    assert next_allowed(utc(2026, 10, 30, 11, 0), NY, "US", B2B_POLICY) == utc(2026, 10, 30, 13, 0)
    assert next_allowed(utc(2026, 10, 30, 23, 0), NY, "US", B2B_POLICY) == utc(2026, 11, 2, 14, 0)


def test_consumer_quiet_hours_hold_on_the_dst_weekend_itself():
    # Saturday 2026-10-31 (EDT) and Monday 2026-11-02 (EST); Sunday is closed by default
    assert next_allowed(utc(2026, 10, 31, 11, 0), NY, "US", CONSUMER_POLICY) == utc(2026, 10, 31, 12, 0)
    assert next_allowed(utc(2026, 11, 1, 1, 30), NY, "US", CONSUMER_POLICY) == utc(2026, 11, 2, 13, 0)


def test_a_wall_time_skipped_by_spring_forward_starts_when_the_clocks_jump():
    # 01:30 does not exist in London on 2026-03-29: clocks jump from 01:00 GMT to 02:00 BST
    assert local_instant(date(2026, 3, 29), time(1, 30), LONDON) == utc(2026, 3, 29, 1, 0)
    # 02:30 does not exist in New York on 2026-03-08: clocks jump at 07:00Z
    assert local_instant(date(2026, 3, 8), time(2, 30), NY) == utc(2026, 3, 8, 7, 0)
    night = ContactPolicy(business_days=EVERY_DAY, start=time(1, 30), end=time(5))
    assert next_allowed(utc(2026, 3, 29, 0, 0), LONDON, None, night) == utc(2026, 3, 29, 1, 0)


def test_an_ambiguous_wall_time_on_fall_back_uses_the_first_occurrence():
    # 01:30 happens twice in London on 2026-10-25: first at 00:30Z (BST), then 01:30Z (GMT)
    assert local_instant(date(2026, 10, 25), time(1, 30), LONDON) == utc(2026, 10, 25, 0, 30)


def test_midnight_skipped_by_dst_is_handled():
    # Santiago jumps from 00:00 to 01:00 on 2026-09-06: the day starts at 01:00 -03
    assert local_instant(date(2026, 9, 6), time(0), "America/Santiago") == utc(2026, 9, 6, 4, 0)


# ------------------------------------------------------------------------- letters, dates

def test_a_letter_may_be_queued_at_any_hour_of_a_business_day_but_not_on_a_holiday():
    # 23:00 EST on a Tuesday: too late to email a consumer, fine to queue a letter
    late = utc(2026, 11, 25, 4, 0)
    assert not is_allowed(late, NY, "US", CONSUMER_POLICY)
    assert is_allowed(late, NY, "US", CONSUMER_POLICY, channel="letter")
    # Thanksgiving: not even a letter
    assert not is_allowed(utc(2026, 11, 26, 15, 0), NY, "US", CONSUMER_POLICY, channel="letter")
    assert next_allowed(utc(2026, 11, 26, 15, 0), NY, "US", CONSUMER_POLICY, channel="letter") == utc(
        2026, 11, 27, 5, 0
    )


def test_local_date_is_the_debtors_calendar_day():
    at = utc(2026, 6, 30, 23, 30)
    assert local_date(at, NY) == date(2026, 6, 30)
    assert local_date(at, "Asia/Tokyo") == date(2026, 7, 1)


# ---------------------------------------------------------------------------- bad inputs

def test_naive_datetimes_unknown_zones_and_channels_are_refused():
    with pytest.raises(ContactWindowError, match="timezone-aware"):
        is_allowed(datetime(2026, 11, 24, 10), LONDON, "GB", B2B_POLICY)
    with pytest.raises(ContactWindowError, match="time zone"):
        next_allowed(utc(2026, 11, 24, 10), "Mars/Olympus", "GB", B2B_POLICY)
    with pytest.raises(ContactWindowError, match="channel"):
        next_allowed(utc(2026, 11, 24, 10), LONDON, "GB", B2B_POLICY, channel="pigeon")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start": time(18), "end": time(9)}, "end"),
        ({"business_days": set()}, "business_days"),
        ({"business_days": {7}}, "business_days"),
    ],
)
def test_bad_policies_are_refused(kwargs, match):
    with pytest.raises(ContactWindowError, match=match):
        ContactPolicy(**kwargs)


def test_policy_days_accept_any_iterable():
    assert ContactPolicy(business_days=[0, 1, 2, 3, 4]) == B2B_POLICY


# --------------------------------------------------------------------------- properties

ZONES = st.sampled_from([LONDON, NY, "Australia/Sydney", "America/Santiago", "Asia/Kolkata", "UTC"])
POLICIES = st.sampled_from([B2B_POLICY, CONSUMER_POLICY, ContactPolicy(start=time(0, 30), end=time(3))])
INSTANTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=300, deadline=None)
@given(at=INSTANTS, tz=ZONES, policy=POLICIES, country=st.sampled_from([None, "GB", "US", "AU"]))
def test_next_allowed_is_allowed_and_nothing_earlier_was(at, tz, policy, country):
    result = next_allowed(at, tz, country, policy)
    assert result >= at and result.tzinfo is UTC
    assert is_allowed(result, tz, country, policy)
    if result != at:
        # It is the very start of a window: one second before it was still closed.
        assert not is_allowed(result - timedelta(seconds=1), tz, country, policy)
        assert not is_allowed(at, tz, country, policy)
