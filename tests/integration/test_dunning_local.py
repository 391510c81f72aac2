"""The local stack's dunning pieces: the queue pump, the outbox page, the planner's use of
client settings, and the signed debtor link."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import debtor, load_book, row, sent_emails

NOW = FIXED_NOW


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def test_the_pump_feeds_the_consumer_and_the_outbox_shows_the_email(tenant, http):
    # GIVEN an account due a reminder (one with an internationalised email domain)
    load_book(tenant, [row("P1", "INV-P1", "2026-11-18", email="zoe@cafés.example.com")], NOW)
    from chalicelib.dunning import sweep
    from local.workers import drain_once

    # WHEN the ticker sweeps and the pump drains the queue
    sweep.sweep(NOW)
    assert drain_once(now=NOW) == ["sent"]
    assert drain_once(now=NOW) == []
    # THEN the outbox lists the email, as JSON and as a page
    items = http.http.get("/outbox.json").json_body["items"]
    assert [m["to"] for m in items] == ["zoe@xn--cafs-dpa.example.com"]
    page = http.http.get("/outbox")
    assert page.status_code == 200 and b"INV-P1" in page.body
    # rendered through the one Jinja environment, escaped, with the page edge's headers
    csp = {k.lower(): v for k, v in page.headers.items()}["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp


def test_the_outbox_does_not_exist_outside_the_local_stack(aws, http, monkeypatch):
    from local import outbox_pages as outbox

    monkeypatch.setattr(outbox, "get_settings",
                        lambda: type("S", (), {"stage": "prod"})())
    assert http.http.get("/outbox").status_code == 404
    assert http.http.get("/outbox.json").status_code == 404


def test_a_debtor_follows_its_own_cadence_and_stops_when_the_client_puts_it_on_hold(tenant):
    # GIVEN a client with a named cadence that starts 10 days after due, given to one debtor
    late = {"id": "late", "name": "Late starter", "steps": [
        {"key": "due+10", "offset_days": 10, "channel": "email", "template": "t",
         "tone": "firm"}]}
    load_book(tenant, [row("P2", "INV-P2", "2026-11-18"), row("P3", "INV-P3", "2026-11-18")],
              NOW, settings={"cadences": {"late": late}})
    from chalicelib.store import accounts

    d = debtor(tenant, "P2")
    d.cadence_id = "late"
    accounts.recompute(d, NOW)
    d.save()
    # THEN its next action is 10 days after due in office hours; the other is due now
    assert d.next_action_at.startswith("2026-11-30T09:00")  # Sat 28th -> Monday 09:00
    assert debtor(tenant, "P3").next_action_at <= "2026-11-25T10:00:00.000000Z"
