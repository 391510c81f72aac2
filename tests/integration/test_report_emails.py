"""The monthly report email: branded, with the headline figures and a portal link, once."""
from __future__ import annotations

from datetime import datetime, timezone

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.book import importer
from chalicelib.reporting import emails as report_emails
from chalicelib.store.models import ClientModel
from tests.conftest import BOOKS, FIXED_NOW

FIRST_OF_DECEMBER = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)


def _sent():
    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages


def test_each_client_gets_one_report_email_a_month_even_when_the_job_reruns(tenants, http):
    a, b = tenants
    # GIVEN two agencies' clients with imported books and verified sender identities
    ses = boto3.client("ses", region_name="eu-west-2")
    for t in (a, b):
        importer.import_book(t.agency_id, t.client_id, (BOOKS / "acme_generic.csv").read_bytes(),
                             actor="t", now=FIXED_NOW)
        sender = ClientModel.get(t.agency_id, t.client_id).sender_email
        ses.verify_email_identity(EmailAddress=sender)
    # WHEN the monthly job runs on 1 December, then is retried (twice more)
    first = report_emails.send_all(now=FIRST_OF_DECEMBER, ses=ses)
    again = report_emails.send_all(now=FIRST_OF_DECEMBER, ses=ses)
    from app import app  # noqa: F401 - the scheduled function itself, as Lambda would call it
    http.lambda_.invoke("monthly_report_emails", http.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    # THEN each client's viewer got exactly one November report in the client's brand
    assert first["sent"] == 2 and again["sent"] == 0
    sent = _sent()
    assert len(sent) == 2
    msg = next(m for m in sent if m.destinations["ToAddresses"][0].lower() == "cfo@aga.example.com")
    assert msg.source.lower() == "acme ltd <ar@acme-aga.example.com>"
    assert "November 2026" in msg.subject
    assert "Receivables:" in msg.body or "Receivables" in msg.body
    assert f"/portal/clients/{a.client_id}/monthly?month=2026-11" in msg.body
    # and no other agency's figures or links leak into it
    assert b.client_id not in msg.body


def test_an_unverified_sender_sends_nothing_and_is_retried_next_run(tenants):
    a, _ = tenants
    importer.import_book(a.agency_id, a.client_id, (BOOKS / "acme_generic.csv").read_bytes(),
                         actor="t", now=FIXED_NOW)
    ses = boto3.client("ses", region_name="eu-west-2")
    # GIVEN the client's sender identity is not verified (onboarding asked SES, which the
    # owner has not confirmed: here, the identity is gone from SES)
    ses.delete_identity(Identity=ClientModel.get(a.agency_id, a.client_id).sender_email)
    out = report_emails.send_all(now=FIRST_OF_DECEMBER, ses=ses)
    assert out["failed"] == 1 and not _sent()
    # WHEN it is verified and the job runs again
    ses.verify_email_identity(EmailAddress=ClientModel.get(a.agency_id, a.client_id).sender_email)
    # THEN the report goes out then, once
    assert report_emails.send_all(now=FIRST_OF_DECEMBER, ses=ses)["sent"] == 1
    assert len(_sent()) == 1
