"""Late charges (fees, interest, UK statutory) and early-payment discounts as client policy."""
from __future__ import annotations

from chalicelib.kernel.field_errors import FieldError

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from chalicelib.kernel.money import MoneyError, exponent, to_major

KINDS = ("none", "fixed", "percentage", "daily_interest", "uk_statutory")
INTEREST_PERIODS = ("monthly", "days")
DAYS_IN_YEAR = Decimal(365)  # both the Act (per gov.uk) and COLLECTIONS.md divide by 365, leap or not

# Bank of England Bank Rate, in percent as the Bank publishes it: date of change -> new rate.
# Starts with the rate in force on 31 Dec 2019 so every reference date from 2020 resolves.
# This table MUST be kept up to date: a reference date (31 Dec / 30 Jun) after
# BOE_KNOWN_THROUGH raises ChargeError rather than guess. Pass your own BaseRateTable to
# due_charges() to configure it without a code change.
BOE_BASE_RATES: dict[date, Decimal] = {
    date(2018, 8, 2): Decimal("0.75"),
    date(2020, 3, 11): Decimal("0.25"),
    date(2020, 3, 19): Decimal("0.10"),
    date(2021, 12, 16): Decimal("0.25"),
    date(2022, 2, 3): Decimal("0.50"),
    date(2022, 3, 17): Decimal("0.75"),
    date(2022, 5, 5): Decimal("1.00"),
    date(2022, 6, 16): Decimal("1.25"),
    date(2022, 8, 4): Decimal("1.75"),
    date(2022, 9, 22): Decimal("2.25"),
    date(2022, 11, 3): Decimal("3.00"),
    date(2022, 12, 15): Decimal("3.50"),
    date(2023, 2, 2): Decimal("4.00"),
    date(2023, 3, 23): Decimal("4.25"),
    date(2023, 5, 11): Decimal("4.50"),
    date(2023, 6, 22): Decimal("5.00"),
    date(2023, 8, 3): Decimal("5.25"),
    date(2024, 8, 1): Decimal("5.00"),
    date(2024, 11, 7): Decimal("4.75"),
    date(2025, 2, 6): Decimal("4.50"),
    date(2025, 5, 8): Decimal("4.25"),
    date(2025, 8, 7): Decimal("4.00"),
    date(2025, 12, 18): Decimal("3.75"),
}
# Last MPC decision checked (5 Feb 2026, held at 3.75%). Rates on later dates are unknown here.
BOE_KNOWN_THROUGH = date(2026, 2, 5)
STATUTORY_MARGIN = Decimal("0.08")

# Fixed compensation (s.5A of the Act), GBP minor units: (debt below this, sum).
_COMPENSATION: tuple[tuple[int | None, int], ...] = ((100_000, 4_000), (1_000_000, 7_000), (None, 10_000))
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


class ChargeError(FieldError):
    """A policy or a charge that cannot be computed: which field, and why."""


@dataclass(frozen=True)
class BaseRateTable:
    """Bank Rate changes (percent) and the last date the table is known to be right."""

    changes: tuple[tuple[date, Decimal], ...]
    known_through: date

    @classmethod
    def from_mapping(cls, rates: Mapping[date, Decimal], known_through: date) -> BaseRateTable:
        return cls(tuple(sorted(rates.items())), known_through)

    def rate_on(self, day: date) -> Decimal:
        """Bank Rate in percent in force on `day`."""
        if day > self.known_through:
            raise ChargeError("base_rates", f"Bank of England base rate on {day} is not known "
                              f"(table checked through {self.known_through}); update the table")
        found: Decimal | None = None
        for changed, rate in self.changes:
            if changed > day:
                break
            found = rate
        if found is None:
            raise ChargeError("base_rates", f"no Bank of England base rate for {day}")
        return found


DEFAULT_BASE_RATES = BaseRateTable.from_mapping(BOE_BASE_RATES, BOE_KNOWN_THROUGH)


def reference_date(day: date) -> date:
    """The Act fixes the rate on 31 Dec for Jan-Jun and on 30 Jun for Jul-Dec."""
    return date(day.year - 1, 12, 31) if day.month <= 6 else date(day.year, 6, 30)


def statutory_rate(day: date, base_rates: BaseRateTable = DEFAULT_BASE_RATES) -> Decimal:
    """Annual statutory rate (a fraction, e.g. 0.1325) for interest accruing on `day`."""
    return base_rates.rate_on(reference_date(day)) / 100 + STATUTORY_MARGIN


def statutory_compensation(debt_minor: int) -> int:
    """Fixed sum in GBP pence for a debt of `debt_minor` pence: £40 / £70 / £100."""
    for below, amount in _COMPENSATION:
        if below is None or debt_minor < below:
            return amount
    raise AssertionError("unreachable")


def _decimal(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, (bool, float)):
        raise ChargeError(name, "give a decimal string such as \"0.10\", not a float")
    try:
        result = Decimal(str(value)) if isinstance(value, (int, str)) else value
    except InvalidOperation:
        raise ChargeError(name, f"not a number: {value!r}") from None
    if not isinstance(result, Decimal) or not result.is_finite():
        raise ChargeError(name, f"not a number: {value!r}")
    return result


def _int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ChargeError(name, "must be a whole number")
    return value


@dataclass(frozen=True)
class ChargePolicy:
    """A client's late-charge policy. `percent` values are percent ("2" = 2%);
    `annual_rate` is a fraction ("0.10" = 10% a year)."""

    kind: str = "none"
    fixed_minor: int | None = None
    fixed_currency: str | None = None
    percent: Decimal | None = None
    annual_rate: Decimal | None = None
    grace_days: int = 0
    interest_period: str = "monthly"  # "monthly": calendar months; "days": every period_days
    period_days: int = 30
    early_discount_percent: Decimal | None = None
    early_discount_days: int | None = None

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:  # noqa: C901 - one flat list of rules reads best
        k = self.kind
        if k not in KINDS:
            raise ChargeError("kind", f"must be one of {', '.join(KINDS)}")
        _int("fixed_minor", self.fixed_minor)
        for name in ("grace_days", "period_days"):
            _int(name, getattr(self, name))
        _int("early_discount_days", self.early_discount_days)
        for name in ("percent", "annual_rate", "early_discount_percent"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                raise ChargeError(name, "must be a Decimal")
        needs = {"fixed": ("fixed_minor", "fixed_currency"), "percentage": ("percent",),
                 "daily_interest": ("annual_rate",)}.get(k, ())
        for name in ("fixed_minor", "fixed_currency", "percent", "annual_rate"):
            if name in needs and getattr(self, name) is None:
                raise ChargeError(name, f"required when kind is {k}")
            if name not in needs and getattr(self, name) is not None:
                raise ChargeError(name, f"not used when kind is {k}")
        if self.fixed_minor is not None and self.fixed_minor <= 0:
            raise ChargeError("fixed_minor", "must be more than zero")
        if self.fixed_currency is not None:
            if not isinstance(self.fixed_currency, str):
                raise ChargeError("fixed_currency", "must be an ISO 4217 code")
            try:
                exponent(self.fixed_currency)
            except MoneyError as exc:
                raise ChargeError("fixed_currency", str(exc)) from None
            if self.fixed_currency != self.fixed_currency.upper():
                raise ChargeError("fixed_currency", "use the upper-case ISO code")
        if self.percent is not None and not Decimal(0) < self.percent <= 100:
            raise ChargeError("percent", "must be above 0 and at most 100 (percent)")
        if self.annual_rate is not None and not Decimal(0) < self.annual_rate <= 1:
            raise ChargeError("annual_rate", "must be a fraction above 0 and at most 1, e.g. 0.10 for 10%")
        if not 0 <= self.grace_days <= 365:
            raise ChargeError("grace_days", "must be between 0 and 365")
        if self.interest_period not in INTEREST_PERIODS:
            raise ChargeError("interest_period", f"must be one of {', '.join(INTEREST_PERIODS)}")
        if not 1 <= self.period_days <= 366:
            raise ChargeError("period_days", "must be between 1 and 366")
        pct, days = self.early_discount_percent, self.early_discount_days
        if (pct is None) != (days is None):
            raise ChargeError("early_discount_percent" if pct is None else "early_discount_days",
                              "early discount needs both a percent and a number of days")
        if pct is not None and not Decimal(0) < pct < 100:
            raise ChargeError("early_discount_percent", "must be above 0 and below 100 (percent)")
        if days is not None and not 1 <= days <= 365:
            raise ChargeError("early_discount_days", "must be between 1 and 365")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChargePolicy:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ChargeError(unknown[0], "unknown field")
        kwargs: dict[str, Any] = {}
        for name in ("kind", "fixed_currency", "interest_period"):
            if data.get(name) is not None:
                if not isinstance(data[name], str):
                    raise ChargeError(name, "must be text")
                kwargs[name] = data[name]
        for name in ("fixed_minor", "grace_days", "period_days", "early_discount_days"):
            if data.get(name) is not None:
                kwargs[name] = _int(name, data[name])
        for name in ("percent", "annual_rate", "early_discount_percent"):
            kwargs[name] = _decimal(name, data.get(name))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = str(value) if isinstance(value, Decimal) else value
        return out


@dataclass(frozen=True)
class ChargeableInvoice:
    """An invoice as charges see it; outstanding is principal only (never charges)."""

    invoice_id: str
    issue_date: date
    due_date: date
    outstanding_minor: int
    currency: str
    consumer: bool = False


@dataclass(frozen=True)
class Charge:
    """One charge entry; `key` is what the service claims so it is never made twice."""

    key: str
    invoice_id: str
    kind: str  # "late_fee" | "interest" | "compensation"
    amount_minor: int
    currency: str
    period_start: date
    period_end: date
    description: str
    days: int = 0
    annual_rate: Decimal | None = None
    basis_minor: int = 0
    rate_parts: tuple[tuple[int, Decimal], ...] = ()  # (days, annual rate) per rate segment

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "invoice_id": self.invoice_id, "kind": self.kind,
            "amount_minor": self.amount_minor, "currency": self.currency,
            "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
            "description": self.description, "days": self.days, "basis_minor": self.basis_minor,
            "annual_rate": None if self.annual_rate is None else str(self.annual_rate),
            "rate_parts": [[days, str(rate)] for days, rate in self.rate_parts],
        }


def _round_minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _fmt(minor: int, currency: str) -> str:
    exp = exponent(currency)
    text = f"{to_major(minor, currency):,.{exp}f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{currency} {text}"


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def interest_periods(policy: ChargePolicy, start: date, as_of: date) -> list[tuple[date, date]]:
    """Complete periods from `start` whose last day is on or before `as_of`.

    Only complete periods are claimed, so the same elapsed periods always get the same
    bounds (and keys) whatever day they are computed on.
    """
    periods: list[tuple[date, date]] = []
    begin = start
    while True:
        if policy.interest_period == "monthly":
            end = _month_end(begin)
        else:
            end = begin + timedelta(days=policy.period_days - 1)
        if end > as_of:
            return periods
        periods.append((begin, end))
        begin = end + timedelta(days=1)


def _half_year_segments(start: date, end: date) -> Iterable[tuple[date, date]]:
    """Split [start, end] at 1 Jan / 1 Jul, where the statutory reference rate changes."""
    begin = start
    while begin <= end:
        boundary = date(begin.year, 7, 1) if begin.month <= 6 else date(begin.year + 1, 1, 1)
        stop = min(end, boundary - timedelta(days=1))
        yield begin, stop
        begin = stop + timedelta(days=1)


def _claimed_interest(invoice_id: str, already: Iterable[str]) -> list[tuple[date, date]]:
    prefix = f"{invoice_id}:interest:"
    claimed = []
    for key in already:
        if key.startswith(prefix):
            try:
                first, last = key[len(prefix):].split(":")
                claimed.append((date.fromisoformat(first), date.fromisoformat(last)))
            except ValueError:
                continue
    return claimed


def _unclaimed(start: date, end: date, claimed: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Parts of [start, end] no claimed interest key covers (guards a changed period setting)."""
    parts = [(start, end)]
    for c_start, c_end in claimed:
        next_parts = []
        for p_start, p_end in parts:
            if c_end < p_start or c_start > p_end:
                next_parts.append((p_start, p_end))
                continue
            if p_start < c_start:
                next_parts.append((p_start, c_start - timedelta(days=1)))
            if c_end < p_end:
                next_parts.append((c_end + timedelta(days=1), p_end))
        parts = next_parts
    return parts


def _interest_charge(policy: ChargePolicy, invoice: ChargeableInvoice, start: date, end: date,
                     base_rates: BaseRateTable) -> Charge | None:
    principal = invoice.outstanding_minor
    if policy.kind == "uk_statutory":
        parts = [((e - s).days + 1, statutory_rate(s, base_rates))
                 for s, e in _half_year_segments(start, end)]
        label = "Statutory interest"
    else:
        assert policy.annual_rate is not None
        parts = [((end - start).days + 1, policy.annual_rate)]
        label = "Interest"
    # One exact numerator, one division, one rounding: outstanding x rate x days / 365.
    amount = _round_minor(sum((Decimal(principal) * rate * days for days, rate in parts), Decimal(0))
                          / DAYS_IN_YEAR)
    if amount <= 0:
        return None
    days = sum(d for d, _ in parts)
    on = f"on {_fmt(principal, invoice.currency)}"
    if len(parts) == 1:
        text = f"{label} {_pct(parts[0][1])} p.a. {on}, {days} days"
    else:
        text = f"{label} {on}: " + " and ".join(f"{d} days at {_pct(r)} p.a." for d, r in parts)
    return Charge(
        key=f"{invoice.invoice_id}:interest:{start.isoformat()}:{end.isoformat()}",
        invoice_id=invoice.invoice_id, kind="interest", amount_minor=amount,
        currency=invoice.currency, period_start=start, period_end=end,
        description=f"{text} ({start.isoformat()} to {end.isoformat()})", days=days,
        annual_rate=parts[0][1] if len(parts) == 1 else None, basis_minor=principal,
        rate_parts=tuple(parts),
    )


def _one_off(policy: ChargePolicy, invoice: ChargeableInvoice, day: date) -> Charge | None:
    principal, cur = invoice.outstanding_minor, invoice.currency
    if policy.kind == "fixed":
        if policy.fixed_currency != cur:
            raise ChargeError("fixed_currency", f"fixed fee is in {policy.fixed_currency}, invoice in {cur}")
        assert policy.fixed_minor is not None
        amount, kind = policy.fixed_minor, "late_fee"
        text = f"Late payment fee {_fmt(amount, cur)}"
    elif policy.kind == "percentage":
        assert policy.percent is not None
        amount = _round_minor(Decimal(principal) * policy.percent / 100)
        kind, text = "late_fee", f"Late payment fee {policy.percent}% of {_fmt(principal, cur)}"
    elif policy.kind == "uk_statutory":
        amount, kind = statutory_compensation(principal), "compensation"
        text = (f"Fixed compensation {_fmt(amount, cur)} on a debt of {_fmt(principal, cur)} "
                "(Late Payment of Commercial Debts (Interest) Act 1998)")
    else:
        return None
    if amount <= 0:
        return None
    suffix = "compensation" if kind == "compensation" else "late_fee"
    return Charge(key=f"{invoice.invoice_id}:{suffix}", invoice_id=invoice.invoice_id, kind=kind,
                  amount_minor=amount, currency=cur, period_start=day, period_end=day,
                  description=text, basis_minor=principal)


def due_charges(policy: ChargePolicy, invoice: ChargeableInvoice, as_of: date,
                already: frozenset[str] = frozenset(),
                base_rates: BaseRateTable = DEFAULT_BASE_RATES) -> list[Charge]:
    """Charges due on `as_of` that are not yet in `already` (keys claimed before).

    Charges start the day after due date + grace days. One-off fees (fixed, percentage,
    statutory compensation) are charged once; interest is claimed per complete period.
    Interest is simple, on the outstanding principal given, for each period claimed now.
    """
    if policy.kind == "none" or invoice.outstanding_minor <= 0:
        return []
    if policy.kind == "uk_statutory":
        if invoice.consumer:
            return []  # the Act covers business-to-business debts only
        if invoice.currency != "GBP":
            raise ChargeError("currency", "UK statutory interest is computed for GBP invoices only")
    first_day = invoice.due_date + timedelta(days=policy.grace_days + 1)
    if as_of < first_day:
        return []
    charges: list[Charge] = []
    one_off = _one_off(policy, invoice, first_day)
    if one_off is not None and one_off.key not in already:
        charges.append(one_off)
    if policy.kind in ("daily_interest", "uk_statutory"):
        claimed = _claimed_interest(invoice.invoice_id, already)
        for start, end in interest_periods(policy, first_day, as_of):
            for part_start, part_end in _unclaimed(start, end, claimed):
                charge = _interest_charge(policy, invoice, part_start, part_end, base_rates)
                if charge is not None and charge.key not in already:
                    charges.append(charge)
    return charges


def early_discount(policy: ChargePolicy, invoice: ChargeableInvoice, paid_on: date) -> int:
    """Discount in minor units if paid in full on `paid_on` (within N days of issue, inclusive)."""
    pct, days = policy.early_discount_percent, policy.early_discount_days
    if pct is None or days is None or invoice.outstanding_minor <= 0:
        return 0
    if paid_on > invoice.issue_date + timedelta(days=days):
        return 0
    return _round_minor(Decimal(invoice.outstanding_minor) * pct / 100)
