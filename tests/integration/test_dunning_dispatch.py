"""Dunning end to end on moto: the sweep finds due accounts, the consumer sends each touch
once, in the debtor's contact window, to accounts that still owe."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import (
    debtor, entries, load_book, queued, row, run_cadence, sent_emails, sent_sms,
)

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC (10:00 in London)


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def test_one_email_lists_every_invoice_due_and_leaves_out_the_disputed_one(tenant):
    # GIVEN an account with three invoices a week overdue, one of them disputed
    load_book(tenant, [row("ACC1", "INV-1", "2026-11-18"), row("ACC1", "INV-2", "2026-11-18"),
                       row("ACC1", "INV-3", "2026-11-18", "50.00")], NOW)
    from chalicelib.store.models import InvoiceModel

    d = debtor(tenant, "ACC1")
    for inv in InvoiceModel.query(f"{d.client_key}#{d.debtor_id}"):
        if inv.number == "INV-3":
            inv.status = "disputed"
            inv.save()
    # WHEN the timer fires and the consumer works the queue
    outcomes = run_cadence(NOW)
    # THEN the debtor gets one firm email listing INV-1 and INV-2, not the disputed INV-3
    assert outcomes == ["sent"]
    [mail] = sent_emails("ap@acc1.example.com")
    assert "INV-1" in mail["text"] and "INV-2" in mail["text"] and "INV-3" not in mail["text"]
    assert "INV-1" in mail["html"] and "INV-3" not in mail["html"]
    assert "£200.00" in mail["text"]
    assert mail["subject"].endswith("£200.00 overdue")  # the first contact's statement
    assert "/d/" in mail["text"] and "opt-out" in mail["text"].lower()
    # AND the timeline shows what was sent; the account waits for its next step
    [sent] = entries(tenant, "ACC1", "touch_sent")
    assert sent["data"]["channel"] == "email" and sent["data"]["message_id"]
    assert debtor(tenant, "ACC1").next_action_at > "2026-11-26"


def test_catch_up_after_an_outage_sends_one_message_not_a_burst(tenant):
    # GIVEN an invoice 36 days overdue that was never chased (the platform was down)
    load_book(tenant, [row("ACC2", "INV-9", "2026-10-20", "1234.50")], NOW)
    # WHEN the timer fires
    run_cadence(NOW)
    # THEN exactly one message goes out: the first contact's statement (never a final
    # notice to a debtor never written to), with the statement attached
    [mail] = sent_emails("ap@acc2.example.com")
    assert mail["subject"] == "Your account with Acme Ltd: £1,234.50 overdue"
    assert "Final notice" not in mail["text"] and "earlier reminders" not in mail["text"]
    assert mail["attachments"] == ["statement.csv"]
    assert b"INV-9" in mail["attachment_data"]["statement.csv"]
    [sent] = entries(tenant, "ACC2", "touch_sent")
    assert sent["data"]["passed"]  # the missed steps are recorded, not sent
    # AND a second tick the same day sends nothing more
    assert run_cadence(NOW + timedelta(hours=1)) == []
    assert len(sent_emails("ap@acc2.example.com")) == 1


def test_timer_firing_twice_sends_once(tenant):
    # GIVEN an account due a reminder
    load_book(tenant, [row("ACC3", "INV-30", "2026-11-18")], NOW)
    from chalicelib.dunning import dispatch, sweep

    # WHEN the timer fires twice before the consumer runs
    sweep.sweep(NOW)
    sweep.sweep(NOW)
    bodies = queued()
    assert len(bodies) == 2
    outcomes = [dispatch.handle(json.dumps(b), NOW) for b in bodies]
    # THEN one email is sent
    assert outcomes.count("sent") == 1
    assert len(sent_emails("ap@acc3.example.com")) == 1


def test_a_late_timer_after_the_debtor_paid_sends_nothing(tenant):
    # GIVEN an account due a reminder whose invoice is then paid (the index not yet updated)
    load_book(tenant, [row("ACC4", "INV-40", "2026-11-18")], NOW)
    from chalicelib.store.models import InvoiceModel

    d = debtor(tenant, "ACC4")
    assert d.next_action_at is not None
    [inv] = InvoiceModel.query(f"{d.client_key}#{d.debtor_id}")
    inv.balance_minor, inv.status = 0, "paid"
    inv.save()
    # WHEN the timer fires late
    outcomes = run_cadence(NOW + timedelta(hours=3))
    # THEN nothing is sent and the account leaves the next-action index
    assert outcomes == ["nothing_chaseable"]
    assert sent_emails("ap@acc4.example.com") == []
    assert debtor(tenant, "ACC4").next_action_at is None


def test_a_consumer_at_0730_local_waits_for_0800(tenant):
    # GIVEN a New York consumer whose invoice is due today; it is 07:30 in New York
    early = datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc)
    load_book(tenant, [row("ACC5", "INV-50", "2026-11-25", kind="consumer",
                           tz="America/New_York", country="US")], early - timedelta(days=1))
    from chalicelib.dunning import dispatch

    d = debtor(tenant, "ACC5")
    # WHEN the consumer handles the account at 07:30 local
    outcome = dispatch.dispatch_account(tenant.agency_id, tenant.client_id, d.debtor_id, early)
    # THEN nothing is sent yet; the account is due again at 08:00 local (13:00 UTC)
    assert outcome == "outside_window"
    assert sent_emails("ap@acc5.example.com") == []
    assert debtor(tenant, "ACC5").next_action_at.startswith("2026-11-25T13:00:00")
    # AND at 08:00 the reminder goes
    assert run_cadence(datetime(2026, 11, 25, 13, 0, tzinfo=timezone.utc)) == ["sent"]
    assert len(sent_emails("ap@acc5.example.com")) == 1


def test_dispatch_dying_after_ses_accepted_never_sends_twice(tenant, monkeypatch):
    # GIVEN an account due a reminder, and a dispatcher that dies right after SES accepts
    load_book(tenant, [row("ACC6", "INV-60", "2026-11-18")], NOW)
    from chalicelib.dunning import dispatch
    from chalicelib.kernel import events

    calls = []
    events.subscribe("call_task_needed", lambda **kw: calls.append(kw))
    d = debtor(tenant, "ACC6")

    def crash(*a, **kw):
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(dispatch, "_record_sent", crash)
    with pytest.raises(RuntimeError):
        dispatch.dispatch_account(tenant.agency_id, tenant.client_id, d.debtor_id, NOW)
    assert len(sent_emails("ap@acc6.example.com")) == 1
    monkeypatch.undo()
    # WHEN SQS redelivers (soon, then after the visibility timeout)
    soon = dispatch.dispatch_account(tenant.agency_id, tenant.client_id, d.debtor_id,
                                     NOW + timedelta(minutes=1))
    later = dispatch.dispatch_account(tenant.agency_id, tenant.client_id, d.debtor_id,
                                      NOW + timedelta(minutes=10))
    again = dispatch.dispatch_account(tenant.agency_id, tenant.client_id, d.debtor_id,
                                      NOW + timedelta(minutes=20))
    # THEN no second email; a specialist is asked to check, once
    assert (soon, later) == ("in_flight", "sent_unknown")
    assert again in ("waiting", "min_gap")
    assert len(sent_emails("ap@acc6.example.com")) == 1
    assert len(entries(tenant, "ACC6", "touch_unknown")) == 1
    assert [c["reason"] for c in calls if c["debtor_id"] == d.debtor_id] == [
        "touch_outcome_unknown"]


def _batch(tenant, refs: list[str]) -> list[tuple[str, str]]:
    """The sweep's messages for these accounts (all due now), as one SQS batch delivers
    them to the consumer: (body, receipt handle)."""
    from chalicelib.dunning import sweep

    load_book(tenant, [row(ref, f"INV-{ref}", "2026-11-18") for ref in refs], NOW)
    sweep.sweep(NOW)
    return [(json.dumps(b), f"receipt-{n}") for n, b in enumerate(queued())]


def test_a_batch_where_one_send_fails_sends_the_other_nine_once_and_the_retry_once(
        tenant, monkeypatch):
    # GIVEN ten accounts due a reminder, delivered to the consumer as one batch, and SES
    # refusing (for now: throttled) the email to one of them
    refs = [f"BT{n}" for n in range(10)]
    records = _batch(tenant, refs)
    assert len(records) == 10
    from chalicelib.dunning import channels, dispatch, sweep
    from chalicelib.dunning.channels import Sent

    real = channels.send

    def throttled_for_bt3(msg):
        return Sent(False, error="Throttling") if msg.to == "ap@bt3.example.com" else real(msg)

    monkeypatch.setattr(channels, "send", throttled_for_bt3)
    deleted = []
    monkeypatch.setattr(sweep, "delete_messages", lambda r: deleted.extend(r))
    by_ref = {json.loads(body)["debtor_id"]: receipt for body, receipt in records}
    bt3 = by_ref[debtor(tenant, "BT3").debtor_id]
    # WHEN the consumer handles the batch
    failed = dispatch.handle_batch(records, NOW)
    # THEN only BT3's message goes back to the queue; the nine others are deleted, and
    # each of those debtors has exactly one email
    assert failed == [bt3]
    assert sorted(deleted) == sorted(r for _, r in records if r != bt3)
    for ref in refs:
        assert len(sent_emails(f"ap@{ref.lower()}.example.com")) == (ref != "BT3"), ref
    assert len(entries(tenant, "BT3", "touch_failed")) == 1
    # WHEN SQS redelivers BT3's message (after the visibility timeout), SES now accepting,
    # and then the whole batch once more (a duplicate delivery)
    monkeypatch.setattr(channels, "send", real)
    later = NOW + timedelta(minutes=7)
    assert dispatch.handle_batch([r for r in records if r[1] == bt3], later) == []
    assert dispatch.handle_batch(records, later + timedelta(minutes=1)) == []
    # THEN BT3 has its one email and nobody has a second one
    for ref in refs:
        assert len(sent_emails(f"ap@{ref.lower()}.example.com")) == 1, ref
        assert len(entries(tenant, ref, "touch_sent")) == 1, ref
        assert debtor(tenant, ref).next_action_at > "2026-11-26"


def test_two_messages_for_one_account_in_a_batch_send_once(tenant):
    # GIVEN the timer fired twice, so one batch holds two messages for the same account
    # (and one for another account)
    from chalicelib.dunning import dispatch, sweep

    load_book(tenant, [row("DB1", "INV-DB1", "2026-11-18"), row("DB2", "INV-DB2", "2026-11-18")],
              NOW)
    sweep.sweep(NOW)
    sweep.sweep(NOW)
    records = [(json.dumps(b), f"r{n}") for n, b in enumerate(queued())]
    records = [r for r in records if debtor(tenant, "DB2").debtor_id not in r[0]][:2] + \
        [r for r in records if debtor(tenant, "DB2").debtor_id in r[0]][:1]
    assert len(records) == 3
    # WHEN the consumer handles the batch
    outcomes = [o for _, o in dispatch.dispatch_batch(records, NOW)]
    # THEN each debtor gets one email; the second message for DB1 finds it already sent
    assert outcomes.count("sent") == 2 and None not in outcomes
    assert len(sent_emails("ap@db1.example.com")) == 1
    assert len(sent_emails("ap@db2.example.com")) == 1
