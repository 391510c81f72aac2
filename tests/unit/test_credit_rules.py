"""Credit policy rules: effective limit and terms, risk bands, exposure and the alerts."""
from __future__ import annotations

import pytest

from chalicelib.behaviour import credit_rules as r
from chalicelib.kernel.field_errors import FieldError

POLICY = r.parse_policy({"default": {"limit_minor": 500_000, "terms_days": 30},
                         "segments": {"at_risk": {"limit_minor": 100_000, "terms_days": 14},
                                      "vip": {"terms_days": 60}}}, currency="GBP")


def test_the_debtor_override_beats_the_segment_which_beats_the_default():
    assert r.effective(POLICY, "prompt", None) == r.Effective(500_000, "GBP", 30, "client",
                                                               "client")
    assert r.effective(POLICY, "at_risk", None).to_dict() == {
        "limit_minor": 100_000, "currency": "GBP", "terms_days": 14,
        "limit_source": "segment", "terms_source": "segment"}
    # a level may set only one of the two: the other comes from the next level
    vip = r.effective(POLICY, "vip", None)
    assert (vip.limit_minor, vip.limit_source, vip.terms_days, vip.terms_source) == (
        500_000, "client", 60, "segment")
    own = r.effective(POLICY, "at_risk", r.Terms(20_000, "EUR", None))
    assert (own.limit_minor, own.currency, own.limit_source, own.terms_days) == (
        20_000, "EUR", "debtor", 14)


def test_no_policy_means_no_limit_and_the_standard_terms():
    e = r.effective(r.Policy(), "prompt", None)
    assert (e.limit_minor, e.limit_source, e.terms_days, e.terms_source) == (
        None, "none", 30, "default")


@pytest.mark.parametrize("raw,field", [
    ({"default": {"limit_minor": -1}}, "default.limit_minor"),
    ({"default": {"limit_minor": 1.5}}, "default.limit_minor"),
    ({"default": {"limit_minor": True}}, "default.limit_minor"),
    ({"default": {"terms_days": 366}}, "default.terms_days"),
    ({"default": {"currency": "ZZZ", "limit_minor": 1}}, "default.currency"),
    ({"default": {"limit": 1}}, "default.limit"),
    ({"segments": {"at_risk": {"terms_days": "soon"}}}, "segments.at_risk.terms_days"),
    ({"segments": []}, "segments"),
    ({"other": 1}, "other"),
])
def test_a_bad_policy_names_the_field(raw, field):
    with pytest.raises(FieldError) as exc:
        r.parse_policy(raw, currency="GBP")
    assert exc.value.field == field


def test_a_limit_takes_the_clients_currency_unless_it_names_one():
    p = r.parse_policy({"default": {"limit_minor": 100}, "segments": {
        "new": {"limit_minor": 5, "currency": "usd"}}}, currency="GBP")
    assert p.default.currency == "GBP" and p.segments["new"].currency == "USD"


def test_bands_follow_the_behaviour_segment():
    assert r.band_for("prompt").name == "low"
    assert r.band_for("slow_but_steady").name == "medium"
    assert r.band_for("erratic").name == "medium"
    assert r.band_for("at_risk", "2 broken promises").reason == \
        "segment at risk: 2 broken promises"
    # a client's own bucket takes the computed segment's band
    assert r.band_for("vip", computed="at_risk").name == "high"
    assert r.band_for(None).name == "medium"


def test_exposure_counts_the_limits_currency_and_reports_others_apart():
    e = r.exposure([(10_000, "GBP"), (5_000, "GBP"), (700, "EUR"), (0, "GBP")], "GBP")
    assert (e.minor, dict(e.other)) == (15_000, {"EUR": 700})


def _decide(prev, band="low", limit=100_000, owed=50_000, currency="GBP"):
    eff = r.Effective(limit, currency if limit is not None else None, 30, "client", "client")
    return r.decide(prev, r.band_for({"low": "prompt", "medium": "erratic",
                                      "high": "at_risk"}[band]), eff,
                    r.Exposure(owed, "GBP"))


def test_crossing_the_limit_raises_once_and_falling_back_resolves():
    first = _decide(None, owed=120_000)
    assert [x.kind for x in first.raised] == ["over_limit"]
    assert first.raised[0].message == (
        "Exposure £1,200.00 is over the credit limit of £1,000.00 by £200.00: recommend a "
        "credit hold (no new orders on credit until the balance is back under the limit).")
    assert first.raised[0].recommendation == r.HOLD_RECOMMENDED
    again = _decide(first.state, owed=130_000)  # still over: nothing new
    assert not again.raised and not again.resolve and again.state.exposure_minor == 130_000
    back = _decide(again.state, owed=90_000)
    assert back.resolve == (("over_limit", "exposure back under the limit"),)
    assert _decide(back.state, owed=100_000).raised == ()  # at the limit is not over it


def test_a_limit_in_another_currency_is_not_compared():
    d = _decide(None, owed=999_999, currency="EUR")
    assert not d.raised and not d.state.over_limit and d.state.limit_minor is None


def test_a_worse_band_alerts_and_a_better_one_resolves():
    base = _decide(None).state
    assert _decide(None).raised == ()  # the first evaluation only sets the band
    worse = _decide(base, band="high")
    assert [x.kind for x in worse.raised] == ["band_changed"]
    assert worse.raised[0].message.startswith(
        "Risk band changed from low risk to high risk (segment at risk")
    assert worse.raised[0].message.endswith("recommend a credit hold until they pay down "
                                            "the balance.")
    medium = _decide(base, band="medium")
    assert medium.raised[0].recommendation == r.REVIEW_RECOMMENDED
    better = _decide(worse.state, band="low")
    assert better.raised == () and better.resolve[0][0] == "band_changed"
    assert "improved from high risk to low risk" in better.summary
    assert r.band_alert_resolved("low", "low") and not r.band_alert_resolved("low", "medium")
