"""Outcomes lab: the simulator runs playbooks through the real planner on a seeded
population, and what it reports moves the way a collector would expect."""
from __future__ import annotations

from datetime import date, time

import pytest

from chalicelib.dunning import cadence as cad
from chalicelib.dunning import contact_window as cw
from chalicelib.lab import playbooks, population as pop, simulator as sim

START = date(2026, 1, 5)
SEED = 11


@pytest.fixture(scope="module")
def people():
    return pop.population(400, SEED, START)


@pytest.fixture(scope="module")
def results(people):
    return {pb.name: sim.run(people, pb, SEED) for pb in playbooks.standard(5000, 5000)}


def test_the_same_seed_gives_the_same_figures(people):
    again = pop.population(400, SEED, START)
    assert again == people
    pb = playbooks.standard(5000, 5000)[0]
    assert sim.as_dict(sim.run(people, pb, SEED)) == sim.as_dict(sim.run(again, pb, SEED))
    other = pop.population(400, SEED + 1, START)
    assert other != people


def test_no_reminders_is_slower_than_the_email_sequence_which_is_slower_than_the_default(
        results):
    none, base, default = results["none"], results["baseline"], results["default"]
    assert none.dso_days > base.dso_days > default.dso_days
    assert none.dbt_days > base.dbt_days > default.dbt_days
    assert default.collected[60] >= base.collected[60] >= none.collected[60]
    assert none.touches_per_debtor == 0


def test_the_baseline_sends_only_emails_and_the_default_raises_calls(results):
    base, default = results["baseline"], results["default"]
    assert base.by_channel["sms"] == base.by_channel["call"] == 0
    assert base.by_channel["email"] > 0
    assert default.calls_per_debtor > 0
    assert default.by_channel["sms"] > 0


def test_prompt_payers_have_near_zero_days_beyond_terms_whatever_the_playbook():
    prompt = pop.population(200, SEED, START, mix={pop.PROMPT: 1.0})
    for pb in playbooks.standard(5000, 5000):
        f = sim.run(prompt, pb, SEED)
        # Only a due date on a weekend is paid the Monday after.
        assert f.dbt_days < 0.5
        assert f.collected[30] == 1.0
        # DSO is the terms, no more: nobody pays after the due date.
        assert f.dso_days <= max(d.terms_days for d in prompt)
        assert f.calls_per_debtor == 0


def test_no_touch_falls_on_a_weekend_or_outside_the_debtors_hours_for_a_weekday_policy(
        people):
    policy = cw.ContactPolicy(business_days=cw.MON_FRI)
    pb = sim.Playbook("default", cad.DEFAULT_CADENCE, first_contact=True, policy=policy)
    checked = 0
    for d in people:
        for at, channel in sim.simulate_debtor(d, pb, SEED).touch_days:
            # Judged in the debtor's own zone: a Monday 09:00 in Sydney is Sunday in London.
            assert cw.is_allowed(at, d.tz, d.country, policy, channel)
            assert at.astimezone(cw.zone(d.tz)).weekday() < 5
            checked += 1
    assert checked > len(people)


def test_a_debtor_is_not_chased_after_paying(people):
    pb = playbooks.standard(5000, 5000)[0]
    for d in people[:100]:
        o = sim.simulate_debtor(d, pb, SEED)
        if o.paid_on is not None:
            # The touch that prompted a same-day payment may fall on that day; none after.
                assert all(cw.local_date(at, d.tz) <= o.paid_on for at, _ in o.touch_days)


def test_a_touch_records_the_same_facts_as_the_planner(people):
    d = people[0]
    account = cad.AccountFact(tz=d.tz, country=d.country, first_contact=True)
    inv = cad.InvoiceFact("i1", d.due_date, 10000, "GBP")
    at = cw.next_allowed(cw.local_instant(d.due_date, time(10), d.tz), d.tz, d.country,
                         cw.B2B_POLICY)
    touch = cad.decide(cad.DEFAULT_CADENCE, account, [inv], at, cw.B2B_POLICY).touch
    after = sim.record(account, touch, at)
    assert after.sent_keys == frozenset(touch.covers)
    assert after.chased_from == cw.local_date(at, d.tz)
    assert after.last_touch_at == at
    assert cad.decide(cad.DEFAULT_CADENCE, after, [inv], at, cw.B2B_POLICY).touch is None


def test_history_weights_lean_to_the_debtors_own_lateness():
    assert pop.weights_from_lateness([]) == pytest.approx(pop._MIX)
    prompt = pop.weights_from_lateness([-2, 0, -1])
    assert max(prompt, key=prompt.get) == pop.PROMPT
    late = pop.weights_from_lateness([50, 60, 45])
    assert max(late, key=late.get) == pop.STRETCHED
    disputes = pop.weights_from_lateness([20, 25], disputed=2)
    assert disputes[pop.DISPUTER] > pop.weights_from_lateness([20, 25])[pop.DISPUTER]


def test_a_policy_open_at_weekends_does_send_at_weekends(people):
    policy = cw.ContactPolicy(business_days=cw.EVERY_DAY, skip_holidays=False)
    pb = sim.Playbook("default", cad.DEFAULT_CADENCE, first_contact=True, policy=policy)
    days = {at.astimezone(cw.zone(d.tz)).weekday() for d in people
            for at, _ in sim.simulate_debtor(d, pb, SEED).touch_days}
    assert days & {5, 6}


def test_small_debts_raise_no_calls_below_the_planners_floor():
    import random

    rng = random.Random(1)
    small = [pop.make_debtor(i, rng, kind=pop.SLOW, issue_date=START, terms_days=30,
                             amount_minor=2000, tz="Europe/London", country="GB")
             for i in range(50)]
    default = playbooks.standard(5000, 5000)[0]
    assert sim.run(small, default, SEED).calls_per_debtor == 0
    no_floor = sim.Playbook("default", cad.DEFAULT_CADENCE, first_contact=True)
    assert sim.run(small, no_floor, SEED).calls_per_debtor > 0
