"""The Stripe webhook answers 400 (nothing changed) or 200, never 5xx, whatever arrives."""
from __future__ import annotations

import json

import pytest

from chalicelib.payments import stripe_gateway as gw
from tests.conftest import FIXED_NOW, bearer
from tests.payments_support import add_debtor, debtor, session_event

NOW = int(FIXED_NOW.timestamp())


@pytest.fixture
def pinned(monkeypatch):
    """The webhook's clock reads FIXED_NOW, so signature times are relative to it."""
    monkeypatch.setenv("RECOUP_DEMO_NOW", FIXED_NOW.isoformat())


def _post(http, body: bytes | str, signature: str):
    return http.http.post("/webhooks/stripe", body=body, headers={
        "Content-Type": "application/json", "Stripe-Signature": signature})


def _sign(body: bytes | str, at: int = NOW) -> str:
    text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else body
    return gw.sign(text, None, at)


def test_bytes_that_are_not_utf8_are_a_400(http, pinned):
    """GIVEN a body that is not UTF-8 (signed or not)
    WHEN it is posted to the webhook
    THEN the answer is 400 bad_signature, not a 500."""
    body = b'{"id": "evt_x", "type": "\xff\xfe"}'
    for sig in (f"t={NOW},v1=" + "0" * 64, ""):
        r = _post(http, body, sig)
        assert r.status_code == 400
        assert r.json_body["error"]["code"] == "bad_signature"


@pytest.mark.parametrize("body", ["[1, 2, 3]", '"just a string"', "42", "null",
                                  ('{"id": "evt_1", "type": "checkout.session.completed", '
                                   '"data": {"object": {"metadata": "not an object"}}}'),
                                  '{"id": 7, "type": "checkout.session.completed"}',
                                  "[" * 5000 + "]" * 5000])
def test_a_correctly_signed_body_that_is_not_an_event_is_a_400(http, pinned, body):
    """GIVEN a correctly signed body that is JSON but not an event object
    WHEN it is posted
    THEN 400 bad_event, not a 500."""
    r = _post(http, body, _sign(body))
    assert r.status_code == 400, r.body
    assert r.json_body["error"]["code"] == "bad_event"


def test_a_signature_dated_beyond_the_tolerance_in_the_future_is_refused(http, tenants, pinned):
    """GIVEN a payment event signed correctly but dated 10 minutes ahead (tolerance 5)
    WHEN it is posted
    THEN 400 and the balance is unchanged; the same event dated now is applied."""
    a, _ = tenants
    d = add_debtor(http, a)
    event = json.dumps(session_event("checkout.session.completed", event_id="evt_future",
                                     agency_id=a.agency_id, client_id=a.client_id,
                                     debtor_id=d["id"], amount=35000))
    r = _post(http, event, _sign(event, NOW + gw.TOLERANCE_SECONDS + 300))
    assert r.status_code == 400
    assert "ahead" in r.json_body["error"]["message"]
    assert debtor(http, a, d)["balance_minor"] == 35000
    assert http.http.get(d["base"] + "/payments", headers=bearer(a.admin)).json_body["items"] == []
    # within the tolerance either side is fine
    assert _post(http, event, _sign(event, NOW + 60)).status_code == 200
    assert debtor(http, a, d)["balance_minor"] == 0


def test_a_payment_for_a_deleted_or_unknown_debtor_is_acknowledged_not_a_500(http, tenants,
                                                                             pinned):
    """GIVEN signed events naming a debtor or client we do not have (deleted, never existed)
    WHEN they are posted (payment, expiry, refund, chargeback)
    THEN 200 with the event ignored, and a redelivery is a duplicate."""
    a, _ = tenants
    kinds = ("checkout.session.completed", "checkout.session.expired", "charge.refunded",
             "charge.dispute.created")
    for i, kind in enumerate(kinds):
        for client_id, debtor_id in ((a.client_id, "d-gone"), ("c-gone", "d-gone")):
            event = session_event(kind, event_id=f"evt_gone_{i}_{client_id}",
                                  agency_id=a.agency_id, client_id=client_id,
                                  debtor_id=debtor_id, amount=1000)
            event["data"]["object"]["amount"] = 1000
            event["data"]["object"]["amount_refunded"] = 1000
            body = json.dumps(event)
            r = _post(http, body, _sign(body))
            assert r.status_code == 200, (kind, r.body)
            assert _post(http, body, _sign(body)).json_body.get("duplicate") is True
    # metadata naming an agency but no debtor at all
    event = session_event("checkout.session.completed", event_id="evt_no_ids",
                          agency_id=a.agency_id, client_id="", debtor_id="", amount=1000)
    del event["data"]["object"]["metadata"]["debtor_id"]
    body = json.dumps(event)
    assert _post(http, body, _sign(body)).status_code == 200
