"""Replies are read: a human reply pauses the cadence until a specialist handles it, an
out-of-office reply moves the next touch after the return date, the same message lands once."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import debtor, entries, load_book, row, run_cadence
from tests.integration.test_dunning_feedback import EMAILS_ONLY, SMS_FIRST, sms_in

NOW = FIXED_NOW


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _ids(tenant, ref):
    return (tenant.agency_id, tenant.client_id, debtor(tenant, ref).debtor_id)


def test_an_sms_promise_pauses_chasing_is_proposed_and_resumes_when_handled(tenant, http):
    from chalicelib.dunning import replies

    load_book(tenant, [row("ACC1", "INV-1", "2026-11-25", phone="+447400123911")], NOW - timedelta(days=1),
              settings=SMS_FIRST)
    assert run_cadence(NOW) == ["sent"]
    debtor_phone = "+447400123911"
    event = http.events.generate_sns_event(message=sms_in(debtor_phone,
                                                          "We will pay £120.00 next week", "in-1"))
    http.lambda_.invoke("sms_inbound", event)
    http.lambda_.invoke("sms_inbound", event)  # SNS delivers at least once
    [entry] = entries(tenant, "ACC1", "sms_reply")
    assert entry["data"]["label"] == "promise_to_pay"
    assert entry["data"]["amount_minor"] == 12000
    d = debtor(tenant, "ACC1")
    assert d.reply_waiting and d.next_action_at is None  # paused: the sweep skips it
    assert run_cadence(NOW + timedelta(days=7)) == []
    # the specialist handles it: chasing resumes
    assert replies.handled(_ids(tenant, "ACC1"), d.reply_waiting, "spec", NOW + timedelta(days=1))
    d = debtor(tenant, "ACC1")
    assert d.reply_waiting is None and d.next_action_at is not None
    assert run_cadence(NOW + timedelta(days=7)) == ["sent"]
    assert len(entries(tenant, "ACC1", "reply_handled")) == 1


def test_out_of_office_moves_the_next_touch_after_the_return_date_without_pausing(tenant):
    from chalicelib.dunning import replies

    load_book(tenant, [row("ACC2", "INV-2", "2026-11-25")], NOW - timedelta(days=1),
              settings=EMAILS_ONLY)
    assert run_cadence(NOW) == ["sent"]
    back = (NOW + timedelta(days=10)).date()
    out = replies.receive(_ids(tenant, "ACC2"), channel="email", message_id="m-ooo",
                          sender="ap@acc2.example.com", subject="Automatic reply",
                          body=f"I am out of the office until {back.isoformat()}.", now=NOW)
    assert out["label"] == "out_of_office" and out["paused"] is False
    d = debtor(tenant, "ACC2")
    assert d.reply_waiting is None
    assert d.next_action_at[:10] > back.isoformat()
    assert run_cadence(NOW + timedelta(days=7)) == []
    assert run_cadence(NOW + timedelta(days=12)) == ["sent"]
