"""Payment plans (set up, paid by link, broken when an instalment is missed) and late
charges (claimed once per period, shown to the debtor, waivable)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.kernel import events
from chalicelib.payments import charges, links, plans
from chalicelib.store.models import ClientModel, DebtorModel
from local import checkout as local_checkout
from tests.conftest import FIXED_NOW, bearer
from tests.payments_support import (
    add_debtor,
    debtor,
    form_fields,
    page_path,
    post_form,
    route_local_deliveries,
)


@pytest.fixture
def tasks():
    got = []
    handler = lambda **kw: got.append(kw)  # noqa: E731
    events.subscribe("call_task_needed", handler)
    yield got
    events._handlers["call_task_needed"].remove(handler)
    from chalicelib.payments import stripe_gateway

    local_checkout.use_local_delivery(None)


def _stopped(a, d) -> str | None:
    return DebtorModel.get(f"{a.agency_id}#{a.client_id}", d["id"]).stopped_reason


def test_plan_set_up_by_specialist_paid_by_link_then_broken_when_missed(http, tenants, tasks):
    a, _ = tenants
    d = add_debtor(http, a)
    route_local_deliveries(http)
    # GIVEN a specialist agrees two monthly instalments
    r = http.http.post(d["base"] + "/plans", headers=bearer(a.specialist), body=json.dumps(
        {"instalments": 2, "first_due": "2026-12-01", "interval": "monthly"}))
    assert r.status_code == 201, r.body
    plan = r.json_body
    assert plan["status"] == "active" and [i["amount_minor"] for i in plan["instalments"]] == [
        17500, 17500]
    assert _stopped(a, d) == "plan"
    # WHEN the debtor pays the first instalment from their link
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    html = http.http.get(path).body.decode()
    assert "Pay instalment 1: £175.00" in html
    r = post_form(http, f"{path}/pay", _instalment_form(html))
    checkout = page_path(r.headers["Location"])
    post_form(http, f"{checkout}/pay", form_fields(http.http.get(checkout).body.decode(), "/pay"))
    assert debtor(http, a, d)["balance_minor"] == 17500
    got = http.http.get(d["base"] + "/plans", headers=bearer(a.admin)).json_body["items"][0]
    assert got["paid_minor"] == 17500 and got["instalments"][0]["paid_minor"] == 17500
    # THEN the hourly check leaves it alone while on time...
    assert plans.check_plans(datetime(2026, 12, 20, tzinfo=timezone.utc)) == []
    # ...and breaks it once the second instalment is missed
    assert plans.check_plans(datetime(2027, 1, 2, 9, tzinfo=timezone.utc)) == [plan["id"]]
    assert plans.check_plans(datetime(2027, 1, 2, 10, tzinfo=timezone.utc)) == []  # once only
    got = http.http.get(d["base"] + "/plans", headers=bearer(a.admin)).json_body["items"][0]
    assert got["status"] == "broken" and got["broken_instalment"] == 2
    assert _stopped(a, d) is None  # the cadence resumes
    assert [t["reason"] for t in tasks] == ["plan_broken"]


def _instalment_form(html: str) -> dict:
    import re

    m = re.search(r'<form method="post" action="[^"]+/pay">\s*<input type="hidden" name="csrf" '
                  r'value="([^"]+)">\s*<input type="hidden" name="attempt_id" value="([^"]+)">\s*'
                  r'<input type="hidden" name="mode" value="instalment">', html)
    assert m, "no instalment form"
    return {"csrf": m.group(1), "attempt_id": m.group(2), "mode": "instalment"}


def test_debtor_proposal_is_auto_approved_under_the_threshold_else_waits(http, tenants):
    a, b = tenants
    first = (FIXED_NOW.date() + timedelta(days=5)).isoformat()
    d = add_debtor(http, a, settings={"plan_rules": {"auto_approve_under_minor": 50000,
                                                     "max_instalments": 6}})
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    csrf = form_fields(http.http.get(path).body.decode(), "/plan")
    r = post_form(http, f"{path}/plan", {**csrf, "instalments": "12", "interval": "monthly",
                                         "first_due": first})
    assert r.status_code == 422 and "between 1 and 6" in r.body.decode()
    r = post_form(http, f"{path}/plan", {**csrf, "instalments": "3", "interval": "monthly",
                                         "first_due": first})
    assert "Your plan is active" in r.body.decode()
    # a client that approves every plan by hand
    e = add_debtor(http, b, settings={"plan_rules": {"auto_approve_under_minor": 0}})
    path = page_path(links.debtor_link(b.agency_id, b.client_id, e["id"], FIXED_NOW))
    csrf = form_fields(http.http.get(path).body.decode(), "/plan")
    r = post_form(http, f"{path}/plan", {**csrf, "instalments": "2", "interval": "monthly",
                                         "first_due": first})
    assert "We will review your proposal" in r.body.decode()
    pending = http.http.get(e["base"] + "/plans", headers=bearer(b.specialist)).json_body["items"]
    assert pending[0]["status"] == "pending_approval"
    r = http.http.post(f"{e['base']}/plans/{pending[0]['id']}/approve",
                       headers=bearer(b.specialist))
    assert r.status_code == 200 and r.json_body["status"] == "active"


def _client(a) -> ClientModel:
    return ClientModel.get(a.agency_id, a.client_id)


def test_late_fee_is_charged_once_shown_to_the_debtor_and_waivable(http, tenants):
    a, _ = tenants
    d = add_debtor(http, a, settings={"charges": {"kind": "fixed", "fixed_minor": 4000,
                                                  "fixed_currency": "GBP", "grace_days": 7}})
    # WHEN the job runs twice (and a third time later)
    first = charges.accrue_for_client(a.agency_id, _client(a), FIXED_NOW)
    again = charges.accrue_for_client(a.agency_id, _client(a), FIXED_NOW)
    later = charges.accrue_for_client(a.agency_id, _client(a), FIXED_NOW + timedelta(days=20))
    # THEN each overdue invoice got one fee, never two
    assert len(first) == 2 and again == [] and later == []
    items = http.http.get(d["base"] + "/charges", headers=bearer(a.specialist)).json_body["items"]
    assert sorted(c["amount_minor"] for c in items) == [4000, 4000]
    assert debtor(http, a, d)["balance_minor"] == 35000  # never folded into the principal
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    assert http.http.get(path).body.decode().count("Late payment fee £40.00") == 2
    # AND a specialist waives one; it disappears from the page and is not charged again
    r = http.http.post(f"{d['base']}/charges/{items[0]['id']}/waive",
                       headers=bearer(a.specialist), body=json.dumps({"reason": "goodwill"}))
    assert r.status_code == 200 and r.json_body["status"] == "waived"
    assert http.http.get(path).body.decode().count("Late payment fee £40.00") == 1
    assert charges.accrue_for_client(a.agency_id, _client(a), FIXED_NOW + timedelta(days=40)) == []


def test_uk_statutory_interest_in_2026_needs_and_uses_the_reference_rate_override(http, tenants):
    a, _ = tenants
    d = add_debtor(http, a, settings={"charges": {"kind": "uk_statutory"}})
    # Bank Rate for the 30 Jun 2026 reference date is past the built-in table: interest on
    # INV-1 is refused (logged), INV-2 has no complete period yet and gets its compensation
    before = charges.accrue_for_client(a.agency_id, _client(a), FIXED_NOW)
    assert before == [f"{d['invoices']['INV-2']}:compensation"]
    http.http.request("PATCH", f"/v1/clients/{a.client_id}", headers=bearer(a.admin),
                      body=json.dumps({"settings": {"charges": {
                          "kind": "uk_statutory", "reference_rate_override": "3.75"}}}))
    made = charges.accrue_for_client(a.agency_id, _client(a), FIXED_NOW)
    items = {c["key"]: c for c in charges.list_charges(a.agency_id, a.client_id, d["id"])}
    inv1 = d["invoices"]["INV-1"]
    assert items[f"{inv1}:compensation"]["amount_minor"] == 4000  # £40 below £1,000
    # October: 10,000 x (3.75% + 8%) x 30 / 365 = 96.58 -> 97 pence
    assert items[f"{inv1}:interest:2026-10-02:2026-10-31"]["amount_minor"] == 97
    assert len(made) == 2 and len(items) == 3


def test_early_payment_discount_is_offered_and_granted_when_paid_in_full(http, tenants, tasks):
    a, _ = tenants
    today = FIXED_NOW.date()
    d = add_debtor(http, a, invoices=(("INV-NEW", today.isoformat(),
                                       (today + timedelta(days=30)).isoformat(), 50000),),
                   settings={"charges": {"kind": "none", "early_discount_percent": "2",
                                         "early_discount_days": 10}})
    route_local_deliveries(http)
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    html = http.http.get(path).body.decode()
    assert "Pay in full now and save £10.00" in html
    r = post_form(http, f"{path}/pay", {**form_fields(html, "/pay"), "mode": "all"})
    checkout = page_path(r.headers["Location"])
    local = http.http.get(checkout).body.decode()
    assert "£490.00" in local
    post_form(http, f"{checkout}/pay", form_fields(local, "/pay"))
    got = debtor(http, a, d)
    assert got["balance_minor"] == 0 and got["credit_minor"] == 0
    tl = http.http.get(d["base"] + "/timeline?kind=payment", headers=bearer(a.specialist))
    assert "early-payment discount £10.00 allowed" in tl.json_body["items"][0]["summary"]
