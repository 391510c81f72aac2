"""One promise, one dispute: whatever the debtor does on the hosted page is the same record
the specialist sees in the API and the workbench, and the client's report counts it."""
from __future__ import annotations

import json
from datetime import date

from chalicelib.payments import links
from chalicelib.reporting import reports
from chalicelib.store.models import ClientModel
from tests.conftest import FIXED_NOW, bearer
from tests.payments_support import add_debtor, form_fields, page_path, post_form


def test_a_debtor_page_promise_and_dispute_are_the_specialists_records_and_count(http, tenants,
                                                                                monkeypatch):
    """GIVEN a debtor owing £100 (INV-1) and £250 (INV-2) with a signed link
    WHEN the debtor disputes INV-1 and promises on the page to pay by 1 December
    THEN GET …/promises lists the promise (taken by the debtor) and GET …/disputes the
    dispute (owned by the debtor, the specialist's reason codes); the workbench queue has
    a task saying why; AND WHEN the balance is paid in full before the date
    THEN the promise is kept and the client's report counts one promise due, one kept."""
    monkeypatch.setenv("RECOUP_DEMO_NOW", FIXED_NOW.isoformat())  # the handlers' clock
    a, _ = tenants
    d = add_debtor(http, a)
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    html = http.http.get(path).body.decode()
    csrf = {"csrf": form_fields(html, "/question")["csrf"]}
    assert 'value="pricing"' in html and 'value="wrong_amount"' not in html
    r = post_form(http, f"{path}/dispute", {**csrf, "invoice_id": d["invoices"]["INV-1"],
                                            "reason": "pricing", "message": "billed twice"})
    assert r.status_code == 200, r.body
    r = post_form(http, f"{path}/promise", {**csrf, "promise_date": "2026-12-01"})
    assert r.status_code == 200, r.body

    staff = bearer(a.specialist)
    promises = http.http.get(d["base"] + "/promises", headers=staff).json_body["items"]
    assert [(p["status"], p["taken_by"], p["promised_for"]) for p in promises] == [
        ("open", "debtor", "2026-12-01")]
    disputes = http.http.get(d["base"] + "/disputes", headers=staff).json_body["items"]
    assert [(x["owner"], x["reason"], x["detail"], x["invoice_number"]) for x in disputes] == [
        ("debtor", "pricing", "billed twice", "INV-1")]
    queue = http.http.get(f"/v1/clients/{a.client_id}/tasks", headers=staff).json_body["items"]
    reasons = " ".join(r["reason"] for t in queue for r in t["reasons"])
    assert "promised to pay" in reasons and "raised a dispute" in reasons

    monkeypatch.setenv("RECOUP_DEMO_NOW", "2026-11-28T09:00:00+00:00")
    r = http.http.post(d["base"] + "/payments", headers=staff, body=json.dumps({
        "amount_minor": 25000, "currency": "GBP", "received_on": "2026-11-28",
        "reference": "BACS 1"}))
    assert r.status_code == 201, r.body
    promises = http.http.get(d["base"] + "/promises", headers=staff).json_body["items"]
    assert promises[0]["status"] == "kept"
    client = ClientModel.get(a.agency_id, a.client_id)
    rate = reports.build(client, date(2026, 12, 5))["figures"]["promise_kept_rate"]
    assert rate == {"due": 1, "kept": 1, "rate": 100.0}
