"""Payment plans: schedules that sum exactly, client rules, payments against instalments, status."""
from __future__ import annotations

from chalicelib.kernel.field_errors import FieldError

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from chalicelib.kernel.money import MoneyError, exponent, is_currency

INTERVALS = ("weekly", "fortnightly", "monthly")
_STEP_DAYS = {"weekly": 7, "fortnightly": 14}


class PlanError(FieldError):
    """A plan that cannot be built: which field, and why."""


@dataclass(frozen=True)
class PlanProblem:
    field: str
    reason: str


@dataclass(frozen=True)
class PlanRules:
    """A client's limits on plans a debtor may set up. Amounts are in the plan's currency."""

    max_instalments: int = 12
    min_instalment_minor: int = 1
    max_first_due_days: int = 30
    auto_approve_under_minor: int = 0
    allowed_intervals: frozenset[str] = frozenset(INTERVALS)

    def __post_init__(self) -> None:
        for name in ("max_instalments", "min_instalment_minor", "max_first_due_days",
                     "auto_approve_under_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PlanError(name, "must be a whole number, zero or more")
        if self.max_instalments < 1:
            raise PlanError("max_instalments", "must be at least 1")
        if self.min_instalment_minor < 1:
            raise PlanError("min_instalment_minor", "must be at least 1")
        bad = set(self.allowed_intervals) - set(INTERVALS)
        if bad or not self.allowed_intervals:
            raise PlanError("allowed_intervals", f"choose from {', '.join(INTERVALS)}")


@dataclass(frozen=True)
class Instalment:
    number: int  # 1-based
    due_date: date
    amount_minor: int


@dataclass(frozen=True)
class PlanApplication:
    """The effect of one payment on a plan."""

    newly_paid: tuple[int, ...]
    paid_by_instalment: dict[int, int]
    excess_minor: int  # beyond the plan total: the service keeps it as account credit
    completed: bool


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def due_dates(first_due: date, interval: str, count: int) -> list[date]:
    """Each date is computed from the first, so a clamped month never shifts later ones."""
    if interval == "monthly":
        return [add_months(first_due, k) for k in range(count)]
    if interval in _STEP_DAYS:
        return [first_due + timedelta(days=_STEP_DAYS[interval] * k) for k in range(count)]
    raise PlanError("interval", f"choose from {', '.join(INTERVALS)}")


def propose_schedule(total_minor: int, currency: str, instalments: int, first_due: date,
                     interval: str) -> list[Instalment]:
    """Equal instalments; the odd minor units go on the last so the sum is exactly the total."""
    try:
        exponent(currency)
    except MoneyError as exc:
        raise PlanError("currency", str(exc)) from None
    if isinstance(total_minor, bool) or not isinstance(total_minor, int) or total_minor <= 0:
        raise PlanError("total_minor", "must be a positive whole number of minor units")
    if isinstance(instalments, bool) or not isinstance(instalments, int) or instalments < 1:
        raise PlanError("instalments", "must be at least 1")
    base = total_minor // instalments
    if base == 0:
        raise PlanError("instalments", "more instalments than minor units to pay")
    amounts = [base] * instalments
    amounts[-1] += total_minor - base * instalments
    dates = due_dates(first_due, interval, instalments)
    return [Instalment(n + 1, d, a) for n, (d, a) in enumerate(zip(dates, amounts))]


def validate_proposal(rules: PlanRules, total_minor: int, currency: str, instalments: int,
                      first_due: date, interval: str, today: date) -> list[PlanProblem]:
    """Everything wrong with a debtor's proposal, in words a debtor can act on."""
    problems: list[PlanProblem] = []
    if not is_currency(currency):
        problems.append(PlanProblem("currency", f"unknown currency {currency!r}"))
    if total_minor <= 0:
        problems.append(PlanProblem("total_minor", "there is nothing to pay"))
    if instalments < 1 or instalments > rules.max_instalments:
        problems.append(PlanProblem("instalments",
                                    f"choose between 1 and {rules.max_instalments} instalments"))
    if interval not in rules.allowed_intervals:
        allowed = ", ".join(i for i in INTERVALS if i in rules.allowed_intervals)
        problems.append(PlanProblem("interval", f"choose from {allowed}"))
    if first_due < today:
        problems.append(PlanProblem("first_due", "the first payment date is in the past"))
    elif (first_due - today).days > rules.max_first_due_days:
        problems.append(PlanProblem("first_due",
                                    f"the first payment must be within {rules.max_first_due_days} days"))
    if instalments > 1 and total_minor > 0 and total_minor // instalments < rules.min_instalment_minor:
        problems.append(PlanProblem("instalments",
                                    "each instalment would be below the minimum; choose fewer"))
    return problems


def needs_approval(rules: PlanRules, total_minor: int) -> bool:
    """Plans for amounts under the client's threshold are approved without a person."""
    return total_minor >= rules.auto_approve_under_minor


def paid_by_instalment(schedule: list[Instalment], paid_total: int) -> dict[int, int]:
    """Spread what has been paid across instalments in order (earliest first)."""
    left = paid_total
    result: dict[int, int] = {}
    for item in schedule:
        take = max(0, min(left, item.amount_minor))
        result[item.number] = take
        left -= take
    return result


def apply_to_plan(schedule: list[Instalment], paid_so_far: int, amount: int) -> PlanApplication:
    """A payment of `amount` after `paid_so_far`: which instalments it completes."""
    if amount <= 0 or paid_so_far < 0:
        raise PlanError("amount", "a payment must be positive and prior payments not negative")
    before = paid_by_instalment(schedule, paid_so_far)
    after = paid_by_instalment(schedule, paid_so_far + amount)
    newly = tuple(i.number for i in schedule
                  if before[i.number] < i.amount_minor <= after[i.number])
    total = sum(i.amount_minor for i in schedule)
    excess = max(0, paid_so_far + amount - max(total, paid_so_far))
    return PlanApplication(newly, after, excess, paid_so_far + amount >= total)


def plan_status(schedule: list[Instalment], payments_by_instalment: Mapping[int, int], today: date,
                grace_days: int = 0) -> tuple[str, int | None]:
    """("completed", None) when all is paid; ("broken", n) when instalment n is short more than
    `grace_days` after its due date; otherwise ("active", None)."""
    short = [i for i in schedule if payments_by_instalment.get(i.number, 0) < i.amount_minor]
    if not short:
        return "completed", None
    for item in sorted(short, key=lambda i: i.number):
        if today > item.due_date + timedelta(days=grace_days):
            return "broken", item.number
    return "active", None
