"""Feedback from the channels: bounces, complaints and STOP replies are honoured once, and
the next touch finds another way to reach the debtor."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import (
    debtor, entries, load_book, row, run_cadence, sent_emails, sent_sms,
)

NOW = FIXED_NOW
EMAILS_ONLY = {"cadence": {"id": "mail", "name": "Mail only", "steps": [
    {"key": "due", "offset_days": 0, "channel": "email", "template": "t", "tone": "friendly"},
    {"key": "due+7", "offset_days": 7, "channel": "email", "template": "t", "tone": "firm"}]}}
SMS_FIRST = {"cadence": {"id": "sms", "name": "Text first", "steps": [
    {"key": "due", "offset_days": 0, "channel": "sms", "template": "t", "tone": "friendly"},
    {"key": "due+7", "offset_days": 7, "channel": "sms", "template": "t", "tone": "firm"}]}}


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def bounce(message_id: str, address: str, feedback_id: str = "fb-1") -> str:
    return json.dumps({"notificationType": "Bounce", "mail": {"messageId": message_id},
                       "bounce": {"bounceType": "Permanent", "feedbackId": feedback_id,
                                  "bouncedRecipients": [{"emailAddress": address}]}})


def sms_in(phone: str, body: str, inbound_id: str) -> str:
    return json.dumps({"originationNumber": phone, "destinationNumber": "+447700900000",
                       "messageBody": body, "inboundMessageId": inbound_id})


def test_a_bounce_delivered_twice_suppresses_once_and_the_next_email_goes_to_the_other_contact(
        tenant, http):
    # GIVEN an account with a primary and a secondary email, and a reminder sent to the primary
    load_book(tenant, [row("ACC7", "INV-70", "2026-11-25", secondary="boss@acc7.example.com")],
              NOW - timedelta(days=1), settings=EMAILS_ONLY)
    assert run_cadence(NOW) == ["sent"]
    [first] = sent_emails("ap@acc7.example.com")
    # WHEN SES reports a hard bounce, delivered twice
    event = http.events.generate_sns_event(message=bounce(first["message_id"],
                                                          "ap@acc7.example.com"))
    http.lambda_.invoke("ses_feedback", event)
    http.lambda_.invoke("ses_feedback", event)
    # THEN the address is suppressed once
    assert len(entries(tenant, "ACC7", "contact_suppressed")) == 1
    from chalicelib.dunning import suppression

    assert suppression.is_suppressed(tenant.agency_id, "email", "ap@acc7.example.com")
    # AND the next step's email goes to the secondary contact, not the bounced address
    assert run_cadence(NOW + timedelta(days=7)) == ["sent"]
    assert len(sent_emails("ap@acc7.example.com")) == 1
    assert len(sent_emails("boss@acc7.example.com")) == 1


def test_a_complaint_with_no_other_email_moves_the_next_touch_to_sms(tenant):
    # GIVEN an account with one email address and a mobile number
    load_book(tenant, [row("ACC8", "INV-80", "2026-11-25", phone="+447400123801")],
              NOW - timedelta(days=1), settings=EMAILS_ONLY)
    run_cadence(NOW)
    [first] = sent_emails("ap@acc8.example.com")
    # WHEN the debtor marks it as spam
    from chalicelib.dunning import feedback

    feedback.ses_notification(json.dumps({
        "notificationType": "Complaint", "mail": {"messageId": first["message_id"]},
        "complaint": {"feedbackId": "c-1",
                      "complainedRecipients": [{"emailAddress": "ap@acc8.example.com"}]}}), NOW)
    # THEN the next reminder is a text message
    assert run_cadence(NOW + timedelta(days=7)) == ["sent"]
    assert len(sent_emails("ap@acc8.example.com")) == 1
    [text] = sent_sms("+447400123801")
    assert "STOP" in text["text"]


def test_stop_opts_out_at_once_with_one_confirmation_at_most(tenant, http):
    # GIVEN a debtor who received a reminder by SMS
    load_book(tenant, [row("ACC9", "INV-90", "2026-11-25", phone="+447400123901")],
              NOW - timedelta(days=1), settings=SMS_FIRST)
    assert run_cadence(NOW) == ["sent"]
    assert len(sent_sms("+447400123901")) == 1
    # WHEN they reply STOP (delivered twice), then "please stop texting me"
    stop = http.events.generate_sns_event(message=sms_in("+447400123901", "STOP", "in-1"))
    http.lambda_.invoke("sms_inbound", stop)
    http.lambda_.invoke("sms_inbound", stop)
    from chalicelib.dunning import feedback

    feedback.sms_reply(sms_in("+447400123901", "please stop texting me!", "in-2"), NOW)
    # THEN they are opted out, with exactly one confirmation text
    texts = sent_sms("+447400123901")
    assert len(texts) == 2 and "no more text messages" in texts[1]["text"]
    from chalicelib.store.models import ContactModel

    d = debtor(tenant, "ACC9")
    [contact] = ContactModel.query(f"{d.client_key}#{d.debtor_id}")
    assert "sms" in contact.opted_out
    assert len(entries(tenant, "ACC9", "opted_out")) == 2
    # AND the next step falls back to email; no more texts
    assert run_cadence(NOW + timedelta(days=7)) == ["sent"]
    assert len(sent_sms("+447400123901")) == 2
    assert len(sent_emails("ap@acc9.example.com")) == 1


@pytest.mark.parametrize("body,stop", [
    ("STOP", True), ("stop.", True), ("Opt-Out", True), ("ARRET", True), ("Stop please", True),
    ("please don't text me again", True), ("unsubscribe me", True), ("END", True),
    ("I will pay at the end of the month", False), ("Can you stop by on Friday?", False),
    ("Paid yesterday, thanks", False),
])
def test_stop_words_and_plain_language(body, stop):
    from chalicelib.dunning.opt_out import means_stop

    assert means_stop(body) is stop


def test_an_ordinary_reply_goes_to_a_specialist_and_does_not_opt_out(tenant):
    load_book(tenant, [row("ACC10", "INV-100", "2026-11-25", phone="+447400124001")],
              NOW - timedelta(days=1), settings=SMS_FIRST)
    run_cadence(NOW)
    from chalicelib.dunning import feedback
    from chalicelib.kernel import events

    calls = []
    events.subscribe("call_task_needed", lambda **kw: calls.append(kw))
    out = feedback.sms_reply(sms_in("+447400124001", "Paid yesterday, thanks", "in-9"), NOW)
    assert out["reply"] is True and out["label"] == "already_paid" and out["paused"] is True
    assert [c["reason"] for c in calls] == ["reply_paid"]  # proposed to the specialist
    assert len(entries(tenant, "ACC10", "sms_reply")) == 1
    assert len(sent_sms("+447400124001")) == 1


def test_a_number_opted_out_at_the_carrier_is_a_failed_touch_and_the_call_queue_gets_it(tenant):
    # GIVEN a debtor whose number SNS reports as opted out (moto: numbers ending in 99)
    load_book(tenant, [row("ACC11", "INV-110", "2026-11-25", email="",
                           phone="+447400123199")], NOW - timedelta(days=1), settings=SMS_FIRST)
    from chalicelib.kernel import events

    calls = []
    events.subscribe("call_task_needed", lambda **kw: calls.append(kw))
    # WHEN the SMS step is due
    assert run_cadence(NOW) == ["sent"]
    # THEN no SMS is counted as sent: the failure is on the timeline and a call task is raised
    assert sent_sms("+447400123199") == []
    assert len(entries(tenant, "ACC11", "touch_failed")) == 1
    [sent] = entries(tenant, "ACC11", "touch_sent")
    assert sent["data"]["channel"] == "call" and sent["data"]["fallback"] is True
    assert [c["reason"] for c in calls] == ["cadence_step"]
