"""Cadences and the next-action rule: what a debtor receives, when, and never twice."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

from chalicelib.dunning.cadence import (
    DEFAULT_CADENCE,
    AccountFact,
    Cadence,
    CadenceError,
    Decision,
    FactError,
    InvoiceFact,
    Step,
    copy_cadence,
    decide,
    from_dict,
    occurrences,
    to_dict,
)
from chalicelib.dunning.contact_window import B2B_POLICY, CONSUMER_POLICY, EVERY_DAY, ContactPolicy

UTC = timezone.utc
LONDON = "Europe/London"
NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def invoice(invoice_id: str, due: date, balance: int = 120_00, **kw) -> InvoiceFact:
    return InvoiceFact(invoice_id, due, balance, "GBP", **kw)


def uk_business(**kw) -> AccountFact:
    return AccountFact(tz=LONDON, country="GB", **kw)


def record(account: AccountFact, decision: Decision, at: datetime) -> AccountFact:
    """What the dispatcher stores after claiming a touch."""
    assert decision.touch is not None
    return replace(
        account, sent_keys=account.sent_keys | set(decision.touch.covers), last_touch_at=at
    )


def run_timer(account, invoices, start, end, *, every=timedelta(hours=1), cadence=DEFAULT_CADENCE,
              policy=B2B_POLICY):
    """A timer ticking every hour that sends whatever decide() says: [(instant, touch)]."""
    sent, at = [], start
    while at < end:
        decision = decide(cadence, account, invoices, at, policy)
        if decision.touch:
            sent.append((at, decision.touch))
            account = record(account, decision, at)
        at += every
    return sent, account


# Invoice A is due Monday 2026-11-02. With the default cadence its steps fall on
# Fri 30 Oct (-3), Mon 2 Nov (0), Thu 5 (+3), Mon 9 (+7), Mon 16 (+14), Mon 23 (+21),
# Wed 2 Dec (+30), Wed 9 Dec (+37), Wed 16 Dec (+44): all UK business days, all GMT.
DUE = date(2026, 11, 2)


# ------------------------------------------------------------------------------ cadences

def test_default_cadence_is_valid_and_survives_a_round_trip_through_a_dict():
    data = to_dict(DEFAULT_CADENCE)
    assert data["steps"][0] == {
        "key": "due-3", "offset_days": -3, "channel": "email", "template": "reminder_upcoming",
        "tone": "friendly", "repeat_every_days": None, "repeat_limit": None,
    }
    assert from_dict(data) == DEFAULT_CADENCE


def test_steps_are_kept_in_offset_order_whatever_order_they_arrive_in():
    late = Step("late", 10, "email", "t", "firm")
    early = Step("early", -1, "email", "t", "friendly")
    assert [s.key for s in Cadence("c", "C", (late, early)).steps] == ["early", "late"]
    assert [s.key for s in Cadence("c", "C", [late, early]).steps] == ["early", "late"]


def test_copying_a_cadence_keeps_the_steps_under_a_new_id_and_name():
    copy = copy_cadence(DEFAULT_CADENCE, "gentle", "Gentle reminders")
    assert (copy.id, copy.name, copy.steps) == ("gentle", "Gentle reminders", DEFAULT_CADENCE.steps)
    with pytest.raises(CadenceError) as err:
        copy_cadence(DEFAULT_CADENCE, "", "Nameless id")
    assert err.value.field == "id"


def test_a_repeating_step_yields_its_occurrences_up_to_the_limit():
    final = [o for o in occurrences(DEFAULT_CADENCE) if o.step.key == "due+30"]
    assert [(o.key, o.day_offset) for o in final] == [("due+30#0", 30), ("due+30#1", 37), ("due+30#2", 44)]


def _step(**kw) -> Step:
    base = dict(key="s", offset_days=7, channel="email", template="tpl", tone="firm")
    return Step(**{**base, **kw})


@pytest.mark.parametrize(
    "steps, field",
    [
        ((_step(key="a"), _step(key="a", offset_days=8)), "steps[1].key"),
        ((_step(key="has#hash"),), "steps[0].key"),
        ((_step(channel="fax"),), "steps[0].channel"),
        ((_step(tone="angry"),), "steps[0].tone"),
        ((_step(template=" "),), "steps[0].template"),
        ((_step(offset_days="7"),), "steps[0].offset_days"),
        ((_step(offset_days=True),), "steps[0].offset_days"),
        ((_step(repeat_every_days=7),), "steps[0].repeat_limit"),
        ((_step(repeat_limit=3),), "steps[0].repeat_every_days"),
        ((_step(repeat_every_days=0, repeat_limit=3),), "steps[0].repeat_every_days"),
        ((_step(key="a"), _step(key="b")), "steps[1].offset_days"),
        ((_step(offset_days=-2, tone="firm"),), "steps[0].tone"),
        ((_step(key="a", tone="final"), _step(key="b", offset_days=14, tone="friendly")), "steps[1].tone"),
        ((_step(key="a", repeat_every_days=7, repeat_limit=1), _step(key="b", offset_days=14)),
         "steps[0].repeat_limit"),
        ((), "steps"),
        (("not a step",), "steps[0]"),
    ],
)
def test_bad_cadences_are_refused_naming_the_field(steps, field):
    with pytest.raises(CadenceError) as err:
        Cadence("c", "C", steps)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_validation_names_the_step_by_the_callers_own_position():
    # GIVEN steps sent out of order, the second one (index 1) softening the tone
    steps = [
        {"key": "late", "offset_days": 20, "channel": "email", "template": "t", "tone": "friendly"},
        {"key": "early", "offset_days": 5, "channel": "email", "template": "t", "tone": "firm"},
    ]
    with pytest.raises(CadenceError) as err:
        from_dict({"id": "c", "name": "C", "steps": steps})
    # THEN the message points at the step the caller put at index 0
    assert err.value.field == "steps[0].tone"


@pytest.mark.parametrize(
    "data, field",
    [
        ({"id": "c", "name": "C"}, "steps"),
        ({"id": "c", "name": "C", "steps": "x"}, "steps"),
        ({"id": "c", "name": "C", "steps": [], "colour": "red"}, "colour"),
        ({"id": "c", "name": "C", "steps": [{"key": "a"}]}, "steps[0].offset_days"),
        ({"id": "c", "name": "C", "steps": [{**to_dict(DEFAULT_CADENCE)["steps"][0], "delay": 1}]},
         "steps[0].delay"),
        ({"id": "c", "name": "C", "steps": [7]}, "steps[0]"),
        ({**to_dict(DEFAULT_CADENCE), "min_gap_days": -1}, "min_gap_days"),
        ("not an object", "cadence"),
    ],
)
def test_bad_cadence_dicts_are_refused_naming_the_field(data, field):
    with pytest.raises(CadenceError) as err:
        from_dict(data)
    assert err.value.field == field


# ----------------------------------------------------------------------- the whole story

def test_a_single_unpaid_invoice_gets_each_step_once_on_its_day_at_0900():
    # GIVEN one unpaid invoice and a timer firing every hour for two months
    sent, account = run_timer(uk_business(), [invoice("A", DUE)], utc(2026, 10, 25), utc(2026, 12, 31))
    # THEN each step went out once, on its day, as the window opened
    assert [(at, t.occurrence_key, t.channel, t.tone) for at, t in sent] == [
        (utc(2026, 10, 30, 9), "due-3#0", "email", "friendly"),
        (utc(2026, 11, 2, 9), "due#0", "email", "friendly"),
        (utc(2026, 11, 5, 9), "due+3#0", "sms", "friendly"),
        (utc(2026, 11, 9, 9), "due+7#0", "email", "firm"),
        (utc(2026, 11, 16, 9), "due+14#0", "sms", "firm"),
        (utc(2026, 11, 23, 9), "due+21#0", "call", "firm"),
        (utc(2026, 12, 2, 9), "due+30#0", "email", "final"),
        (utc(2026, 12, 9, 9), "due+30#1", "email", "final"),
        (utc(2026, 12, 16, 9), "due+30#2", "email", "final"),
    ]
    # AND after the last repeat nothing more will ever be due
    last = decide(DEFAULT_CADENCE, account, [invoice("A", DUE)], utc(2027, 3, 1, 10), B2B_POLICY)
    assert (last.touch, last.next_action_at, last.reason) == (None, None, "cadence_complete")


def test_following_next_action_at_gives_the_same_touches_as_an_hourly_timer():
    # GIVEN two invoices due on different days
    invoices = [invoice("A", DUE), invoice("B", date(2026, 11, 11))]
    hourly, _ = run_timer(uk_business(), invoices, utc(2026, 10, 25), utc(2027, 1, 31))
    # WHEN the timer only fires at each stored next_action_at instead
    account, at, woken = uk_business(), utc(2026, 10, 25), []
    while at is not None:
        decision = decide(DEFAULT_CADENCE, account, invoices, at, B2B_POLICY)
        if decision.touch:
            woken.append((at, decision.touch))
            account = record(account, decision, at)
        assert decision.next_action_at is None or decision.next_action_at > at
        at = decision.next_action_at
    # THEN exactly the same messages go out at the same moments
    assert [(at, t.claim_key) for at, t in woken] == [(at, t.claim_key) for at, t in hourly]
    # AND every invoice occurrence was covered exactly once
    covers = [key for _, t in hourly for key in t.covers]
    assert len(covers) == len(set(covers))


# ------------------------------------------------------------------------- catching up

def test_after_a_ten_day_outage_one_touch_goes_out_at_the_latest_step():
    # GIVEN the +3 SMS was sent on 5 Nov, then the timer was down until Thu 19 Nov
    account = uk_business(sent_keys={"A|due-3#0", "A|due#0", "A|due+3#0"})
    invoices = [invoice("A", DUE)]
    # WHEN it comes back and ticks hourly for two days
    sent, account = run_timer(account, invoices, utc(2026, 11, 19, 10), utc(2026, 11, 21))
    # THEN one message went out, at the +14 step (not +7 then +14)
    assert len(sent) == 1
    touch = sent[0][1]
    assert (touch.occurrence_key, touch.tone, touch.channel) == ("due+14#0", "firm", "sms")
    # AND the missed +7 is recorded as passed, and never sent later
    assert touch.passed == ("A|due+7#0",)
    after = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 20, 10), B2B_POLICY)
    assert after.touch is None
    assert after.next_action_at == utc(2026, 11, 23, 9)  # the +21 call task


def test_an_old_invoice_imported_late_gets_one_message_at_the_step_its_age_calls_for():
    # GIVEN an invoice 200 days overdue imported today with no history
    old = invoice("OLD", date(2026, 5, 1))
    decision = decide(DEFAULT_CADENCE, uk_business(), [old], utc(2026, 11, 17, 10), B2B_POLICY)
    # THEN one final notice (the last repeat), then nothing more
    assert decision.touch.occurrence_key == "due+30#2"
    assert decision.next_action_at is None


# ----------------------------------------------------------------- stopping and pausing

def test_a_paid_account_gets_nothing_and_has_no_next_action():
    # GIVEN the timer fires late, after the debtor paid in full
    paid = [invoice("A", DUE, balance=0, status="paid")]
    decision = decide(DEFAULT_CADENCE, uk_business(), paid, utc(2026, 11, 9, 10), B2B_POLICY)
    assert (decision.touch, decision.next_action_at, decision.reason) == (None, None, "nothing_chaseable")


def test_a_zero_balance_open_invoice_is_not_chased():
    decision = decide(DEFAULT_CADENCE, uk_business(), [invoice("A", DUE, balance=0)], utc(2026, 11, 9, 10),
                      B2B_POLICY)
    assert decision.touch is None and decision.next_action_at is None


@pytest.mark.parametrize("reason", ["opted_out_all", "in_collections", "payment_plan", "something_new"])
def test_a_stopped_account_gets_nothing(reason):
    decision = decide(DEFAULT_CADENCE, uk_business(stopped_reason=reason), [invoice("A", DUE)],
                      utc(2026, 11, 9, 10), B2B_POLICY)
    assert (decision.touch, decision.next_action_at, decision.reason) == (None, None, f"stopped:{reason}")


def test_a_disputed_invoice_is_left_out_while_the_rest_is_chased():
    # GIVEN two invoices due the same day, one of them disputed
    invoices = [invoice("A", DUE, status="disputed"), invoice("B", DUE)]
    decision = decide(DEFAULT_CADENCE, uk_business(), invoices, utc(2026, 11, 9, 10), B2B_POLICY)
    # THEN the +7 reminder lists only the undisputed one
    assert decision.touch.invoice_ids == ("B",)
    assert decision.touch.covers == ("B|due+7#0",)


def test_an_invoice_on_hold_until_a_date_rejoins_the_cadence_then():
    # GIVEN invoice A is held until Thu 12 Nov (e.g. awaiting a credit note)
    held = [invoice("A", DUE, excluded_until=date(2026, 11, 12))]
    decision = decide(DEFAULT_CADENCE, uk_business(), held, utc(2026, 11, 9, 10), B2B_POLICY)
    assert decision.touch is None
    assert decision.next_action_at == utc(2026, 11, 12, 9)
    # THEN on the 12th it picks up at the step it has reached (+7), once
    resumed = decide(DEFAULT_CADENCE, uk_business(), held, utc(2026, 11, 12, 9), B2B_POLICY)
    assert resumed.touch.occurrence_key == "due+7#0"


def test_a_promise_to_pay_pauses_the_account_then_chasing_resumes():
    # GIVEN the +7 email went out, then the debtor promised to pay, paused until Fri 20 Nov
    sent = {"A|due-3#0", "A|due#0", "A|due+3#0", "A|due+7#0"}
    account = uk_business(sent_keys=sent, paused_until=date(2026, 11, 20))
    invoices = [invoice("A", DUE)]
    # WHEN the +14 day comes during the pause
    during = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 16, 10), B2B_POLICY)
    # THEN nothing is sent, and the account is due again when the pause ends
    assert (during.touch, during.reason) == (None, "paused")
    assert during.next_action_at == utc(2026, 11, 20, 9)
    # AND when the promise is broken, chasing resumes with the +14 step
    after = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 20, 9), B2B_POLICY)
    assert after.touch.occurrence_key == "due+14#0"
    assert after.next_action_at == utc(2026, 11, 23, 9)


# ------------------------------------------------------------------------ never twice

def test_a_claimed_touch_is_never_planned_again_and_a_retry_claims_the_same_key():
    invoices = [invoice("A", DUE), invoice("B", DUE)]
    at = utc(2026, 11, 9, 10)
    first = decide(DEFAULT_CADENCE, uk_business(), invoices, at, B2B_POLICY)
    # GIVEN the dispatcher died before recording: the retry sees the same facts
    retry = decide(DEFAULT_CADENCE, uk_business(), invoices, at + timedelta(minutes=5), B2B_POLICY)
    # THEN it plans the same touch under the same claim key, which the store will refuse
    assert retry.touch.claim_key == first.touch.claim_key
    # AND once the claim is recorded, the timer firing twice sends nothing more that day
    account = record(uk_business(), first, at)
    for minutes in (0, 1, 60, 300):
        again = decide(DEFAULT_CADENCE, account, invoices, at + timedelta(minutes=minutes), B2B_POLICY)
        assert again.touch is None
    assert again.next_action_at == utc(2026, 11, 16, 9)


def test_the_claim_key_changes_when_the_message_would_cover_different_invoices():
    at = utc(2026, 11, 9, 10)
    one = decide(DEFAULT_CADENCE, uk_business(), [invoice("A", DUE)], at, B2B_POLICY)
    two = decide(DEFAULT_CADENCE, uk_business(), [invoice("A", DUE), invoice("B", DUE)], at, B2B_POLICY)
    assert one.touch.occurrence_key == two.touch.occurrence_key == "due+7#0"
    assert one.touch.claim_key != two.touch.claim_key
    assert one.touch.claim_key.startswith("due+7#0@")


def test_next_action_at_is_what_a_recompute_after_the_send_would_say():
    invoices = [invoice("A", DUE), invoice("B", date(2026, 11, 6))]
    at = utc(2026, 11, 9, 10)
    decision = decide(DEFAULT_CADENCE, uk_business(), invoices, at, B2B_POLICY)
    recomputed = decide(DEFAULT_CADENCE, record(uk_business(), decision, at), invoices, at, B2B_POLICY)
    assert recomputed.touch is None
    assert recomputed.next_action_at == decision.next_action_at


# ---------------------------------------------------------------------------- grouping

def test_invoices_owed_a_touch_share_one_message_at_the_firmest_step():
    # GIVEN A and B due Mon 2 Nov, C due Thu 5 Nov, nothing sent yet
    invoices = [invoice("C", date(2026, 11, 5)), invoice("B", DUE), invoice("A", DUE)]
    # WHEN the run on Mon 9 Nov: A and B reach +7 (firm), C reaches +3 (friendly)
    decision = decide(DEFAULT_CADENCE, uk_business(), invoices, utc(2026, 11, 9, 10), B2B_POLICY)
    touch = decision.touch
    # THEN one firm email lists all three, oldest first
    assert (touch.occurrence_key, touch.tone, touch.channel) == ("due+7#0", "firm", "email")
    assert touch.invoice_ids == ("A", "B", "C")
    assert touch.covers == ("A|due+7#0", "B|due+7#0", "C|due+3#0")
    # AND C is chased on its own +7 day (Thu 12 Nov), alone
    account = record(uk_business(), decision, utc(2026, 11, 9, 10))
    assert decision.next_action_at == utc(2026, 11, 12, 9)
    later = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 12, 9), B2B_POLICY)
    assert (later.touch.occurrence_key, later.touch.invoice_ids) == ("due+7#0", ("C",))


def test_when_the_oldest_invoice_is_paid_the_account_is_chased_for_what_is_left():
    # GIVEN A (due 1 Oct) is at its final-notice repeat, B (due 2 Nov) at +7
    a_open = invoice("A", date(2026, 10, 1))
    b = invoice("B", DUE)
    at = utc(2026, 11, 9, 10)
    both = decide(DEFAULT_CADENCE, uk_business(), [a_open, b], at, B2B_POLICY)
    assert (both.touch.tone, both.touch.occurrence_key) == ("final", "due+30#1")
    # WHEN A is paid before the run
    a_paid = replace(a_open, balance_minor=0, status="paid")
    after = decide(DEFAULT_CADENCE, uk_business(), [a_paid, b], at, B2B_POLICY)
    # THEN the message is B's firm +7 reminder, no longer a final notice
    assert (after.touch.tone, after.touch.occurrence_key, after.touch.invoice_ids) == ("firm", "due+7#0", ("B",))


def test_staggered_invoices_do_not_produce_a_message_every_day():
    # GIVEN invoices due on consecutive days and the default 2-day minimum gap
    invoices = [invoice(f"I{n}", DUE + timedelta(days=n)) for n in range(5)]
    sent, _ = run_timer(uk_business(), invoices, utc(2026, 10, 25), utc(2026, 11, 14))
    days = [at.date() for at, _ in sent]
    # THEN no two messages are less than two days apart, and every invoice still appears
    assert all((b - a).days >= 2 for a, b in zip(days, days[1:]))
    assert {i for _, t in sent for i in t.invoice_ids} == {f"I{n}" for n in range(5)}


def test_the_minimum_gap_delays_rather_than_drops():
    cadence = replace(DEFAULT_CADENCE, min_gap_days=4)
    account = uk_business(sent_keys={"A|due-3#0"}, last_touch_at=utc(2026, 10, 30, 9))
    # GIVEN the due-date email is due Mon 2 Nov, but the last touch was Fri 30 Oct
    decision = decide(cadence, account, [invoice("A", DUE)], utc(2026, 11, 2, 9), B2B_POLICY)
    # THEN it waits for Tue 3 Nov 09:00, four local days after Friday's touch
    assert (decision.touch, decision.reason) == (None, "min_gap")
    assert decision.next_action_at == utc(2026, 11, 3, 9)
    assert decide(cadence, account, [invoice("A", DUE)], decision.next_action_at, B2B_POLICY).touch


# ------------------------------------------------------------------- windows and channels

def test_a_consumer_touch_due_today_waits_for_0800_and_is_not_dropped():
    # GIVEN a consumer in New York whose invoice is due today, Tue 24 Nov; it is 07:30 EST
    account = AccountFact(tz=NY, country="US", consumer=True)
    invoices = [InvoiceFact("A", date(2026, 11, 24), 50_00, "USD")]
    early = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 24, 12, 30), CONSUMER_POLICY)
    # THEN nothing is sent at 07:30, and the account is due again at 08:00 local
    assert (early.touch, early.reason) == (None, "outside_window")
    assert early.next_action_at == utc(2026, 11, 24, 13, 0)
    # AND at 08:00 the due-date reminder goes out
    on_time = decide(DEFAULT_CADENCE, account, invoices, early.next_action_at, CONSUMER_POLICY)
    assert on_time.touch.occurrence_key == "due#0"


def test_a_consumer_account_keeps_quiet_hours_even_under_a_wide_b2b_policy():
    wide = ContactPolicy(business_days=EVERY_DAY, start=time(6), end=time(23))
    account = AccountFact(tz=NY, country="US", consumer=True)
    invoices = [InvoiceFact("A", date(2026, 11, 24), 50_00, "USD")]
    # 21:30 EST on the due date: after hours for a consumer
    decision = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 25, 2, 30), wide)
    assert decision.touch is None
    assert decision.next_action_at == utc(2026, 11, 25, 13, 0)  # Wednesday 08:00 EST


def test_a_step_falling_on_a_weekend_goes_out_on_monday():
    # GIVEN an invoice due Wed 4 Nov: its +3 SMS falls on Saturday 7 Nov
    invoices = [invoice("A", date(2026, 11, 4))]
    account = uk_business(sent_keys={"A|due-3#0", "A|due#0"})
    saturday = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 7, 10), B2B_POLICY)
    assert saturday.touch is None
    assert saturday.next_action_at == utc(2026, 11, 9, 9)
    monday = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 11, 9, 9), B2B_POLICY)
    assert monday.touch.occurrence_key == "due+3#0"


def test_next_action_lands_on_the_right_utc_instant_across_new_york_spring_forward():
    # GIVEN an invoice due Mon 2 Mar 2026 in New York; +7 is Mon 9 Mar, the day after DST starts
    account = AccountFact(tz=NY, country="US", sent_keys={"A|due-3#0", "A|due#0"})
    invoices = [InvoiceFact("A", date(2026, 3, 2), 50_00, "USD")]
    d = decide(DEFAULT_CADENCE, account, invoices, utc(2026, 3, 5, 15), B2B_POLICY)  # +3, EST
    assert d.touch.occurrence_key == "due+3#0"
    # THEN +7 is due at 09:00 EDT = 13:00Z (it was 14:00Z the week before)
    assert d.next_action_at == utc(2026, 3, 9, 13, 0)


def test_an_opted_out_channel_falls_back_email_then_sms_then_call_then_letter():
    invoices = [invoice("A", DUE)]
    at_sms_step = utc(2026, 11, 5, 10)  # the +3 step is an SMS
    # GIVEN the debtor opted out of SMS
    email_only = uk_business(channels_allowed={"email", "call"})
    touch = decide(DEFAULT_CADENCE, email_only, invoices, at_sms_step, B2B_POLICY).touch
    assert (touch.channel, touch.fallback, touch.step.channel) == ("email", True, "sms")
    # GIVEN the call step (+21) and only SMS allowed
    touch = decide(DEFAULT_CADENCE, uk_business(channels_allowed={"sms"}), invoices,
                   utc(2026, 11, 23, 10), B2B_POLICY).touch
    assert touch.channel == "sms"
    # GIVEN only post is left
    touch = decide(DEFAULT_CADENCE, uk_business(channels_allowed={"letter"}), invoices,
                   at_sms_step, B2B_POLICY).touch
    assert touch.channel == "letter"
    # GIVEN every channel closed: nothing is sent and nothing is scheduled
    closed = decide(DEFAULT_CADENCE, uk_business(channels_allowed=set()), invoices, at_sms_step, B2B_POLICY)
    assert (closed.touch, closed.next_action_at, closed.reason) == (None, None, "no_channel")


# ------------------------------------------------------------------------------- facts

def test_facts_that_would_corrupt_touch_keys_are_refused():
    with pytest.raises(FactError, match="duplicate"):
        decide(DEFAULT_CADENCE, uk_business(), [invoice("A", DUE), invoice("A", DUE)],
               utc(2026, 11, 9, 10), B2B_POLICY)
    with pytest.raises(FactError, match="due_date"):
        invoice("A", datetime(2026, 11, 2, 0, 0))
    with pytest.raises(FactError, match="status"):
        invoice("A", DUE, status="lost")
    with pytest.raises(FactError, match="channels"):
        uk_business(channels_allowed={"fax"})


def test_decide_refuses_a_naive_clock():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(DEFAULT_CADENCE, uk_business(), [invoice("A", DUE)], datetime(2026, 11, 9, 10), B2B_POLICY)
