"""What if: an agency compares the client's current cadence with a proposed one on the
client's own book, through the outcomes lab, before choosing."""
from __future__ import annotations

import json

from tests.conftest import BOOKS, bearer


def _import(http, token, client_id):
    r = http.http.post(f"/v1/clients/{client_id}/imports",
                       headers=bearer(token, **{"Content-Type": "text/csv"}),
                       body=(BOOKS / "acme_generic.csv").read_bytes())
    assert r.status_code in (200, 201, 202), r.body


def _what_if(http, token, client_id, body):
    return http.http.post(f"/v1/clients/{client_id}/what-if", headers=bearer(token),
                          body=json.dumps(body))


def test_the_agency_sees_current_vs_proposed_vs_baseline_on_its_own_book(http, tenants):
    a, _ = tenants
    _import(http, a.admin, a.client_id)
    r = _what_if(http, a.specialist, a.client_id, {"samples": 5})
    assert r.status_code == 200, r.body
    body = r.json_body
    assert body["invoices"] > 0 and body["debtors"] > 0 and body["samples"] == 5
    names = [p["playbook"] for p in body["playbooks"]]
    assert names == ["current", "proposed", "baseline", "none"]
    by = {p["playbook"]: p for p in body["playbooks"]}
    # No cadence set: current is the product's default, and so is the proposal.
    assert by["current"] == {**by["proposed"], "playbook": "current"}
    assert body["proposed_cadence"]["id"] == "default"
    assert by["none"]["touches_per_debtor"] == 0
    assert by["baseline"]["touches_by_channel"]["sms"] == 0
    assert by["none"]["dso_days"] >= by["current"]["dso_days"]
    assert set(by["current"]["collected_ratio"]) == {"30d", "60d", "90d"}
    # Same seed, same answer.
    again = _what_if(http, a.specialist, a.client_id, {"samples": 5}).json_body
    assert again == body


def test_a_proposed_email_only_cadence_sends_no_sms_or_calls(http, tenants):
    a, _ = tenants
    _import(http, a.admin, a.client_id)
    cadence = {"id": "mail", "name": "Mail only", "steps": [
        {"key": "due+7", "offset_days": 7, "channel": "email", "template": "overdue_firm",
         "tone": "firm"}]}
    r = _what_if(http, a.admin, a.client_id, {"cadence": cadence, "samples": 2})
    assert r.status_code == 200, r.body
    proposed = next(p for p in r.json_body["playbooks"] if p["playbook"] == "proposed")
    assert proposed["touches_by_channel"]["sms"] == proposed["calls_per_debtor"] == 0
    assert r.json_body["proposed_cadence"]["id"] == "mail"


def test_a_bad_proposed_cadence_names_the_field(http, tenants):
    a, _ = tenants
    cadence = {"id": "x", "name": "X", "steps": [
        {"key": "s", "offset_days": 1, "channel": "fax", "template": "t", "tone": "firm"}]}
    r = _what_if(http, a.admin, a.client_id, {"cadence": cadence})
    assert r.status_code == 422
    assert r.json_body["error"]["fields"][0]["field"] == "cadence.steps[0].channel"
    r = _what_if(http, a.admin, a.client_id, {"samples": 0})
    assert r.status_code == 422
    assert r.json_body["error"]["fields"][0]["field"] == "samples"


def test_other_tenants_and_client_viewers_get_nothing(http, tenants):
    a, b = tenants
    _import(http, a.admin, a.client_id)
    assert _what_if(http, b.admin, a.client_id, {}).status_code == 404
    assert _what_if(http, a.viewer, a.client_id, {}).status_code == 403
    assert _what_if(http, a.outsider, a.client_id, {}).status_code in (403, 404)


def test_the_workspace_page_shows_the_comparison_and_tries_a_proposal(http, tenants):
    from urllib.parse import urlencode

    from tests.page_support import FORM, page_csrf, session

    a, b = tenants
    _import(http, a.admin, a.client_id)
    cookie = session(http, "/w/login", a.specialist)
    r = http.http.get(f"/w/clients/{a.client_id}/what-if?samples=2", headers=cookie)
    assert r.status_code == 200, r.body
    page = r.body.decode()
    for row in ("current", "proposed", "baseline", "none"):
        assert f'id="row-{row}"' in page
    assert "No reminders" in page and "E-mail at +7/+14/+21" in page
    bad = {"csrf": page_csrf(r.body), "samples": "2", "cadence": "{not json"}
    r = http.http.post(f"/w/clients/{a.client_id}/what-if", headers={**cookie, **FORM},
                       body=urlencode(bad).encode())
    assert r.status_code == 422 and "cadence: is not JSON" in r.body.decode()
    # Another agency's staff see nothing of it.
    other = session(http, "/w/login", b.admin)
    assert http.http.get(f"/w/clients/{a.client_id}/what-if",
                         headers=other).status_code == 404


def test_debtors_who_paid_late_before_are_simulated_as_slower_payers(http, tenants):
    from datetime import date, timedelta

    from chalicelib.store.models import InvoiceModel

    a, _ = tenants
    _import(http, a.admin, a.client_id)
    before = _what_if(http, a.admin, a.client_id, {"samples": 5}).json_body
    # Every debtor gets (another) settled invoice, paid 60 days after its due date.
    items = http.http.get(f"/v1/clients/{a.client_id}/debtors?limit=100",
                          headers=bearer(a.admin)).json_body["items"]
    for d in items:
        InvoiceModel(f"{a.agency_id}#{a.client_id}#{d['id']}", "old-1",
                     client_key=f"{a.agency_id}#{a.client_id}", debtor_id=d["id"],
                     number=f"OLD-{d['id']}", issue_date="2026-01-01", due_date="2026-01-31",
                     currency="GBP", total_minor=1000, balance_minor=0, status="paid",
                     paid_on=(date(2026, 1, 31) + timedelta(days=60)).isoformat(),
                     paid_latest=(date(2026, 1, 31) + timedelta(days=60)).isoformat(),
                     created_at="2026-01-01T00:00:00Z", updated_at="2026-04-01T00:00:00Z",
                     ).save()
    after = _what_if(http, a.admin, a.client_id, {"samples": 5}).json_body
    assert after["debtors_with_history"] == len(items)
    cur = {r["playbook"]: r for r in after["playbooks"]}["current"]
    was = {r["playbook"]: r for r in before["playbooks"]}["current"]
    assert cur["days_beyond_terms"] > was["days_beyond_terms"]
