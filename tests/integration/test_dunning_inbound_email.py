"""SES receiving: the MIME message stored in S3 lands on the debtor's timeline once, with
its remittance PDF kept in S3 and listed."""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import debtor, entries, load_book, row, run_cadence
from tests.integration.test_dunning_feedback import EMAILS_ONLY

NOW = FIXED_NOW
BUCKET = "recoup-test-inbound"


@pytest.fixture
def tenant(dunning, tenants, monkeypatch):
    from chalicelib.kernel import adapters

    monkeypatch.setenv("RECOUP_INBOUND_BUCKET", BUCKET)
    adapters.aws("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    return tenants[0]


def test_an_emailed_remittance_lands_once_with_its_attachment_kept(tenant, http):
    from chalicelib.dunning import reply_address
    from chalicelib.kernel import adapters

    load_book(tenant, [row("ACC5", "INV-50", "2026-11-25")], NOW - timedelta(days=1),
              settings={**EMAILS_ONLY, "reply_domain": "replies.acme.example"})
    assert run_cadence(NOW) == ["sent"]
    d = debtor(tenant, "ACC5")
    to = f"reply+{reply_address.token_for(tenant.agency_id, tenant.client_id, d.debtor_id)}" \
         "@replies.acme.example"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ap@acc5.example.com", to, "Re: INV-50"
    msg.set_content("Hi, we paid this yesterday. Remittance advice attached.\n\n"
                    "On Mon, Acme wrote:\n> please pay")
    msg.add_attachment(b"%PDF-1.4 remittance", maintype="application", subtype="pdf",
                       filename="remittance INV-50.pdf")
    s3 = adapters.aws("s3")
    s3.put_object(Bucket=BUCKET, Key="inbound/ses-msg-1", Body=msg.as_bytes())
    event = {"Records": [{"eventSource": "aws:ses", "ses": {
        "mail": {"messageId": "ses-msg-1", "destination": [to]},
        "receipt": {"recipients": [to], "action": {"type": "Lambda"}}}}]}
    http.lambda_.invoke("ses_inbound", event)
    http.lambda_.invoke("ses_inbound", event)  # delivered twice
    [entry] = entries(tenant, "ACC5", "reply_received")
    assert entry["data"]["label"] == "already_paid"
    [att] = entry["data"]["attachments"]
    assert att["filename"] == "remittance_INV-50.pdf"
    assert s3.get_object(Bucket=BUCKET, Key=att["s3_key"])["Body"].read() == \
        b"%PDF-1.4 remittance"
    assert debtor(tenant, "ACC5").reply_waiting  # a human reply pauses chasing


def test_without_the_inbound_bucket_the_handler_fails_closed(tenant, monkeypatch):
    from chalicelib.dunning import inbound_email

    monkeypatch.delenv("RECOUP_INBOUND_BUCKET")
    with pytest.raises(RuntimeError, match="RECOUP_INBOUND_BUCKET"):
        inbound_email.ses_event({"Records": []}, NOW)
