"""Receivables KPIs for one client in one currency: from facts, or from an incremental aggregate.

Two ways to the same figures:

* the from-scratch functions (``aging``, ``dso_countback``, ``cei`` ...) read invoice facts;
* ``ClientAggregate`` keeps a few counters keyed by day, updated by ``apply(event)`` as
  invoices, payments and promises change, and answers ``figures(as_of)`` without the invoices.

Both reduce to the same primitive sums (receivables on a day, aging on a day, credit sales
and collections over a range ...) and then run the same formulas, so a maintained aggregate
equals a recomputation (tests/unit/test_kpis.py proves it with hypothesis).

Conventions: amounts are ints in minor units; ratios are ``Decimal`` rounded half-up to one
decimal place (computed exactly with ``Fraction`` first); a figure that would divide by zero
is ``None``. "As of D" means at the close of day D. A payment dated before its invoice's
issue date counts from the issue date. Invoices whose status is void or cancelled are not
receivables and count nowhere, not even in past sales.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Mapping

from chalicelib.kernel.money import exponent

SOURCES: tuple[str, ...] = ("link", "transfer", "plan", "cheque", "other")
BUCKETS: tuple[str, ...] = ("not_due", "1_30", "31_60", "61_90", "90_plus")
VOID_STATUSES = frozenset({"void", "cancelled"})
DISPUTED = "disputed"


# ---------------------------------------------------------------------------------- facts


def _is_date(value: object) -> bool:
    # datetime is a date subclass; mixing them breaks comparisons, so refuse it.
    return isinstance(value, date) and not hasattr(value, "hour")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PaymentFact:
    """Money received against one invoice."""

    paid_on: date
    amount_minor: int
    source: str = "other"

    def __post_init__(self) -> None:
        if not _is_date(self.paid_on):
            raise ValueError("paid_on must be a date")
        if not _is_int(self.amount_minor) or self.amount_minor <= 0:
            raise ValueError("a payment amount is a positive int in minor units")
        if self.source not in SOURCES:
            raise ValueError(f"unknown payment source {self.source!r}")


@dataclass(frozen=True)
class InvoiceFact:
    """One invoice as it stands now: its total and every payment applied to it."""

    invoice_id: str
    debtor_id: str
    issue_date: date
    due_date: date
    total_minor: int
    currency: str
    payments: tuple[PaymentFact, ...] = ()
    status: str = "open"
    disputed_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "payments", tuple(self.payments))
        exponent(self.currency)  # unknown currency -> MoneyError
        if not (_is_date(self.issue_date) and _is_date(self.due_date)):
            raise ValueError("issue_date and due_date must be dates")
        if self.due_date < self.issue_date:
            raise ValueError("an invoice cannot fall due before it is issued")
        if not _is_int(self.total_minor) or self.total_minor < 0:
            raise ValueError("total_minor is a non-negative int")
        if self.paid_minor > self.total_minor:
            # Allocation never puts more on an invoice than its total: the excess is
            # account credit, which is not an invoice fact.
            raise ValueError("payments exceed the invoice total")

    @property
    def counts(self) -> bool:
        return self.status not in VOID_STATUSES

    @property
    def disputed(self) -> bool:
        return self.status == DISPUTED

    @property
    def paid_minor(self) -> int:
        return sum(p.amount_minor for p in self.payments)

    def counted_on(self, payment: PaymentFact) -> date:
        """The day a payment counts from: its date, or the issue date if it is earlier."""
        return max(payment.paid_on, self.issue_date)

    def balance_on(self, day: date) -> int:
        """Total less payments counted on or before ``day``; 0 before issue or if void."""
        if not self.counts or self.issue_date > day:
            return 0
        return self.total_minor - sum(
            p.amount_minor for p in self.payments if self.counted_on(p) <= day
        )

    @property
    def settled_on(self) -> date | None:
        """The day the payments first covered the total (None if unpaid, void or zero)."""
        if not self.counts or self.total_minor == 0:
            return None
        running = 0
        for p in sorted(self.payments, key=self.counted_on):
            running += p.amount_minor
            if running >= self.total_minor:
                return self.counted_on(p)
        return None

    def with_payment(self, payment: PaymentFact) -> InvoiceFact:
        return replace(self, payments=self.payments + (payment,))

    def without_payment(self, payment: PaymentFact) -> InvoiceFact:
        if payment not in self.payments:
            raise ValueError(f"invoice {self.invoice_id} has no such payment to reverse")
        rest = list(self.payments)
        rest.remove(payment)
        return replace(self, payments=tuple(rest))


@dataclass(frozen=True)
class PromiseFact:
    """A debtor's promise to pay an amount by a date; ``kept`` is None until it is judged."""

    debtor_id: str
    promised_on: date
    due_date: date
    amount_minor: int
    kept: bool | None = None

    def __post_init__(self) -> None:
        if not (_is_date(self.promised_on) and _is_date(self.due_date)):
            raise ValueError("promised_on and due_date must be dates")
        if self.due_date < self.promised_on:
            raise ValueError("a promise cannot fall due before it was made")
        if not _is_int(self.amount_minor) or self.amount_minor <= 0:
            raise ValueError("a promised amount is a positive int in minor units")


# --------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class InvoiceCreated:
    invoice: InvoiceFact
    kind = "invoice_created"


@dataclass(frozen=True)
class InvoiceChanged:
    """Any change to an invoice (total, due date, status): the invoice before and after."""

    old: InvoiceFact
    new: InvoiceFact
    kind = "invoice_changed"


@dataclass(frozen=True)
class PaymentApplied:
    """``invoice`` is the invoice as it stood before the payment."""

    invoice: InvoiceFact
    payment: PaymentFact
    kind = "payment_applied"


@dataclass(frozen=True)
class PaymentReversed:
    """``invoice`` is the invoice as it stood before the reversal (still holding the payment)."""

    invoice: InvoiceFact
    payment: PaymentFact
    kind = "payment_reversed"


@dataclass(frozen=True)
class PromiseRecorded:
    """A promise made (old None), judged or changed (both), or withdrawn (new None)."""

    old: PromiseFact | None
    new: PromiseFact | None
    kind = "promise_recorded"


Event = InvoiceCreated | InvoiceChanged | PaymentApplied | PaymentReversed | PromiseRecorded


# ---------------------------------------------------------------------------- small helpers


def _dp1(value: Fraction | None) -> Decimal | None:
    """Exact fraction -> Decimal with one decimal place, halves rounded away from zero."""
    if value is None:
        return None
    tenths = abs(value) * 10
    n = int(tenths + Fraction(1, 2))  # floor(|x|*10 + 1/2)
    return Decimal(-n if value < 0 else n).scaleb(-1)


def _ratio(num: int, den: int) -> Fraction | None:
    return None if den == 0 else Fraction(num, den)


def _days(start: date, end: date) -> int:
    return (end - start).days + 1


def bucket_for(days_past_due: int) -> str:
    """0 or fewer days past due is not yet due; 1-30, 31-60, 61-90; 91 and more is 90_plus."""
    if days_past_due <= 0:
        return "not_due"
    if days_past_due <= 30:
        return "1_30"
    if days_past_due <= 60:
        return "31_60"
    if days_past_due <= 90:
        return "61_90"
    return "90_plus"


def _month_windows(as_of: date, months: int) -> list[tuple[date, date, int]]:
    """Newest first: the month to date of ``as_of``, then whole calendar months before it."""
    windows = [(as_of.replace(day=1), as_of, as_of.day)]
    first = as_of.replace(day=1)
    for _ in range(months - 1):
        last = first - timedelta(days=1)
        first = last.replace(day=1)
        windows.append((first, last, last.day))  # last.day: the days in that month
    return windows


def _one_currency(invoices: Iterable[InvoiceFact]) -> str | None:
    found = {inv.currency.upper() for inv in invoices}
    if len(found) > 1:
        raise ValueError(f"figures are per currency; got {sorted(found)}")
    return found.pop() if found else None


# --------------------------------------------------------------- the primitive sums (facts)


@dataclass(frozen=True)
class DaysToPay:
    invoices: int
    plain: Decimal | None
    weighted: Decimal | None


@dataclass(frozen=True)
class Collected:
    total_minor: int
    by_source: dict[str, int]


@dataclass(frozen=True)
class PromiseRate:
    due: int
    kept: int
    rate: Decimal | None  # percent


@dataclass(frozen=True)
class DebtorOverdue:
    debtor_id: str
    overdue_minor: int
    disputed_minor: int  # the part of overdue_minor on disputed invoices
    oldest_due_date: date


class _FactsBook:
    """The primitive sums computed straight from facts."""

    def __init__(self, invoices: Iterable[InvoiceFact], promises: Iterable[PromiseFact] = ()):
        self.invoices = [inv for inv in invoices if inv.counts]
        self.promises = list(promises)

    def receivables_on(self, day: date) -> int:
        return sum(inv.balance_on(day) for inv in self.invoices)

    def aging_on(self, day: date) -> dict[str, int]:
        out = dict.fromkeys(BUCKETS, 0)
        for inv in self.invoices:
            out[bucket_for((day - inv.due_date).days)] += inv.balance_on(day)
        return out

    def credit_sales(self, start: date, end: date) -> int:
        return sum(inv.total_minor for inv in self.invoices if start <= inv.issue_date <= end)

    def collected(self, start: date, end: date) -> dict[str, int]:
        out = dict.fromkeys(SOURCES, 0)
        for inv in self.invoices:
            for p in inv.payments:
                if start <= inv.counted_on(p) <= end:
                    out[p.source] += p.amount_minor
        return out

    def settlements(self, start: date, end: date) -> tuple[int, int, int, int]:
        n = days = weight = weighted_days = 0
        for inv in self.invoices:
            s = inv.settled_on
            if s is not None and start <= s <= end:
                late = (s - inv.due_date).days
                n, days = n + 1, days + late
                weight, weighted_days = weight + inv.total_minor, weighted_days + inv.total_minor * late
        return n, days, weight, weighted_days

    def promises_due(self, as_of: date) -> tuple[int, int]:
        due = [p for p in self.promises if p.due_date <= as_of]
        return len(due), sum(1 for p in due if p.kept is True)

    def overdue_by_debtor(self, as_of: date) -> dict[str, tuple[int, int, date]]:
        out: dict[str, tuple[int, int, date]] = {}
        for inv in self.invoices:
            bal = inv.balance_on(as_of)
            if inv.due_date < as_of and bal > 0:
                o, d, oldest = out.get(inv.debtor_id, (0, 0, inv.due_date))
                out[inv.debtor_id] = (o + bal, d + (bal if inv.disputed else 0),
                                      min(oldest, inv.due_date))
        return out


# ------------------------------------------------------------- formulas shared by both books


def _countback(book: Any, as_of: date, months: int) -> Fraction:
    if months < 1:
        raise ValueError("countback needs at least one month")
    remaining = book.receivables_on(as_of)
    total = Fraction(0)
    for start, end, days in _month_windows(as_of, months):
        if remaining <= 0:
            break
        sales = book.credit_sales(start, end)
        if sales <= remaining:
            total += days
            remaining -= sales
        else:
            total += Fraction(days * remaining, sales)
            remaining = 0
    return total


def _dso_parts(book: Any, start: date, end: date) -> tuple[int, int, int, int]:
    sales = book.credit_sales(start, end)
    return book.receivables_on(end), book.aging_on(end)["not_due"], sales, _days(start, end)


def _dso_simple(book: Any, start: date, end: date) -> Fraction | None:
    ar, _, sales, days = _dso_parts(book, start, end)
    r = _ratio(ar, sales)
    return None if r is None else r * days


def _bpdso(book: Any, start: date, end: date) -> Fraction | None:
    _, current, sales, days = _dso_parts(book, start, end)
    r = _ratio(current, sales)
    return None if r is None else r * days


def _add(book: Any, start: date, end: date) -> Fraction | None:
    ar, current, sales, days = _dso_parts(book, start, end)
    r = _ratio(ar - current, sales)
    return None if r is None else r * days


def _cei(book: Any, start: date, end: date) -> Fraction | None:
    opening = book.receivables_on(start - timedelta(days=1))
    sales = book.credit_sales(start, end)
    closing = book.receivables_on(end)
    current = book.aging_on(end)["not_due"]
    r = _ratio(opening + sales - closing, opening + sales - current)
    return None if r is None else r * 100


def _collected(book: Any, start: date, end: date) -> Collected:
    by_source = book.collected(start, end)
    return Collected(sum(by_source.values()), by_source)


def _days_to_pay(book: Any, start: date, end: date) -> DaysToPay:
    n, days, weight, weighted_days = book.settlements(start, end)
    return DaysToPay(n, _dp1(_ratio(days, n)), _dp1(_ratio(weighted_days, weight)))


def _promise_rate(book: Any, as_of: date) -> PromiseRate:
    due, kept = book.promises_due(as_of)
    r = _ratio(kept * 100, due)
    return PromiseRate(due, kept, _dp1(r))


def _top_overdue(book: Any, as_of: date, n: int) -> list[DebtorOverdue]:
    rows = [DebtorOverdue(debtor, o, d, oldest)
            for debtor, (o, d, oldest) in book.overdue_by_debtor(as_of).items() if o > 0]
    rows.sort(key=lambda r: (-r.overdue_minor, r.oldest_due_date, r.debtor_id))
    return rows[: max(n, 0)]


# ----------------------------------------------------------------- public, from the facts


def receivables(invoices: Iterable[InvoiceFact], as_of: date) -> int:
    """Receivables: the sum of open balances at the close of the day (total less payments
    on or before it, for invoices issued on or before it)."""
    return _FactsBook(invoices).receivables_on(as_of)


def credit_sales(invoices: Iterable[InvoiceFact], start: date, end: date) -> int:
    """Credit sales: the totals of invoices issued between the two dates, inclusive."""
    return _FactsBook(invoices).credit_sales(start, end)


def aging(invoices: Iterable[InvoiceFact], as_of: date) -> dict[str, int]:
    """Aging: each invoice's balance as of the date (total less payments on or before it),
    grouped by days past due: not yet due (due on or after the date), 1-30, 31-60, 61-90,
    and over 90 days."""
    return _FactsBook(invoices).aging_on(as_of)


def dso_countback(invoices: Iterable[InvoiceFact], as_of: date, months: int = 12) -> Decimal:
    """DSO (countback): start from receivables at the date and walk back month by month
    (this month to date first), subtracting each month's credit sales; each month fully
    absorbed adds its days, the month that is only partly absorbed adds the same fraction
    of its days. Receivables older than the look-back window (``months``) add nothing more."""
    return _dp1(_countback(_FactsBook(invoices), as_of, months))  # type: ignore[return-value]


def dso_simple(invoices: Iterable[InvoiceFact], period_start: date, period_end: date) -> Decimal | None:
    """DSO (simple): receivables at the end of the period ÷ credit sales in the period ×
    days in the period."""
    return _dp1(_dso_simple(_FactsBook(invoices), period_start, period_end))


def best_possible_dso(invoices: Iterable[InvoiceFact], period_start: date,
                      period_end: date) -> Decimal | None:
    """Best possible DSO: receivables not yet due at the end of the period ÷ credit sales in
    the period × days in the period (the DSO if every customer paid on the due date)."""
    return _dp1(_bpdso(_FactsBook(invoices), period_start, period_end))


def add(invoices: Iterable[InvoiceFact], period_start: date, period_end: date) -> Decimal | None:
    """Average days delinquent: simple DSO − best possible DSO for the period, that is
    overdue receivables at the end ÷ credit sales in the period × days in the period."""
    return _dp1(_add(_FactsBook(invoices), period_start, period_end))


average_days_delinquent = add


def cei(invoices: Iterable[InvoiceFact], period_start: date, period_end: date) -> Decimal | None:
    """Collection effectiveness index: (opening receivables + credit sales − closing
    receivables) ÷ (opening receivables + credit sales − closing receivables not yet due)
    × 100. Opening is the close of the day before the period."""
    return _dp1(_cei(_FactsBook(invoices), period_start, period_end))


def collected(invoices: Iterable[InvoiceFact], start: date, end: date) -> Collected:
    """Collected: payments counted between the two dates, inclusive, in total and by source
    (link, transfer, plan, cheque, other)."""
    return _collected(_FactsBook(invoices), start, end)


def average_days_to_pay(invoices: Iterable[InvoiceFact], start: date, end: date) -> DaysToPay:
    """Average days to pay: over invoices fully paid between the two dates, the mean of
    (day the payments first covered the total − due date); negative means early. The
    weighted figure weights each invoice by its total."""
    return _days_to_pay(_FactsBook(invoices), start, end)


def promise_kept_rate(promises: Iterable[PromiseFact], as_of: date) -> PromiseRate:
    """Promise-kept rate: promises kept (paid in full by their date) ÷ promises due on or
    before the date × 100. A due promise not yet judged counts as not kept."""
    return _promise_rate(_FactsBook((), promises), as_of)


def top_overdue_debtors(invoices: Iterable[InvoiceFact], as_of: date, n: int = 10) -> list[DebtorOverdue]:
    """Top overdue debtors: debtors ranked by the sum of their balances past due at the date,
    largest first (ties: oldest due date, then debtor id); shows the disputed part."""
    return _top_overdue(_FactsBook(invoices), as_of, n)


DEFINITIONS: dict[str, str] = {
    fn.__name__: " ".join((fn.__doc__ or "").split())
    for fn in (receivables, aging, dso_countback, dso_simple, best_possible_dso, add, cei,
               collected, average_days_to_pay, promise_kept_rate, top_overdue_debtors)
}


# ------------------------------------------------------------------------ all the figures


def _figures(book: Any, currency: str | None, as_of: date, period_start: date | None,
             countback_months: int, top_n: int) -> dict[str, Any]:
    start = period_start or as_of.replace(day=1)
    if start > as_of:
        raise ValueError("period_start is after as_of")
    aged = book.aging_on(as_of)
    money_in = _collected(book, start, as_of)
    pay = _days_to_pay(book, start, as_of)
    promises = _promise_rate(book, as_of)
    return {
        "currency": currency,
        "as_of": as_of.isoformat(),
        "period_start": start.isoformat(),
        "receivables_minor": book.receivables_on(as_of),
        "overdue_minor": sum(v for k, v in aged.items() if k != "not_due"),
        "aging": aged,
        "credit_sales_minor": book.credit_sales(start, as_of),
        "dso_countback": _dp1(_countback(book, as_of, countback_months)),
        "dso_simple": _dp1(_dso_simple(book, start, as_of)),
        "best_possible_dso": _dp1(_bpdso(book, start, as_of)),
        "add": _dp1(_add(book, start, as_of)),
        "cei": _dp1(_cei(book, start, as_of)),
        "collected": {"total_minor": money_in.total_minor, "by_source": money_in.by_source},
        "average_days_to_pay": {"invoices": pay.invoices, "plain": pay.plain,
                                "weighted": pay.weighted},
        "promise_kept_rate": {"due": promises.due, "kept": promises.kept, "rate": promises.rate},
        "top_overdue_debtors": [
            {"debtor_id": r.debtor_id, "overdue_minor": r.overdue_minor,
             "disputed_minor": r.disputed_minor, "oldest_due_date": r.oldest_due_date.isoformat()}
            for r in _top_overdue(book, as_of, top_n)
        ],
    }


def figures_from_facts(invoices: Iterable[InvoiceFact], promises: Iterable[PromiseFact],
                       as_of: date, *, currency: str | None = None, period_start: date | None = None,
                       countback_months: int = 12, top_n: int = 10) -> dict[str, Any]:
    """Every figure at once, recomputed from facts. The period (for simple DSO, best possible
    DSO, ADD, CEI, collected and days to pay) runs from ``period_start`` (default: the first
    of the month) to ``as_of``."""
    invoices = list(invoices)
    found = _one_currency(invoices)
    if currency and found and found != currency.upper():
        raise ValueError(f"invoices are in {found}, not {currency}")
    return _figures(_FactsBook(invoices, promises), (currency or found or "").upper() or None,
                    as_of, period_start, countback_months, top_n)


# ------------------------------------------------------------------- the incremental book


class AsOfBeforeHorizon(ValueError):
    """The aggregate holds balances as they are now; it cannot age them as of a day
    before its latest payment. Use a stored snapshot for history."""


def _bump(counter: dict, key: str, delta: int) -> None:
    value = counter.get(key, 0) + delta
    if value:
        counter[key] = value
    else:
        counter.pop(key, None)


def _bump2(counter: dict, key: str, sub: str, delta: int) -> None:
    inner = counter.setdefault(key, {})
    _bump(inner, sub, delta)
    if not inner:
        del counter[key]


@dataclass
class ClientAggregate:
    """Counters for one client in one currency, keyed by ISO day, that add up to the figures.

    * ``sales_by_issue_day``   {issue day: credit sales}
    * ``open_by_due_day``      {due day: {debtor: balance now}}  -- empties as invoices are paid
    * ``disputed_by_due_day``  {due day: {debtor: balance now on disputed invoices}}
    * ``collected_by_day``     {day counted: {source: amount}}
    * ``settled_by_day``       {day fully paid: {"n", "days_late", "minor", "minor_days_late"}}
    * ``promises_by_due_day``  {promise due day: {"n", "kept"}}

    Zero counters are dropped, so storage grows with active days, not with invoices.
    ``apply`` subtracts an invoice's contribution before the event and adds it after. The
    deltas commute, so events may arrive in any order as long as each event's before/after
    states are true ones; but each must be applied exactly once (deduplicate upstream, e.g.
    a conditional write on the event id in the same transaction as the aggregate update).
    """

    currency: str
    sales_by_issue_day: dict[str, int] = field(default_factory=dict)
    open_by_due_day: dict[str, dict[str, int]] = field(default_factory=dict)
    disputed_by_due_day: dict[str, dict[str, int]] = field(default_factory=dict)
    collected_by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    settled_by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    promises_by_due_day: dict[str, dict[str, int]] = field(default_factory=dict)

    VERSION = 1
    _FIELDS = ("sales_by_issue_day", "open_by_due_day", "disputed_by_due_day",
               "collected_by_day", "settled_by_day", "promises_by_due_day")

    def __post_init__(self) -> None:
        exponent(self.currency)
        self.currency = self.currency.upper()

    # -- changes

    def apply(self, event: Event) -> None:
        if isinstance(event, InvoiceCreated):
            self._invoice(event.invoice, +1)
        elif isinstance(event, InvoiceChanged):
            if event.old.invoice_id != event.new.invoice_id:
                raise ValueError("invoice_changed must describe one invoice")
            self._swap(event.old, event.new)
        elif isinstance(event, PaymentApplied):
            self._swap(event.invoice, event.invoice.with_payment(event.payment))
        elif isinstance(event, PaymentReversed):
            self._swap(event.invoice, event.invoice.without_payment(event.payment))
        elif isinstance(event, PromiseRecorded):
            if event.old is not None:
                self._promise(event.old, -1)
            if event.new is not None:
                self._promise(event.new, +1)
        else:
            raise TypeError(f"not a KPI event: {event!r}")

    def _swap(self, old: InvoiceFact, new: InvoiceFact) -> None:
        self._check(new)
        self._invoice(old, -1)
        self._invoice(new, +1)

    def _check(self, inv: InvoiceFact) -> None:
        if inv.currency.upper() != self.currency:
            raise ValueError(f"a {self.currency} aggregate cannot take a {inv.currency} invoice")

    def _invoice(self, inv: InvoiceFact, sign: int) -> None:
        self._check(inv)
        if not inv.counts:
            return
        due = inv.due_date.isoformat()
        _bump(self.sales_by_issue_day, inv.issue_date.isoformat(), sign * inv.total_minor)
        balance = inv.total_minor - inv.paid_minor
        _bump2(self.open_by_due_day, due, inv.debtor_id, sign * balance)
        if inv.disputed:
            _bump2(self.disputed_by_due_day, due, inv.debtor_id, sign * balance)
        for p in inv.payments:
            _bump2(self.collected_by_day, inv.counted_on(p).isoformat(), p.source,
                   sign * p.amount_minor)
        settled = inv.settled_on
        if settled is not None:
            late = (settled - inv.due_date).days
            key = settled.isoformat()
            for name, value in (("n", 1), ("days_late", late), ("minor", inv.total_minor),
                                ("minor_days_late", inv.total_minor * late)):
                _bump2(self.settled_by_day, key, name, sign * value)

    def _promise(self, promise: PromiseFact, sign: int) -> None:
        key = promise.due_date.isoformat()
        _bump2(self.promises_by_due_day, key, "n", sign)
        if promise.kept is True:
            _bump2(self.promises_by_due_day, key, "kept", sign)

    # -- reading (the same primitive sums as _FactsBook)

    @property
    def horizon(self) -> date | None:
        """The latest day a payment counts on; aging is exact on or after it."""
        return date.fromisoformat(max(self.collected_by_day)) if self.collected_by_day else None

    def receivables_on(self, day: date) -> int:
        # Exact for any day: sales issued by then less payments counted by then.
        d = day.isoformat()
        sales = sum(v for k, v in self.sales_by_issue_day.items() if k <= d)
        paid = sum(sum(v.values()) for k, v in self.collected_by_day.items() if k <= d)
        return sales - paid

    def _require_horizon(self, day: date) -> None:
        h = self.horizon
        if h is not None and day < h:
            raise AsOfBeforeHorizon(f"balances hold payments up to {h}; cannot age them as of {day}")

    def aging_on(self, day: date) -> dict[str, int]:
        self._require_horizon(day)
        out = dict.fromkeys(BUCKETS, 0)
        for due, by_debtor in self.open_by_due_day.items():
            out[bucket_for((day - date.fromisoformat(due)).days)] += sum(by_debtor.values())
        # Invoices issued after the day are not receivables yet; having no payments counted
        # (all payments are on or before the day), their balance is their total, and since
        # due >= issue > day they sit in not_due.
        d = day.isoformat()
        out["not_due"] -= sum(v for k, v in self.sales_by_issue_day.items() if k > d)
        return out

    def credit_sales(self, start: date, end: date) -> int:
        s, e = start.isoformat(), end.isoformat()
        return sum(v for k, v in self.sales_by_issue_day.items() if s <= k <= e)

    def collected(self, start: date, end: date) -> dict[str, int]:
        s, e = start.isoformat(), end.isoformat()
        out = dict.fromkeys(SOURCES, 0)
        for k, by_source in self.collected_by_day.items():
            if s <= k <= e:
                for source, amount in by_source.items():
                    out[source] += amount
        return out

    def settlements(self, start: date, end: date) -> tuple[int, int, int, int]:
        s, e = start.isoformat(), end.isoformat()
        rows = [v for k, v in self.settled_by_day.items() if s <= k <= e]
        return tuple(sum(r.get(name, 0) for r in rows)  # type: ignore[return-value]
                     for name in ("n", "days_late", "minor", "minor_days_late"))

    def promises_due(self, as_of: date) -> tuple[int, int]:
        d = as_of.isoformat()
        rows = [v for k, v in self.promises_by_due_day.items() if k <= d]
        return sum(r.get("n", 0) for r in rows), sum(r.get("kept", 0) for r in rows)

    def overdue_by_debtor(self, as_of: date) -> dict[str, tuple[int, int, date]]:
        self._require_horizon(as_of)
        d = as_of.isoformat()
        out: dict[str, tuple[int, int, date]] = {}
        for due in sorted(k for k in self.open_by_due_day if k < d):
            disputed = self.disputed_by_due_day.get(due, {})
            for debtor, bal in self.open_by_due_day[due].items():
                o, dis, oldest = out.get(debtor, (0, 0, date.fromisoformat(due)))
                out[debtor] = (o + bal, dis + disputed.get(debtor, 0), oldest)
        return out

    def debtors_overdue(self, as_of: date) -> int:
        """How many debtors have a balance past due at the close of ``as_of``."""
        return len(self.overdue_by_debtor(as_of))

    def figures(self, as_of: date, *, period_start: date | None = None,
                countback_months: int = 12, top_n: int = 10) -> dict[str, Any]:
        """The same dict as ``figures_from_facts``; ``as_of`` must not precede ``horizon``."""
        self._require_horizon(as_of)
        return _figures(self, self.currency, as_of, period_start, countback_months, top_n)

    # -- storage

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.VERSION, "currency": self.currency}
        for name in self._FIELDS:
            value = getattr(self, name)
            out[name] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in value.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientAggregate:
        if data.get("version") != cls.VERSION:
            raise ValueError(f"unknown aggregate version {data.get('version')!r}")

        def ints(value: Any) -> Any:  # DynamoDB hands numbers back as Decimal
            return {k: ints(v) for k, v in value.items()} if isinstance(value, Mapping) else int(value)

        return cls(data["currency"], **{name: ints(data.get(name, {})) for name in cls._FIELDS})

    @classmethod
    def from_facts(cls, currency: str, invoices: Iterable[InvoiceFact],
                   promises: Iterable[PromiseFact] = ()) -> ClientAggregate:
        """Build from scratch (onboarding, or a rebuild to check a maintained aggregate)."""
        agg = cls(currency)
        for inv in invoices:
            agg.apply(InvoiceCreated(inv))
        for promise in promises:
            agg.apply(PromiseRecorded(None, promise))
        return agg


# ---------------------------------------------------------------------- snapshots and deltas


def snapshot(aggregate: ClientAggregate, as_of: date, **options: Any) -> dict[str, Any]:
    """The figures as of a day, ready to store (baseline at onboarding, daily/monthly history).
    Ratios stay ``Decimal`` (DynamoDB's number type); dates are ISO strings."""
    return {"snapshot_version": 1, **aggregate.figures(as_of, **options)}


# Which way is better for each compared figure: -1 lower is better, +1 higher, 0 neither.
_DIRECTION: dict[str, int] = {
    "receivables_minor": 0, "overdue_minor": -1, "credit_sales_minor": 0,
    "aging.not_due": 0, "aging.1_30": -1, "aging.31_60": -1, "aging.61_90": -1, "aging.90_plus": -1,
    "dso_countback": -1, "dso_simple": -1, "best_possible_dso": 0, "add": -1, "cei": +1,
    "collected.total_minor": +1, "average_days_to_pay.plain": -1,
    "average_days_to_pay.weighted": -1, "promise_kept_rate.rate": +1,
}


def _leaf(snap: Mapping[str, Any], path: str) -> Any:
    value: Any = snap
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def compare(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """Deltas from a baseline snapshot to a current one: for each figure, the two values,
    ``delta`` (current − baseline, None if either is None) and ``better`` (True/False, None
    when the figure has no better direction or did not move or is missing)."""
    if baseline.get("currency") != current.get("currency"):
        raise ValueError("cannot compare snapshots in different currencies")
    out: dict[str, Any] = {
        "from": baseline["as_of"], "to": current["as_of"],
        "days": (date.fromisoformat(current["as_of"]) - date.fromisoformat(baseline["as_of"])).days,
        "figures": {},
    }
    for path, direction in _DIRECTION.items():
        b, c = _leaf(baseline, path), _leaf(current, path)
        delta = None if b is None or c is None else c - b
        better = None if not delta or not direction else (delta * direction > 0)
        out["figures"][path] = {"baseline": b, "current": c, "delta": delta, "better": better}
    return out
