"""Manual sends (issue #13 item 6): a specialist previews, then sends a reminder or a
statement now through the JSON API. It goes through the dispatcher's one send path: once per
idempotency key, never to an opted-out channel, inside the debtor's contact window unless a
business debtor's client allows an override, recorded with who sent it, and it counts as
the cadence step due that day so the sweep does not send that step again."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from tests.conftest import FIXED_NOW, bearer
from tests.integration.dunning_kit import (
    debtor, entries, load_book, row, run_cadence, sent_emails, sent_sms,
)

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC (10:00 in London)
EVENING = datetime(2026, 11, 25, 21, 30, tzinfo=timezone.utc)  # 21:30 in London


@pytest.fixture
def tenant(dunning, tenants, monkeypatch):
    monkeypatch.setenv("RECOUP_DEMO_NOW", NOW.isoformat())  # the handlers' clock
    return tenants[0]


def _path(tenant, ref: str, preview: bool = False) -> str:
    d = debtor(tenant, ref)
    tail = "/sends/preview" if preview else "/sends"
    return f"/v1/clients/{tenant.client_id}/debtors/{d.debtor_id}{tail}"


def _post(http, token: str, path: str, body: dict):
    return http.http.post(path, headers=bearer(token), body=json.dumps(body))


def _unlinked(text: str) -> str:
    return re.sub(r"https?://\S+", "<link>", text)


def _specialist_id(tenant) -> str:
    from chalicelib.http.auth import verify_token
    from chalicelib.kernel.settings import get_settings

    return verify_token(get_settings().jwt_secret, tenant.specialist).user_id


def test_preview_then_send_is_sent_once_however_often_the_request_is_retried(tenant, http):
    # GIVEN a debtor a week overdue
    load_book(tenant, [row("M1", "INV-M1", "2026-11-18", "320.00")], NOW)
    # WHEN the specialist previews an email statement
    got = _post(http, tenant.specialist, _path(tenant, "M1", preview=True),
                {"kind": "statement", "channel": "email"})
    # THEN they see it rendered, whom it goes to, and that it may go now; nothing is sent
    assert got.status_code == 200, got.body
    view = got.json_body
    assert view["may_send"] is True and view["refusal"] is None
    assert view["to"] == "ap@m1.example.com" and view["window"]["open_now"] is True
    assert view["subject"].startswith("Statement of your account with Acme Ltd")
    assert "INV-M1" in view["text"] and "£320.00" in view["text"]
    assert view["attachments"] == ["statement.csv"]
    assert sent_emails() == []
    # WHEN they send it, and the request is retried (a double click, a network retry)
    body = {"kind": "statement", "channel": "email", "idempotency_key": "click-1"}
    first = _post(http, tenant.specialist, _path(tenant, "M1"), body)
    again = _post(http, tenant.specialist, _path(tenant, "M1"), body)
    # THEN one email goes out, exactly what the preview showed
    assert first.status_code == 200, first.body
    assert (first.json_body["outcome"], again.json_body["outcome"]) == ("sent", "already_sent")
    [mail] = sent_emails("ap@m1.example.com")
    assert mail["subject"] == view["subject"]
    assert _unlinked(mail["text"]) == _unlinked(view["text"])  # each carries its own link
    assert mail["attachments"] == ["statement.csv"]
    # AND the timeline says who sent it, once
    [entry] = entries(tenant, "M1", "touch_sent")
    assert entry["actor"] == _specialist_id(tenant)
    assert entry["summary"].startswith("Email sent by Sam (manual statement")
    assert entry["data"]["sent_by"] == _specialist_id(tenant)
    # AND without a key, the same message on the same day is also sent once
    plain = {"kind": "reminder", "channel": "email"}
    assert _post(http, tenant.specialist, _path(tenant, "M1"), plain).json_body["outcome"] \
        == "sent"
    assert _post(http, tenant.specialist, _path(tenant, "M1"), plain).json_body["outcome"] \
        == "already_sent"
    assert len(sent_emails("ap@m1.example.com")) == 2


def test_an_opted_out_channel_is_refused_naming_why(tenant, http):
    # GIVEN a debtor whose only contact opted out of email and has no phone
    load_book(tenant, [row("M2", "INV-M2", "2026-11-18")], NOW)
    from chalicelib.store.models import ContactModel

    d = debtor(tenant, "M2")
    [contact] = ContactModel.query(f"{d.client_key}#{d.debtor_id}")
    contact.opted_out = {"email"}
    contact.save()
    # WHEN the specialist previews and then tries to send an email
    view = _post(http, tenant.specialist, _path(tenant, "M2", preview=True),
                 {"channel": "email"}).json_body
    got = _post(http, tenant.specialist, _path(tenant, "M2"), {"channel": "email"})
    # THEN the preview says it may not go and why; the send is refused with that reason
    assert view["may_send"] is False and view["refusal"]["code"] == "opted_out"
    assert got.status_code == 409
    err = got.json_body["error"]
    assert err["code"] == "opted_out" and "opted out of email" in err["message"]
    assert err["fields"][0]["field"] == "channel"
    # AND an SMS without a number is refused too, naming that
    sms = _post(http, tenant.specialist, _path(tenant, "M2"), {"channel": "sms"})
    assert sms.status_code == 409 and "no sms address" in sms.json_body["error"]["message"]
    assert sent_emails() == [] and sent_sms() == []
    assert entries(tenant, "M2", "touch_sent") == []


def test_a_suppressed_address_is_refused(tenant, http):
    load_book(tenant, [row("M3", "INV-M3", "2026-11-18")], NOW)
    from chalicelib.dunning import suppression

    suppression.suppress(tenant.agency_id, "email", "ap@m3.example.com", NOW, "bounce")
    got = _post(http, tenant.specialist, _path(tenant, "M3"), {"channel": "email"})
    assert got.status_code == 409
    assert "suppression list" in got.json_body["error"]["message"]
    assert sent_emails() == []


def test_outside_the_window_refused_unless_the_client_allows_a_business_override(
        tenant, http, monkeypatch):
    # GIVEN a business debtor and a consumer, and it is 21:30 in London (after 17:30, and after 21:00)
    load_book(tenant, [row("B1", "INV-B1", "2026-11-18"),
                       row("C1", "INV-C1", "2026-11-18", kind="consumer")], NOW)
    monkeypatch.setenv("RECOUP_DEMO_NOW", EVENING.isoformat())
    # WHEN the specialist sends to the business debtor (with or without asking to override)
    plain = _post(http, tenant.specialist, _path(tenant, "B1"), {"channel": "email"})
    asked = _post(http, tenant.specialist, _path(tenant, "B1"),
                  {"channel": "email", "override_window": True})
    # THEN both are refused: outside the window, and the client does not allow an override
    for got in (plain, asked):
        assert got.status_code == 409
        assert got.json_body["error"]["code"] == "outside_contact_window"
        assert "manual_send_window_override" in got.json_body["error"]["message"]
    assert "next allowed time is Thu 26 Nov 09:00" in plain.json_body["error"]["message"]
    # WHEN the client allows the override
    from chalicelib.store.models import ClientModel

    client = ClientModel.get(tenant.agency_id, tenant.client_id)
    client.settings = {**(client.settings or {}), "manual_send_window_override": True}
    client.save()
    view = _post(http, tenant.specialist, _path(tenant, "B1", preview=True),
                 {"channel": "email"}).json_body
    assert view["window"] == {"open_now": False, "next_allowed_at": view["window"][
        "next_allowed_at"], "timezone": "Europe/London", "override_allowed": True}
    assert _post(http, tenant.specialist, _path(tenant, "B1"),
                 {"channel": "email"}).status_code == 409  # still only when asked
    sent = _post(http, tenant.specialist, _path(tenant, "B1"),
                 {"channel": "email", "override_window": True})
    # THEN the business debtor's email goes, and the timeline states the override
    assert sent.status_code == 200, sent.body
    assert sent.json_body["window_override"] is True
    assert len(sent_emails("ap@b1.example.com")) == 1
    [entry] = entries(tenant, "B1", "touch_sent")
    assert "outside the contact window (override" in entry["summary"]
    assert entry["data"]["window_override"] is True
    # AND a consumer is never contacted outside the window, override or not
    consumer = _post(http, tenant.specialist, _path(tenant, "C1"),
                     {"channel": "email", "override_window": True})
    assert consumer.status_code == 409
    assert "a consumer is never contacted outside it" in consumer.json_body["error"]["message"]
    assert sent_emails("ap@c1.example.com") == []


def test_a_manual_send_on_the_day_a_step_is_due_counts_as_that_step(tenant, http):
    # GIVEN two debtors a week overdue, due the firm step today (no first-contact statement)
    load_book(tenant, [row("S1", "INV-S1", "2026-11-18"), row("S2", "INV-S2", "2026-11-18")],
              NOW, settings={"first_contact": False})
    # WHEN the specialist sends S1 a statement by hand
    got = _post(http, tenant.specialist, _path(tenant, "S1"), {"kind": "statement"})
    assert got.status_code == 200, got.body
    assert got.json_body["counts_as_step"] == "due+7#0"
    # AND the timer fires and the consumer works the queue, now and later that day
    run_cadence(NOW)
    run_cadence(datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc))
    # THEN S1 got only the manual statement; S2 got the cadence's step as usual
    assert len(sent_emails("ap@s1.example.com")) == 1
    assert len(sent_emails("ap@s2.example.com")) == 1
    [entry] = entries(tenant, "S1", "touch_sent")
    assert "counts as cadence step due+7#0" in entry["summary"]
    assert any(k.endswith("|due+7#0") for k in debtor(tenant, "S1").touch_keys)
    # AND the cadence goes on from there: the next step (due+14) a week later
    run_cadence(datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc))
    assert len(sent_emails("ap@s1.example.com")) == 2
    assert entries(tenant, "S1", "touch_sent")[0]["data"]["step"] == "due+14#0"


def test_a_manual_first_touch_counts_as_the_first_contact(tenant, http):
    # GIVEN a debtor never written to (the cadence would send a first-contact statement)
    load_book(tenant, [row("F1", "INV-F1", "2026-10-20")], NOW)
    # WHEN the specialist sends the default reminder (the step due: first contact)
    view = _post(http, tenant.specialist, _path(tenant, "F1", preview=True), {}).json_body
    assert view["template"] == "first_contact" and view["counts_as_step"] == "first-contact"
    assert _post(http, tenant.specialist, _path(tenant, "F1"), {}).json_body["outcome"] == "sent"
    # THEN the sweep sends nothing more today
    assert run_cadence(NOW) == []
    assert len(sent_emails("ap@f1.example.com")) == 1
    assert debtor(tenant, "F1").chased_from == "2026-11-25"


def test_only_the_clients_staff_may_send(tenant, tenants, http):
    load_book(tenant, [row("T1", "INV-T1", "2026-11-18")], NOW)
    path = _path(tenant, "T1")
    assert _post(http, tenant.outsider, path, {}).status_code == 403
    assert _post(http, tenant.viewer, path, {}).status_code == 403
    assert _post(http, tenants[1].admin, path, {}).status_code == 404
    assert _post(http, tenant.admin, path, {"channel": "call"}).status_code == 422
    assert _post(http, tenant.admin, path, {"template": "nope"}).status_code == 422
    assert sent_emails() == []
    assert _post(http, tenant.admin, path, {}).status_code == 200


def test_the_debtor_view_previews_then_sends_once_on_a_double_submit(tenant, http):
    from urllib.parse import urlencode

    from tests.page_support import FORM, page_csrf, session

    # GIVEN a specialist signed in to the workspace, on a debtor's page
    load_book(tenant, [row("P1", "INV-P1", "2026-11-18", "75.00")], NOW)
    me = session(http, "/w/login", tenant.specialist)
    view = f"/w/clients/{tenant.client_id}/debtors/{debtor(tenant, 'P1').debtor_id}"
    page = http.http.get(view, headers=me)
    assert page.status_code == 200 and 'id="send-form"' in page.body.decode()
    csrf = page_csrf(page.body)
    # WHEN they preview an email reminder
    shown = http.http.post(view + "/sends/preview", headers={**me, **FORM}, body=urlencode(
        {"csrf": csrf, "kind": "reminder", "channel": "email", "template": ""}).encode())
    html = shown.body.decode()
    # THEN the rendered message and a Send button carrying one send id are shown
    assert shown.status_code == 200 and 'id="preview-text"' in html and "INV-P1" in html
    send_id = re.search(r'name="send_id" value="([^"]+)"', html).group(1)
    template = re.search(r'id="send-confirm".*?name="template" value="([^"]+)"', html,
                         re.S).group(1)
    assert sent_emails() == []
    # WHEN Send is pressed twice (the same form submitted again)
    form = urlencode({"csrf": page_csrf(shown.body), "kind": "reminder", "channel": "email",
                      "template": template, "send_id": send_id}).encode()
    first = http.http.post(view + "/sends", headers={**me, **FORM}, body=form)
    second = http.http.post(view + "/sends", headers={**me, **FORM}, body=form)
    # THEN one email goes; the page says so, and the timeline names the specialist
    assert first.status_code == 303 and "Email+sent+to" in first.headers["Location"]
    assert "sent+already" in second.headers["Location"]
    assert len(sent_emails("ap@p1.example.com")) == 1
    after = http.http.get(view, headers=me).body.decode()
    assert "Email sent by Sam (manual reminder" in after


def test_the_debtor_view_shows_why_a_send_is_refused(tenant, http):
    from urllib.parse import urlencode

    from chalicelib.store.models import ContactModel
    from tests.page_support import FORM, page_csrf, session

    load_book(tenant, [row("P2", "INV-P2", "2026-11-18")], NOW)
    d = debtor(tenant, "P2")
    [contact] = ContactModel.query(f"{d.client_key}#{d.debtor_id}")
    contact.opted_out = {"email"}
    contact.save()
    me = session(http, "/w/login", tenant.specialist)
    view = f"/w/clients/{tenant.client_id}/debtors/{d.debtor_id}"
    csrf = page_csrf(http.http.get(view, headers=me).body)
    got = http.http.post(view + "/sends", headers={**me, **FORM}, body=urlencode(
        {"csrf": csrf, "kind": "statement", "channel": "email", "send_id": "x1"}).encode())
    assert got.status_code == 409
    assert "opted out of email" in got.body.decode()
    assert sent_emails() == []


def test_nothing_is_sent_for_a_client_still_in_preview(tenant, http):
    # GIVEN a client whose chasing is still in preview (the dry run)
    load_book(tenant, [row("V1", "INV-V1", "2026-11-18")], NOW, settings={"chasing": "preview"})
    # WHEN a specialist previews and sends a statement
    view = _post(http, tenant.specialist, _path(tenant, "V1", preview=True),
                 {"kind": "statement"}).json_body
    got = _post(http, tenant.specialist, _path(tenant, "V1"), {"kind": "statement"})
    # THEN they see the message, but it is refused: nothing goes before activation
    assert "INV-V1" in view["text"] and view["refusal"]["code"] == "chasing_in_preview"
    assert got.status_code == 409 and got.json_body["error"]["code"] == "chasing_in_preview"
    assert sent_emails() == []


def test_a_manual_send_dying_after_ses_accepted_is_never_sent_twice(tenant, monkeypatch):
    # GIVEN a send that dies right after SES accepted the email (the dispatcher's own path)
    load_book(tenant, [row("K1", "INV-K1", "2026-11-18")], NOW)
    from datetime import timedelta

    from chalicelib.dunning import dispatch, manual
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import SendIn

    me = Principal(tenant.agency_id, _specialist_id(tenant), "specialist")
    body = SendIn(kind="statement", idempotency_key="once")
    d = debtor(tenant, "K1")

    def crash(*a, **kw):
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(dispatch, "_record_sent", crash)
    with pytest.raises(RuntimeError):
        manual.send(me, tenant.client_id, d.debtor_id, body, now=NOW)
    monkeypatch.undo()
    assert len(sent_emails("ap@k1.example.com")) == 1
    # WHEN the specialist retries soon, and again later
    soon = manual.send(me, tenant.client_id, d.debtor_id, body, now=NOW + timedelta(minutes=1))
    later = manual.send(me, tenant.client_id, d.debtor_id, body,
                        now=NOW + timedelta(minutes=10))
    # THEN nothing is sent again; the timeline asks a person to check, as for the cadence
    assert (soon["outcome"], later["outcome"]) == ("in_flight", "unknown")
    assert len(sent_emails("ap@k1.example.com")) == 1
    assert len(entries(tenant, "K1", "touch_unknown")) == 1


def test_email_is_refused_while_the_clients_sender_is_not_verified(tenant, http):
    # GIVEN a client whose sender address SES has not verified
    load_book(tenant, [row("E1", "INV-E1", "2026-11-18")], NOW)
    from chalicelib.store.models import ClientModel

    client = ClientModel.get(tenant.agency_id, tenant.client_id)
    client.sender_email, client.sender_status = "ar@not-verified.example.org", None
    client.save()
    # WHEN a specialist sends an email statement
    got = _post(http, tenant.specialist, _path(tenant, "E1"), {"kind": "statement"})
    # THEN it is refused naming the sender; a letter may still be sent
    assert got.status_code == 409 and got.json_body["error"]["code"] == "sender_unverified"
    assert "ar@not-verified.example.org" in got.json_body["error"]["message"]
    assert sent_emails() == []
    letter = _post(http, tenant.specialist, _path(tenant, "E1"),
                   {"kind": "statement", "channel": "letter"})
    assert letter.status_code == 200 and letter.json_body["outcome"] == "sent"
    assert entries(tenant, "E1", "letter_to_print")
