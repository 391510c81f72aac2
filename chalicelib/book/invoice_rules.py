"""Invoice states and the account position derived from what is still owed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

STATUSES = ("open", "part_paid", "paid", "disputed", "on_hold", "in_collections",
            "written_off", "settled_outside")
# Statuses in which the invoice is still owed and counts in the account's balance.
OWED = frozenset({"open", "part_paid", "disputed", "on_hold", "in_collections"})
# Statuses a specialist may set by hand; the rest follow from money movements.
MANUAL = frozenset({"disputed", "on_hold", "in_collections", "written_off", "open"})


def status_for_balance(total_minor: int, balance_minor: int, current: str | None = None) -> str:
    """The money-driven status; a held, disputed or escalated invoice keeps its status
    while anything is owed."""
    if balance_minor <= 0:
        return "paid"
    if current in ("disputed", "on_hold", "in_collections", "written_off"):
        return current
    return "part_paid" if balance_minor < total_minor else "open"


@dataclass(frozen=True)
class Position:
    balance_minor: int
    overdue_minor: int
    open_invoices: int
    oldest_due: date | None


def position(invoices: list[tuple[str, date, int]], today: date) -> Position:
    """Account position from (status, due_date, balance) of each invoice."""
    owed = [(s, d, b) for s, d, b in invoices if s in OWED and b > 0]
    return Position(
        balance_minor=sum(b for _, _, b in owed),
        overdue_minor=sum(b for _, d, b in owed if d < today),
        open_invoices=len(owed),
        oldest_due=min((d for _, d, _ in owed), default=None),
    )


# ------------------------------------------------------------------------ money paid outside


def adjust_paid_outside(entries: list | None, delta: int, day: date) -> list[list]:
    """Money the client's own book says was paid without Recoup: [[ISO day, amount], ...].
    A positive delta is received on ``day``; a negative one takes back the newest first."""
    out = [[d, int(a)] for d, a in (entries or [])]
    if delta > 0:
        out.append([day.isoformat(), delta])
    take = -delta
    while take > 0 and out:
        d, a = out[-1]
        if a <= take:
            out.pop()
            take -= a
        else:
            out[-1] = [d, a - take]
            take = 0
    return out


def paid_outside_delta(old_total: int, old_balance: int, new_total: int, new_balance: int) -> int:
    """What the book says was paid meanwhile: the change in (total − balance)."""
    return (new_total - new_balance) - (old_total - old_balance)


# ------------------------------------------------------------------------ settlement history

SETTLED_SOURCES = ("recoup", "book", "gone_from_book")


@dataclass(frozen=True)
class Settlement:
    """When an invoice was paid, as far as anyone can tell. ``paid_on`` is the day a source
    states (a payment taken through Recoup, the paid date in the client's book); without one
    the invoice was paid on some day from ``earliest`` to ``latest`` inclusive: the last
    import that saw it owed and the import that saw it paid or gone from the book."""

    source: str
    earliest: date
    latest: date
    paid_on: date | None = None

    def __post_init__(self) -> None:
        if self.source not in SETTLED_SOURCES:
            raise ValueError(f"unknown settlement source {self.source!r}")
        if self.earliest > self.latest:
            raise ValueError("a settlement cannot end before it starts")


def stated(source: str, paid_on: date) -> Settlement:
    return Settlement(source, paid_on, paid_on, paid_on)


def bounded(source: str, last_seen_owed: date, seen_settled: date) -> Settlement:
    """Paid between two imports; the earlier day is inclusive (the book was exported that
    day, and the money may have arrived after)."""
    return Settlement(source, min(last_seen_owed, seen_settled), seen_settled)


def last_seen_owed(created: date, seen_open: date | None, last_full_import: date | None) -> date:
    """The latest day an import showed the invoice still owed: the last import that wrote it
    open, or the last full book before this one (a full book that did not settle an open
    invoice listed it), never before the invoice reached Recoup."""
    days = [created, *(d for d in (seen_open, last_full_import) if d is not None and d >= created)]
    return max(days)
