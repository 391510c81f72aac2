"""Behaviour rules: the profile's numbers and words, the segment and its reason, the
prediction shrunk toward the client's behaviour and the facts that moved it."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.behaviour import predict_rules as pr
from chalicelib.behaviour.profile_rules import (
    Answer,
    Paid,
    PromiseFact,
    Touch,
    move,
    paid_day,
    profile,
    segment_for,
    words,
)

D0 = date(2026, 1, 5)


def paid(days_late: list[int], amounts: list[int] | None = None, terms: int = 30,
         every: int = 30) -> list[Paid]:
    amounts = amounts or [100_00] * len(days_late)
    out = []
    for k, (late, amount) in enumerate(zip(days_late, amounts)):
        issue = D0 + timedelta(days=every * k)
        due = issue + timedelta(days=terms)
        out.append(Paid(issue, due, due + timedelta(days=late), amount))
    return out


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc)


# ------------------------------------------------------------------------------- profile


def test_profile_numbers():
    # GIVEN four paid invoices, 10, 20, 30 and 0 days late; the 30-day one is the large one
    p = profile(paid([10, 20, 30, 0], [100_00, 100_00, 400_00, 100_00]))
    assert p.paid_count == 4 and p.lateness == (10, 20, 30, 0)
    assert p.mean_days_late == 15
    assert p.weighted_days_late == (10 + 20 + 120 + 0) * 100_00 / 700_00  # 21.4: by amount
    assert p.typical_days_late == 15  # the median
    assert round(p.spread_days, 2) == 12.91
    assert p.share_late == 0.75
    assert p.trend_days == (20 + 30 + 0) / 3 - 10 and p.trend == "later"


def test_a_settlement_between_imports_counts_only_when_its_bounds_are_close():
    assert paid_day(date(2026, 2, 3), None, None) == date(2026, 2, 3)
    assert paid_day(None, date(2026, 2, 1), date(2026, 2, 11)) == date(2026, 2, 6)
    assert paid_day(None, date(2026, 2, 1), date(2026, 3, 1)) is None  # a month: too vague
    p = profile([Paid(D0, D0 + timedelta(days=30), None, 100)])
    assert p.settled_count == 1 and p.paid_count == 0


def test_the_channel_that_gets_answers_is_the_one_touched_last_before_an_answer():
    touches = [Touch(at(1), "email"), Touch(at(8), "email"), Touch(at(15), "sms"),
               Touch(at(22), "sms")]
    # a payment 2 days after the first SMS; a reply 10 days after the second email (too late)
    answers = [Answer(at(17), "payment"), Answer(at(18, 12), "reply")]
    p = profile([], touches=touches, answers=answers)
    stats = {c.channel: (c.touches, c.answered) for c in p.channels}
    assert stats == {"email": (2, 0), "sms": (2, 1)}  # the SMS of the 15th is answered once
    assert p.best_channel.channel == "sms"


def test_the_profile_in_words():
    p = profile(paid([8, 10, 12, 9, 20, 22, 25]), open_in_parts=1, open_invoices=1,
                promises=[PromiseFact(D0, D0, "kept"), PromiseFact(D0, D0, "broken")],
                disputes_raised=1, touches=[Touch(at(1), "sms")], answers=[Answer(at(2), "payment")])
    assert words(p) == [
        "usually pays 12 days late; getting later",
        "paid 7 of 7 invoices late, varying by ±7 days",
        "pays in parts (1 of 8 invoices)",
        "kept 1 of 2 promises",
        "raised 1 dispute",
        "answers SMS best (1 of 1 texts answered within 7 days)"]
    assert words(profile(paid([0, -1, 1, 0])))[0] == "usually pays on time"
    assert words(profile(paid([-6, -5, -5])))[0] == "usually pays 5 days early"
    assert words(profile([]))[0] == "no paid invoices on record yet"


# ------------------------------------------------------------------------------ segments


@pytest.mark.parametrize(("late", "extra", "expected", "reason"), [
    ([0, 1, -1, 0, 0], {}, "prompt", "usually pays on time; 1 of 5 late"),
    ([18, 20, 22, 19, 21], {}, "slow_but_steady", "usually pays 20 days late, within ±2 days"),
    ([0, 40, 5, 35, 10], {}, "erratic", "usually pays 10 days late, but varying by ±18 days"),
    ([50, 60, 55], {}, "at_risk", "usually pays 55 days late"),
    ([10, 12], {}, "new", "only 2 paid invoices on record"),
    ([0, 0, 0], {"promises": [PromiseFact(D0, D0, "broken")] * 2}, "at_risk",
     "2 broken promises"),
])
def test_segment_choice_with_reasons(late, extra, expected, reason):
    s = segment_for(profile(paid(late), **extra))
    assert (s.name, s.reason) == (expected, reason)


def test_an_invoice_far_past_the_debtors_habit_puts_it_at_risk():
    p = profile(paid([18, 20, 22, 19, 21]))
    assert segment_for(p, oldest_overdue_days=40).name == "slow_but_steady"  # within habit
    s = segment_for(p, oldest_overdue_days=70)
    assert s.name == "at_risk"
    assert s.reason == ("an invoice is 70 days overdue, well past their habit (usually pays "
                        "20 days late)")


def test_a_pinned_or_hand_typed_segment_is_left_alone():
    computed = segment_for(profile(paid([18, 20, 22])))
    assert move("prompt", True, computed).segment is None  # pinned
    assert move("vip", False, computed).segment is None    # a client's own bucket
    mv = move("prompt", False, computed)
    assert mv.changed and mv.segment == "slow_but_steady"
    assert mv.summary == "Segment prompt → slow but steady: usually pays 20 days late, within ±2 days"
    assert not move("slow_but_steady", False, computed).changed


# ---------------------------------------------------------------------------- prediction


def _invoice(issue=date(2026, 11, 1), terms=30, amount=100_00, disputed=False):
    return pr.OpenInvoice(issue, issue + timedelta(days=terms), amount, amount, disputed)


PRIOR = pr.Prior(n=500, center=5.0, sigma2=64.0, tau2=144.0,
                 residuals=tuple(float(x) for x in range(-10, 11)))


def test_few_invoices_are_shrunk_toward_the_client_many_are_believed():
    inv = _invoice()
    one = pr.predict(profile(paid([40])), inv, PRIOR, inv.issue)
    many = pr.predict(profile(paid([38, 40, 42, 41, 39, 40, 40, 42, 38, 40])), inv, PRIOR, inv.issue)
    nothing = pr.predict(profile([]), inv, PRIOR, inv.issue)
    assert nothing.center == 5.0 and nothing.reasons() == ["this client's debtors pay 5 days late"]
    # one invoice 40 days late, weight n / (n + k), k = σ² / τ² = 64 / 144
    w = 1 / (1 + 64 / 144)
    assert one.center == round(w * 40 + (1 - w) * 5, 2)
    assert 5 < one.days_late < 40
    # ten consistent invoices: their own variance is small, so k is smaller still
    assert abs(many.days_late - 40) <= 1 and many.p_late == 1.0
    assert many.reasons()[1].startswith("their 10 paid invoices: usually 40 days late (weight 9")


def test_the_facts_that_move_a_prediction_are_listed_in_days():
    history = profile(paid([10, 12, 11, 10, 12]),
                      promises=[PromiseFact(D0, D0, "broken")])
    inv = _invoice(disputed=True)
    p = pr.predict(history, inv, PRIOR, inv.issue)
    assert p.reasons()[2:] == ["open dispute (+30 days)", "1 broken promise (+5 days)"]
    plain = pr.predict(profile(paid([10, 12, 11, 10, 12])), _invoice(), PRIOR, inv.issue)
    assert round(p.center - plain.center) == 35


def test_an_overdue_invoice_is_predicted_from_today_on():
    # GIVEN a debtor who pays 5 days late and an invoice already 30 days overdue
    history = profile(paid([4, 5, 6, 5, 5]))
    inv = _invoice(issue=date(2026, 9, 1))
    today = inv.due + timedelta(days=30)
    p = pr.predict(history, inv, PRIOR, today)
    # THEN it is expected no earlier than today, certainly late, and says why
    assert p.pay_on >= today and p.p_late == 1.0 and p.expected_days_late >= 30
    assert p.reasons()[-1].startswith("already 30 days overdue")


def test_expected_overdue_value_of_an_account():
    a, b = _invoice(amount=1_000_00), _invoice(amount=500_00)
    pa = pr.Prediction(a.due, 10, 0.5, 20.0, 10, ())
    pb = pr.Prediction(b.due, 30, 1.0, 30.0, 30, ())
    out = pr.outlook([(a, pa), (b, pb)])
    assert out.owed_minor == 1_500_00
    assert out.expected_overdue_minor_days == 1_000_00 * 0.5 * 20 + 500_00 * 1.0 * 30
    assert out.p_late == round((1_000_00 * 0.5 + 500_00) / 1_500_00, 4)


def test_the_prior_learns_the_clients_centre_shrinkage_and_amount_effect():
    # GIVEN 30 debtors with habits 0..29 days; each pays 4 days later per doubling of amount
    histories = {}
    for d in range(30):
        amounts = [100_00, 200_00, 400_00, 100_00, 200_00, 400_00]
        late = [d + (0, 4, 8)[k % 3] + (1 if k % 2 else -1) for k in range(6)]
        histories[f"d{d}"] = paid(late, amounts)
    prior = pr.fit_prior(histories)
    assert prior.n == 180 and 10 <= prior.center <= 22
    assert 3.0 <= prior.amount_slope <= 5.0  # days per doubling, learnt
    assert prior.tau2 > prior.sigma2  # debtors differ more than their invoices do
    assert pr.Prior.from_dict(prior.to_dict()) == prior
