"""The agency API as a client program would use it: create, list, page, filter, errors."""
from __future__ import annotations

import json

from tests.conftest import BOOKS, bearer


def _post(http, token, path, body):
    return http.http.post(path, headers=bearer(token), body=json.dumps(body))


def test_specialist_onboards_a_debtor_with_contact_and_invoice(http, tenants):
    a, _ = tenants
    base = f"/v1/clients/{a.client_id}"
    r = _post(http, a.specialist, f"{base}/debtors",
              {"account_ref": "CUST-1", "name": "Bramble Bakery", "kind": "business"})
    assert r.status_code == 201, r.body
    debtor = r.json_body
    r = _post(http, a.specialist, f"{base}/debtors/{debtor['id']}/contacts",
              {"name": "Bea", "email": "bea@bramble.example.com", "phone": "07400 123456",
               "timezone": "Europe/London"})
    assert r.status_code == 201, r.body
    assert r.json_body["phone"] == "+447400123456"
    r = _post(http, a.specialist, f"{base}/debtors/{debtor['id']}/invoices",
              {"number": "INV-1", "issue_date": "2026-10-01", "due_date": "2026-10-31",
               "total_minor": 12050})
    assert r.status_code == 201, r.body
    assert r.json_body["currency"] == "GBP" and r.json_body["status"] == "open"

    got = http.http.get(f"{base}/debtors/{debtor['id']}", headers=bearer(a.specialist)).json_body
    assert got["balance_minor"] == 12050 and got["open_invoices"] == 1
    assert got["contacts"][0]["email"] == "bea@bramble.example.com"

    tl = http.http.get(f"{base}/debtors/{debtor['id']}/timeline",
                       headers=bearer(a.specialist)).json_body["items"]
    kinds = [e["kind"] for e in tl]
    assert kinds[0] == "invoice_added" and "debtor_created" in kinds  # newest first


def test_bad_input_names_the_field_and_reason(http, tenants):
    a, _ = tenants
    base = f"/v1/clients/{a.client_id}"
    r = _post(http, a.admin, "/v1/clients", {"name": "X", "sender_email": "nope",
                                             "currency": "XXQ", "timezone": "Mars/Olympus"})
    assert r.status_code == 422
    fields = {f["field"] for f in r.json_body["error"]["fields"]}
    assert fields == {"sender_email", "currency", "timezone"}
    r = _post(http, a.specialist, f"{base}/debtors", {"account_ref": "A", "name": "A",
                                                       "agency_id": "agB"})
    assert r.status_code == 422
    assert r.json_body["error"]["fields"][0]["field"] == "agency_id"
    r = http.http.post(f"{base}/debtors", headers=bearer(a.specialist), body="{not json")
    assert r.status_code == 422 and r.json_body["error"]["fields"][0]["field"] == "body"
    r = http.http.get(f"{base}/debtors?limit=0", headers=bearer(a.specialist))
    assert r.status_code == 422 and r.json_body["error"]["fields"][0]["field"] == "limit"


def test_duplicate_account_ref_and_invoice_number_conflict(http, tenants):
    a, _ = tenants
    base = f"/v1/clients/{a.client_id}"
    d = _post(http, a.specialist, f"{base}/debtors", {"account_ref": "R1", "name": "One"}).json_body
    assert _post(http, a.specialist, f"{base}/debtors",
                 {"account_ref": "r1", "name": "Again"}).status_code == 409
    inv = {"number": "N-1", "issue_date": "2026-10-01", "due_date": "2026-10-31",
           "total_minor": 100}
    assert _post(http, a.specialist, f"{base}/debtors/{d['id']}/invoices", inv).status_code == 201
    assert _post(http, a.specialist, f"{base}/debtors/{d['id']}/invoices", inv).status_code == 409


def test_pages_of_debtors_cover_the_book_once(http, tenants):
    a, _ = tenants
    base = f"/v1/clients/{a.client_id}"
    r = http.http.post(f"{base}/imports", headers=bearer(a.specialist, **{"Content-Type": "text/csv"}),
                       body=(BOOKS / "acme_generic.csv").read_bytes())
    assert r.status_code == 201, r.body
    seen, cursor, pages = [], None, 0
    while True:
        q = f"?limit=15&cursor={cursor}" if cursor else "?limit=15"
        body = http.http.get(f"{base}/debtors{q}", headers=bearer(a.specialist)).json_body
        seen += [d["id"] for d in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 40 and pages >= 3
    bad = http.http.get(f"{base}/debtors?cursor=Zm9v", headers=bearer(a.specialist))
    assert bad.status_code == 422 and bad.json_body["error"]["fields"][0]["field"] == "cursor"


def test_open_invoices_by_due_date_and_dispute_excludes(http, tenants):
    a, _ = tenants
    base = f"/v1/clients/{a.client_id}"
    http.http.post(f"{base}/imports", headers=bearer(a.admin, **{"Content-Type": "text/csv"}),
                   body=(BOOKS / "acme_generic.csv").read_bytes())
    body = http.http.get(f"{base}/invoices?open=true&limit=200",
                         headers=bearer(a.admin)).json_body
    items = body["items"]
    dues = [i["due_date"] for i in items]
    assert dues == sorted(dues) and all(i["balance_minor"] > 0 for i in items)
    first = items[0]
    r = http.http.patch(f"{base}/debtors/{first['debtor_id']}/invoices/{first['id']}",
                        headers=bearer(a.admin), body=json.dumps({"status": "disputed"}))
    assert r.status_code == 422 and r.json_body["error"]["fields"][0]["field"] == "reason"
    r = http.http.patch(f"{base}/debtors/{first['debtor_id']}/invoices/{first['id']}",
                        headers=bearer(a.admin),
                        body=json.dumps({"status": "disputed", "reason": "goods not received"}))
    assert r.status_code == 200 and r.json_body["status"] == "disputed"
    before = http.http.get(f"{base}/invoices?due_before=2026-12-31&limit=200",
                           headers=bearer(a.admin)).json_body["items"]
    assert all(i["due_date"] <= "2026-12-31" for i in before)


def test_no_token_or_forged_token_is_refused(http, tenants):
    a, _ = tenants
    assert http.http.get("/v1/clients").status_code in (401, 403)
    forged = a.admin[:-4] + ("AAAA" if not a.admin.endswith("AAAA") else "BBBB")
    assert http.http.get("/v1/clients", headers=bearer(forged)).status_code in (401, 403)


def test_openapi_document_matches_the_routes(http, tenants):
    from app import app

    doc = http.http.get("/openapi.json").json_body
    documented = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops}
    # The hosted debtor pages (HTML) and provider webhooks are not part of the JSON API.
    routed = {(path, m) for path, entries in app.routes.items() for m in entries
              if path != "/openapi.json"
              and not path.startswith(("/d/", "/webhooks/", "/portal", "/w/", "/favicon.ico"))}
    assert documented == routed
    create = doc["paths"]["/v1/clients/{client_id}/debtors"]["post"]
    schema = doc["components"]["schemas"][create["requestBody"]["content"]["application/json"]
                                          ["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "account_ref" in schema["required"]
