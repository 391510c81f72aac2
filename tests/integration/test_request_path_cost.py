"""What one reminder and one payment cost on the request path: at most 8 DynamoDB requests
each (issue 12), counted with bench/meter.py; what the events' consumers do afterwards
(reports, call tasks, thank-yous) is delivered apart (the outbox stream in AWS). And the
guarantees the folded writes keep: a touch is recorded once with its account, a payment
landing mid-send is not lost, an account that keeps changing still converges. And a
take-next across every client a person works: the same 3 reads for 1 client as for 24."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import (
    debtor, entries, load_book, queued, row, sent_emails, sent_sms,
)

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC (10:00 in London)
REQUEST_PATH_LIMIT = 8


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _due(tenant, *rows) -> list[str]:
    from chalicelib.dunning import sweep

    load_book(tenant, list(rows), NOW)
    sweep.sweep(NOW)
    return [json.dumps(b) for b in queued()]


def test_one_reminder_takes_at_most_8_requests_whatever_the_contacts(tenant):
    # GIVEN two accounts due a reminder, one with a single contact, one with two emails
    # and a phone (each address is checked against the agency's suppression list)
    bodies = _due(tenant, row("RQ1", "INV-RQ1", "2026-11-18"),
                  row("RQ2", "INV-RQ2", "2026-11-18", secondary="ar@rq2.example.com",
                      phone="+447400123901"))
    from bench.meter import metered
    from chalicelib.dunning import dispatch

    for body in bodies:
        # WHEN the consumer sends the reminder
        with metered() as m:
            assert dispatch.handle(body, NOW) == "sent"
        # THEN it took at most 8 DynamoDB requests itself, two of them writes (the claim
        # before the send, one transaction after it); the report's work came apart
        assert m.request_path <= REQUEST_PATH_LIMIT, m.breakdown()
        assert m.write_requests - sum(m.events[k] for k in (
            "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
            "TransactWriteItems")) == 2, m.breakdown()
    assert len(sent_emails("ap@rq1.example.com")) == 1
    assert len(sent_emails("ap@rq2.example.com")) == 1
    # AND the timeline, the claim, the account and the report all show the touch
    from chalicelib.kernel import claims

    [sent] = entries(tenant, "RQ1", "touch_sent")
    claim = claims.lookup(sent["data"]["claim_key"])
    assert claim.status == "done" and claim.result["message_id"] == sent["data"]["message_id"]
    assert debtor(tenant, "RQ1").touch_keys
    assert debtor(tenant, "RQ1").next_action_at > "2026-11-26"


def test_an_address_suppressed_after_the_sweep_is_not_written_to(tenant):
    # GIVEN an account queued for a reminder whose email then bounces for another client
    [body] = _due(tenant, row("RQ3", "INV-RQ3", "2026-11-18", phone="+447400123902"))
    from chalicelib.dunning import dispatch, suppression

    suppression.suppress(tenant.agency_id, "email", "AP@rq3.example.com", NOW, "bounce")
    # WHEN the consumer handles the message
    dispatch.handle(body, NOW)
    # THEN no email goes to the suppressed address (the check is made at send time)
    assert sent_emails("ap@rq3.example.com") == []
    assert [s["to"] for s in sent_sms()] in ([], ["+447400123902"])


def test_a_payment_landing_while_the_reminder_is_sent_is_kept_and_the_touch_recorded_once(
        tenant, monkeypatch):
    # GIVEN an account owing two invoices, due a reminder
    [body] = _due(tenant, row("RQ4", "INV-RQ4a", "2026-11-18"),
                  row("RQ4", "INV-RQ4b", "2026-11-18"))
    from chalicelib.dunning import channels, dispatch
    from chalicelib.payments import ledger

    d = debtor(tenant, "RQ4")
    real = channels.send
    paid = []

    def send_and_pay(msg):
        out = real(msg)
        if paid:
            return out  # the thank-you for that payment
        paid.append(msg)
        # the debtor pays one invoice between the consumer's read and its record
        ledger.apply_payment(tenant.agency_id, tenant.client_id, d.debtor_id,
                             amount_minor=10_000, currency="GBP", source="transfer",
                             payment_id=ledger.payment_id_for("test", "rq4"),
                             received_on=NOW.date(), now=NOW, actor="test")
        return out

    monkeypatch.setattr(channels, "send", send_and_pay)
    # WHEN the consumer sends the reminder
    assert dispatch.handle(body, NOW) == "sent"
    # THEN one email, one touch on the timeline, and the account shows the payment and
    # the touch together (the account's record was redone on the fresh account)
    reminders = [m for m in sent_emails("ap@rq4.example.com")
                 if not m["subject"].startswith("Thank you")]
    assert len(reminders) == 1
    touches = [e for e in entries(tenant, "RQ4", "touch_sent") if "#touch-" in e["id"]]
    assert len(touches) == 1  # (the thank-you has its own entry)
    fresh = debtor(tenant, "RQ4")
    assert fresh.balance_minor == 10_000
    assert fresh.touch_keys


def test_an_account_that_keeps_changing_still_records_the_touch_and_the_retry_finishes(
        tenant, monkeypatch):
    # GIVEN an account due a reminder whose every save loses to another writer
    [body] = _due(tenant, row("RQ5", "INV-RQ5", "2026-11-18"))
    from pynamodb.exceptions import PutError

    from chalicelib.dunning import dispatch
    from chalicelib.store import accounts

    real = accounts.save_account

    def always_conflicting(*a, **kw):
        raise PutError("account kept changing")

    monkeypatch.setattr(accounts, "save_account", always_conflicting)
    # WHEN the consumer sends the reminder, then SQS redelivers it
    with pytest.raises(dispatch.DispatchFailed):
        dispatch.handle(body, NOW)
    assert debtor(tenant, "RQ5").touch_keys is None or not debtor(tenant, "RQ5").touch_keys
    monkeypatch.setattr(accounts, "save_account", real)
    again = dispatch.handle(body, NOW)
    # THEN the email went once, its record was kept, and the retry applied the touch
    assert again == "already_done"
    assert len(sent_emails("ap@rq5.example.com")) == 1
    assert len(entries(tenant, "RQ5", "touch_sent")) == 1
    assert debtor(tenant, "RQ5").touch_keys


def test_a_stripe_webhook_payment_takes_at_most_8_requests(http, tenants):
    # GIVEN a debtor owing two invoices
    from bench.meter import metered
    from tests.payments_support import add_debtor, post_event, session_event

    a, _ = tenants
    d = add_debtor(http, a)
    event = session_event("checkout.session.completed", event_id="evt_rq_1",
                          agency_id=a.agency_id, client_id=a.client_id, debtor_id=d["id"],
                          amount=10_000, session_id="cs_rq_1", payment_intent="pi_rq_1")
    # WHEN Stripe delivers the paid checkout session
    with metered() as m:
        r = post_event(http, event)
    assert r.status_code == 200, r.body
    # THEN the request itself took at most 8 DynamoDB requests (the thank-you, the report
    # and the behaviour update are the events' consumers' work)
    assert m.request_path <= REQUEST_PATH_LIMIT, [x for x in m.breakdown() if "[request]" in x]
    # AND the payment is applied (a redelivery changes nothing)
    from tests.payments_support import debtor as read_debtor

    assert read_debtor(http, a, d)["balance_minor"] == 25_000
    with metered() as again:
        assert post_event(http, event).status_code == 200
    assert again.request_path <= REQUEST_PATH_LIMIT
    assert read_debtor(http, a, d)["balance_minor"] == 25_000


def test_a_payment_applied_through_the_api_takes_at_most_8_requests(tenant):
    # GIVEN an account owing an invoice
    load_book(tenant, [row("RQ6", "INV-RQ6", "2026-11-18")], NOW)
    from bench.meter import metered
    from chalicelib.payments import ledger

    d = debtor(tenant, "RQ6")
    # WHEN a bank transfer is applied
    with metered() as m:
        ledger.apply_payment(tenant.agency_id, tenant.client_id, d.debtor_id,
                             amount_minor=4_000, currency="GBP", source="transfer",
                             payment_id=ledger.payment_id_for("test", "rq6"),
                             received_on=NOW.date(), now=NOW, actor="test")
    # THEN it took at most 8 requests before returning
    assert m.request_path <= REQUEST_PATH_LIMIT, m.breakdown()
    assert debtor(tenant, "RQ6").balance_minor == 6_000


def test_a_retried_record_of_a_touch_stores_its_entry_and_event_once(tenant):
    # GIVEN a touch's timeline entry and event, committed once with the account's record
    load_book(tenant, [row("RQ7", "INV-RQ7", "2026-11-18")], NOW)
    from chalicelib.kernel import events
    from chalicelib.store import accounts, timeline
    from chalicelib.store.models import OutboxModel, TimelineModel

    d = debtor(tenant, "RQ7")

    def record():
        entry = timeline.entry(tenant.agency_id, tenant.client_id, d.debtor_id, "touch_sent",
                               "Email sent", actor="dunning", at=NOW, entry_id="fixed#touch-1")
        event = events.stage("touch_sent", agency_id=tenant.agency_id,
                             client_id=tenant.client_id, debtor_id=d.debtor_id,
                             channel="email", step="s1", at=NOW,
                             event_id=f"{tenant.agency_id}#ev#touch-fixed")
        return [(entry, TimelineModel.entry_id.does_not_exist())], [event]

    accounts.commit_with(None, *record())
    # WHEN a retry commits the same record, this time with the account
    fresh = debtor(tenant, "RQ7")
    version = fresh.version
    accounts.commit_with(fresh, *record())
    # THEN the entry and the event are there once, and the account was saved
    assert [e["id"] for e in entries(tenant, "RQ7", "touch_sent")] == ["fixed#touch-1"]
    assert OutboxModel.get(f"{tenant.agency_id}#ev#touch-fixed").name == "touch_sent"
    assert debtor(tenant, "RQ7").version == version + 1


def _agency_of(agency_id: str, n_clients: int):
    """An agency of `n_clients` clients, two open tasks each, a specialist on every client
    but the last (which another specialist works), and its admin."""
    from chalicelib.agency import clients
    from chalicelib.book import debtors
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn, DebtorIn, UserIn
    from chalicelib.store.models import AgencyModel, UserModel
    from chalicelib.workbench import tasks

    AgencyModel(agency_id, name=agency_id, created_at="2026-11-01T00:00:00Z").save()
    UserModel(agency_id, "boss", email=f"boss@{agency_id}.example.com", name="Boss",
              role="admin", created_at="2026-11-01T00:00:00Z").save()
    admin = Principal(agency_id, "boss", "admin")
    spec, other = (clients.create_user(admin, UserIn(email=f"{n}@{agency_id}.example.com",
                                                     name=n, role="specialist"), now=NOW)["id"]
                   for n in ("sam", "oz"))
    for i in range(n_clients):
        who = [other] if i == n_clients - 1 and n_clients > 1 else [spec]
        cid = clients.create_client(admin, ClientIn(
            name=f"Client {i}", sender_email=f"ar@c{i}.example.com", specialist_ids=who,
            settings={"chasing": "active", "priority": 1 + i % 5}), now=NOW)["id"]
        for j in range(2):
            d = debtors.create_debtor(admin, cid, DebtorIn(account_ref=f"R{i}-{j}",
                                                           name=f"Debtor {i}-{j}"), now=NOW)
            tasks.raise_task(agency_id, cid, d["id"], "final notice unanswered",
                             due_at=NOW - timedelta(hours=j), now=NOW)
    return admin, Principal(agency_id, spec, "specialist")


def test_take_next_across_clients_takes_the_same_3_reads_however_many_clients(aws):
    from bench.meter import metered
    from chalicelib.workbench import tasks

    # GIVEN an agency of one client and one of 24 (the specialist works 23 of them)
    cost = {}
    for n in (1, 24):
        admin, spec = _agency_of(f"agN{n}", n)
        for who in (admin, spec):
            # WHEN the admin and the specialist each take the next task across their clients
            with metered() as m:
                got = tasks.take_next(who, now=NOW)
            assert got is not None and got["claimed_by"] == who.user_id
            cost[(n, who.role)] = (m.read_requests, m.write_requests)
    # THEN each take reads 3 times (their clients, their queue, the queue's first tasks) and
    # writes once (the claim), for 1 client as for 24
    assert set(cost.values()) == {(3, 1)}, cost


def test_a_batch_of_10_reminders_reads_its_accounts_together(tenant):
    # GIVEN ten accounts due a reminder, delivered to the consumer as one SQS batch
    bodies = _due(tenant, *(row(f"RB{n}", f"INV-RB{n}", "2026-11-18") for n in range(10)))
    assert len(bodies) == 10
    from bench.meter import metered
    from chalicelib.dunning import dispatch

    # WHEN the consumer handles the batch
    with metered() as m:
        assert dispatch.handle_batch([(b, f"r{n}") for n, b in enumerate(bodies)], NOW) == []
    # THEN every debtor has its email, and the batch read its clients, debtors and
    # suppression markers in one BatchGetItem: per reminder its contacts and invoices, the
    # claim and the transaction, 4.1 requests (a lone reminder takes 5)
    for n in range(10):
        assert len(sent_emails(f"ap@rb{n}.example.com")) == 1
    assert m.requests["BatchGetItem"] - m.events["BatchGetItem"] == 1, m.breakdown()
    assert m.request_path <= 41, m.breakdown()
