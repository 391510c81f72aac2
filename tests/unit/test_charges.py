"""Late fees, interest, UK statutory interest and compensation, early discounts."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.payments.charge_rules import (
    BaseRateTable,
    ChargeableInvoice,
    ChargeError,
    ChargePolicy,
    due_charges,
    early_discount,
    reference_date,
    statutory_compensation,
    statutory_rate,
)

# A flat 4.00% Bank Rate makes the statutory rate 12.00% whatever the date.
FLAT_4 = BaseRateTable(((date(2000, 1, 1), Decimal("4.00")),), known_through=date(2100, 1, 1))


def invoice(outstanding: int = 10_000, due: date = date(2024, 3, 1), currency: str = "GBP",
            consumer: bool = False, issue: date | None = None) -> ChargeableInvoice:
    return ChargeableInvoice("INV-1", issue or date(2024, 2, 1), due, outstanding, currency, consumer)


def interest(rate: str = "0.10", **kw: object) -> ChargePolicy:
    return ChargePolicy(kind="daily_interest", annual_rate=Decimal(rate), **kw)  # type: ignore[arg-type]


def keys(charges: list) -> frozenset[str]:
    return frozenset(c.key for c in charges)


# --- contractual daily interest -------------------------------------------------------------

def test_collections_example_100_at_10_percent_for_15_days_is_41_pence() -> None:
    # GIVEN £100.00 due 1 Mar, 10% a year, claimed in 15-day periods
    policy = interest(interest_period="days", period_days=15)
    # WHEN the first 15 days late (2-16 Mar) have passed
    charges = due_charges(policy, invoice(due=date(2024, 3, 1)), date(2024, 3, 16))
    # THEN 10000 x 0.10 x 15 / 365 = 41.095... -> 41 pence
    assert [(c.key, c.amount_minor, c.days) for c in charges] == [
        ("INV-1:interest:2024-03-02:2024-03-16", 41, 15)]
    assert charges[0].kind == "interest" and charges[0].currency == "GBP"
    assert charges[0].description.startswith("Interest 10.00% p.a. on £100.00, 15 days")


def test_an_incomplete_period_is_not_claimed_yet() -> None:
    # GIVEN 15-day periods; WHEN only 14 days have passed THEN nothing is due
    policy = interest(interest_period="days", period_days=15)
    assert due_charges(policy, invoice(), date(2024, 3, 15)) == []


def test_monthly_periods_are_calendar_months_starting_the_day_after_due() -> None:
    # GIVEN £100.00 at 10% due 16 Mar, claimed monthly
    policy = interest()
    # WHEN it is 30 Apr
    charges = due_charges(policy, invoice(due=date(2024, 3, 16)), date(2024, 4, 30))
    # THEN 17-31 Mar: 10000 x 0.10 x 15 / 365 = 41.10 -> 41
    # AND 1-30 Apr: 10000 x 0.10 x 30 / 365 = 82.19 -> 82
    assert [(c.period_start, c.period_end, c.amount_minor) for c in charges] == [
        (date(2024, 3, 17), date(2024, 3, 31), 41),
        (date(2024, 4, 1), date(2024, 4, 30), 82),
    ]


def test_recomputing_with_claimed_keys_yields_nothing_new() -> None:
    # GIVEN the charges computed on 30 Apr were claimed
    policy, inv = interest(), invoice(due=date(2024, 3, 16))
    first = due_charges(policy, inv, date(2024, 4, 30))
    # WHEN computed again that day, and mid-May
    # THEN nothing new (May is not complete)
    assert due_charges(policy, inv, date(2024, 4, 30), keys(first)) == []
    assert due_charges(policy, inv, date(2024, 5, 15), keys(first)) == []
    # AND at the end of May only May is new: 10000 x 0.10 x 31 / 365 = 84.93 -> 85
    may = due_charges(policy, inv, date(2024, 5, 31), keys(first))
    assert [(c.key, c.amount_minor) for c in may] == [("INV-1:interest:2024-05-01:2024-05-31", 85)]


def test_same_elapsed_periods_get_the_same_keys_whichever_day_they_are_computed() -> None:
    # GIVEN one policy; WHEN computed on 30 Apr and on 10 May THEN the keys are identical
    policy, inv = interest(), invoice(due=date(2024, 3, 16))
    assert keys(due_charges(policy, inv, date(2024, 4, 30))) == keys(due_charges(policy, inv, date(2024, 5, 10)))


def test_changing_the_period_setting_never_charges_a_day_twice() -> None:
    # GIVEN 2-16 Mar was claimed under 15-day periods
    claimed = frozenset({"INV-1:interest:2024-03-02:2024-03-16"})
    # WHEN the client switches to monthly and March ends
    charges = due_charges(interest(), invoice(due=date(2024, 3, 1)), date(2024, 3, 31), claimed)
    # THEN only 17-31 Mar is charged: 10000 x 0.10 x 15 / 365 -> 41
    assert [(c.key, c.amount_minor) for c in charges] == [("INV-1:interest:2024-03-17:2024-03-31", 41)]


def test_grace_days_delay_every_charge() -> None:
    # GIVEN a £25 fee with 5 grace days on an invoice due 1 Mar
    policy = ChargePolicy(kind="fixed", fixed_minor=2_500, fixed_currency="GBP", grace_days=5)
    # WHEN it is 6 Mar THEN nothing; WHEN 7 Mar THEN the fee, dated 7 Mar
    assert due_charges(policy, invoice(), date(2024, 3, 6)) == []
    [fee] = due_charges(policy, invoice(), date(2024, 3, 7))
    assert (fee.key, fee.kind, fee.amount_minor, fee.period_start) == ("INV-1:late_fee", "late_fee", 2_500, date(2024, 3, 7))
    assert fee.description == "Late payment fee £25.00"


def test_grace_days_are_not_charged_interest() -> None:
    # GIVEN 10 grace days after 1 Mar, 15-day periods: interest runs from 12 Mar
    policy = interest(grace_days=10, interest_period="days", period_days=15)
    # WHEN 26 Mar THEN 12-26 Mar = 15 days -> 41
    [charge] = due_charges(policy, invoice(), date(2024, 3, 26))
    assert (charge.period_start, charge.period_end, charge.amount_minor) == (date(2024, 3, 12), date(2024, 3, 26), 41)


def test_fixed_fee_is_charged_once() -> None:
    policy = ChargePolicy(kind="fixed", fixed_minor=2_500, fixed_currency="GBP")
    first = due_charges(policy, invoice(), date(2024, 4, 1))
    assert due_charges(policy, invoice(), date(2024, 6, 1), keys(first)) == []


def test_fixed_fee_in_another_currency_is_refused() -> None:
    policy = ChargePolicy(kind="fixed", fixed_minor=2_500, fixed_currency="GBP")
    with pytest.raises(ChargeError) as err:
        due_charges(policy, invoice(currency="EUR"), date(2024, 4, 1))
    assert err.value.field == "fixed_currency"


def test_percentage_fee_rounds_half_up_to_the_minor_unit() -> None:
    # GIVEN 5% on £123.30: 12330 x 5 / 100 = 616.5 -> 617 (half up, not banker's 616)
    policy = ChargePolicy(kind="percentage", percent=Decimal("5"))
    [fee] = due_charges(policy, invoice(outstanding=12_330), date(2024, 3, 2))
    assert fee.amount_minor == 617
    assert fee.description == "Late payment fee 5% of £123.30"


def test_nothing_is_charged_on_a_paid_invoice_or_with_no_policy() -> None:
    assert due_charges(interest(), invoice(outstanding=0), date(2024, 6, 1)) == []
    assert due_charges(ChargePolicy(), invoice(), date(2024, 6, 1)) == []


# --- currencies with other exponents --------------------------------------------------------

def test_jpy_interest_rounds_to_whole_yen() -> None:
    # GIVEN ¥10,000 (exponent 0, minor = yen) at 10% for 15 days
    policy = interest(interest_period="days", period_days=15)
    [charge] = due_charges(policy, invoice(outstanding=10_000, currency="JPY"), date(2024, 3, 16))
    # THEN 10000 x 0.10 x 15 / 365 = 41.095 -> 41 yen (not 4,110 "cents")
    assert charge.amount_minor == 41
    assert "on JPY 10,000, 15 days" in charge.description


def test_kwd_interest_rounds_to_the_fils() -> None:
    # GIVEN KWD 100.000 = 100000 fils at 10% for 15 days
    policy = interest(interest_period="days", period_days=15)
    [charge] = due_charges(policy, invoice(outstanding=100_000, currency="KWD"), date(2024, 3, 16))
    # THEN 100000 x 0.10 x 15 / 365 = 410.958 -> 411 fils = KWD 0.411
    assert charge.amount_minor == 411
    assert "on KWD 100.000" in charge.description


def test_tiny_jpy_interest_that_rounds_to_zero_is_not_an_entry() -> None:
    # GIVEN ¥100 at 10% for 15 days: 100 x 0.10 x 15 / 365 = 0.41 -> 0
    policy = interest(interest_period="days", period_days=15)
    assert due_charges(policy, invoice(outstanding=100, currency="JPY"), date(2024, 3, 16)) == []


# --- UK statutory ----------------------------------------------------------------------------

@pytest.mark.parametrize(("debt_minor", "compensation"), [
    (99_999, 4_000),      # £999.99 -> £40
    (100_000, 7_000),     # £1,000.00 -> £70
    (999_999, 7_000),     # £9,999.99 -> £70
    (1_000_000, 10_000),  # £10,000.00 -> £100
])
def test_statutory_compensation_boundaries(debt_minor: int, compensation: int) -> None:
    assert statutory_compensation(debt_minor) == compensation


@pytest.mark.parametrize(("day", "ref"), [
    (date(2025, 1, 1), date(2024, 12, 31)),
    (date(2025, 6, 30), date(2024, 12, 31)),
    (date(2025, 7, 1), date(2025, 6, 30)),
    (date(2025, 12, 31), date(2025, 6, 30)),
])
def test_reference_date_is_31_dec_or_30_jun(day: date, ref: date) -> None:
    assert reference_date(day) == ref


def test_statutory_rate_switches_on_1_jan_and_1_jul() -> None:
    # GIVEN Bank Rate 5.25% on 30 Jun 2024, 4.75% on 31 Dec 2024, 4.25% on 30 Jun 2025
    # THEN base + 8: 13.25% to 31 Dec 2024, 12.75% from 1 Jan, 12.25% from 1 Jul 2025
    assert statutory_rate(date(2024, 12, 31)) == Decimal("0.1325")
    assert statutory_rate(date(2025, 1, 1)) == Decimal("0.1275")
    assert statutory_rate(date(2025, 6, 30)) == Decimal("0.1275")
    assert statutory_rate(date(2025, 7, 1)) == Decimal("0.1225")


def test_rate_changes_inside_a_half_year_do_not_move_the_reference_rate() -> None:
    # GIVEN Bank Rate went 5.25% -> 5.00% on 1 Aug 2024; the July-Dec rate was fixed on 30 Jun
    assert statutory_rate(date(2024, 9, 1)) == Decimal("0.1325")
    # AND in 2020 it was 0.75% on 31 Dec 2019, cut twice in March: Jan-Jun 2020 stays 8.75%
    assert statutory_rate(date(2020, 4, 1)) == Decimal("0.0875")
    assert statutory_rate(date(2020, 7, 1)) == Decimal("0.0810")


def test_statutory_interest_description_and_compensation() -> None:
    # GIVEN £100.00 B2B due 16 Mar, statutory rate 4% + 8% = 12%
    policy = ChargePolicy(kind="uk_statutory")
    charges = due_charges(policy, invoice(due=date(2024, 3, 16)), date(2024, 3, 31), base_rates=FLAT_4)
    # THEN £40 compensation (debt below £1,000) and 17-31 Mar interest:
    # 10000 x 0.12 x 15 / 365 = 49.32 -> 49
    assert [(c.key, c.kind, c.amount_minor) for c in charges] == [
        ("INV-1:compensation", "compensation", 4_000),
        ("INV-1:interest:2024-03-17:2024-03-31", "interest", 49),
    ]
    assert charges[1].description.startswith("Statutory interest 12.00% p.a. on £100.00, 15 days")
    assert charges[1].annual_rate == Decimal("0.12")


def test_statutory_monthly_periods_use_the_rate_of_their_half_year() -> None:
    # GIVEN £1,000.00 due 15 Dec 2024, real Bank Rate table
    policy = ChargePolicy(kind="uk_statutory")
    charges = due_charges(policy, invoice(outstanding=100_000, due=date(2024, 12, 15)), date(2025, 1, 31))
    # THEN £70 compensation; 16-31 Dec at 13.25%: 100000 x 0.1325 x 16 / 365 = 580.82 -> 581
    # AND 1-31 Jan at 12.75%: 100000 x 0.1275 x 31 / 365 = 1082.88 -> 1083
    assert [(c.kind, c.period_start, c.amount_minor, c.annual_rate) for c in charges] == [
        ("compensation", date(2024, 12, 16), 7_000, None),
        ("interest", date(2024, 12, 16), 581, Decimal("0.1325")),
        ("interest", date(2025, 1, 1), 1_083, Decimal("0.1275")),
    ]


def test_a_day_period_across_1_jan_splits_the_rate() -> None:
    # GIVEN 30-day periods, £1,000.00 due 15 Dec 2024: first period 16 Dec - 14 Jan
    policy = ChargePolicy(kind="uk_statutory", interest_period="days", period_days=30)
    charges = due_charges(policy, invoice(outstanding=100_000, due=date(2024, 12, 15)), date(2025, 1, 14))
    interest_charge = charges[1]
    # THEN 100000 x (0.1325 x 16 + 0.1275 x 14) / 365 = 390500 / 365 = 1069.86 -> 1070
    assert interest_charge.amount_minor == 1_070
    assert "16 days at 13.25% p.a. and 14 days at 12.75% p.a." in interest_charge.description


def test_statutory_charges_are_idempotent() -> None:
    policy, inv = ChargePolicy(kind="uk_statutory"), invoice(due=date(2024, 3, 16))
    first = due_charges(policy, inv, date(2024, 5, 31), base_rates=FLAT_4)
    assert len(first) == 4  # compensation + March, April, May
    assert due_charges(policy, inv, date(2024, 6, 15), keys(first), base_rates=FLAT_4) == []


def test_statutory_never_applies_to_consumers() -> None:
    policy = ChargePolicy(kind="uk_statutory")
    assert due_charges(policy, invoice(consumer=True), date(2024, 6, 1), base_rates=FLAT_4) == []


def test_statutory_is_refused_for_non_gbp_invoices() -> None:
    with pytest.raises(ChargeError) as err:
        due_charges(ChargePolicy(kind="uk_statutory"), invoice(currency="EUR"), date(2024, 6, 1))
    assert err.value.field == "currency"


def test_a_stale_base_rate_table_is_refused_rather_than_guessed() -> None:
    # GIVEN a table checked through 1 Jun 2024; WHEN July needs the 30 Jun 2024 rate
    stale = BaseRateTable(((date(2000, 1, 1), Decimal("4.00")),), known_through=date(2024, 6, 1))
    # THEN it says so instead of charging a guessed rate
    with pytest.raises(ChargeError) as err:
        due_charges(ChargePolicy(kind="uk_statutory"), invoice(due=date(2024, 6, 30)), date(2024, 7, 31),
                    base_rates=stale)
    assert err.value.field == "base_rates"


# --- early payment discount ------------------------------------------------------------------

def test_two_ten_net_thirty() -> None:
    # GIVEN 2% if paid within 10 days of issue (1 Mar), £1,000.00 outstanding
    policy = ChargePolicy(early_discount_percent=Decimal("2"), early_discount_days=10)
    inv = invoice(outstanding=100_000, issue=date(2024, 3, 1), due=date(2024, 3, 31))
    # THEN 100000 x 2 / 100 = 2000 on day 10 (11 Mar), nothing on day 11
    assert early_discount(policy, inv, date(2024, 3, 11)) == 2_000
    assert early_discount(policy, inv, date(2024, 3, 12)) == 0


def test_early_discount_rounds_half_up_and_is_zero_without_a_policy() -> None:
    # 12325 x 2 / 100 = 246.5 -> 247
    policy = ChargePolicy(early_discount_percent=Decimal("2"), early_discount_days=10)
    inv = invoice(outstanding=12_325, issue=date(2024, 3, 1))
    assert early_discount(policy, inv, date(2024, 3, 2)) == 247
    assert early_discount(ChargePolicy(), inv, date(2024, 3, 2)) == 0


# --- policy validation -----------------------------------------------------------------------

def test_policy_round_trips_through_a_dict() -> None:
    policy = ChargePolicy(kind="daily_interest", annual_rate=Decimal("0.08"), grace_days=7,
                          early_discount_percent=Decimal("2.5"), early_discount_days=10)
    data = policy.to_dict()
    assert data["annual_rate"] == "0.08" and data["early_discount_percent"] == "2.5"
    assert ChargePolicy.from_dict(data) == policy


@pytest.mark.parametrize(("data", "field"), [
    ({"kind": "usury"}, "kind"),
    ({"kind": "daily_interest"}, "annual_rate"),
    ({"kind": "daily_interest", "annual_rate": 0.1}, "annual_rate"),         # float
    ({"kind": "daily_interest", "annual_rate": "10"}, "annual_rate"),        # 1000%: meant 0.10
    ({"kind": "fixed", "fixed_minor": 2500}, "fixed_currency"),
    ({"kind": "fixed", "fixed_minor": 0, "fixed_currency": "GBP"}, "fixed_minor"),
    ({"kind": "fixed", "fixed_minor": 25.0, "fixed_currency": "GBP"}, "fixed_minor"),
    ({"kind": "fixed", "fixed_minor": 2500, "fixed_currency": "XXX"}, "fixed_currency"),
    ({"kind": "percentage", "percent": "0"}, "percent"),
    ({"kind": "uk_statutory", "annual_rate": "0.1"}, "annual_rate"),         # rate comes from the Act
    ({"grace_days": -1}, "grace_days"),
    ({"interest_period": "yearly"}, "interest_period"),
    ({"early_discount_percent": "2"}, "early_discount_days"),
    ({"early_discount_percent": "2", "early_discount_days": 0}, "early_discount_days"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_policies_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(ChargeError) as err:
        ChargePolicy.from_dict(data)
    assert err.value.field == field
