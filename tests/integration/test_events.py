"""Durable events: every subscription has a publisher (and the reverse), events are stored
with their change, a failing consumer is retried without re-running the others, and the
AWS stream handler reports partial failures."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.kernel import events
from chalicelib.kernel.event_types import CATALOGUE
from chalicelib.store.models import ClaimModel, OutboxModel
from tests.conftest import FIXED_NOW

ROOT = Path(__file__).resolve().parents[2]
AT = "2026-11-25T10:00:00.000000Z"


def _published_in_production() -> set[str]:
    names = set()
    pattern = re.compile(r"events\.(?:publish|stage)\(\s*\"(\w+)\"")
    for path in (ROOT / "chalicelib").rglob("*.py"):
        names |= set(pattern.findall(path.read_text()))
    return names


def test_every_subscribed_event_has_a_publisher_in_production_code_and_vice_versa():
    """GIVEN the subscribers every capability registers and the publishers in chalicelib/
    THEN no consumer waits for an event nobody sends, no event goes unheard, and every
    event is in the typed catalogue."""
    subscribed = set(events.subscriptions())
    published = _published_in_production()
    assert subscribed - published == set(), "subscribed but never published"
    assert published - subscribed == set(), "published but nobody listens"
    assert published <= set(CATALOGUE)


def test_an_event_missing_a_field_or_its_time_is_refused():
    with pytest.raises(ValueError, match="at"):
        events.stage("touch_sent", agency_id="a", client_id="c", debtor_id="d",
                     channel="email", step="s1")
    with pytest.raises(ValueError, match="unexpected keyword"):
        events.stage("touch_sent", agency_id="a", client_id="c", debtor_id="d",
                     channel="email", step="s1", at=AT, colour="red")


@pytest.fixture
def consumers():
    """Two consumers of touch_sent: one that works, one that fails until told not to."""
    seen = {"good": [], "flaky": []}
    state = {"fail": True}

    def good(**kw):
        seen["good"].append(kw["step"])

    def flaky(**kw):
        if state["fail"] is True or kw["step"] in (state["fail"] or ()):
            raise RuntimeError("downstream unavailable")
        seen["flaky"].append(kw["step"])

    events.subscribe("touch_sent", good)
    events.subscribe("touch_sent", flaky)
    yield seen, state
    events._handlers["touch_sent"].remove(good)
    events._handlers["touch_sent"].remove(flaky)


def _touch(step: str) -> OutboxModel:
    return events.publish("touch_sent", agency_id="agE", client_id="c1", debtor_id="d1",
                          channel="email", step=step, at=AT)


def test_a_failing_consumer_is_retried_and_the_others_run_once(aws, consumers):
    """GIVEN a consumer that fails on first delivery
    WHEN the event is published (delivered inline) and the pump drains twice
    THEN the working consumer ran once, the failing one ran once it recovered, and the
    event is delivered and leaves the pending list."""
    seen, state = consumers
    item = _touch("s1")
    assert seen == {"good": ["s1"], "flaky": []}
    assert OutboxModel.get(item.event_id).status == "pending"
    assert [p.event_id for p in events.pending()] == [item.event_id]
    assert events.drain(FIXED_NOW) == {"delivered": 0, "failed": 1}
    state["fail"] = False
    assert events.drain(FIXED_NOW) == {"delivered": 1, "failed": 0}
    assert events.drain(FIXED_NOW) == {"delivered": 0, "failed": 0}
    assert seen == {"good": ["s1"], "flaky": ["s1"]}
    stored = OutboxModel.get(item.event_id)
    assert stored.status == "delivered" and stored.expires is not None
    assert events.pending() == []


def test_a_consumer_that_keeps_failing_ends_failed_not_pending_forever(aws, consumers):
    seen, _ = consumers
    item = _touch("s2")
    for _ in range(events.MAX_ATTEMPTS):
        events.drain(FIXED_NOW)
    stored = OutboxModel.get(item.event_id)
    assert stored.status == "failed" and "downstream unavailable" in stored.last_error
    assert events.pending() == [] and seen["good"] == ["s2"]


def _stream_event(*items: OutboxModel) -> dict:
    records = []
    for n, item in enumerate(items):
        raw = OutboxModel.get(item.event_id).serialize()
        records.append({"eventID": str(n), "eventName": "INSERT", "eventSource": "aws:dynamodb",
                        "awsRegion": "eu-west-2",
                        "dynamodb": {"Keys": {"event_id": {"S": item.event_id}},
                                     "NewImage": raw, "SequenceNumber": str(100 + n),
                                     "StreamViewType": "NEW_IMAGE"},
                        "eventSourceARN": "arn:aws:dynamodb:eu-west-2:1:table/outbox/stream/x"})
    return {"Records": records}


def test_the_stream_handler_reports_only_the_failed_records(aws, consumers, monkeypatch):
    """GIVEN two events stored but not delivered (as in AWS, where the stream delivers)
    WHEN the outbox stream hands both to the delivery function and a consumer fails on one
    THEN the batch response names only that record (its sequence number), a retry after
    recovery names none, and every consumer ran once per event."""
    from chalicelib.kernel import jobs

    seen, state = consumers
    monkeypatch.setattr(events, "after_commit", lambda items: None)  # deployed behaviour
    state["fail"] = {"s4"}
    a, b = _touch("s3"), _touch("s4")
    out = jobs.deliver_batch(_stream_event(a, b))
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == ["101"]
    state["fail"] = False
    assert jobs.deliver_batch(_stream_event(a, b)) == {"batchItemFailures": []}
    assert sorted(seen["good"]) == ["s3", "s4"] and sorted(seen["flaky"]) == ["s3", "s4"]


def test_a_consumer_claim_is_held_per_event_and_consumer(aws, consumers):
    seen, state = consumers
    state["fail"] = False
    item = _touch("s5")
    keys = sorted(c.claim_key for c in ClaimModel.scan() if c.claim_key.startswith(
        item.event_id) and "test_events" in c.claim_key)
    assert [k.rsplit(".", 1)[-1] for k in keys] == ["flaky", "good"]
    events.deliver(OutboxModel.get(item.event_id), FIXED_NOW)  # a duplicate delivery
    assert seen == {"good": ["s5"], "flaky": ["s5"]}


def test_an_invoice_edit_and_its_event_commit_together_or_not_at_all(http, tenants, monkeypatch):
    """GIVEN an invoice WHEN a specialist's edit loses the version race (someone saved it
    first) THEN the API answers 409 and no invoice_changed event was stored for that edit;
    AND an edit that wins stores exactly one event carrying the version it saved."""
    import json

    from chalicelib.book import invoices
    from chalicelib.store.models import InvoiceModel
    from tests.conftest import bearer
    from tests.payments_support import add_debtor

    a, _ = tenants
    d = add_debtor(http, a)
    inv_id = d["invoices"]["INV-1"]

    def changed_events():
        return [i for i in OutboxModel.scan() if i.name == "invoice_changed"
                and (i.payload.get("invoice_id") == inv_id)]

    before = len(changed_events())
    real = invoices._load

    def stale_load(*args, **kwargs):  # the edit reads the invoice, then someone saves it
        client, debtor, inv = real(*args, **kwargs)
        fresh = InvoiceModel.get(inv.debtor_key, inv.invoice_id, consistent_read=True)
        fresh.reference = "changed meanwhile"
        fresh.save()
        return client, debtor, inv

    monkeypatch.setattr(invoices, "_load", stale_load)
    r = http.http.request("PATCH", f"{d['base']}/invoices/{inv_id}",
                          headers=bearer(a.specialist), body=json.dumps({"due_date":
                                                                         "2026-12-31"}))
    assert r.status_code == 409, r.body
    assert len(changed_events()) == before
    monkeypatch.setattr(invoices, "_load", real)
    r = http.http.request("PATCH", f"{d['base']}/invoices/{inv_id}",
                          headers=bearer(a.specialist), body=json.dumps({"due_date":
                                                                         "2026-12-31"}))
    assert r.status_code == 200, r.body
    stored = InvoiceModel.get(f"{a.agency_id}#{a.client_id}#{d['id']}", inv_id)
    assert len(changed_events()) == before + 1
    assert [e.payload["new"]["version"] for e in changed_events()
            if e.payload["new"]["due_date"] == "2026-12-31"] == [int(stored.version)]
