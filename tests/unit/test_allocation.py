"""Applying payments to invoices, credit on overpayment, and reversing for refunds."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.payments.allocation import AllocationError, OpenItem, allocate, reverse


def item(invoice_id: str, due: date, balance: int, status: str = "open", issue: date | None = None,
         currency: str = "GBP") -> OpenItem:
    return OpenItem(invoice_id, due, issue or due - timedelta(days=30), balance, currency, status)


A = item("A", date(2024, 3, 1), 5_000)
B = item("B", date(2024, 2, 1), 3_000)
C = item("C", date(2024, 4, 1), 2_000)


def applied(allocation) -> list[tuple[str, int, int, str]]:
    return [(x.invoice_id, x.applied_minor, x.new_balance, x.new_status) for x in allocation.lines]


def test_oldest_due_is_paid_first() -> None:
    # GIVEN A due 1 Mar (50.00), B due 1 Feb (30.00), C due 1 Apr (20.00)
    # WHEN 60.00 arrives without instructions
    result = allocate(6_000, "GBP", [A, B, C])
    # THEN B takes 30.00 (paid), A takes 60-30 = 30.00 of 50.00 (20.00 left), C nothing
    assert applied(result) == [("B", 3_000, 0, "paid"), ("A", 3_000, 2_000, "part_paid")]
    assert result.credit_minor == 0 and result.applied_minor == 6_000


def test_ties_on_due_date_go_by_issue_date_then_id() -> None:
    due = date(2024, 3, 1)
    later_issue = item("X1", due, 1_000, issue=date(2024, 2, 10))
    earlier_issue = item("X2", due, 1_000, issue=date(2024, 2, 1))
    same_b = item("Y-b", due, 1_000, issue=date(2024, 2, 20))
    same_a = item("Y-a", due, 1_000, issue=date(2024, 2, 20))
    result = allocate(4_000, "GBP", [same_b, later_issue, same_a, earlier_issue])
    assert [x.invoice_id for x in result.lines] == ["X2", "X1", "Y-a", "Y-b"]


def test_disputed_invoices_are_skipped_unless_chosen() -> None:
    # GIVEN B (oldest) is disputed
    disputed_b = item("B", date(2024, 2, 1), 3_000, status="disputed")
    # WHEN 60.00 arrives unassigned THEN A 50.00 then C 10.00; B untouched
    result = allocate(6_000, "GBP", [A, disputed_b, C])
    assert applied(result) == [("A", 5_000, 0, "paid"), ("C", 1_000, 1_000, "part_paid")]
    # WHEN the debtor explicitly chooses B THEN B is paid
    chosen = allocate(3_000, "GBP", [A, disputed_b, C], chosen=["B"])
    assert applied(chosen) == [("B", 3_000, 0, "paid")]


def test_chosen_invoices_are_paid_in_the_order_given() -> None:
    # WHEN 30.00 is for C then A THEN C 20.00 (paid), A 30-20 = 10.00 (40.00 left)
    result = allocate(3_000, "GBP", [A, B, C], chosen=["C", "A"])
    assert applied(result) == [("C", 2_000, 0, "paid"), ("A", 1_000, 4_000, "part_paid")]


def test_money_beyond_the_chosen_invoices_is_credit_unless_allowed_to_spill() -> None:
    # GIVEN 40.00 for C (20.00) only
    kept = allocate(4_000, "GBP", [A, B, C], chosen=["C"])
    assert applied(kept) == [("C", 2_000, 0, "paid")] and kept.credit_minor == 2_000
    # WHEN spilling is allowed THEN the other 20.00 pays the oldest, B
    spilled = allocate(4_000, "GBP", [A, B, C], chosen=["C"], then_oldest=True)
    assert applied(spilled) == [("C", 2_000, 0, "paid"), ("B", 2_000, 1_000, "part_paid")]
    assert spilled.credit_minor == 0


def test_overpayment_becomes_credit_never_lost() -> None:
    # GIVEN 100.00 owed in all; WHEN 120.00 arrives THEN 20.00 credit
    result = allocate(12_000, "GBP", [A, B, C])
    assert [x.new_status for x in result.lines] == ["paid", "paid", "paid"]
    assert result.credit_minor == 2_000
    assert result.applied_minor + result.credit_minor == 12_000


def test_payment_with_no_open_invoices_is_all_credit() -> None:
    result = allocate(500, "GBP", [item("P", date(2024, 1, 1), 0, status="paid")])
    assert result.lines == () and result.credit_minor == 500


def test_a_chosen_invoice_paid_meanwhile_is_passed_over() -> None:
    # GIVEN the chosen invoice was paid by another payment a moment ago
    paid = item("A", date(2024, 3, 1), 0, status="paid")
    result = allocate(1_000, "GBP", [paid, B], chosen=["A"])
    # THEN the money is not lost: it is credit
    assert result.lines == () and result.credit_minor == 1_000


def test_zero_decimal_currency() -> None:
    # GIVEN ¥15,000 and ¥7,000 open (minor = yen); WHEN ¥20,000 arrives
    yen = [item("J1", date(2024, 1, 1), 15_000, currency="JPY"), item("J2", date(2024, 2, 1), 7_000, currency="JPY")]
    result = allocate(20_000, "JPY", yen)
    # THEN J1 15000 paid, J2 20000-15000 = 5000 (2000 left)
    assert applied(result) == [("J1", 15_000, 0, "paid"), ("J2", 5_000, 2_000, "part_paid")]


@pytest.mark.parametrize(("amount", "currency", "items", "chosen"), [
    (1_000, "EUR", [A], None),                               # currency mismatch
    (1_000, "GBP", [item("E", date(2024, 1, 1), 1, currency="EUR")], None),
    (0, "GBP", [A], None),                                   # nothing paid
    (-5, "GBP", [A], None),
    (1_000, "XXX", [A], None),                               # unknown currency
    (1_000, "GBP", [A], ["Z"]),                              # unknown chosen invoice
    (1_000, "GBP", [A], ["A", "A"]),                         # chosen twice
    (1_000, "GBP", [A, A], None),                            # listed twice
])
def test_bad_requests_are_refused(amount: int, currency: str, items: list, chosen: list | None) -> None:
    with pytest.raises(AllocationError):
        allocate(amount, currency, items, chosen)


def test_full_reversal_reopens_each_invoice_and_removes_credit() -> None:
    # GIVEN 120.00 paid A, B, C (100.00) with 20.00 credit
    allocation = allocate(12_000, "GBP", [A, B, C])
    # WHEN the whole payment is charged back
    result = reverse(allocation)
    # THEN credit 20.00 goes first, then C, A, B reopen at their old balances and status
    assert result.credit_removed_minor == 2_000
    assert [(x.invoice_id, x.restored_minor, x.balance_after, x.status) for x in result.lines] == [
        ("C", 2_000, 2_000, "open"), ("A", 5_000, 5_000, "open"), ("B", 3_000, 3_000, "open")]


def test_partial_refund_takes_credit_then_the_last_invoice_paid() -> None:
    # GIVEN 60.00 paid B 30.00 and A 30.00 (no credit)
    allocation = allocate(6_000, "GBP", [A, B, C])
    # WHEN 40.00 is refunded THEN A gets 30.00 back (50.00 due), B 10.00 (10.00 due, part paid)
    result = reverse(allocation, 4_000)
    assert result.credit_removed_minor == 0
    assert [(x.invoice_id, x.restored_minor, x.balance_after, x.status) for x in result.lines] == [
        ("A", 3_000, 5_000, "open"), ("B", 1_000, 1_000, "part_paid")]


def test_reversal_keeps_a_dispute_and_refuses_too_much() -> None:
    disputed = item("D", date(2024, 1, 1), 1_000, status="disputed")
    allocation = allocate(1_000, "GBP", [disputed], chosen=["D"])
    assert reverse(allocation).lines[0].status == "disputed"
    with pytest.raises(AllocationError):
        reverse(allocation, 1_001)


_items = st.lists(
    st.builds(
        OpenItem,
        invoice_id=st.text("abcdefgh", min_size=1, max_size=4),
        due_date=st.dates(date(2020, 1, 1), date(2026, 12, 31)),
        issue_date=st.dates(date(2019, 1, 1), date(2026, 12, 31)),
        balance_minor=st.integers(0, 1_000_000),
        currency=st.just("GBP"),
        status=st.sampled_from(["open", "part_paid", "disputed", "paid"]),
    ),
    max_size=12,
    unique_by=lambda i: i.invoice_id,
)


@given(amount=st.integers(1, 5_000_000), items=_items, choose=st.booleans(), data=st.data())
def test_property_money_is_conserved_and_no_balance_goes_negative(amount, items, choose, data) -> None:
    chosen = None
    if choose and items:
        chosen = data.draw(st.permutations([i.invoice_id for i in items]).map(lambda ids: ids[: len(ids) // 2 + 1]))
    result = allocate(amount, "GBP", items, chosen)
    by_id = {i.invoice_id: i for i in items}
    # applied + credit == amount; never negative; never more than the balance
    assert result.applied_minor + result.credit_minor == amount
    assert result.credit_minor >= 0
    for line in result.lines:
        assert line.applied_minor > 0
        assert line.new_balance >= 0
        assert line.new_balance == by_id[line.invoice_id].balance_minor - line.applied_minor
        assert line.new_status == ("paid" if line.new_balance == 0 else "part_paid")
    # a disputed invoice only takes money when chosen
    for line in result.lines:
        if by_id[line.invoice_id].status == "disputed":
            assert chosen is not None and line.invoice_id in chosen
    # without a choice, credit is only left once every payable invoice is paid off
    if chosen is None and result.credit_minor > 0:
        paid_off = {x.invoice_id for x in result.lines if x.new_balance == 0}
        payable = {i.invoice_id for i in items if i.status in ("open", "part_paid") and i.balance_minor > 0}
        assert payable <= paid_off
    # a full reversal gives back exactly what was taken
    back = reverse(result)
    assert back.credit_removed_minor + sum(x.restored_minor for x in back.lines) == amount
