"""Sender identity you can see: while a client's sender is not verified in SES, email steps
are held (never switched to SMS), the timeline and the client say why, and the email goes
once SES verifies the sender. SES refusing the sender at send time is the sender's fault,
not the debtor's: the debtor's email stays open."""
from __future__ import annotations

import boto3
import pytest

from chalicelib.dunning import channels, sender
from chalicelib.dunning.channels import Sent
from chalicelib.store.models import ClientModel, ContactModel
from chalicelib.reporting import reports
from chalicelib.http.auth import Principal
from tests.conftest import FIXED_NOW, bearer
from tests.integration.dunning_kit import (debtor, entries, load_book, row, run_cadence,
                                           sent_emails, sent_sms)

NOW = FIXED_NOW


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _client(tenant) -> ClientModel:
    return ClientModel.get(tenant.agency_id, tenant.client_id, consistent_read=True)


def _unverify(address: str) -> None:
    ses = boto3.client("ses")
    for name in sender.identities(address):
        ses.delete_identity(Identity=name)


def _book_without_verifying(tenant) -> None:
    from chalicelib.book import importer
    from tests.integration.dunning_kit import HEADER

    rows = [row("S1", "INV-S1", "2026-11-18", phone="+447400123555")]
    report = importer.import_book(tenant.agency_id, tenant.client_id,
                                  ("\n".join([HEADER, *rows]) + "\n").encode(), actor="test",
                                  now=NOW)
    assert not report["errors"]


def test_onboarding_asks_ses_and_the_client_shows_the_state(tenant, http):
    # GIVEN the tenant's client, onboarded: SES was asked to verify its sender (moto, like
    # the local stack, verifies at once)
    got = http.http.get(f"/v1/clients/{tenant.client_id}", headers=bearer(tenant.admin))
    assert got.json_body["sender_status"] == "verified"
    # WHEN the identity disappears from SES and an admin checks now
    _unverify(_client(tenant).sender_email)
    sender.check(_client(tenant), NOW)
    assert _client(tenant).sender_status == "unverified"
    # THEN the overview tells the admin too
    admin = Principal(tenant.agency_id, f"{tenant.agency_id}-admin", "admin")
    [row_] = reports.overview(admin)["clients"]
    assert row_["sender_status"] == "unverified"
    # AND "check now" asks SES again, and the client is verified
    r = http.http.post(f"/v1/clients/{tenant.client_id}/sender/check",
                       headers=bearer(tenant.admin), body="")
    assert r.status_code == 200 and r.json_body["sender_status"] == "verified"
    assert http.http.post(f"/v1/clients/{tenant.client_id}/sender/check",
                          headers=bearer(tenant.specialist), body="").status_code == 403


def test_email_steps_wait_for_the_sender_and_nothing_goes_by_sms_instead(tenant):
    # GIVEN a client whose sender SES does not know (the debtor has email and a mobile)
    _unverify(_client(tenant).sender_email)
    sender.check(_client(tenant), NOW)
    _book_without_verifying(tenant)
    # WHEN the cadence runs
    assert run_cadence(NOW) == ["held_sender_unverified"]
    # THEN nothing was sent on any channel, the account left the sweep, the timeline says why
    assert sent_emails() == [] and sent_sms() == []
    assert debtor(tenant, "S1").next_action_at is None
    [held] = entries(tenant, "S1", "touch_held")
    assert "not verified" in held["summary"] and "Nothing was sent instead" in held["summary"]
    assert run_cadence(NOW) == []  # not even queued again
    # WHEN SES verifies the sender and the hourly check sees it
    boto3.client("ses").verify_email_identity(EmailAddress=_client(tenant).sender_email)
    assert sender.check_unverified(NOW) == 1
    # THEN the account is re-planned and the email goes
    assert debtor(tenant, "S1").next_action_at is not None
    assert run_cadence(NOW) == ["sent"]
    assert len(sent_emails("ap@s1.example.com")) == 1 and sent_sms() == []


def test_ses_refusing_the_sender_at_send_time_holds_and_keeps_the_debtors_email(tenant):
    load_book(tenant, [row("S2", "INV-S2", "2026-11-18", phone="+447400123556")], NOW)

    class Refusing:
        def send(self, message):
            return Sent(False, error="MessageRejected: Email address is not verified.",
                        permanent=True, sender_fault=True)

    channels.use("email", Refusing())
    assert run_cadence(NOW) == ["held_sender_unverified"]
    # the debtor's email channel is not closed, no SMS went instead
    [contact] = ContactModel.query(f"{tenant.agency_id}#{tenant.client_id}#"
                                   f"{debtor(tenant, 'S2').debtor_id}")
    assert "email" not in (contact.suppressed or set())
    assert sent_sms() == []
    assert entries(tenant, "S2", "touch_held")
    # AND the client shows the sender failed until a check finds it verified again
    assert _client(tenant).sender_status == "failed"
    channels.use("email", None)
    assert sender.check_unverified(NOW) == 1
    assert run_cadence(NOW) == ["sent"]
