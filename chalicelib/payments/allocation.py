"""Applying a payment to open invoices (chosen first, else oldest due first) and reversing it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from chalicelib.kernel.money import MoneyError, exponent

CLOSED = frozenset({"paid", "cancelled", "void", "written_off"})
DISPUTED = "disputed"


class AllocationError(ValueError):
    """A payment that cannot be allocated as asked: the message says why."""


@dataclass(frozen=True)
class OpenItem:
    """An invoice that may take money: balance in minor units."""

    invoice_id: str
    due_date: date
    issue_date: date
    balance_minor: int
    currency: str
    status: str = "open"


@dataclass(frozen=True)
class AllocationLine:
    invoice_id: str
    applied_minor: int
    previous_balance: int
    new_balance: int
    new_status: str  # "paid" | "part_paid"
    previous_status: str


@dataclass(frozen=True)
class Allocation:
    """Where a payment went; `credit_minor` is what no invoice took (kept on the account)."""

    amount_minor: int
    currency: str
    lines: tuple[AllocationLine, ...]
    credit_minor: int

    @property
    def applied_minor(self) -> int:
        return sum(line.applied_minor for line in self.lines)


@dataclass(frozen=True)
class ReversalLine:
    invoice_id: str
    restored_minor: int
    balance_after: int  # the balance this allocation left, plus what is restored
    status: str


@dataclass(frozen=True)
class Reversal:
    """What a refund or chargeback undoes: credit taken back first, then invoices reopened."""

    amount_minor: int
    currency: str
    credit_removed_minor: int
    lines: tuple[ReversalLine, ...]


def _check_amount(amount_minor: int, currency: str) -> None:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise AllocationError("amount must be a positive whole number of minor units")
    try:
        exponent(currency)
    except MoneyError as exc:
        raise AllocationError(str(exc)) from None


def _order(items: list[OpenItem], chosen: list[str] | None) -> list[OpenItem]:
    by_id = {item.invoice_id: item for item in items}
    if chosen is not None:
        if len(set(chosen)) != len(chosen):
            raise AllocationError("an invoice is chosen more than once")
        missing = [invoice_id for invoice_id in chosen if invoice_id not in by_id]
        if missing:
            raise AllocationError(f"unknown invoice {missing[0]!r}")
        return [by_id[invoice_id] for invoice_id in chosen]
    unchosen = [item for item in items if item.status != DISPUTED]
    return sorted(unchosen, key=lambda item: (item.due_date, item.issue_date, item.invoice_id))


def allocate(amount_minor: int, currency: str, invoices: list[OpenItem],
             chosen: list[str] | None = None, *, then_oldest: bool = False) -> Allocation:
    """Apply a payment. Chosen invoices are paid in the order given (even disputed ones);
    without a choice, the oldest due is paid first and disputed invoices are skipped.
    What is left becomes credit, unless `then_oldest` lets it pay the other open invoices
    oldest first. Every invoice given must be in the payment's currency.
    """
    _check_amount(amount_minor, currency)
    if len({item.invoice_id for item in invoices}) != len(invoices):
        raise AllocationError("the same invoice is listed twice")
    for item in invoices:
        if item.currency != currency:
            raise AllocationError(f"invoice {item.invoice_id!r} is in {item.currency}, payment in {currency}")
    order = _order(invoices, chosen)
    if chosen is not None and then_oldest:
        picked = set(chosen)
        order += [item for item in _order(invoices, None) if item.invoice_id not in picked]
    remaining = amount_minor
    lines: list[AllocationLine] = []
    for item in order:
        if remaining == 0:
            break
        if item.status in CLOSED or item.balance_minor <= 0:
            continue  # e.g. paid by another payment a moment ago: the money goes on
        applied = min(remaining, item.balance_minor)
        new_balance = item.balance_minor - applied
        lines.append(AllocationLine(item.invoice_id, applied, item.balance_minor, new_balance,
                                    "paid" if new_balance == 0 else "part_paid", item.status))
        remaining -= applied
    return Allocation(amount_minor, currency, tuple(lines), remaining)


def reverse(allocation: Allocation, amount_minor: int | None = None) -> Reversal:
    """Undo an allocation in full, or `amount_minor` of it: the credit is taken back first,
    then invoices are reopened in the reverse of the order they were paid. Services add
    `restored_minor` to the invoice's current balance (other payments may have landed since)."""
    amount = allocation.amount_minor if amount_minor is None else amount_minor
    _check_amount(amount, allocation.currency)
    if amount > allocation.amount_minor:
        raise AllocationError("cannot reverse more than was paid")
    credit = min(amount, allocation.credit_minor)
    remaining = amount - credit
    lines: list[ReversalLine] = []
    for line in reversed(allocation.lines):
        if remaining == 0:
            break
        restored = min(remaining, line.applied_minor)
        status = line.previous_status if restored == line.applied_minor else "part_paid"
        if line.previous_status == DISPUTED:
            status = DISPUTED
        lines.append(ReversalLine(line.invoice_id, restored, line.new_balance + restored, status))
        remaining -= restored
    return Reversal(amount, allocation.currency, credit, tuple(lines))
