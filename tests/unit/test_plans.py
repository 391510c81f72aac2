"""Payment plans: exact schedules, month-end dates, client rules, payments and broken plans."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.payments.plan_rules import (
    Instalment,
    PlanError,
    PlanProblem,
    PlanRules,
    add_months,
    apply_to_plan,
    needs_approval,
    paid_by_instalment,
    plan_status,
    propose_schedule,
    validate_proposal,
)

TODAY = date(2025, 1, 10)
RULES = PlanRules(max_instalments=6, min_instalment_minor=2_000, max_first_due_days=14,
                  auto_approve_under_minor=50_000, allowed_intervals=frozenset({"weekly", "monthly"}))


def schedule_100_in_3() -> list[Instalment]:
    return propose_schedule(10_000, "GBP", 3, date(2025, 1, 31), "monthly")


def test_amounts_sum_exactly_with_the_odd_pence_on_the_last() -> None:
    # GIVEN £100.00 in 3: 10000 // 3 = 3333; 3 x 3333 = 9999, so the last is 3334
    plan = schedule_100_in_3()
    assert [i.amount_minor for i in plan] == [3_333, 3_333, 3_334]
    assert sum(i.amount_minor for i in plan) == 10_000
    assert [i.number for i in plan] == [1, 2, 3]


@pytest.mark.parametrize(("total", "n"), [(1, 1), (7, 7), (99_999, 7), (1_000_001, 12), (10, 3)])
def test_any_split_sums_to_the_total(total: int, n: int) -> None:
    plan = propose_schedule(total, "GBP", n, TODAY, "weekly")
    assert sum(i.amount_minor for i in plan) == total
    assert max(i.amount_minor for i in plan) - min(i.amount_minor for i in plan) < n


def test_zero_and_three_decimal_currencies() -> None:
    # ¥1,000 in 3: 333, 333, 334 yen; KWD 10.000 (10000 fils) in 3: 3333, 3333, 3334 fils
    assert [i.amount_minor for i in propose_schedule(1_000, "JPY", 3, TODAY, "weekly")] == [333, 333, 334]
    assert [i.amount_minor for i in propose_schedule(10_000, "KWD", 3, TODAY, "weekly")] == [3_333, 3_333, 3_334]


def test_monthly_dates_clamp_to_month_end_without_drifting() -> None:
    # GIVEN first payment 31 Jan 2025; THEN 28 Feb, then back to 31 Mar, 30 Apr
    plan = propose_schedule(40_000, "GBP", 4, date(2025, 1, 31), "monthly")
    assert [i.due_date for i in plan] == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]
    # AND in a leap year February has 29 days; December rolls into the next year
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)


def test_weekly_and_fortnightly_dates() -> None:
    weekly = propose_schedule(3_000, "GBP", 3, date(2025, 1, 6), "weekly")
    fortnightly = propose_schedule(3_000, "GBP", 3, date(2025, 1, 6), "fortnightly")
    assert [i.due_date for i in weekly] == [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)]
    assert [i.due_date for i in fortnightly] == [date(2025, 1, 6), date(2025, 1, 20), date(2025, 2, 3)]


@pytest.mark.parametrize(("args", "field"), [
    ((0, "GBP", 3, TODAY, "monthly"), "total_minor"),
    ((100, "GBP", 0, TODAY, "monthly"), "instalments"),
    ((2, "GBP", 3, TODAY, "monthly"), "instalments"),    # 2 pence cannot make 3 instalments
    ((100, "XXX", 1, TODAY, "monthly"), "currency"),
    ((100, "GBP", 1, TODAY, "daily"), "interval"),
])
def test_impossible_schedules_are_refused(args: tuple, field: str) -> None:
    with pytest.raises(PlanError) as err:
        propose_schedule(*args)
    assert err.value.field == field


def test_a_proposal_within_the_rules_has_no_problems() -> None:
    # £300.00 in 6 monthly of £50.00, first in 14 days
    assert validate_proposal(RULES, 30_000, "GBP", 6, date(2025, 1, 24), "monthly", TODAY) == []


@pytest.mark.parametrize(("total", "n", "first_due", "interval", "problem"), [
    (30_000, 7, date(2025, 1, 24), "monthly", PlanProblem("instalments", "choose between 1 and 6 instalments")),
    (30_000, 6, date(2025, 1, 24), "fortnightly", PlanProblem("interval", "choose from weekly, monthly")),
    (30_000, 6, date(2025, 1, 9), "monthly", PlanProblem("first_due", "the first payment date is in the past")),
    (30_000, 6, date(2025, 1, 25), "monthly",
     PlanProblem("first_due", "the first payment must be within 14 days")),
    # £100.00 in 6: 10000 // 6 = 1666 < 2000 minimum
    (10_000, 6, date(2025, 1, 24), "monthly",
     PlanProblem("instalments", "each instalment would be below the minimum; choose fewer")),
])
def test_proposals_breaking_a_rule_say_which(total: int, n: int, first_due: date, interval: str,
                                             problem: PlanProblem) -> None:
    assert validate_proposal(RULES, total, "GBP", n, first_due, interval, TODAY) == [problem]


def test_a_single_payment_below_the_minimum_is_fine() -> None:
    assert validate_proposal(RULES, 500, "GBP", 1, TODAY, "monthly", TODAY) == []


def test_approval_is_needed_from_the_threshold_up() -> None:
    assert needs_approval(RULES, 49_999) is False
    assert needs_approval(RULES, 50_000) is True


def test_rules_are_checked_when_made() -> None:
    with pytest.raises(PlanError):
        PlanRules(max_instalments=0)
    with pytest.raises(PlanError):
        PlanRules(allowed_intervals=frozenset({"daily"}))


def test_payments_complete_instalments_in_order() -> None:
    # GIVEN 3333 / 3333 / 3334
    plan = schedule_100_in_3()
    # WHEN 50.00 is paid THEN #1 is paid and #2 has 5000 - 3333 = 1667
    first = apply_to_plan(plan, 0, 5_000)
    assert first.newly_paid == (1,)
    assert first.paid_by_instalment == {1: 3_333, 2: 1_667, 3: 0}
    assert not first.completed
    # WHEN the other 50.00 comes THEN #2 and #3 are paid, and the plan is complete
    second = apply_to_plan(plan, 5_000, 5_000)
    assert second.newly_paid == (2, 3) and second.completed and second.excess_minor == 0


def test_paying_more_than_the_plan_leaves_excess() -> None:
    result = apply_to_plan(schedule_100_in_3(), 9_000, 2_500)
    # 9000 + 2500 - 10000 = 1500 beyond the plan
    assert result.newly_paid == (3,) and result.excess_minor == 1_500 and result.completed


def test_plan_is_active_while_payments_are_on_time() -> None:
    plan = schedule_100_in_3()  # due 31 Jan, 28 Feb, 31 Mar 2025
    assert plan_status(plan, {1: 3_333}, date(2025, 2, 28), grace_days=0) == ("active", None)


def test_plan_is_broken_when_an_instalment_is_short_after_grace() -> None:
    plan = schedule_100_in_3()
    # GIVEN #2 (due 28 Feb) short by 1 penny and 3 grace days
    paid = {1: 3_333, 2: 3_332}
    # WHEN 3 Mar (within grace) THEN active; WHEN 4 Mar THEN broken at #2
    assert plan_status(plan, paid, date(2025, 3, 3), grace_days=3) == ("active", None)
    assert plan_status(plan, paid, date(2025, 3, 4), grace_days=3) == ("broken", 2)


def test_the_first_missed_instalment_is_reported() -> None:
    assert plan_status(schedule_100_in_3(), {}, date(2025, 4, 30), grace_days=0) == ("broken", 1)


def test_plan_is_completed_when_everything_is_paid_even_late() -> None:
    plan = schedule_100_in_3()
    assert plan_status(plan, paid_by_instalment(plan, 10_000), date(2025, 6, 1), grace_days=0) == ("completed", None)
