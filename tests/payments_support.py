"""Helpers for payments tests: a debtor with invoices, signed Stripe events, page forms."""
from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

from chalicelib.kernel.clock import utcnow
from chalicelib.payments import stripe_gateway as gw
from local import checkout as local_checkout
from tests.conftest import bearer


TWO_INVOICES = (("INV-1", "2026-09-01", "2026-10-01", 10000),
                ("INV-2", "2026-10-01", "2026-10-31", 25000))


def add_debtor(http, tenant, ref="CUST-9", invoices=TWO_INVOICES,
               settings: dict | None = None) -> dict:
    base = f"/v1/clients/{tenant.client_id}"
    if settings is not None:
        r = http.http.request("PATCH", base, headers=bearer(tenant.admin),
                              body=json.dumps({"settings": settings}))
        assert r.status_code == 200, r.body
    d = http.http.post(f"{base}/debtors", headers=bearer(tenant.specialist),
                       body=json.dumps({"account_ref": ref, "name": "Bramble Bakery"})).json_body
    http.http.post(f"{base}/debtors/{d['id']}/contacts", headers=bearer(tenant.specialist),
                   body=json.dumps({"email": "bea@bramble.example.com"}))
    ids = {}
    for number, issued, due, total in invoices:
        r = http.http.post(f"{base}/debtors/{d['id']}/invoices", headers=bearer(tenant.specialist),
                           body=json.dumps({"number": number, "issue_date": issued,
                                            "due_date": due, "total_minor": total}))
        assert r.status_code == 201, r.body
        ids[number] = r.json_body["id"]
    return {"id": d["id"], "invoices": ids, "base": f"{base}/debtors/{d['id']}"}


def debtor(http, tenant, d) -> dict:
    return http.http.get(d["base"], headers=bearer(tenant.specialist)).json_body


def invoices(http, tenant, d) -> dict:
    items = http.http.get(d["base"] + "/invoices", headers=bearer(tenant.specialist)).json_body
    return {i["number"]: i for i in items["items"]}


def signed(event: dict, secret: str | None = None, timestamp: int | None = None):
    """Payload and Stripe-Signature header, built the way stripe-python's tests build them."""
    payload = json.dumps(event)
    # the webhook checks the time against the handlers' clock (the test clock)
    return payload, gw.sign(payload, secret, timestamp or int(utcnow().timestamp()))


def session_event(kind: str, *, event_id: str, agency_id: str, client_id: str, debtor_id: str,
                  amount: int, currency: str = "gbp", invoice_ids: str = "",
                  payment_status: str = "paid", session_id: str = "cs_test_1",
                  payment_intent: str = "pi_test_1", plan_id: str = "") -> dict:
    return {"id": event_id, "object": "event", "type": kind, "created": int(time.time()),
            "data": {"object": {
                "id": session_id, "object": "checkout.session", "amount_total": amount,
                "currency": currency, "payment_status": payment_status,
                "payment_intent": payment_intent,
                "metadata": {"agency_id": agency_id, "client_id": client_id,
                             "debtor_id": debtor_id, "invoice_ids": invoice_ids,
                             "attempt_id": "ca-test-attempt", "plan_id": plan_id}}}}


def post_event(http, event: dict, **kw):
    payload, header = signed(event, **kw)
    return http.http.post("/webhooks/stripe", body=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": header})


def page_path(url: str) -> str:
    return url[url.index("/d/"):]


def form_fields(html: str, action_suffix: str) -> dict:
    """Hidden fields of the form posting to `action_suffix` (csrf, attempt id)."""
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    for action, body in forms:
        if action.endswith(action_suffix):
            return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
    raise AssertionError(f"no form posting to {action_suffix}")


def post_form(http, path: str, fields: dict, extra: list[tuple[str, str]] | None = None):
    body = urlencode(list(fields.items()) + (extra or []))
    return http.http.post(path, body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})


def serialise_moto_writes(monkeypatch):
    """DynamoDB checks a condition and writes atomically; moto's in-process backend does not
    when two threads write at once. Lock its writes so threaded tests test our code."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    # reads too: moto copies an item while another thread's write mutates it
    for name in ("put_item", "update_item", "delete_item", "transact_write_items",
                 "batch_write_item", "get_item", "query", "scan", "batch_get_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def route_local_deliveries(http):
    """The local checkout posts its signed event to /webhooks/stripe through the test client."""
    def deliver(payload, header):
        return http.http.post("/webhooks/stripe", body=payload, headers={
            "Content-Type": "application/json", "Stripe-Signature": header}).status_code
    local_checkout.use_local_delivery(deliver)
