"""Credit policy through the API: the policy is validated with the field and the reason, an
invoice that pushes a debtor over its limit raises one alert however often the event is
delivered, a payment bringing it back under resolves it, and a segment moving to at risk
raises a band-change alert recommending a credit hold."""
from __future__ import annotations

import json

import pytest

from tests.conftest import FIXED_NOW, bearer


@pytest.fixture
def acct(http, tenants):
    a, _ = tenants
    base = f"/v1/clients/{a.client_id}"
    d = http.http.post(f"{base}/debtors", headers=bearer(a.admin),
                       body=json.dumps({"account_ref": "CR-1", "name": "Crestline Ltd",
                                        "segment": "prompt"})).json_body
    return a, base, d["id"]


def _put(http, token, path, body):
    return http.http.request("PUT", path, headers=bearer(token), body=json.dumps(body))


def _invoice(http, a, base, debtor_id, number, amount):
    r = http.http.post(f"{base}/debtors/{debtor_id}/invoices", headers=bearer(a.admin),
                       body=json.dumps({"number": number, "issue_date": "2026-11-01",
                                        "due_date": "2026-12-01", "total_minor": amount}))
    assert r.status_code == 201 or r.status_code == 200, r.body
    return r.json_body


def _alerts(http, a, base):
    return http.http.get(f"{base}/credit-alerts", headers=bearer(a.admin)).json_body["items"]


@pytest.mark.parametrize("body,field", [
    ({"default": {"limit_minor": -5}}, "default.limit_minor"),
    ({"default": {"limit_minor": 10.5}}, "default.limit_minor"),
    ({"default": {"terms_days": 400}}, "default.terms_days"),
    ({"default": {"limit_minor": 100, "currency": "XYZ"}}, "default.currency"),
    ({"segments": {"at_risk": {"limit_minor": "lots"}}}, "segments.at_risk.limit_minor"),
    ({"limits": {}}, "limits"),
])
def test_a_bad_policy_is_refused_naming_the_field(http, acct, body, field):
    a, base, _ = acct
    r = _put(http, a.admin, f"{base}/credit-policy", body)
    assert r.status_code == 422, r.body
    fields = [f["field"] for f in r.json_body["error"]["fields"]]
    assert field in fields, r.json_body


def test_only_admins_set_the_policy_and_it_reads_back(http, acct):
    a, base, _ = acct
    body = {"default": {"limit_minor": 500_000, "terms_days": 30},
            "segments": {"at_risk": {"limit_minor": 100_000, "terms_days": 14}}}
    assert _put(http, a.specialist, f"{base}/credit-policy", body).status_code == 403
    r = _put(http, a.admin, f"{base}/credit-policy", body)
    assert r.status_code == 200, r.body
    got = http.http.get(f"{base}/credit-policy", headers=bearer(a.specialist)).json_body
    assert got["default"] == {"limit_minor": 500_000, "currency": "GBP", "terms_days": 30}
    assert got["segments"]["at_risk"]["terms_days"] == 14
    assert got["bands"]["at_risk"] == "high"


def test_an_invoice_over_the_limit_raises_one_alert_and_a_payment_resolves_it(http, acct):
    from chalicelib.kernel import events
    from chalicelib.store.models import OutboxModel

    a, base, did = acct
    _put(http, a.admin, f"{base}/credit-policy", {"default": {"limit_minor": 100_000}})
    _invoice(http, a, base, did, "CR-100", 60_000)
    assert _alerts(http, a, base) == []
    _invoice(http, a, base, did, "CR-101", 50_000)  # 1,100.00 against 1,000.00
    alerts = _alerts(http, a, base)
    assert len(alerts) == 1 and alerts[0]["kind"] == "over_limit"
    assert "over the credit limit of £1,000.00 by £100.00" in alerts[0]["message"]
    assert alerts[0]["recommendation"] == "credit_hold"

    # the same event delivered again (the stream redelivers), and its handler run again
    # as if its claim had been lost: still one alert
    ev = max((o for o in OutboxModel.scan() if o.name == "invoice_changed"
              and (o.payload or {}).get("debtor_id") == did), key=lambda o: o.at)
    events.deliver(ev, FIXED_NOW)
    from chalicelib.behaviour import subscribers
    subscribers.credit_on_invoice_changed(**ev.payload)
    assert len(_alerts(http, a, base)) == 1

    view = http.http.get(f"{base}/debtors/{did}/credit", headers=bearer(a.specialist)).json_body
    assert view["over_limit"] and view["exposure_minor"] == 110_000
    assert view["hold_recommended"] and view["limit_source"] == "client"
    timeline = http.http.get(f"{base}/debtors/{did}/timeline", headers=bearer(a.admin)).json_body
    assert sum(1 for e in timeline["items"] if e["kind"] == "credit_alert") == 1

    r = http.http.post(f"{base}/debtors/{did}/payments", headers=bearer(a.admin),
                       body=json.dumps({"amount_minor": 30_000, "currency": "GBP",
                                        "received_on": "2026-11-24", "reference": "BACS-9"}))
    assert r.status_code in (200, 201), r.body
    assert _alerts(http, a, base) == []
    view = http.http.get(f"{base}/debtors/{did}/credit", headers=bearer(a.admin)).json_body
    assert not view["over_limit"] and view["alerts"][0]["status"] == "resolved"
    assert view["alerts"][0]["resolution"] == "exposure back under the limit"


def test_a_debtor_override_beats_the_segment_and_the_default(http, acct):
    a, base, did = acct
    _put(http, a.admin, f"{base}/credit-policy",
         {"default": {"limit_minor": 100_000, "terms_days": 30},
          "segments": {"prompt": {"limit_minor": 200_000}}})
    view = http.http.get(f"{base}/debtors/{did}/credit", headers=bearer(a.admin)).json_body
    assert (view["limit_minor"], view["limit_source"]) == (200_000, "segment")
    assert (view["terms_days"], view["terms_source"]) == (30, "client")
    r = _put(http, a.specialist, f"{base}/debtors/{did}/credit",
             {"limit_minor": 20_000, "terms_days": 7})
    assert r.status_code == 200, r.body
    assert (r.json_body["limit_minor"], r.json_body["limit_source"]) == (20_000, "debtor")
    assert r.json_body["terms_days"] == 7
    bad = _put(http, a.specialist, f"{base}/debtors/{did}/credit", {"terms_days": -1})
    assert bad.status_code == 422 and bad.json_body["error"]["fields"][0]["field"] == "terms_days"
    _invoice(http, a, base, did, "CR-200", 25_000)  # over the debtor's own 200.00
    assert [x["kind"] for x in _alerts(http, a, base)] == ["over_limit"]


def test_without_a_policy_nothing_is_evaluated(http, acct):
    a, base, did = acct
    _invoice(http, a, base, did, "CR-250", 10_000_000)
    assert _alerts(http, a, base) == []
    view = http.http.get(f"{base}/debtors/{did}/credit", headers=bearer(a.admin)).json_body
    assert not view["enabled"] and view["evaluated_at"] is None and view["limit_source"] == "none"


def test_a_segment_moving_to_at_risk_raises_a_band_alert(http, acct):
    a, base, did = acct
    _put(http, a.admin, f"{base}/credit-policy", {})  # credit control on, no limits
    _invoice(http, a, base, did, "CR-300", 10_000)  # first evaluation: band low, no alert
    assert _alerts(http, a, base) == []
    r = http.http.request("PATCH", f"{base}/debtors/{did}", headers=bearer(a.admin),
                          body=json.dumps({"segment": "at_risk"}))
    assert r.status_code == 200, r.body
    alerts = _alerts(http, a, base)
    assert [x["kind"] for x in alerts] == ["band_changed"]
    assert alerts[0]["message"].startswith("Risk band changed from low risk to high risk")
    assert alerts[0]["recommendation"] == "credit_hold"
    # acknowledged: still listed; resolved: gone
    aid = alerts[0]["id"]
    r = http.http.post(f"{base}/credit-alerts/{aid}", headers=bearer(a.specialist),
                       body=json.dumps({"action": "acknowledge"}))
    assert r.status_code == 200 and r.json_body["status"] == "acknowledged"
    assert _alerts(http, a, base)[0]["status"] == "acknowledged"
    # the specialist records the client's hold
    r = http.http.post(f"{base}/debtors/{did}/credit/hold", headers=bearer(a.specialist),
                       body=json.dumps({"hold": True, "note": "client agreed by phone"}))
    assert r.status_code == 200 and r.json_body["on_hold"] and not r.json_body["hold_recommended"]
    r = http.http.post(f"{base}/credit-alerts/{aid}", headers=bearer(a.specialist),
                       body=json.dumps({"action": "resolve"}))
    assert r.json_body["status"] == "resolved" and _alerts(http, a, base) == []
    missing = http.http.post(f"{base}/credit-alerts/{did}.09999", headers=bearer(a.admin),
                             body=json.dumps({"action": "resolve"}))
    assert missing.status_code == 404


# ------------------------------------------------------------------- pages and playbook


def test_the_workspace_and_the_portal_show_the_alert_and_the_client_approves_the_hold(
        http, acct, tenants):
    from urllib.parse import urlencode

    from tests.page_support import FORM, page_csrf, session

    a, base, did = acct
    me = session(http, "/w/login", a.admin)
    # the policy through the workspace form, with a refusal naming the field first
    page = http.http.get(f"/w/clients/{a.client_id}/credit", headers=me)
    assert page.status_code == 200 and "No open credit alerts" in page.body.decode()
    csrf = page_csrf(page.body)
    bad = http.http.post(f"/w/clients/{a.client_id}/credit/policy", headers={**me, **FORM},
                         body=urlencode({"csrf": csrf, "default_limit": "12.345"}).encode())
    assert bad.status_code == 422 and "default.limit_minor" in bad.body.decode()
    ok = http.http.post(f"/w/clients/{a.client_id}/credit/policy", headers={**me, **FORM},
                        body=urlencode({"csrf": csrf, "default_limit": "1,000.00",
                                        "default_terms": "30"}).encode())
    assert ok.status_code == 303, ok.body
    assert http.http.get(f"{base}/credit-policy", headers=bearer(a.admin)).json_body[
        "default"]["limit_minor"] == 100_000
    _invoice(http, a, base, did, "CR-400", 150_000)
    view = http.http.get(f"/w/clients/{a.client_id}/debtors/{did}", headers=me).body.decode()
    assert 'id="credit"' in view and "£1,500.00</strong> exposure" in view
    assert "Over the credit limit: recommend a credit hold" in view
    assert "Risk band <strong>low risk</strong>" in view
    listing = http.http.get(f"/w/clients/{a.client_id}/credit", headers=me).body.decode()
    assert "Crestline Ltd" in listing and "Over credit limit" in listing
    # the client's viewer sees it in the portal and approves the hold
    viewer = session(http, "/portal/login", a.viewer)
    portal = http.http.get(f"/portal/clients/{a.client_id}/credit", headers=viewer)
    text = portal.body.decode()
    assert portal.status_code == 200 and "Crestline Ltd" in text
    assert "Credit hold recommended" in text and "£1,500.00" in text and "£1,000.00" in text
    r = http.http.post(f"/portal/clients/{a.client_id}/credit/{did}/hold",
                       headers={**viewer, **FORM},
                       body=urlencode({"csrf": page_csrf(portal.body), "hold": "1"}).encode())
    assert r.status_code == 303, r.body
    got = http.http.get(f"{base}/debtors/{did}/credit", headers=bearer(a.admin)).json_body
    assert got["on_hold"] and got["hold"]["role"] == "client_viewer"
    assert "On credit hold" in http.http.get(f"/portal/clients/{a.client_id}/credit",
                                             headers=viewer).body.decode()
    # resolved, the alert leaves the lists; the hold keeps the account on both credit pages
    aid = http.http.get(f"{base}/credit-alerts", headers=bearer(a.admin)).json_body[
        "items"][0]["id"]
    http.http.post(f"{base}/credit-alerts/{aid}", headers=bearer(a.admin),
                   body=json.dumps({"action": "resolve"}))
    row = http.http.get(f"/portal/clients/{a.client_id}/credit", headers=viewer).body.decode()
    assert "Crestline Ltd" in row and "On credit hold" in row and "No open alert" in row
    desk = http.http.get(f"/w/clients/{a.client_id}/credit", headers=me).body.decode()
    assert "On credit hold (1)" in desk and "No open credit alerts" in desk
    # the account's page in the portal lists the alert and the hold among its activity
    activity = http.http.get(f"/portal/clients/{a.client_id}/debtors/{did}",
                             headers=viewer).body.decode()
    assert "Exposure £1,500.00 is over the credit limit of £1,000.00" in activity
    assert "Credit hold approved by the client" in activity
    # another agency's viewer can neither see nor decide
    other = session(http, "/portal/login", tenants[1].viewer)
    seen = http.http.get(f"/portal/clients/{a.client_id}/credit", headers=other)
    assert seen.status_code == 404 and "Crestline" not in seen.body.decode()
    r = http.http.post(f"/portal/clients/{a.client_id}/credit/{did}/hold",
                       headers={**other, **FORM},
                       body=urlencode({"csrf": page_csrf(http.http.get(
                           f"/portal/clients/{tenants[1].client_id}", headers=other).body),
                           "hold": "0"}).encode())
    assert r.status_code == 404 and "Crestline" not in r.body.decode()
    assert http.http.get(f"{base}/debtors/{did}/credit", headers=bearer(a.admin)).json_body[
        "on_hold"]
    # the playbook states the live policy
    book = http.http.get(f"/w/clients/{a.client_id}/playbook", headers=me).body.decode()
    assert "Every customer: credit limit £1,000.00, terms 30 days." in book


def test_a_reversed_payment_taking_the_debtor_over_again_raises_a_new_alert(http, acct):
    from chalicelib.payments import ledger
    from tests.conftest import FIXED_NOW

    a, base, did = acct
    _put(http, a.admin, f"{base}/credit-policy", {"default": {"limit_minor": 100_000}})
    _invoice(http, a, base, did, "CR-500", 120_000)
    first = _alerts(http, a, base)
    assert len(first) == 1
    pay = http.http.post(f"{base}/debtors/{did}/payments", headers=bearer(a.admin),
                         body=json.dumps({"amount_minor": 40_000, "currency": "GBP",
                                          "received_on": "2026-11-24",
                                          "reference": "BACS-12"})).json_body
    assert _alerts(http, a, base) == []
    # WHEN the payment bounces (a chargeback reverses it): over the limit again
    ledger.reverse_payment(a.agency_id, a.client_id, did, payment_id=pay["id"],
                           amount_minor=40_000, kind="chargeback", reversal_id="rv-1",
                           now=FIXED_NOW, reason="chargeback")
    again = _alerts(http, a, base)
    assert len(again) == 1 and again[0]["id"] != first[0]["id"]
    assert again[0]["data"]["cause"].startswith("payment:")
    # a replayed reversal changes nothing
    ledger.reverse_payment(a.agency_id, a.client_id, did, payment_id=pay["id"],
                           amount_minor=40_000, kind="chargeback", reversal_id="rv-1",
                           now=FIXED_NOW, reason="chargeback")
    assert [x["id"] for x in _alerts(http, a, base)] == [again[0]["id"]]


def test_an_import_raises_one_alert_per_debtor_over_its_limit_and_a_reimport_none(http, acct):
    from tests.conftest import BOOKS

    a, base, _ = acct
    _put(http, a.admin, f"{base}/credit-policy", {"default": {"limit_minor": 50_000}})
    book = (BOOKS / "acme_generic.csv").read_bytes()
    r = http.http.post(f"{base}/imports", headers=bearer(a.admin, **{"Content-Type": "text/csv"}),
                       body=book)
    assert r.status_code in (200, 201), r.body
    debtors = http.http.get(f"{base}/debtors?limit=200", headers=bearer(a.admin)).json_body["items"]
    over = {d["id"] for d in debtors if d["balance_minor"] > 50_000}
    alerts = _alerts(http, a, base)
    assert over and {x["debtor_id"] for x in alerts} == over and len(alerts) == len(over)
    http.http.post(f"{base}/imports", headers=bearer(a.admin, **{"Content-Type": "text/csv"}),
                   body=book)
    assert len(_alerts(http, a, base)) == len(over)


def test_a_new_policy_checks_the_debtors_already_over_it_and_a_higher_limit_resolves(
        http, acct):
    a, base, did = acct
    _put(http, a.admin, f"{base}/credit-policy", {})
    _invoice(http, a, base, did, "CR-600", 300_000)
    assert _alerts(http, a, base) == []
    # WHEN a limit under what the debtor owes is saved: the alert comes at once
    _put(http, a.admin, f"{base}/credit-policy", {"default": {"limit_minor": 200_000}})
    alerts = _alerts(http, a, base)
    assert [(x["kind"], x["data"]["cause"]) for x in alerts] == [("over_limit", "policy")]
    # a limit above it resolves the alert
    _put(http, a.admin, f"{base}/credit-policy", {"default": {"limit_minor": 500_000}})
    assert _alerts(http, a, base) == []
