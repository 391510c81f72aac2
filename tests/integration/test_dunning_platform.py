"""Dunning wiring: the Lambda entry points, packaging, client settings, thank-you, and a
sweep whose cost follows the number of due accounts, not the size of the book."""
from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import (
    debtor, entries, load_book, queued, row, run_cadence, sent_emails, sent_sms,
)

NOW = FIXED_NOW
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def test_templates_are_inside_the_lambda_package(tmp_path):
    # GIVEN the files Chalice packages for the Lambda (app.py, chalicelib/, vendor/)
    from chalice.deploy.packager import AppOnlyDeploymentPackager
    from chalice.utils import UI, OSUtils

    packager = AppOnlyDeploymentPackager(OSUtils(), None, UI())
    bundle = tmp_path / "app.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        packager._add_app_files(z, str(ROOT))
    names = set(zipfile.ZipFile(bundle).namelist())
    # THEN every template the messages use is in the bundle
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "chalicelib/templates").rglob("*.j2")}
    assert on_disk and on_disk <= names
    assert "chalicelib/templates/email/final.html.j2" in names


def test_the_scheduled_sweep_and_the_queue_consumer_run_as_lambdas(tenant, http):
    # GIVEN an account due a reminder
    load_book(tenant, [row("L1", "INV-L1", "2026-11-18")], NOW)
    import os

    os.environ["RECOUP_DEMO_NOW"] = NOW.isoformat()
    try:
        # WHEN the schedule fires and SQS delivers the batch to the consumer Lambda
        http.lambda_.invoke("dunning_sweep", http.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
        bodies = [json.dumps(b) for b in queued()]
        assert len(bodies) == 1
        result = http.lambda_.invoke("dunning_dispatch", http.events.generate_sqs_event(bodies))
    finally:
        del os.environ["RECOUP_DEMO_NOW"]
    # THEN the debtor has their email
    assert result.payload == {"batchItemFailures": []}
    assert len(sent_emails("ap@l1.example.com")) == 1


def test_a_poison_message_fails_alone(tenant, monkeypatch):
    # GIVEN a batch with one good message and one that cannot be processed
    load_book(tenant, [row("L2", "INV-L2", "2026-11-18")], NOW)
    from chalicelib.dunning import dispatch, sweep

    deleted = []
    monkeypatch.setattr(sweep, "delete_messages", lambda r: deleted.extend(r))
    good = json.dumps({"agency_id": tenant.agency_id, "client_id": tenant.client_id,
                       "debtor_id": debtor(tenant, "L2").debtor_id})
    # WHEN the consumer handles it
    failed = dispatch.handle_batch([(good, "r-good"), ("{not json", "r-bad")], NOW)
    # THEN only the bad one goes back to the queue (and, after max_receive, to the DLQ)
    assert failed == ["r-bad"] and deleted == ["r-good"]
    assert len(sent_emails("ap@l2.example.com")) == 1


def test_client_brand_cadence_and_template_override(tenant):
    # GIVEN a client with its own brand, a one-step cadence and an overridden SMS text (and
    # no first-contact statement: the step's own template is the first message)
    settings = {"first_contact": False,
        "brand": {"display_name": "Acme & Sons", "signature": "Jo, Credit Control",
                  "payment_terms": "Payment terms: 30 days net."},
        "cadence": {"id": "c1", "name": "One text", "steps": [
            {"key": "due+1", "offset_days": 1, "channel": "sms", "template": "nudge",
             "tone": "friendly"}]},
        "templates": {"sms/nudge.txt.j2": "Hi {{ contact_name }}, {{ total }} is late "
                      "{{ link }} Reply STOP to opt out"},
    }
    load_book(tenant, [row("L3", "INV-L3", "2026-11-24", "1234.56", email="",
                           phone="+447400123456")], NOW - timedelta(days=1), settings=settings)
    # WHEN the cadence runs
    assert run_cadence(NOW) == ["sent"]
    # THEN the override is used, with the debtor's link
    [text] = sent_sms("+447400123456")
    assert text["text"].startswith("Hi Pat L3, £1,234.56 is late")
    assert "/d/" in text["text"]


def test_a_template_override_cannot_reach_python_and_falls_back_to_ours(tenant):
    settings = {"templates": {"email/friendly.txt.j2": "{{ ''.__class__.__mro__ }}"}}
    load_book(tenant, [row("L8", "INV-L8", "2026-11-25")], NOW - timedelta(days=1),
              settings=settings)
    assert run_cadence(NOW) == ["sent"]
    [mail] = sent_emails("ap@l8.example.com")
    assert "object" not in mail["text"] and "INV-L8" in mail["text"]


def test_html_is_escaped_and_brand_appears(tenant):
    settings = {"brand": {"display_name": "Acme <b>&</b> Sons", "signature": "Jo"}}
    load_book(tenant, [row("L4", "INV-<L4>", "2026-11-18")], NOW, settings=settings)
    run_cadence(NOW)
    [mail] = sent_emails("ap@l4.example.com")
    assert "INV-&lt;L4&gt;" in mail["html"] and "<L4>" not in mail["html"]
    assert "Acme <b>&</b> Sons" in mail["subject"]
    assert mail["from"].startswith("ar@acme-") and "Jo" in mail["text"]


def test_a_thank_you_follows_a_payment_once(tenant):
    # GIVEN an account; a payment is applied (and the event delivered twice)
    load_book(tenant, [row("L5", "INV-L5", "2026-11-18")], NOW)
    from chalicelib.kernel import events

    d = debtor(tenant, "L5")
    payload = dict(agency_id=tenant.agency_id, client_id=tenant.client_id,
                   debtor_id=d.debtor_id, payment_id="pay-1", amount_minor=4000,
                   currency="GBP", allocations=[], source="link", at="2026-11-25T09:00:00Z")
    events.publish("payment_applied", **payload)
    events.publish("payment_applied", **payload)
    # THEN one thank-you email with the amount
    [mail] = sent_emails("ap@l5.example.com")
    assert "£40.00" in mail["text"] and mail["subject"].startswith("Thank you")
    assert len(entries(tenant, "L5", "touch_sent")) == 1


def test_no_thank_you_when_the_client_switched_it_off(tenant):
    load_book(tenant, [row("L6", "INV-L6", "2026-11-18")], NOW, settings={"thank_you": False})
    from chalicelib.kernel import events

    events.publish("payment_applied", agency_id=tenant.agency_id, client_id=tenant.client_id,
                   debtor_id=debtor(tenant, "L6").debtor_id, payment_id="pay-2",
                   amount_minor=100, currency="GBP", allocations=[], source="link", at=NOW)
    assert sent_emails("ap@l6.example.com") == []


def test_an_account_on_hold_is_not_chased(tenant):
    load_book(tenant, [row("L7", "INV-L7", "2026-11-18")], NOW)
    d = debtor(tenant, "L7")
    d.status = "on_hold"
    d.save()
    from chalicelib.dunning import dispatch

    assert dispatch.dispatch_account(tenant.agency_id, tenant.client_id, d.debtor_id,
                                     NOW) == "stopped:on_hold"
    assert sent_emails("ap@l7.example.com") == []


def _book(tenant, not_due: int, due: int) -> None:
    rows = [row(f"F{n}", f"INV-F{n}", "2027-06-30") for n in range(not_due)]
    rows += [row(f"D{n}", f"INV-D{n}", "2026-11-18") for n in range(due)]
    load_book(tenant, rows, NOW)


def test_the_sweep_reads_only_the_due_accounts(dunning, tenants):
    # GIVEN two clients with the same 5 due accounts, in books of 20 and 400 accounts
    from bench.meter import metered
    from chalicelib.dunning import sweep

    small, large = tenants
    _book(small, 15, 5)
    with metered() as m_small:
        assert sweep.sweep(NOW)["enqueued"] == 5
    queued()
    from chalicelib.store.models import DebtorModel

    for d in DebtorModel.query(f"{small.agency_id}#{small.client_id}"):
        d.delete()  # only the large book is left
    _book(large, 395, 5)
    with metered() as m_large:
        assert sweep.sweep(NOW)["enqueued"] == 5
    # THEN both sweeps read the same items and made the same requests
    assert m_small.items_read == m_large.items_read == 5
    assert m_small.read_requests == m_large.read_requests
    assert m_large.requests["Scan"] == 0


def test_with_no_email_or_phone_the_reminder_becomes_a_letter_to_print(tenant):
    # GIVEN an overdue account with no email address and no phone number
    load_book(tenant, [row("L9", "INV-L9", "2026-11-18", email="")], NOW)
    # WHEN the cadence runs
    assert run_cadence(NOW) == ["sent"]
    # THEN a letter to print is on the timeline, with the invoice and the debtor's link
    [letter] = entries(tenant, "L9", "letter_to_print")
    assert "INV-L9" in letter["data"]["text"] and "/d/" in letter["data"]["text"]
    [sent] = entries(tenant, "L9", "touch_sent")
    assert sent["data"]["channel"] == "letter" and sent["data"]["fallback"] is True


def test_racing_payments_give_one_settled_message_and_name_the_overpayment_credit(
        tenant, atomic_writes):
    """GIVEN an account owing £100 on one invoice
    WHEN a bank transfer and a card payment of £100 each are applied at the same moment
    THEN the account is settled once: exactly one thank-you says "fully paid", the other
    names its £100 as credit, and neither claims anything is still outstanding."""
    import threading
    from datetime import date

    from chalicelib.payments import ledger

    load_book(tenant, [row("L9", "INV-L9", "2026-11-18")], NOW)
    d = debtor(tenant, "L9")
    barrier = threading.Barrier(2)

    def pay(ref: str) -> None:
        barrier.wait()
        ledger.apply_payment(tenant.agency_id, tenant.client_id, d.debtor_id,
                             amount_minor=10000, currency="GBP", source="transfer",
                             payment_id=ledger.payment_id_for("race", ref),
                             received_on=date(2026, 11, 25), now=NOW, actor="test")

    threads = [threading.Thread(target=pay, args=(r,)) for r in ("bank", "card")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mails = sent_emails("ap@l9.example.com")
    assert len(mails) == 2
    settled = [m for m in mails if "fully paid" in m["text"]]
    credited = [m for m in mails if "£100.00 is held as credit" in m["text"]]
    assert len(settled) == 1 and len(credited) == 1 and settled != credited
    assert not [m for m in mails if "Still outstanding" in m["text"]]


def test_a_thank_you_never_says_fully_paid_while_a_disputed_invoice_is_open(tenant):
    """GIVEN two invoices, one of them disputed WHEN the other is paid in full
    THEN the thank-you names what is still outstanding, including the disputed amount."""
    from datetime import date

    from chalicelib.payments import ledger
    from chalicelib.store.models import InvoiceModel
    from chalicelib.workbench import disputes

    load_book(tenant, [row("M1", "INV-M1", "2026-11-18"),
                       row("M1", "INV-M2", "2026-11-19", "50.00")], NOW)
    d = debtor(tenant, "M1")
    invs = {i.number: i for i in InvoiceModel.query(f"{d.client_key}#{d.debtor_id}")}
    disputes.open_dispute(tenant.agency_id, tenant.client_id, d.debtor_id,
                          invs["INV-M2"].invoice_id, "pricing", owner="test", now=NOW)
    ledger.apply_payment(tenant.agency_id, tenant.client_id, d.debtor_id, amount_minor=10000,
                         currency="GBP", source="transfer", payment_id="p-m1",
                         received_on=date(2026, 11, 25), now=NOW, actor="test",
                         invoice_ids=[invs["INV-M1"].invoice_id])
    [mail] = sent_emails("ap@m1.example.com")
    assert "fully paid" not in mail["text"]
    assert "Still outstanding: £50.00, including £50.00 in dispute" in mail["text"]
