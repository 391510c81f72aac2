"""Limits with clear errors, and no 5xx from odd input: every refusal names the field or the
limit in the one error shape."""
from __future__ import annotations

import json

import pytest

from chalicelib.http.edge import JSON_BODY_MAX_BYTES, UPLOAD_MAX_BYTES
from chalicelib.http.schemas import SETTINGS_MAX_BYTES
from tests.conftest import bearer


def _fields(r) -> set[str]:
    return {f["field"] for f in r.json_body["error"].get("fields", [])}


@pytest.fixture
def book(http, tenants):
    """A client with one debtor, one contact and one invoice, and the admin's headers."""
    a, _ = tenants
    h = bearer(a.admin)
    c = f"/v1/clients/{a.client_id}"
    d = http.http.post(f"{c}/debtors", headers=h, body=json.dumps(
        {"account_ref": "L-1", "name": "Limits Ltd"})).json_body
    base = f"{c}/debtors/{d['id']}"
    k = http.http.post(f"{base}/contacts", headers=h, body=json.dumps(
        {"email": "ap@limits.example.com"})).json_body
    i = http.http.post(f"{base}/invoices", headers=h, body=json.dumps(
        {"number": "L-1", "issue_date": "2026-10-01", "due_date": "2026-10-31",
         "total_minor": 5000})).json_body
    return {"h": h, "client": c, "debtor": base, "contact": f"{base}/contacts/{k['id']}",
            "invoice": f"{base}/invoices/{i['id']}"}


@pytest.mark.parametrize("where,body,field", [
    ("client", {"name": None}, "name"),
    ("client", {"settings": None}, "settings"),
    ("client", {"specialist_ids": [""]}, "specialist_ids.0"),
    ("client", {"sender_email": None}, "sender_email"),
    ("debtor", {"name": None}, "name"),
    ("debtor", {"status": None}, "status"),
    ("contact", {"preferred_channel": None}, "preferred_channel"),
    ("contact", {"opted_out": None}, "opted_out"),
    ("invoice", {"due_date": None}, "due_date"),
    ("invoice", {"status": None}, "status"),
])
def test_explicit_null_for_a_field_that_cannot_be_cleared_is_a_422_naming_it(
        http, book, where, body, field):
    """GIVEN a client, debtor, contact and invoice
    WHEN a PATCH sends null for a field that must have a value
    THEN 422 naming that field (not a 500), and the record is unchanged."""
    before = http.http.get(book[where], headers=book["h"]).json_body if where != "contact" \
        else None
    r = http.http.patch(book[where], headers=book["h"], body=json.dumps(body))
    assert r.status_code == 422, r.body
    assert field in _fields(r)
    if before is not None:
        assert http.http.get(book[where], headers=book["h"]).json_body == before


def test_fields_that_may_be_cleared_still_take_null(http, book):
    """GIVEN a debtor with notes and a client with a reply-to
    WHEN a PATCH sends null for them
    THEN they are cleared (200)."""
    h = book["h"]
    assert http.http.patch(book["debtor"], headers=h,
                           body=json.dumps({"notes": "call after 3"})).status_code == 200
    r = http.http.patch(book["debtor"], headers=h, body=json.dumps({"notes": None}))
    assert r.status_code == 200 and r.json_body["notes"] is None
    r = http.http.patch(book["client"], headers=h, body=json.dumps({"reply_to": None}))
    assert r.status_code == 200 and r.json_body["reply_to"] is None


@pytest.mark.parametrize("where,method,body,field", [
    ("debtors", "POST", {"account_ref": "X", "name": "X", "notes": "n" * 500_000}, "notes"),
    ("debtors", "POST", {"account_ref": "X", "name": "X" * 201}, "name"),
    ("debtors", "POST", {"account_ref": "X", "name": "X", "segment": "s" * 65}, "segment"),
    ("debtor", "PATCH", {"notes": "n" * 5001}, "notes"),
    ("contacts", "POST", {"email": "a@b.example.com", "notes": "n" * 5001}, "notes"),
    ("invoice", "PATCH", {"reference": "r" * 201}, "reference"),
    ("disputes", "POST", {"invoice_id": "i", "reason": "other", "detail": "d" * 5001},
     "detail"),
    ("client", "PATCH", {"settings": {"tone": "x" * (SETTINGS_MAX_BYTES + 1)}}, "settings"),
])
def test_free_text_over_its_maximum_is_a_422_naming_the_field(http, book, where, method, body,
                                                              field):
    """GIVEN a field with a stated maximum length
    WHEN a body exceeds it (even by far: a 500,000-character note)
    THEN 422 naming the field, not a false 409 or a 500."""
    path = {"debtors": book["client"] + "/debtors", "contacts": book["debtor"] + "/contacts",
            "disputes": book["debtor"] + "/disputes"}.get(where) or book[where]
    r = http.http.request(method, path, headers=book["h"], body=json.dumps(body).encode())
    assert r.status_code == 422, r.body
    assert field in _fields(r)


def test_settings_nested_too_deep_and_json_nested_a_thousand_deep_are_422(http, book):
    """GIVEN settings nested 20 levels, and a body nested ~1,000 levels
    WHEN they are sent
    THEN 422 naming settings, and 422 naming body (not a RecursionError 500)."""
    deep: dict = {}
    for _ in range(20):
        deep = {"x": deep}
    r = http.http.patch(book["client"], headers=book["h"], body=json.dumps({"settings": deep}))
    assert r.status_code == 422 and "settings" in _fields(r)
    for body in ('{"settings": ' + '{"a": ' * 1000 + "1" + "}" * 1001,
                 '{"name": ' + "[" * 1000 + "]" * 1000 + "}"):
        r = http.http.patch(book["client"], headers=book["h"], body=body)
        assert r.status_code == 422, r.body
        assert _fields(r) & {"body", "settings", "name"}


def test_a_task_due_before_year_1000_is_a_422(http, book):
    """GIVEN a debtor
    WHEN a task is raised with due_at in year 999, or year 9999
    THEN 422 naming due_at."""
    for when in ("0999-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        r = http.http.post(book["debtor"] + "/tasks", headers=book["h"],
                           body=json.dumps({"reason": "call", "due_at": when}))
        assert r.status_code == 422, r.body
        assert "due_at" in _fields(r)


def test_bodies_over_the_stated_size_are_413_naming_the_limit(http, book):
    """GIVEN the JSON body limit and the upload limit
    WHEN a body or a CSV book exceeds them
    THEN 413 whose message states the limit."""
    big = json.dumps({"name": "x" * JSON_BODY_MAX_BYTES})
    r = http.http.patch(book["client"], headers=book["h"], body=big)
    assert r.status_code == 413
    assert "1 MB" in r.json_body["error"]["message"]
    csv = b"account_ref,name\n" + b"A,B\n" * (UPLOAD_MAX_BYTES // 4 + 1)
    r = http.http.post(book["client"] + "/imports", headers={**book["h"],
                       "Content-Type": "text/csv"}, body=csv)
    assert r.status_code == 413
    assert "4 MB" in r.json_body["error"]["message"]


def test_a_body_in_another_media_type_is_415_in_the_one_error_shape(http, book):
    """WHEN a JSON operation gets text/plain, or the import gets application/json
    THEN 415 with {"error": {"code": "unsupported_media_type", ...}}."""
    r = http.http.patch(book["client"], headers={**book["h"], "Content-Type": "text/plain"},
                        body=b"name=x")
    assert r.status_code == 415
    assert r.json_body["error"]["code"] == "unsupported_media_type"
    r = http.http.post(book["client"] + "/imports", headers=book["h"], body=b'{"a": 1}')
    assert r.status_code == 415
    assert r.json_body["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer not-a-jwt", "Basic abc",
                                    "TOKEN", "Bearer  "])
def test_a_missing_or_bad_token_is_401_in_the_one_error_shape(http, tenants, header):
    """GIVEN no token, a malformed one, another scheme, or a valid token without `Bearer `
    WHEN any API operation is called
    THEN 401 {"error": {"code": "unauthorised", ...}} and no data."""
    a, _ = tenants
    value = a.admin if header == "TOKEN" else header
    headers = {} if value is None else {"Authorization": value}
    r = http.http.get("/v1/clients", headers=headers)
    assert r.status_code == 401
    assert r.json_body["error"]["code"] == "unauthorised"
    assert http.http.get("/v1/clients", headers=bearer(a.admin)).status_code == 200


def test_the_stack_answers_refused_tokens_with_the_same_401_as_the_local_gateway(http):
    """GIVEN the CloudFormation the stack merges into Chalice's template
    WHEN API Gateway refuses a request (no header: UNAUTHORIZED; token refused: ACCESS_DENIED)
    THEN both answer 401 with exactly the body the test stage returns."""
    from infra.build import gateway_response_resources

    local = http.http.get("/v1/clients", headers={"Authorization": "Bearer nope"})
    resources = gateway_response_resources()
    assert {r["Properties"]["ResponseType"] for r in resources.values()} == {
        "UNAUTHORIZED", "ACCESS_DENIED"}
    for r in resources.values():
        assert r["Properties"]["StatusCode"] == "401"
        assert json.loads(r["Properties"]["ResponseTemplates"]["application/json"]) == \
            local.json_body
