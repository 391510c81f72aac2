"""Money in: signed link -> hosted page -> checkout -> signed webhook -> balances, events."""
from __future__ import annotations

import json
import threading

import pytest

from chalicelib.payments import fulfilment
from chalicelib.payments import stripe_gateway as gw
from chalicelib.kernel import events
from chalicelib.payments import links
from local import checkout as local_checkout
from tests.conftest import FIXED_NOW, bearer
from tests.payments_support import (
    add_debtor,
    debtor,
    form_fields,
    invoices,
    page_path,
    post_event,
    post_form,
    route_local_deliveries,
    serialise_moto_writes,
    session_event,
    signed,
)


@pytest.fixture
def heard():
    """Subscribers standing in for dunning (thank-you) and the workbench (tasks)."""
    got: dict[str, list] = {"payment_applied": [], "call_task_needed": [], "debtor_action": []}
    handlers = {name: (lambda name=name, **kw: got[name].append(kw)) for name in got}
    for name, h in handlers.items():
        events.subscribe(name, h)
    yield got
    for name, h in handlers.items():
        events._handlers[name].remove(h)
    local_checkout.use_local_delivery(None)


@pytest.fixture
def world(http, tenants, heard):
    a, _ = tenants
    d = add_debtor(http, a)
    url = links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW)
    return a, d, page_path(url)


def test_debtor_pays_everything_through_the_local_checkout_and_is_thanked(http, world, heard):
    a, d, path = world
    route_local_deliveries(http)
    # GIVEN the debtor opens the link from their email
    page = http.http.get(path)
    assert page.status_code == 200
    html = page.body.decode()
    assert "£350.00" in html and "INV-1" in html and "INV-2" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    # WHEN they pay everything (the form carries no amount: the server computes it)
    r = post_form(http, f"{path}/pay", {**form_fields(html, "/pay"), "mode": "all",
                                        "amount_minor": "1"})
    assert r.status_code == 303
    checkout = page_path(r.headers["Location"])
    local = http.http.get(checkout).body.decode()
    assert "LOCAL TEST CHECKOUT" in local and "£350.00" in local
    r = post_form(http, f"{checkout}/pay", form_fields(local, "/pay"))
    assert r.status_code == 303 and r.headers["Location"].endswith("?paid=1")
    # THEN the page shows nothing owed, the thank-you subscriber heard it once
    after = http.http.get(page_path(r.headers["Location"])).body.decode()
    assert "Thank you: your payment has been received." in after
    assert debtor(http, a, d)["balance_minor"] == 0
    assert {i["status"] for i in invoices(http, a, d).values()} == {"paid"}
    assert [e["amount_minor"] for e in heard["payment_applied"]] == [35000]
    pays = http.http.get(d["base"] + "/payments", headers=bearer(a.specialist)).json_body
    assert [p["source"] for p in pays["items"]] == ["link"]
    # AND paying the same local session again changes nothing
    post_form(http, f"{checkout}/pay", form_fields(local, "/pay"))
    assert len(heard["payment_applied"]) == 1


def test_debtor_pays_chosen_invoice_and_part_of_the_rest(http, world, heard):
    a, d, path = world
    route_local_deliveries(http)
    html = http.http.get(path).body.decode()
    fields = form_fields(html, "/pay")
    r = post_form(http, f"{path}/pay", {**fields, "mode": "choose"},
                  [("invoice_ids", d["invoices"]["INV-2"])])
    checkout = page_path(r.headers["Location"])
    local = http.http.get(checkout).body.decode()
    assert "£250.00" in local
    post_form(http, f"{checkout}/pay", form_fields(local, "/pay"))
    assert invoices(http, a, d)["INV-2"]["status"] == "paid"
    assert invoices(http, a, d)["INV-1"]["balance_minor"] == 10000
    html = http.http.get(path).body.decode()
    r = post_form(http, f"{path}/pay", {**form_fields(html, "/pay"), "mode": "part",
                                        "amount": "40.00"})
    checkout = page_path(r.headers["Location"])
    post_form(http, f"{checkout}/pay", form_fields(http.http.get(checkout).body.decode(), "/pay"))
    assert invoices(http, a, d)["INV-1"]["balance_minor"] == 6000
    # a part payment above what is owed is refused with a reason
    r = post_form(http, f"{path}/pay", {**form_fields(html, "/pay"), "mode": "part",
                                        "amount": "999.00"})
    assert r.status_code == 422 and "enter an amount up to" in r.body.decode()


def test_same_event_delivered_twice_at_once_applies_one_payment(http, world, heard,
                                                                monkeypatch):
    a, d, _ = world
    serialise_moto_writes(monkeypatch)
    event = session_event("checkout.session.completed", event_id="evt_dup", agency_id=a.agency_id,
                          client_id=a.client_id, debtor_id=d["id"], amount=10000)
    payload, header = signed(event, timestamp=int(FIXED_NOW.timestamp()))
    results, barrier = [], threading.Barrier(2)

    def deliver():
        barrier.wait()
        try:
            results.append(fulfilment.handle(payload, header, FIXED_NOW))
        except fulfilment.Busy:
            results.append("busy")

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    again = post_event(http, event)  # and once more, later, over HTTP
    assert again.status_code == 200 and again.json_body["duplicate"] is True
    assert len(heard["payment_applied"]) == 1
    assert debtor(http, a, d)["balance_minor"] == 25000


def test_bad_signature_tampered_body_and_stale_timestamp_are_refused(http, world, heard):
    a, d, _ = world
    event = session_event("checkout.session.completed", event_id="evt_bad", agency_id=a.agency_id,
                          client_id=a.client_id, debtor_id=d["id"], amount=35000)
    payload, header = signed(event)
    wrong_secret = signed(event, secret="whsec_not_ours")[1]
    tampered = payload.replace("35000", "99999")
    stale = signed(event, timestamp=int(FIXED_NOW.timestamp()) - 3600 * 24 * 400)[1]
    for body, sig in ((payload, wrong_secret), (tampered, header), (payload, stale),
                      (payload, ""), ("not json", header)):
        r = http.http.post("/webhooks/stripe", body=body, headers={
            "Content-Type": "application/json", "Stripe-Signature": sig})
        assert r.status_code == 400, (body[:20], sig[:20])
    assert debtor(http, a, d)["balance_minor"] == 35000
    assert heard["payment_applied"] == []
    assert http.http.get(d["base"] + "/payments", headers=bearer(a.admin)).json_body["items"] == []


def test_completed_after_expired_still_fulfils_and_expired_after_completed_changes_nothing(
        http, world, heard):
    a, d, _ = world
    common = {"agency_id": a.agency_id, "client_id": a.client_id, "debtor_id": d["id"],
              "amount": 10000}
    assert post_event(http, session_event("checkout.session.expired", event_id="evt_e1",
                                          **common)).status_code == 200
    assert post_event(http, session_event("checkout.session.completed", event_id="evt_c1",
                                          **common)).status_code == 200
    assert debtor(http, a, d)["balance_minor"] == 25000
    r = post_event(http, session_event("checkout.session.expired", event_id="evt_e2", **common))
    assert r.json_body["action"] == "none"
    assert debtor(http, a, d)["balance_minor"] == 25000 and len(heard["payment_applied"]) == 1


def test_async_payment_is_fulfilled_only_when_it_succeeds(http, world, heard):
    a, d, _ = world
    common = {"agency_id": a.agency_id, "client_id": a.client_id, "debtor_id": d["id"],
              "amount": 10000, "payment_intent": "pi_async"}
    post_event(http, session_event("checkout.session.completed", event_id="evt_a1",
                                   payment_status="unpaid", **common))
    assert debtor(http, a, d)["balance_minor"] == 35000
    post_event(http, session_event("checkout.session.async_payment_succeeded",
                                   event_id="evt_a2", **common))
    assert debtor(http, a, d)["balance_minor"] == 25000


def test_refund_and_chargeback_reopen_balances_and_tell_the_specialist(http, world, heard):
    a, d, _ = world
    meta = {"agency_id": a.agency_id, "client_id": a.client_id, "debtor_id": d["id"]}
    post_event(http, session_event("checkout.session.completed", event_id="evt_p", amount=35000,
                                   payment_intent="pi_r", **meta))
    assert debtor(http, a, d)["balance_minor"] == 0
    refund = {"id": "evt_r1", "type": "charge.refunded", "data": {"object": {
        "id": "ch_1", "object": "charge", "payment_intent": "pi_r", "amount": 35000,
        "amount_refunded": 5000, "metadata": meta}}}
    assert post_event(http, refund).status_code == 200
    assert post_event(http, {**refund, "id": "evt_r1b"}).status_code == 200  # same state again
    assert debtor(http, a, d)["balance_minor"] == 5000
    assert invoices(http, a, d)["INV-2"]["status"] == "part_paid"  # last paid reopens first
    dispute = {"id": "evt_d1", "type": "charge.dispute.created", "data": {"object": {
        "id": "dp_1", "object": "dispute", "payment_intent": "pi_r", "amount": 30000,
        "reason": "fraudulent", "metadata": meta}}}
    assert post_event(http, dispute).status_code == 200
    assert debtor(http, a, d)["balance_minor"] == 35000
    assert [t["reason"] for t in heard["call_task_needed"]] == ["refund", "chargeback"]
    kinds = [p["kind"] for p in http.http.get(d["base"] + "/payments",
                                              headers=bearer(a.admin)).json_body["items"]]
    assert sorted(kinds) == ["chargeback", "payment", "refund"]


def test_overpayment_recorded_by_a_specialist_becomes_credit(http, world, heard):
    a, d, _ = world
    r = http.http.post(d["base"] + "/payments", headers=bearer(a.specialist), body=json.dumps({
        "amount_minor": 40000, "currency": "GBP", "received_on": "2026-11-24",
        "method": "transfer", "reference": "BACS 7781"}))
    assert r.status_code == 201, r.body
    assert r.json_body["allocations"]["credit_minor"] == 5000
    got = debtor(http, a, d)
    assert got["balance_minor"] == 0 and got["credit_minor"] == 5000
    # the same bank line entered twice is one payment
    r2 = http.http.post(d["base"] + "/payments", headers=bearer(a.specialist), body=json.dumps({
        "amount_minor": 40000, "currency": "GBP", "received_on": "2026-11-24",
        "method": "transfer", "reference": "BACS 7781"}))
    assert r2.json_body["replayed"] is True and debtor(http, a, d)["credit_minor"] == 5000
    tl = http.http.get(d["base"] + "/timeline?kind=payment", headers=bearer(a.specialist))
    assert "kept as credit" in tl.json_body["items"][0]["summary"]


def test_manual_payment_refuses_bad_input_with_reasons(http, world):
    a, d, _ = world
    r = http.http.post(d["base"] + "/payments", headers=bearer(a.specialist), body=json.dumps({
        "amount_minor": -5, "currency": "XXX", "received_on": "yesterday", "reference": ""}))
    assert r.status_code == 422
    assert {f["field"] for f in r.json_body["error"]["fields"]} >= {"amount_minor", "currency",
                                                                      "received_on"}


def test_concurrent_manual_and_webhook_payments_reconcile_exactly(http, world, heard,
                                                                  monkeypatch):
    a, d, _ = world
    from chalicelib.payments import ledger as payments

    real_load = payments._load
    state = {"raced": False}

    def load_then_race(*args):
        loaded = real_load(*args)
        if not state["raced"]:  # the webhook lands between our read and our write
            state["raced"] = True
            post_event(http, session_event(
                "checkout.session.completed", event_id="evt_race", agency_id=a.agency_id,
                client_id=a.client_id, debtor_id=d["id"], amount=10000,
                invoice_ids=d["invoices"]["INV-1"], payment_intent="pi_race"))
        return loaded

    monkeypatch.setattr(payments, "_load", load_then_race)
    r = http.http.post(d["base"] + "/payments", headers=bearer(a.specialist), body=json.dumps({
        "amount_minor": 10000, "currency": "GBP", "received_on": "2026-11-24",
        "reference": "CHQ 1"}))
    assert r.status_code == 201
    inv = invoices(http, a, d)
    # the webhook paid INV-1; the cheque, re-allocated after the conflict, paid into INV-2
    assert inv["INV-1"]["balance_minor"] == 0 and inv["INV-2"]["balance_minor"] == 15000
    assert debtor(http, a, d)["balance_minor"] == 15000
    assert r.json_body["allocations"]["lines"][0]["number"] == "INV-2"


def test_two_threads_paying_the_same_invoice_never_lose_money(http, world, heard,
                                                              monkeypatch):
    a, d, _ = world
    serialise_moto_writes(monkeypatch)
    from chalicelib.payments import ledger as payments

    barrier, failures = threading.Barrier(2), []

    def pay(ref):
        barrier.wait()
        try:
            _pay(ref)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    def _pay(ref):
        payments.apply_payment(a.agency_id, a.client_id, d["id"], amount_minor=10000,
                               currency="GBP", source="transfer",
                               payment_id=payments.payment_id_for(ref),
                               received_on=FIXED_NOW.date(),
                               now=FIXED_NOW, actor="t", invoice_ids=[d["invoices"]["INV-1"]])

    threads = [threading.Thread(target=pay, args=(r,)) for r in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    got = debtor(http, a, d)
    assert invoices(http, a, d)["INV-1"]["balance_minor"] == 0
    assert got["balance_minor"] == 25000 and got["credit_minor"] == 10000  # nothing lost
