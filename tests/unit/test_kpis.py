"""KPIs: hand-computed figures on a small book, and the aggregate equal to a recomputation."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.reporting import kpis
from chalicelib.reporting.kpis import (
    AsOfBeforeHorizon,
    ClientAggregate,
    InvoiceChanged,
    InvoiceCreated,
    InvoiceFact,
    PaymentApplied,
    PaymentFact,
    PaymentReversed,
    PromiseFact,
    PromiseRecorded,
)


def inv(invoice_id, debtor, issue, due, total, *payments, status="open", currency="GBP"):
    return InvoiceFact(invoice_id, debtor, issue, due, total, currency,
                       tuple(PaymentFact(*p) for p in payments), status,
                       "wrong price" if status == "disputed" else None)


# The book, as of 2024-03-31 (2024 is a leap year: February has 29 days).
A = inv("A", "acme", date(2024, 1, 10), date(2024, 2, 9), 120_000, (date(2024, 2, 20), 40_000, "transfer"))
B = inv("B", "acme", date(2024, 2, 15), date(2024, 3, 16), 90_000, status="disputed")
C = inv("C", "bolt", date(2024, 3, 5), date(2024, 4, 4), 60_000, (date(2024, 3, 25), 20_000, "link"))
D = inv("D", "bolt", date(2023, 12, 1), date(2023, 12, 31), 30_000)
E = inv("E", "cato", date(2024, 1, 20), date(2024, 2, 19), 50_000, (date(2024, 2, 25), 50_000, "link"))
F = inv("F", "cato", date(2024, 3, 1), date(2024, 3, 31), 99_999, status="void")
BOOK = [A, B, C, D, E, F]
MAR31 = date(2024, 3, 31)
Q1 = (date(2024, 1, 1), MAR31)


# ------------------------------------------------------------------------------ aging


def test_aging_buckets_balances_by_days_past_due():
    # GIVEN the book WHEN aged as of 31 Mar
    aged = kpis.aging(BOOK, MAR31)
    # THEN A 120,000-40,000 = 80,000 is 51 days late (9 Feb -> 31 Mar = 20 + 31) -> 31_60;
    #      B 90,000 is 15 days late -> 1_30; C 60,000-20,000 = 40,000 falls due 4 Apr -> not_due;
    #      D 30,000 is 91 days late (31+29+31) -> 90_plus; E is paid; F is void.
    assert aged == {"not_due": 40_000, "1_30": 90_000, "31_60": 80_000, "61_90": 0, "90_plus": 30_000}
    assert kpis.receivables(BOOK, MAR31) == 240_000


def test_aging_as_of_a_past_date_counts_only_payments_on_or_before_it():
    # GIVEN A's payment of 40,000 on 20 Feb and E's full payment on 25 Feb
    # WHEN aged as of 19 Feb THEN A is whole (120,000, 10 days late), E is due that very day
    #      (0 days -> not_due), B is not due, C is not yet issued, D is 50 days late.
    assert kpis.aging(BOOK, date(2024, 2, 19)) == {
        "not_due": 90_000 + 50_000, "1_30": 120_000, "31_60": 30_000, "61_90": 0, "90_plus": 0}
    # WHEN aged as of 20 Feb THEN A's payment counts (80,000) and E is 1 day late.
    assert kpis.aging(BOOK, date(2024, 2, 20)) == {
        "not_due": 90_000, "1_30": 80_000 + 50_000, "31_60": 30_000, "61_90": 0, "90_plus": 0}


def test_bucket_edges():
    assert [kpis.bucket_for(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "not_due", "not_due", "1_30", "1_30", "31_60", "31_60", "61_90", "61_90", "90_plus"]


def test_a_payment_dated_before_issue_counts_from_the_issue_date():
    # GIVEN a deposit dated 2 days before the invoice was issued
    early = inv("X", "dora", date(2024, 3, 10), date(2024, 4, 9), 10_000, (date(2024, 3, 8), 4_000, "transfer"))
    # THEN it is collected on the issue date, and the invoice never shows its full total
    assert kpis.collected([early], date(2024, 3, 8), date(2024, 3, 9)).total_minor == 0
    assert kpis.collected([early], date(2024, 3, 10), date(2024, 3, 10)).total_minor == 4_000
    assert kpis.receivables([early], date(2024, 3, 10)) == 6_000


# ------------------------------------------------------------------------------- DSO


def test_countback_dso_walks_back_through_monthly_sales():
    # GIVEN receivables of 240,000 on 31 Mar and credit sales of
    #   Mar 60,000 (C; F is void), Feb 90,000 (B), Jan 170,000 (A + E), Dec 30,000 (D)
    # WHEN counting back
    #   Mar: 240,000 >= 60,000 absorbed, +31 days, 180,000 left
    #   Feb: 180,000 >= 90,000 absorbed, +29 days,  90,000 left
    #   Jan:  90,000 < 170,000 -> +31 x 90/170 = 16.41 days
    # THEN DSO = 31 + 29 + 16.41 = 76.41 -> 76.4
    assert kpis.dso_countback(BOOK, MAR31) == Decimal("76.4")
    # AND with a two-month window the unabsorbed 90,000 adds nothing more: 31 + 29
    assert kpis.dso_countback(BOOK, MAR31, months=2) == Decimal("60.0")


def test_countback_mid_month_uses_the_month_to_date():
    # GIVEN as of 10 Mar: receivables A 80,000 + B 90,000 + C 60,000 + D 30,000 = 260,000
    #   March to date (10 days): 60,000 absorbed -> +10, 200,000 left
    #   Feb 90,000 absorbed -> +29, 110,000 left; Jan 170,000 -> +31 x 110/170 = 20.06
    # THEN 10 + 29 + 20.06 = 59.06 -> 59.1
    assert kpis.dso_countback(BOOK, date(2024, 3, 10)) == Decimal("59.1")


def test_nothing_owed_is_zero_dso():
    assert kpis.dso_countback([E], MAR31) == Decimal("0.0")


def test_simple_best_possible_and_average_days_delinquent():
    # GIVEN Q1 (1 Jan - 31 Mar, 91 days), sales 170,000 + 90,000 + 60,000 = 320,000,
    #       receivables 240,000 of which 40,000 not yet due
    # THEN simple DSO = 240,000 / 320,000 x 91 = 68.25 -> 68.3 (halves round up)
    assert kpis.dso_simple(BOOK, *Q1) == Decimal("68.3")
    # AND best possible = 40,000 / 320,000 x 91 = 11.375 -> 11.4
    assert kpis.best_possible_dso(BOOK, *Q1) == Decimal("11.4")
    # AND ADD = 68.25 - 11.375 = 56.875 -> 56.9 (from the exact values, not the rounded ones)
    assert kpis.add(BOOK, *Q1) == Decimal("56.9")


def test_dso_without_sales_in_the_period_is_none():
    assert kpis.dso_simple([D], date(2024, 3, 1), MAR31) is None
    assert kpis.add([D], date(2024, 3, 1), MAR31) is None


# ------------------------------------------------------------------------------- CEI


def test_cei_for_march():
    # GIVEN opening AR at 29 Feb: A 80,000 + B 90,000 + D 30,000 (E paid 25 Feb) = 200,000
    #       March sales 60,000; closing AR 240,000; closing AR not yet due 40,000
    # THEN CEI = (200,000 + 60,000 - 240,000) / (200,000 + 60,000 - 40,000) x 100
    #          = 20,000 / 220,000 x 100 = 9.09 -> 9.1
    assert kpis.cei(BOOK, date(2024, 3, 1), MAR31) == Decimal("9.1")
    # AND for Q1: opening 30,000 (D); (30,000 + 320,000 - 240,000) / (30,000 + 320,000 - 40,000)
    #             = 110,000 / 310,000 = 35.48 -> 35.5
    assert kpis.cei(BOOK, *Q1) == Decimal("35.5")


# ------------------------------------------------------------------------- money in


def test_collected_by_source():
    got = kpis.collected(BOOK, *Q1)
    # transfer 40,000 (A); link 50,000 (E) + 20,000 (C)
    assert got.total_minor == 110_000
    assert got.by_source == {"link": 70_000, "transfer": 40_000, "plan": 0, "cheque": 0, "other": 0}


def test_average_days_to_pay_plain_and_weighted():
    # GIVEN E (50,000, due 19 Feb) fully paid 25 Feb: 6 days late,
    #   and G (10,000, due 2 Mar) paid in two parts, completed 28 Feb: 3 days early (29 Feb, 1, 2 Mar)
    G = inv("G", "cato", date(2024, 2, 1), date(2024, 3, 2), 10_000,
            (date(2024, 2, 10), 4_000, "cheque"), (date(2024, 2, 28), 6_000, "cheque"))
    got = kpis.average_days_to_pay(BOOK + [G], *Q1)
    # THEN plain = (6 - 3) / 2 = 1.5; weighted = (50,000 x 6 + 10,000 x -3) / 60,000 = 4.5
    # (A and C are only part paid, so they are not counted)
    assert (got.invoices, got.plain, got.weighted) == (2, Decimal("1.5"), Decimal("4.5"))
    # AND a period with no invoice fully paid has no average
    assert kpis.average_days_to_pay(BOOK, date(2024, 3, 1), MAR31).plain is None


def test_promise_kept_rate():
    # GIVEN promises due 10 Mar (kept), 20 Mar (broken), 31 Mar (not judged yet), 5 Apr (not due)
    promises = [PromiseFact("acme", date(2024, 3, 1), date(2024, 3, 10), 5_000, True),
                PromiseFact("acme", date(2024, 3, 11), date(2024, 3, 20), 5_000, False),
                PromiseFact("bolt", date(2024, 3, 25), MAR31, 5_000, None),
                PromiseFact("cato", date(2024, 3, 30), date(2024, 4, 5), 5_000, None)]
    got = kpis.promise_kept_rate(promises, MAR31)
    # THEN 1 kept of 3 due = 33.3%
    assert (got.due, got.kept, got.rate) == (3, 1, Decimal("33.3"))


def test_top_overdue_debtors_show_the_disputed_part():
    got = kpis.top_overdue_debtors(BOOK, MAR31, n=5)
    # acme: A 80,000 + B 90,000 (disputed); bolt: D 30,000 (C is not yet due); cato: nothing
    assert [(r.debtor_id, r.overdue_minor, r.disputed_minor, r.oldest_due_date) for r in got] == [
        ("acme", 170_000, 90_000, date(2024, 2, 9)), ("bolt", 30_000, 0, date(2023, 12, 31))]
    assert [r.debtor_id for r in kpis.top_overdue_debtors(BOOK, MAR31, n=1)] == ["acme"]


def test_every_figure_has_a_definition_in_words():
    assert set(kpis.DEFINITIONS) >= {"aging", "dso_countback", "dso_simple", "best_possible_dso",
                                     "add", "cei", "collected", "average_days_to_pay",
                                     "promise_kept_rate", "top_overdue_debtors"}
    assert "walk back month by month" in kpis.DEFINITIONS["dso_countback"]


def test_mixed_currencies_are_refused():
    with pytest.raises(ValueError, match="per currency"):
        kpis.figures_from_facts([A, replace(D, currency="EUR")], [], MAR31)


def test_an_invoice_cannot_hold_more_than_its_total():
    with pytest.raises(ValueError, match="exceed"):
        inv("X", "dora", date(2024, 1, 1), date(2024, 1, 31), 100, (date(2024, 1, 5), 101, "link"))


# ------------------------------------------------------------------------ the aggregate


def events_in_date_order(book):
    """The book replayed as it happened: invoices when issued, payments when paid."""
    stamped = []
    for invoice in book:
        bare = replace(invoice, payments=())
        stamped.append((invoice.issue_date, 0, InvoiceCreated(bare)))
        for payment in invoice.payments:
            stamped.append((payment.paid_on, 1, payment, invoice.invoice_id))
    stamped.sort(key=lambda row: (row[0], row[1]))
    state: dict[str, InvoiceFact] = {}
    for row in stamped:
        if row[1] == 0:
            state[row[2].invoice.invoice_id] = row[2].invoice
            yield row[0], row[2]
        else:
            before = state[row[3]]
            state[row[3]] = before.with_payment(row[2])
            yield row[0], PaymentApplied(before, row[2])


def test_aggregate_from_events_gives_the_hand_computed_figures():
    # GIVEN the book replayed as events
    agg = ClientAggregate("GBP")
    for _, event in events_in_date_order(BOOK):
        agg.apply(event)
    # WHEN asked for Q1 figures as of 31 Mar
    got = agg.figures(MAR31, period_start=Q1[0])
    # THEN they are the figures computed above, without reading an invoice
    assert got["aging"] == {"not_due": 40_000, "1_30": 90_000, "31_60": 80_000, "61_90": 0, "90_plus": 30_000}
    assert (got["dso_countback"], got["dso_simple"], got["best_possible_dso"], got["add"], got["cei"]) == (
        Decimal("76.4"), Decimal("68.3"), Decimal("11.4"), Decimal("56.9"), Decimal("35.5"))
    assert got == kpis.figures_from_facts(BOOK, [], MAR31, period_start=Q1[0])


def test_aggregate_storage_is_keyed_by_day_and_empties_as_invoices_are_paid():
    # GIVEN the book in an aggregate
    agg = ClientAggregate.from_facts("GBP", BOOK)
    stored = agg.to_dict()
    # THEN open balances sit under their due day and debtor (E is paid, F void: absent)
    assert stored["open_by_due_day"] == {
        "2023-12-31": {"bolt": 30_000}, "2024-02-09": {"acme": 80_000},
        "2024-03-16": {"acme": 90_000}, "2024-04-04": {"bolt": 40_000}}
    assert stored["sales_by_issue_day"]["2024-01-10"] == 120_000
    assert stored["collected_by_day"]["2024-03-25"] == {"link": 20_000}
    assert stored["settled_by_day"] == {
        "2024-02-25": {"n": 1, "days_late": 6, "minor": 50_000, "minor_days_late": 300_000}}
    # WHEN C is paid off
    c_now = C
    agg.apply(PaymentApplied(c_now, PaymentFact(date(2024, 4, 2), 40_000, "link")))
    # THEN its due day disappears from storage
    assert "2024-04-04" not in agg.to_dict()["open_by_due_day"]
    # AND the stored form round-trips, numbers coming back as DynamoDB Decimals included
    as_dynamo = {k: ({d: ({s: Decimal(v) for s, v in x.items()} if isinstance(x, dict) else Decimal(x))
                      for d, x in v.items()} if isinstance(v, dict) else v)
                 for k, v in agg.to_dict().items()}
    assert ClientAggregate.from_dict(as_dynamo) == agg


def test_aggregate_refuses_to_age_before_its_latest_payment():
    # GIVEN an aggregate holding a payment on 25 Mar
    agg = ClientAggregate.from_facts("GBP", BOOK)
    # THEN receivables on earlier days are still exact
    assert agg.receivables_on(date(2024, 2, 29)) == kpis.receivables(BOOK, date(2024, 2, 29)) == 200_000
    # BUT aging as of 24 Mar needs history it does not keep
    with pytest.raises(AsOfBeforeHorizon):
        agg.figures(date(2024, 3, 24))


def test_reversal_and_change_events():
    agg = ClientAggregate.from_facts("GBP", BOOK)
    # WHEN E's payment bounces THEN E is open again, 41 days late, and no longer settled
    e_payment = E.payments[0]
    agg.apply(PaymentReversed(E, e_payment))
    assert agg.figures(MAR31)["aging"]["31_60"] == 80_000 + 50_000
    assert agg.to_dict()["settled_by_day"] == {}
    # WHEN B's total is corrected and its due date moved THEN the balance moves bucket
    agg.apply(InvoiceChanged(B, replace(B, total_minor=70_000, due_date=date(2024, 4, 15))))
    assert agg.figures(MAR31)["aging"]["not_due"] == 40_000 + 70_000
    # AND a payment the invoice never had cannot be reversed
    with pytest.raises(ValueError, match="no such payment"):
        agg.apply(PaymentReversed(D, e_payment))


def test_snapshot_at_onboarding_and_compare_later():
    # GIVEN an aggregate replayed up to 29 Feb, snapshotted as the baseline
    agg = ClientAggregate("GBP")
    events = list(events_in_date_order(BOOK))
    for when, event in events:
        if when <= date(2024, 2, 29):
            agg.apply(event)
    baseline = kpis.snapshot(agg, date(2024, 2, 29))
    # WHEN March happens and a current snapshot is taken
    for when, event in events:
        if when > date(2024, 2, 29):
            agg.apply(event)
    current = kpis.snapshot(agg, MAR31)
    deltas = kpis.compare(baseline, current)
    # THEN the deltas read as the report will show them
    assert deltas["days"] == 31
    # overdue at 29 Feb: A 80,000 (20 days) + D 30,000 (60 days) = 110,000; at 31 Mar 200,000
    assert deltas["figures"]["overdue_minor"] == {
        "baseline": 110_000, "current": 200_000, "delta": 90_000, "better": False}
    assert deltas["figures"]["aging.90_plus"]["delta"] == 30_000
    assert deltas["figures"]["receivables_minor"]["better"] is None  # no better direction
    assert baseline["snapshot_version"] == 1 and baseline["currency"] == "GBP"


# ------------------------------------------------------------ equivalence with hypothesis

BASE = date(2024, 1, 1)
DEBTORS = ("d1", "d2", "d3")


@st.composite
def histories(draw):
    """Random invoices, payments, reversals, changes and promises, as events plus the facts."""
    invoices: dict[str, InvoiceFact] = {}
    promises: dict[int, PromiseFact] = {}
    events: list = []
    for step in range(draw(st.integers(0, 30))):
        op = draw(st.sampled_from(["create", "create", "pay", "pay", "reverse", "change", "promise"]))
        if op == "create" or not invoices:
            issue = BASE + timedelta(draw(st.integers(0, 150)))
            new = InvoiceFact(
                f"i{step}", draw(st.sampled_from(DEBTORS)), issue,
                issue + timedelta(draw(st.integers(0, 60))),
                draw(st.integers(0, 50_000)), "GBP", (),
                draw(st.sampled_from(["open", "open", "open", "disputed", "void"])))
            invoices[new.invoice_id] = new
            events.append(InvoiceCreated(new))
        elif op == "pay":
            payable = sorted(i for i, v in invoices.items() if v.total_minor > v.paid_minor)
            if not payable:
                continue
            before = invoices[draw(st.sampled_from(payable))]
            payment = PaymentFact(
                before.issue_date + timedelta(draw(st.integers(-5, 120))),
                draw(st.integers(1, before.total_minor - before.paid_minor)),
                draw(st.sampled_from(kpis.SOURCES)))
            invoices[before.invoice_id] = before.with_payment(payment)
            events.append(PaymentApplied(before, payment))
        elif op == "reverse":
            paid = sorted(i for i, v in invoices.items() if v.payments)
            if not paid:
                continue
            before = invoices[draw(st.sampled_from(paid))]
            payment = draw(st.sampled_from(before.payments))
            invoices[before.invoice_id] = before.without_payment(payment)
            events.append(PaymentReversed(before, payment))
        elif op == "change":
            before = invoices[draw(st.sampled_from(sorted(invoices)))]
            after = replace(
                before,
                total_minor=before.paid_minor + draw(st.integers(0, 50_000)),
                due_date=before.issue_date + timedelta(draw(st.integers(0, 60))),
                status=draw(st.sampled_from(["open", "disputed", "void"])),
                debtor_id=draw(st.sampled_from(DEBTORS)))
            invoices[before.invoice_id] = after
            events.append(InvoiceChanged(before, after))
        else:
            key = draw(st.integers(0, 4))
            old = promises.get(key)
            made = BASE + timedelta(draw(st.integers(0, 150)))
            new = draw(st.one_of(st.none(), st.builds(
                PromiseFact, st.sampled_from(DEBTORS), st.just(made),
                st.just(made + timedelta(draw(st.integers(0, 30)))),
                st.integers(1, 10_000), st.sampled_from([None, True, False]))))
            if new is None:
                promises.pop(key, None)
            else:
                promises[key] = new
            events.append(PromiseRecorded(old, new))
    return list(invoices.values()), list(promises.values()), events


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), offset=st.integers(0, 120), period=st.integers(0, 120),
       months=st.integers(1, 12), early=st.integers(0, 300))
def test_aggregate_matches_recomputation_from_facts(history, offset, period, months, early):
    # GIVEN a random history applied event by event
    invoices, promises, events = history
    agg = ClientAggregate("GBP")
    for event in events:
        agg.apply(event)
    # THEN the counters are exactly those of an aggregate built from the final facts
    assert agg.to_dict() == ClientAggregate.from_facts("GBP", invoices, promises).to_dict()
    # AND receivables on any day match, even before the latest payment
    day = BASE + timedelta(early)
    assert agg.receivables_on(day) == kpis.receivables(invoices, day)
    # AND every figure on or after the latest payment matches a recomputation
    as_of = max(agg.horizon or BASE, BASE) + timedelta(offset)
    start = as_of - timedelta(period)
    options = {"period_start": start, "countback_months": months, "top_n": 3}
    assert agg.figures(as_of, **options) == kpis.figures_from_facts(
        invoices, promises, as_of, currency="GBP", **options)
    # AND a stored, reloaded aggregate answers the same
    assert ClientAggregate.from_dict(agg.to_dict()).figures(as_of, **options) == agg.figures(as_of, **options)
