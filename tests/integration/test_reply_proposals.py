"""Replies that are read: a promise or a dispute in a debtor's reply is proposed to the
specialist, who confirms it in one click (the same promise and dispute use cases a call
uses) or marks the reply handled; "stop emailing me" opts the debtor out of email."""
from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

import pytest

from tests.conftest import FIXED_NOW, bearer
from tests.integration.dunning_kit import (
    debtor, entries, load_book, row, run_cadence, sent_emails,
)
from tests.integration.test_dunning_feedback import EMAILS_ONLY
from tests.page_support import FORM, page_csrf, session

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC
DOMAIN = "replies.acme.example"
BASE = "/v1/clients/{c}/debtors/{d}"


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _book(tenant, ref: str, *invoices: tuple[str, str]) -> str:
    rows = [row(ref, number, "2026-11-25", amount) for number, amount in invoices]
    load_book(tenant, rows, NOW - timedelta(days=1),
              settings={**EMAILS_ONLY, "reply_domain": DOMAIN})
    assert run_cadence(NOW) == ["sent"]
    return debtor(tenant, ref).debtor_id


def _email_reply(http, tenant, ref: str, text: str, message_id: str) -> None:
    """The debtor replies to the reminder: SES stores the MIME in S3 and invokes us."""
    import os

    from chalicelib.dunning import reply_address
    from chalicelib.kernel import adapters

    d = debtor(tenant, ref)
    to = f"reply+{reply_address.token_for(tenant.agency_id, tenant.client_id, d.debtor_id)}@{DOMAIN}"
    sent = sent_emails(f"ap@{ref.lower()}.example.com")[-1]
    assert sent["reply_to"] == to  # the reminder asked for replies here
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Pat <ap@{ref.lower()}.example.com>", to, "Re: " + sent["subject"]
    msg.set_content(text + "\n\nOn Tue, Acme wrote:\n> " + sent["text"][:200])
    adapters.aws("s3").put_object(Bucket=os.environ["RECOUP_INBOUND_BUCKET"],
                                  Key=f"inbound/{message_id}", Body=msg.as_bytes())
    http.lambda_.invoke("ses_inbound", {"Records": [{"eventSource": "aws:ses", "ses": {
        "mail": {"messageId": message_id, "destination": [to]},
        "receipt": {"recipients": [to], "action": {"type": "Lambda"}}}}]})


def _path(tenant, debtor_id: str, tail: str = "") -> str:
    return BASE.format(c=tenant.client_id, d=debtor_id) + tail


def test_an_emailed_promise_is_proposed_and_confirmed_in_one_click(tenant, http):
    # GIVEN a debtor reminded by email about £250.00 replies "I will pay on 4 December"
    did = _book(tenant, "P1", ("INV-P1", "250.00"))
    _email_reply(http, tenant, "P1", "Hello, I will pay on 4 December. Regards, Pat", "ses-p1")
    h = bearer(tenant.specialist)
    # THEN the specialist sees it proposed as a promise of what is due, by that date
    got = http.http.get(_path(tenant, did, "/replies/waiting"), headers=h)
    assert got.status_code == 200, got.body
    reply = got.json_body
    assert reply["label"] == "promise_to_pay" and "will pay" in reply["excerpt"]
    assert reply["proposal"] == {"kind": "promise", "date": "2026-12-04", "amount_minor": 25000,
                                 "amount_major": "250.00", "currency": "GBP"}
    # and nothing was applied: no promise yet, chasing waits on the reply
    assert http.http.get(_path(tenant, did, "/promises"), headers=h).json_body["items"] == []
    assert debtor(tenant, "P1").reply_waiting == reply["reply_id"]
    # WHEN they confirm it
    r = http.http.post(_path(tenant, did, f"/replies/{reply['reply_id']}/confirm"), headers=h,
                       body=json.dumps({}))
    assert r.status_code == 200, r.body
    assert r.json_body["handled"] is True
    # THEN the promise is the workbench's own (taken by the specialist), the reply handled,
    # the reply's call task closed, and chasing pauses until the date plus grace
    [promise] = http.http.get(_path(tenant, did, "/promises"), headers=h).json_body["items"]
    assert (promise["amount_minor"], promise["promised_for"], promise["status"]) == \
        (25000, "2026-12-04", "open")
    assert len(entries(tenant, "P1", "promise_recorded")) == 1
    assert len(entries(tenant, "P1", "reply_handled")) == 1
    assert debtor(tenant, "P1").reply_waiting is None
    assert http.http.get(_path(tenant, did, "/replies/waiting"), headers=h).status_code == 204
    tasks = http.http.get(f"/v1/clients/{tenant.client_id}/tasks", headers=h).json_body["items"]
    assert did not in [t["debtor_id"] for t in tasks]
    assert run_cadence(NOW + timedelta(days=7)) == []  # the promise holds chasing
    # AND a second click changes nothing
    again = http.http.post(_path(tenant, did, f"/replies/{reply['reply_id']}/confirm"),
                           headers=h, body=json.dumps({}))
    assert again.status_code == 409
    assert len(http.http.get(_path(tenant, did, "/promises"), headers=h).json_body["items"]) == 1


def test_a_promise_without_a_date_needs_one_and_the_date_may_be_corrected(tenant, http):
    from chalicelib.dunning import replies

    did = _book(tenant, "P2", ("INV-P2", "80.00"))
    replies.receive((tenant.agency_id, tenant.client_id, did), channel="email",
                    message_id="m-p2", sender="ap@p2.example.com", subject="Re: invoice",
                    body="We will pay £50.00 soon", now=NOW)
    h = bearer(tenant.specialist)
    reply = http.http.get(_path(tenant, did, "/replies/waiting"), headers=h).json_body
    assert reply["proposal"]["date"] is None and reply["proposal"]["amount_minor"] == 5000
    confirm = _path(tenant, did, f"/replies/{reply['reply_id']}/confirm")
    r = http.http.post(confirm, headers=h, body=json.dumps({}))
    assert r.status_code == 422 and "promise_date" in r.body.decode()
    r = http.http.post(confirm, headers=h, body=json.dumps({"promise_date": "2026-12-01"}))
    assert r.status_code == 200, r.body
    assert (r.json_body["promise"]["promised_for"], r.json_body["promise"]["amount_minor"]) == \
        ("2026-12-01", 5000)


def test_a_disputed_reply_is_confirmed_from_the_workspace_page(tenant, http):
    # GIVEN a debtor with two invoices replies that the goods never arrived
    did = _book(tenant, "D1", ("INV-D1", "120.00"), ("INV-D2", "30.00"))
    _email_reply(http, tenant, "D1", "We dispute this: the goods were not received.", "ses-d1")
    cookie = session(http, "/w/login", tenant.specialist)
    view = f"/w/clients/{tenant.client_id}/debtors/{did}"
    # WHEN the specialist opens the debtor
    page = http.http.get(view, headers=cookie)
    body = page.body.decode()
    # THEN the reply is shown with a proposed dispute and its Confirm button
    assert page.status_code == 200 and 'id="reply"' in body
    assert "We dispute this" in body and "Confirm dispute" in body
    reply_id = debtor(tenant, "D1").reply_waiting
    from chalicelib.store.models import InvoiceModel

    inv = next(i for i in InvoiceModel.query(f"{tenant.agency_id}#{tenant.client_id}#{did}")
               if i.number == "INV-D2")
    # WHEN they choose the invoice and a reason and confirm
    r = http.http.post(f"{view}/replies/{reply_id}/confirm", headers={**FORM, **cookie},
                       body=urlencode({"csrf": page_csrf(page.body), "invoice_id": inv.invoice_id,
                                       "reason": "goods_not_received"}).encode())
    assert r.status_code == 303, r.body
    # THEN the dispute is open on that invoice (the workbench's dispute), the reply handled
    after = http.http.get(r.headers["Location"], headers=cookie).body.decode()
    assert "Dispute opened on invoice INV-D2" in after and 'id="reply"' not in after
    [dispute] = http.http.get(_path(tenant, did, "/disputes"),
                              headers=bearer(tenant.specialist)).json_body["items"]
    assert (dispute["invoice_number"], dispute["reason"], dispute["status"]) == \
        ("INV-D2", "goods_not_received", "open")
    assert "goods were not received" in dispute["detail"]
    assert debtor(tenant, "D1").reply_waiting is None


def test_mark_handled_resumes_chasing_from_the_page_and_the_api(tenant, tenants, http):
    from chalicelib.dunning import replies

    tenants_other = tenants[1]

    did = _book(tenant, "H1", ("INV-H1", "60.00"))
    ids = (tenant.agency_id, tenant.client_id, did)
    replies.receive(ids, channel="email", message_id="m-h1", sender="ap@h1.example.com",
                    subject="Re: INV-H1", body="Who are you? Call me.", now=NOW)
    assert run_cadence(NOW + timedelta(days=7)) == []  # waits on the reply
    cookie = session(http, "/w/login", tenant.specialist)
    view = f"/w/clients/{tenant.client_id}/debtors/{did}"
    page = http.http.get(view, headers=cookie)
    assert "Mark handled" in page.body.decode() and "Confirm" not in page.body.decode()
    reply_id = debtor(tenant, "H1").reply_waiting
    r = http.http.post(f"{view}/replies/{reply_id}/handled", headers={**FORM, **cookie},
                       body=urlencode({"csrf": page_csrf(page.body)}).encode())
    assert r.status_code == 303, r.body
    assert debtor(tenant, "H1").reply_waiting is None
    assert run_cadence(NOW + timedelta(days=7)) == ["sent"]
    # the JSON route: a later reply handled through the API; twice is a conflict
    replies.receive(ids, channel="email", message_id="m-h2", sender="ap@h1.example.com",
                    subject="Re", body="Thanks, noted.", now=NOW + timedelta(days=8))
    reply_id = debtor(tenant, "H1").reply_waiting
    h = bearer(tenant.specialist)
    path = _path(tenant, did, f"/replies/{reply_id}/handled")
    r = http.http.post(path, headers=h)
    assert r.status_code == 200 and r.json_body == {"reply_id": reply_id, "handled": True}
    assert http.http.post(path, headers=h).status_code == 409
    # another agency cannot touch it
    other = http.http.post(path, headers=bearer(tenants_other.specialist))
    assert other.status_code in (403, 404)


def test_stop_emailing_me_opts_the_debtor_out_of_email_at_once(tenant, http):
    # GIVEN a debtor reminded by email replies "please stop emailing me"
    did = _book(tenant, "U1", ("INV-U1", "90.00"))
    _email_reply(http, tenant, "U1", "Please stop emailing me.", "ses-u1")
    # THEN the contact is opted out of email, on the timeline, and chasing is not paused
    contacts = http.http.get(_path(tenant, did, "/contacts"),
                             headers=bearer(tenant.admin)).json_body["items"]
    assert [c["opted_out"] for c in contacts] == [["email"]]
    [opted] = entries(tenant, "U1", "opted_out")
    assert opted["data"]["channel"] == "email" and opted["data"]["address"] == "ap@u1.example.com"
    assert "no more email" in opted["summary"]
    [reply] = entries(tenant, "U1", "reply_received")
    assert reply["data"]["label"] == "unsubscribe"
    assert debtor(tenant, "U1").reply_waiting is None
    # AND the next step of the cadence sends no email to that address
    before = len(sent_emails("ap@u1.example.com"))
    run_cadence(NOW + timedelta(days=7))
    assert len(sent_emails("ap@u1.example.com")) == before


def test_the_local_outbox_replies_as_the_debtor_through_ses_receiving(tenant, http, monkeypatch):
    import re
    from urllib.parse import parse_qs, urlparse

    did = _book(tenant, "L1", ("INV-L1", "40.00"))
    [sent] = sent_emails("ap@l1.example.com")
    page = http.http.get("/outbox").body.decode()
    row_html = page[page.index(f'data-message-id="{sent["message_id"]}"'):]
    csrf = re.search(r'name="csrf" value="([^"]+)"', row_html).group(1)
    form = {"csrf": csrf, "message_id": sent["message_id"], "text": "I will pay on 4 December"}
    # a forged form (another message's token) is refused
    bad = http.http.post("/outbox/reply", headers=FORM,
                         body=urlencode({**form, "message_id": "other"}).encode())
    assert bad.status_code == 403
    r = http.http.post("/outbox/reply", headers=FORM, body=urlencode(form).encode())
    assert r.status_code == 303, r.body
    q = parse_qs(urlparse(r.headers["Location"]).query)
    assert "promise to pay" in q["msg"][0]
    assert q["debtor"] == [f"/w/clients/{tenant.client_id}/debtors/{did}"]
    [entry] = entries(tenant, "L1", "reply_received")
    assert entry["data"]["from"] == "ap@l1.example.com"
    assert entry["data"]["found_date"] == "2026-12-04"
    assert debtor(tenant, "L1").reply_waiting == entry["data"]["reply_id"]
    shown = http.http.get(r.headers["Location"]).body.decode()
    assert 'id="open-debtor"' in shown
    # never outside the local stack
    from local import outbox_pages

    monkeypatch.setattr(outbox_pages, "get_settings", lambda: type("S", (), {"stage": "prod"})())
    assert http.http.post("/outbox/reply", headers=FORM,
                          body=urlencode(form).encode()).status_code == 404


def test_a_proposal_is_applied_once_even_if_the_reply_was_left_waiting(tenant, http):
    """A confirm that died after applying (the reply still waiting) is not applied again:
    the retry finishes marking the reply handled and answers 409."""
    from chalicelib.dunning import replies
    from chalicelib.store import accounts

    did = _book(tenant, "C1", ("INV-C1", "70.00"))
    replies.receive((tenant.agency_id, tenant.client_id, did), channel="email",
                    message_id="m-c1", sender="ap@c1.example.com", subject="Re",
                    body="I will pay on 1 December", now=NOW)
    reply_id = debtor(tenant, "C1").reply_waiting
    h = bearer(tenant.specialist)
    confirm = _path(tenant, did, f"/replies/{reply_id}/confirm")
    assert http.http.post(confirm, headers=h, body=b"{}").status_code == 200
    accounts.save_account(debtor(tenant, "C1"), NOW,
                          change=lambda d: setattr(d, "reply_waiting", reply_id))  # the crash
    again = http.http.post(confirm, headers=h, body=b"{}")
    assert again.status_code == 409 and b"confirmed already" in again.body
    assert debtor(tenant, "C1").reply_waiting is None
    assert len(http.http.get(_path(tenant, did, "/promises"), headers=h).json_body["items"]) == 1


def test_a_reply_ses_found_infected_is_not_read(tenant):
    from chalicelib.dunning import inbound_email

    got = inbound_email.ses_event({"Records": [{"eventSource": "aws:ses", "ses": {
        "mail": {"messageId": "ses-virus"},
        "receipt": {"recipients": [f"reply+abc@{DOMAIN}"],
                    "virusVerdict": {"status": "FAIL"}}}}]}, NOW)
    assert got == [{"ignored": "virus verdict FAIL", "message_id": "ses-virus"}]


def test_an_sms_promise_is_confirmed_the_same_way(tenant, http):
    from tests.integration.test_dunning_feedback import SMS_FIRST, sms_in

    phone = "+447400123955"
    load_book(tenant, [row("S1", "INV-S1", "2026-11-25", "75.00", phone=phone)],
              NOW - timedelta(days=1), settings=SMS_FIRST)
    assert run_cadence(NOW) == ["sent"]
    did = debtor(tenant, "S1").debtor_id
    http.lambda_.invoke("sms_inbound", http.events.generate_sns_event(
        message=sms_in(phone, "ok I will pay on 30 Nov", "in-s1")))
    h = bearer(tenant.specialist)
    reply = http.http.get(_path(tenant, did, "/replies/waiting"), headers=h).json_body
    assert reply["channel"] == "sms" and reply["proposal"]["date"] == "2026-11-30"
    r = http.http.post(_path(tenant, did, f"/replies/{reply['reply_id']}/confirm"), headers=h,
                       body=b"{}")
    assert r.status_code == 200, r.body
    assert (r.json_body["promise"]["promised_for"], r.json_body["promise"]["amount_minor"]) == \
        ("2026-11-30", 7500)
