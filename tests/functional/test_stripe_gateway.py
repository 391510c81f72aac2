"""With STRIPE_SECRET_KEY set, checkout goes through the real stripe-python client; a fake
HTTP client answers with Stripe-shaped bodies, so nothing leaves the machine."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import stripe

from chalicelib.payments import stripe_gateway as gw
from chalicelib.payments import links
from chalicelib.store.keys import debtor_key
from tests.conftest import FIXED_NOW
from tests.payments_support import add_debtor, debtor, form_fields, page_path, post_event, \
    post_form, session_event


class FakeStripe(stripe.HTTPClient):
    """Answers the Checkout Session endpoints like api.stripe.com, recording each call."""

    name = "fake"

    def __init__(self):
        super().__init__()
        self.calls = []
        self.sessions = {}

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        self.calls.append((method, url, dict(headers or {}), parse_qs(body)))
        if method == "post" and url.endswith("/v1/checkout/sessions"):
            form = parse_qs(body)
            sid = f"cs_test_{len(self.sessions) + 1}"
            meta = {k[9:-1]: v[0] for k, v in form.items() if k.startswith("metadata[")}
            self.sessions[sid] = {
                "id": sid, "object": "checkout.session", "status": "open",
                "payment_status": "unpaid", "url": f"https://checkout.stripe.com/c/pay/{sid}",
                "amount_total": int(form["line_items[0][price_data][unit_amount]"][0]),
                "currency": form["line_items[0][price_data][currency]"][0],
                "payment_intent": None, "metadata": meta}
            return json.dumps(self.sessions[sid]), 200, {"request-id": "req_1"}
        sid = url.rsplit("/", 1)[-1]
        if method == "get" and sid in self.sessions:
            return json.dumps(self.sessions[sid]), 200, {"request-id": "req_2"}
        return json.dumps({"error": {"type": "invalid_request_error",
                                     "message": "No such session"}}), 404, {}


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_fake")
    client = FakeStripe()
    gw.use_http_client(client)
    yield client
    gw.use_http_client(None)


def test_checkout_uses_the_database_amount_metadata_and_an_idempotency_key(http, tenants, fake):
    a, _ = tenants
    d = add_debtor(http, a)
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    fields = form_fields(http.http.get(path).body.decode(), "/pay")
    # WHEN the debtor presses "pay" twice with the same form (a double click)
    r1 = post_form(http, f"{path}/pay", {**fields, "mode": "all", "amount": "0.01"})
    r2 = post_form(http, f"{path}/pay", {**fields, "mode": "all"})
    # THEN they go to Stripe's hosted checkout for what the database says they owe
    assert r1.status_code == 303
    assert r1.headers["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    posts = [c for c in fake.calls if c[0] == "post"]
    assert len(posts) == 2
    _, _, headers, form = posts[0]
    assert form["line_items[0][price_data][unit_amount]"] == ["35000"]
    assert form["line_items[0][price_data][currency]"] == ["gbp"]
    assert form["metadata[agency_id]"] == [a.agency_id]
    assert form["metadata[debtor_id]"] == [d["id"]]
    assert set(form["metadata[invoice_ids]"][0].split(",")) == set(d["invoices"].values())
    keys = {c[2]["Idempotency-Key"] for c in posts}
    expected = gw.idempotency_key(debtor_key(a.agency_id, a.client_id, d["id"]),
                                  sorted(d["invoices"].values()), 35000, "GBP",
                                  fields["attempt_id"])
    assert keys == {expected}  # Stripe returns the same session for the same key
    assert r2.headers["Location"]


def test_webhook_re_reads_the_session_before_fulfilling(http, tenants, fake):
    a, _ = tenants
    d = add_debtor(http, a)
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    fields = form_fields(http.http.get(path).body.decode(), "/pay")
    post_form(http, f"{path}/pay", {**fields, "mode": "all"})
    sid = next(iter(fake.sessions))
    event = session_event("checkout.session.completed", event_id="evt_real", amount=35000,
                          agency_id=a.agency_id, client_id=a.client_id, debtor_id=d["id"],
                          session_id=sid, payment_intent="pi_real")
    # the event says paid, but Stripe (re-read) says the session is not paid yet
    r = post_event(http, event)
    assert r.status_code == 200 and r.json_body["action"] == "awaiting_payment"
    assert debtor(http, a, d)["balance_minor"] == 35000
    fake.sessions[sid].update(payment_status="paid", status="complete",
                              payment_intent="pi_real")
    r = post_event(http, {**event, "id": "evt_real_2"})
    assert r.json_body["action"] == "payment"
    assert debtor(http, a, d)["balance_minor"] == 0


def test_zero_decimal_currencies_are_not_multiplied():
    assert gw.to_stripe_amount(5000, "JPY") == 5000  # ¥5,000
    assert gw.to_stripe_amount(12345, "GBP") == 12345  # £123.45
    assert gw.to_stripe_amount(1230, "KWD") == 1230
    with pytest.raises(ValueError):
        gw.to_stripe_amount(1234, "KWD")
