"""The cash forecast's rule: weeks, promise weighting, plans, no double count, horizon,
currencies, and forecast vs actual."""
from __future__ import annotations

from datetime import date, timedelta

from chalicelib.reporting import forecast_rules as fr

TODAY = date(2026, 12, 3)  # a Thursday: week 1 starts Monday 30 November
MON = date(2026, 11, 30)


def inv(debtor="d1", number="1", amount=10_000, due=date(2026, 11, 20), pay_on=None,
        currency="GBP", probability=1.0, spread=()):
    return fr.Predicted(debtor, number, currency, amount, due, pay_on or due, probability,
                        spread)


def week(f, currency="GBP"):
    return [w.total for w in f.currencies[currency].weeks]


def test_thirteen_monday_weeks_and_overdue_lands_in_week_one():
    f = fr.forecast(TODAY, [inv(pay_on=date(2026, 11, 25)),  # predicted before today
                            inv(number="2", pay_on=date(2026, 12, 9), amount=500)])
    assert f.week_starts[0] == MON and len(f.week_starts) == 13
    assert all(w.weekday() == 0 for w in f.week_starts)
    assert week(f)[:2] == [10_000, 500]
    assert f.currencies["GBP"].weeks[0].predicted == 10_000


def test_beyond_thirteen_weeks_is_later_and_totals_add_up():
    far = MON + timedelta(weeks=13)  # the first day past the horizon
    f = fr.forecast(TODAY, [inv(pay_on=far), inv(number="2", pay_on=far - timedelta(days=1))])
    c = f.currencies["GBP"]
    assert c.later.predicted == 10_000 and week(f)[12] == 10_000
    assert c.total == 20_000


def test_a_promise_is_weighted_by_the_debtors_kept_rate_shrunk_toward_the_clients():
    # the debtor kept 3 of 4 promises; the client's rate (from every debtor's record) is
    # 3 of 4 too, so the debtor's rate is (3 + 2×0.75) / (4 + 2) = 0.75
    p = fr.Promise("d1", "GBP", 8_000, date(2026, 12, 10), kept=3, broken=1)
    f = fr.forecast(TODAY, [inv(amount=8_000, pay_on=date(2027, 1, 20))], [p])
    c = f.currencies["GBP"]
    assert c.weeks[1].promised == 6_000
    # what a broken promise leaves stays on the invoice's predicted day, counted once
    assert c.weeks[f.week_of(date(2027, 1, 20))].predicted == 2_000
    assert c.total == 8_000
    # a debtor who never kept one is counted far lower
    bad = fr.Promise("d1", "GBP", 8_000, date(2026, 12, 10), kept=0, broken=4)
    g = fr.forecast(TODAY, [inv(amount=8_000, pay_on=date(2027, 1, 20))], [bad],
                    kept_prior=0.5)
    assert g.currencies["GBP"].weeks[1].promised == 1_333  # (0 + 2 × 0.5) / (4 + 2)


def test_a_covered_invoice_is_not_also_counted_through_its_prediction():
    # two invoices of 5,000; the promise covers the oldest one only
    p = fr.Promise("d1", "GBP", 5_000, date(2026, 12, 4), kept=1, broken=0)
    invoices = [inv(number="old", amount=5_000, due=date(2026, 10, 1), pay_on=date(2026, 12, 2)),
                inv(number="new", amount=5_000, due=date(2026, 11, 1), pay_on=date(2026, 12, 23))]
    f = fr.forecast(TODAY, invoices, [p], kept_prior=1.0)
    c = f.currencies["GBP"]
    assert c.weeks[0].promised == 5_000 and c.weeks[0].predicted == 0
    assert c.weeks[3].predicted == 5_000
    assert c.total == 10_000  # exactly what is owed


def test_plan_instalments_count_in_full_and_cover_the_invoices():
    instalments = [fr.Instalment("d1", "GBP", 3_000, MON + timedelta(weeks=k, days=2))
                   for k in range(3)]
    f = fr.forecast(TODAY, [inv(amount=9_000, pay_on=date(2026, 12, 1))], [], instalments)
    c = f.currencies["GBP"]
    assert [w.plan for w in c.weeks[:3]] == [3_000, 3_000, 3_000]
    assert sum(w.predicted for w in c.weeks) == 0 and c.total == 9_000
    # a promise on top of a plan that covers everything owed adds nothing
    p = fr.Promise("d1", "GBP", 9_000, date(2026, 12, 4), kept=5)
    assert fr.forecast(TODAY, [inv(amount=9_000)], [p], instalments).currencies["GBP"].total \
        == 9_000


def test_currencies_stay_apart_and_a_promise_only_covers_its_own_currency():
    p = fr.Promise("d1", "EUR", 1_000, date(2026, 12, 8), kept=1)
    f = fr.forecast(TODAY, [inv(amount=2_000, currency="EUR", pay_on=date(2026, 12, 30)),
                            inv(number="2", amount=7_000, pay_on=date(2026, 12, 30))], [p],
                    kept_prior=1.0)
    assert set(f.currencies) == {"EUR", "GBP"}
    assert f.currencies["GBP"].total == 7_000
    assert f.currencies["GBP"].weeks[4].predicted == 7_000
    eur = f.currencies["EUR"]
    assert eur.weeks[1].promised == 1_000 and eur.weeks[4].predicted == 1_000
    d = f.to_dict()
    assert [c["currency"] for c in d["currencies"]] == ["EUR", "GBP"]
    assert d["currencies"][1]["weeks"][4] == {"total_minor": 7_000, "predicted_minor": 7_000,
                                              "promised_minor": 0, "plan_minor": 0}


def test_probability_scales_a_prediction_and_a_promise_without_invoices_counts_nothing():
    f = fr.forecast(TODAY, [inv(amount=1_000, probability=0.25)],
                    [fr.Promise("nobody", "GBP", 5_000, TODAY, kept=3)])
    assert f.currencies["GBP"].total == 250


def test_forecast_vs_actual_compares_the_forecast_made_before_the_week():
    made = fr.forecast(MON - timedelta(days=7), [inv(amount=4_000, pay_on=MON + timedelta(days=1))])
    snaps = {(MON - timedelta(days=7)).isoformat(): made.to_dict()}
    rows = fr.versus_actual(snaps, {"2026-12-01": 3_000, "2026-12-08": 99}, "GBP",
                            MON + timedelta(days=7))
    assert rows[0]["week"] == MON.isoformat()
    assert rows[0]["forecast_minor"] == 4_000 and rows[0]["actual_minor"] == 3_000
    assert rows[0]["difference_minor"] == -1_000
    assert rows[0]["forecast_made_on"] == "2026-11-23"
    # the week of the snapshot itself is compared with that snapshot's week 1
    assert rows[1]["week"] == "2026-11-23" and rows[1]["forecast_minor"] == 0


def test_a_prediction_is_spread_over_the_weeks_it_may_be_paid_in_to_the_minor_unit():
    spread = ((date(2026, 12, 1), 0.5), (date(2026, 12, 15), 0.25),
              (date(2027, 6, 1), 0.25))  # a quarter beyond the horizon
    f = fr.forecast(TODAY, [inv(amount=10_001, pay_on=date(2026, 12, 1), spread=spread)])
    c = f.currencies["GBP"]
    assert week(f)[0] + week(f)[2] + c.later.total == 10_001
    assert (week(f)[0], week(f)[2], c.later.predicted) in ((5_001, 2_500, 2_500),
                                                           (5_000, 2_501, 2_500),
                                                           (5_000, 2_500, 2_501))
    assert sum(week(f)) + c.later.total == c.total == 10_001


def test_the_prediction_rule_gives_the_distribution_its_median_comes_from():
    from chalicelib.behaviour import predict_rules as pr
    from chalicelib.behaviour import profile_rules as rules

    x = pr.predict(rules.profile([]), pr.OpenInvoice(date(2026, 11, 1), date(2026, 12, 1),
                                                     5_000), pr.Prior(), TODAY)
    assert abs(sum(s for _, s in x.distribution) - 1) < 1e-9
    assert min(k for k, _ in x.distribution) >= (TODAY - date(2026, 12, 1)).days
    # its median is the predicted day
    acc = 0.0
    for k, s in x.distribution:
        acc += s
        if acc >= 0.5:
            break
    assert abs(k - x.days_late) <= 1
