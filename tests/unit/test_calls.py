"""Call tasks: contact caps, priority and its reasons, outcomes and what happens next."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.workbench.call_rules import (
    CALLBACK_DUE_POINTS,
    OUTCOMES,
    CallAttempt,
    CallFacts,
    OutcomeError,
    OutcomePolicy,
    attempt_for,
    may_call,
    next_action_for,
    priority,
    rank_key,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def at(day, hour=10, minute=0, tz=LONDON):
    """March 2024: Mon 4, Fri 8, Sun 10, Mon 11."""
    return datetime(2024, 3, day, hour, minute, tzinfo=tz)


def rings(*days):
    return [CallAttempt(at(d), connected=False) for d in days]


# ------------------------------------------------------------------------------- caps


def test_the_seventh_attempt_in_seven_days_is_allowed():
    # GIVEN six unanswered calls, Mon 4 to Sat 9 March
    # WHEN a specialist wants to call on Sun 10
    ok, next_at, reason = may_call(rings(4, 5, 6, 7, 8, 9), at(10, 15), tz=LONDON)
    # THEN the seventh call may go ahead
    assert ok and next_at is None
    assert reason == "6 of 7 call attempts in the 7 days to 2024-03-10"


def test_the_eighth_attempt_is_refused_until_the_oldest_leaves_the_window():
    # GIVEN seven calls, one a day, Mon 4 to Sun 10 March
    attempts = rings(4, 5, 6, 7, 8, 9, 10)
    # WHEN an eighth is wanted on Sun 10 at 15:00
    ok, next_at, reason = may_call(attempts, at(10, 15), tz=LONDON)
    # THEN it is refused until Mon 11 at local midnight, when Mon 4 leaves the 7-day window
    assert not ok
    assert next_at == datetime(2024, 3, 11, 0, 0, tzinfo=LONDON)
    assert "7 call attempts in the 7 days to 2024-03-10 (cap 7)" in reason
    # AND on Mon 11 the call is allowed (6 in the window 5-11 March)
    assert may_call(attempts, at(11, 9), tz=LONDON).allowed


def test_seven_calls_in_one_day_block_the_next_six_days():
    # GIVEN seven calls on Mon 4 March
    attempts = [CallAttempt(at(4, 9 + i), connected=False) for i in range(7)]
    # THEN no call until Mon 11 (4 + 7), the first day whose 7-day window excludes the 4th
    assert may_call(attempts, at(8), tz=LONDON).next_allowed_at == datetime(2024, 3, 11, tzinfo=LONDON)
    assert not may_call(attempts, at(10, 23, 59), tz=LONDON).allowed
    assert may_call(attempts, at(11, 0, 1), tz=LONDON).allowed


def test_a_conversation_blocks_calls_for_seven_days_counting_its_own_day():
    # GIVEN the debtor was reached on Mon 4 March at 11:00
    attempts = [CallAttempt(at(4, 11), connected=True)]
    # WHEN a call is wanted any day up to Sun 10
    ok, next_at, reason = may_call(attempts, at(10, 18), tz=LONDON)
    # THEN it is refused until Mon 11 at midnight (4th is day 1 of 7)
    assert not ok and next_at == datetime(2024, 3, 11, tzinfo=LONDON)
    assert reason == "spoke to the debtor on 2024-03-04; no calls for 7 days, next call from 2024-03-11"
    assert may_call(attempts, at(11, 8), tz=LONDON).allowed


def test_when_both_caps_bind_the_later_date_wins():
    # GIVEN six rings on 4-9 March and a conversation on Sun 10
    attempts = rings(4, 5, 6, 7, 8, 9) + [CallAttempt(at(10, 9), connected=True)]
    ok, next_at, reason = may_call(attempts, at(10, 12), tz=LONDON)
    # THEN the count cap would lift on the 11th, but the conversation holds calls until the 17th
    assert not ok and next_at == datetime(2024, 3, 17, tzinfo=LONDON)
    assert "cap 7" in reason and "spoke to the debtor on 2024-03-10" in reason


def test_calls_that_never_connected_to_the_number_do_not_count():
    # GIVEN seven calls of which one hit a network failure (exempt, 1006.14(b)(3)(ii))
    attempts = rings(4, 5, 6, 7, 8, 9) + [CallAttempt(at(10, 9), connected=False, exempt=True)]
    # THEN another call is still allowed
    assert may_call(attempts, at(10, 12), tz=LONDON).allowed


def test_a_requested_callback_may_be_made_despite_the_conversation():
    # GIVEN the debtor, reached on Fri 8 at 10:00, asked to be called back at 14:00
    attempts = [attempt_for("callback_requested", at(8, 10))]
    # WHEN the callback is due, with the consent given at 10:00
    ok, _, reason = may_call(attempts, at(8, 14), consent_at=at(8, 10), tz=LONDON)
    # THEN it may be made (calls with prior consent are not capped)
    assert ok and "asked for this call" in reason
    # BUT consent lasts 7 days counting its own day: not on Fri 15
    assert not may_call(attempts + [CallAttempt(at(14), connected=True, exempt=True)],
                        at(15), consent_at=at(8, 10), tz=LONDON).allowed


def test_days_are_the_debtors_calendar_days():
    # GIVEN a conversation at 03:00 UTC on 5 March, which is 22:00 on 4 March in New York
    attempts = [CallAttempt(datetime(2024, 3, 5, 3, 0, tzinfo=UTC), connected=True)]
    now = datetime(2024, 3, 10, 20, 0, tzinfo=UTC)
    # WHEN checked in the debtor's zone
    perm = may_call(attempts, now, tz=NEW_YORK)
    # THEN calls resume at midnight on 11 March New York time, 04:00 UTC (clocks went forward on the 10th)
    assert perm.next_allowed_at == datetime(2024, 3, 11, 0, 0, tzinfo=NEW_YORK)
    assert perm.next_allowed_at.astimezone(UTC) == datetime(2024, 3, 11, 4, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- priority


def _expected(owed, p_late, days, **kw):
    """CallFacts carrying the behaviour model's expected overdue value."""
    return CallFacts(kw.pop("overdue", owed), "GBP", kw.pop("days_overdue", 0),
                     expected_overdue_minor_days=int(owed * p_late * days), owed_minor=owed,
                     p_late=p_late, expected_days_late=days, **kw)


def test_priority_reads_as_reasons():
    # GIVEN £12,340 owed, all overdue 61 days, 90% likely to be paid late, by 40 days expected;
    #   the prediction moved by a broken promise; an ordinary (P5) client
    p = priority(_expected(1_234_000, 0.9, 40, days_overdue=61, client_priority=5,
                           behaviour=("1 broken promise (+5 days)",)), at(8))
    # THEN the specialist reads why: the expected overdue value, then what moved it
    assert p.reasons == ["£12,340 owed: 90% likely paid late, 40 days late expected",
                         "£12,340 overdue", "61 days past due", "1 broken promise (+5 days)"]
    # AND the score is 10 points per doubling of £12,340 × 0.9 × 40 = 444,240 £·days
    assert p.parts == {"value": 188} and p.score == 188


def test_the_queue_ranks_by_expected_overdue_value():
    now = at(8)
    # GIVEN a large debt of a debtor who always pays on time, a smaller one of a debtor who
    # pays two months late, and a mid-sized one likely late by a week
    prompt = priority(_expected(5_000_000, 0.05, 3), now)          # £50,000 × 5% × 3 d = 7,500
    slow = priority(_expected(800_000, 0.95, 60), now)             # £8,000 × 95% × 60 d = 456,000
    middling = priority(_expected(2_000_000, 0.6, 7), now)         # £20,000 × 60% × 7 d = 84,000
    # THEN the order is by amount × P(late) × days late, not by amount
    ranked = sorted([("prompt", prompt), ("slow", slow), ("middling", middling)],
                    key=lambda t: -t[1].score)
    assert [name for name, _ in ranked] == ["slow", "middling", "prompt"]
    # AND doubling the value adds 10 points, a P1 client 20 (four times the value)
    assert priority(_expected(1_600_000, 0.95, 60), now).score == slow.score + 10
    assert priority(_expected(800_000, 0.95, 60, client_priority=1), now).score == \
        priority(_expected(800_000, 0.95, 60, client_priority=5), now).score + 20


def test_without_a_prediction_the_value_is_overdue_amount_times_days():
    p = priority(CallFacts(100_000, "GBP", 30, client_priority=5), at(8))
    assert p.reasons == ["£1,000 overdue × 30 days"]
    assert p.score == round(10 * __import__("math").log2(1 + 30_000))


def test_a_due_callback_jumps_the_queue():
    now = at(8, 14, 5)
    # GIVEN the highest value imaginable: £1m owed, certainly late, by a year
    big = priority(_expected(100_000_000, 1.0, 365, client_priority=1), now)
    small = priority(CallFacts(4_000, "GBP", 3, callback_at=at(8, 14)), now)
    # WHEN a small debt's callback is due THEN it outranks it
    assert small.score > big.score
    assert small.reasons[0] == "callback requested for 14:00"
    assert small.parts["callback"] == CALLBACK_DUE_POINTS
    # AND a callback booked for later scores nothing yet
    later = priority(CallFacts(4_000, "GBP", 3, callback_at=at(8, 16)), now)
    assert "callback" not in later.parts and later.score < big.score


def test_priority_rejects_nonsense():
    with pytest.raises(ValueError):
        priority(CallFacts(100, "GBP", 1, client_priority=0), at(8))
    with pytest.raises(ValueError):
        priority(_expected(100, 1.5, 3), at(8))


def test_rank_key_sorts_highest_score_then_earliest_due():
    t0, t1 = at(8, 9), at(8, 11)
    tasks = [(59, t1, "c"), (1130, t1, "a"), (59, t0, "d"), (7, t0, "b"), (59, t0, "e")]
    ranked = sorted(tasks, key=lambda t: rank_key(*t))
    assert [t[2] for t in ranked] == ["a", "d", "e", "c", "b"]
    # the same instant in another zone gives the same key
    assert rank_key(59, t0, "x") == rank_key(59, t0.astimezone(NEW_YORK), "x")
    assert rank_key(59, t0, "x") == "999940#20240308T090000.000000Z#x"
    with pytest.raises(ValueError):
        rank_key(-1, t0, "x")


# ---------------------------------------------------------------------------- outcomes

FRI = at(8, 10)  # Friday 8 March 2024, 10:00 London


@pytest.mark.parametrize(("outcome", "details", "kind", "when", "flags"), [
    ("no_answer", {}, "new_task_at", at(11, 10), ()),             # Mon: 1 business day
    ("voicemail", None, "new_task_at", at(12, 10), ()),           # Tue: 2 business days
    ("wrong_number", {"contact_id": "c-1"}, "resume_cadence", FRI, ("flag_contact",)),
    ("promise_to_pay", {"date": "2024-03-15", "amount_minor": 50_000}, "pause_until",
     datetime(2024, 3, 18, tzinfo=LONDON), ("record_promise",)),  # 15th + 3 grace days
    ("dispute", {"invoice_id": "INV-7", "reason": "goods damaged"}, "hold_invoice", None,
     ("open_dispute",)),
    ("payment_plan_agreed", {"first_due": date(2024, 3, 20), "instalments": 4}, "pause_until",
     datetime(2024, 3, 23, tzinfo=LONDON), ("create_plan",)),
    ("paid_already", {"paid_on": "2024-03-06", "reference": "BACS 991"}, "flag_reconciliation",
     at(12, 10), ()),
    ("callback_requested", {"at": "2024-03-08T14:00:00+00:00"}, "new_task_at", at(8, 14),
     ("callback",)),
    ("refuses_to_pay", {"reason": "says the work was never done"}, "escalation_review", None, ()),
])
def test_each_outcome_leads_somewhere(outcome, details, kind, when, flags):
    # GIVEN a call on Friday morning WHEN the outcome is logged
    action = next_action_for(outcome, details, FRI)
    # THEN the next action follows the rules
    assert (action.kind, action.at, action.flags) == (kind, when, flags)
    assert action.note


def test_every_outcome_is_covered():
    assert len(OUTCOMES) == 9


def test_holidays_are_skipped_when_retrying():
    policy = OutcomePolicy(holidays=frozenset({date(2024, 3, 11)}))
    assert next_action_for("no_answer", {}, FRI, policy).at == at(12, 10)


def test_promise_details_are_carried_for_recording():
    action = next_action_for("promise_to_pay", {"date": date(2024, 3, 15), "amount_minor": 50_000}, FRI)
    assert action.data == {"date": date(2024, 3, 15), "amount_minor": 50_000}
    assert action.note == "promise to pay by 2024-03-15: chasing paused until 2024-03-18"


def test_a_callback_carries_the_consent_for_the_caps():
    action = next_action_for("callback_requested", {"at": at(8, 14)}, FRI)
    assert action.data["consent_at"] == FRI


@pytest.mark.parametrize(("outcome", "details", "field", "reason"), [
    ("wrong_number", {}, "contact_id", "is required"),
    ("promise_to_pay", {"amount_minor": 500}, "date", "is required"),
    ("promise_to_pay", {"date": "15/03/2024", "amount_minor": 500}, "date", "must be a date (YYYY-MM-DD)"),
    ("promise_to_pay", {"date": "2024-03-07", "amount_minor": 500}, "date", "is in the past"),
    ("promise_to_pay", {"date": "2024-05-08", "amount_minor": 500}, "date", "is more than 30 days ahead"),
    ("promise_to_pay", {"date": "2024-03-15"}, "amount_minor", "is required"),
    ("promise_to_pay", {"date": "2024-03-15", "amount_minor": "500.00"}, "amount_minor",
     "must be a whole number of minor units"),
    ("promise_to_pay", {"date": "2024-03-15", "amount_minor": 5.0}, "amount_minor",
     "must be a whole number of minor units"),
    ("promise_to_pay", {"date": "2024-03-15", "amount_minor": 0}, "amount_minor", "must be at least 1"),
    ("dispute", {"invoice_id": "INV-7"}, "reason", "is required"),
    ("dispute", {"reason": "late delivery"}, "invoice_id", "is required"),
    ("payment_plan_agreed", {"first_due": "2024-03-20", "instalments": 1}, "instalments", "must be at least 2"),
    ("payment_plan_agreed", {"instalments": 3}, "first_due", "is required"),
    ("paid_already", {"paid_on": "2024-03-09"}, "paid_on", "is in the future"),
    ("callback_requested", {}, "at", "is required"),
    ("callback_requested", {"at": "2024-03-08T14:00:00"}, "at", "needs a time zone"),
    ("callback_requested", {"at": "2024-03-08T09:00:00+00:00"}, "at", "is not in the future"),
    ("callback_requested", {"at": "2024-03-30T09:00:00+00:00"}, "at", "is more than 14 days ahead"),
    ("sing_a_song", {}, "outcome", "unknown outcome 'sing_a_song'"),
])
def test_outcome_details_are_validated(outcome, details, field, reason):
    with pytest.raises(OutcomeError) as caught:
        next_action_for(outcome, details, FRI)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_which_outcomes_are_conversations():
    assert attempt_for("promise_to_pay", FRI).connected
    assert attempt_for("refuses_to_pay", FRI).connected
    assert not attempt_for("voicemail", FRI).connected
    assert not attempt_for("wrong_number", FRI).connected
