"""The dry run: a client starts in preview; nothing is sent, and the preview shows exactly
what chasing would send (the same planner, the same rendering) until an admin activates it.
A proposed cadence can be previewed before it is saved; saving it re-plans the accounts."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib.agency import clients
from chalicelib.dunning import cadence as cad
from chalicelib.dunning import preview
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import ClientIn, ClientPatch
from chalicelib.store.models import ClientModel
from tests.conftest import FIXED_NOW, bearer
from tests.integration.dunning_kit import debtor, load_book, row, run_cadence, sent_emails

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC (10:00 in London)


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _admin(tenant) -> Principal:
    return Principal(tenant.agency_id, f"{tenant.agency_id}-admin", "admin")


def _client(tenant) -> ClientModel:
    return ClientModel.get(tenant.agency_id, tenant.client_id, consistent_read=True)


def _unlinked(text: str) -> str:
    return re.sub(r"/d/[A-Za-z0-9_.-]+", "/d/<link>", text)


def _book(tenant) -> None:
    load_book(tenant, [
        row("P1", "INV-P1", (NOW - timedelta(days=40)).date().isoformat(), "800.00",
            issued="2026-09-01"),
        row("P2", "INV-P2", (NOW + timedelta(days=10)).date().isoformat(), "120.00",
            issued="2026-10-27"),
        row("P3", "INV-P3", (NOW - timedelta(days=8)).date().isoformat(), "45.50",
            issued="2026-10-01", phone="+447400123123", email=""),
    ], NOW)


def test_a_new_client_starts_in_preview_and_sends_nothing(tenant):
    # GIVEN a client onboarded through the API (not the test tenant, which is active)
    made = clients.create_client(_admin(tenant), ClientIn(
        name="Fresh Ltd", sender_email="ar@fresh.example.com"), now=NOW)
    # THEN it is in preview
    assert made["settings"]["chasing"] == "preview"


def test_the_preview_shows_what_activation_then_sends(tenant):
    # GIVEN the tenant put back in preview, with a book of three debtors
    clients.set_chasing(_admin(tenant), tenant.client_id, "preview", now=NOW)
    _book(tenant)
    # WHEN the timer fires for a week: nothing is sent to anyone
    for day in range(7):
        assert run_cadence(NOW + timedelta(days=day)) == []
    assert sent_emails() == []
    assert debtor(tenant, "P1").next_action_at is None  # not even queued
    # AND the preview for the next 14 days lists each message with its day, channel, text
    dry = preview.preview(_client(tenant), NOW, days=14)
    assert dry["chasing"] == "preview" and dry["accounts"] == 3
    first = [m for m in dry["messages"] if m["day"] == "2026-11-25"]
    by_name = {m["debtor_name"]: m for m in first}
    assert set(by_name) == {"P1 Ltd", "P3 Ltd"}  # P2 is not due yet: its first touch waits
    assert by_name["P1 Ltd"]["channel"] == "email" and by_name["P1 Ltd"]["first_contact"]
    assert "INV-P1" in by_name["P1 Ltd"]["text"] and "£800.00" in by_name["P1 Ltd"]["text"]
    assert by_name["P3 Ltd"]["channel"] == "sms" and by_name["P3 Ltd"]["to"] == "+447400123123"
    # AND the counts per day and step add up to the messages listed
    assert sum(d["messages"] for d in dry["days"]) == dry["messages_total"] \
        == len(dry["messages"]) == sum(dry["by_step"].values())
    assert len(dry["days"]) == 15 and dry["days"][0]["by_step"].get("first-contact") == 2
    # AND P2 gets its pre-due reminder later in the period, on a day the preview names
    p2 = [m for m in dry["messages"] if m["debtor_name"] == "P2 Ltd"]
    assert p2 and p2[0]["day"] > "2026-11-25"
    # WHEN an admin activates the client
    clients.set_chasing(_admin(tenant), tenant.client_id, "active", now=NOW)
    # THEN the accounts are re-planned and the next tick sends what the preview showed for now
    assert debtor(tenant, "P1").next_action_at is not None
    assert sorted(run_cadence(NOW)) == ["sent", "sent"]
    [mail] = sent_emails("ap@p1.example.com")
    assert mail["subject"] == by_name["P1 Ltd"]["subject"]
    # (each message's pay link is freshly signed; everything else is the same text)
    assert _unlinked(mail["text"]) == _unlinked(by_name["P1 Ltd"]["text"])
    # AND once active the preview starts from what was really sent (no second first contact)
    again = preview.preview(_client(tenant), NOW + timedelta(minutes=5), days=14)
    assert all(not m["first_contact"] for m in again["messages"]
               if m["debtor_name"] in ("P1 Ltd", "P3 Ltd"))


def test_a_proposed_cadence_is_previewed_before_it_is_saved_and_saving_replans(tenant):
    _book(tenant)
    proposed = {"id": "sms-only", "name": "Texts only", "steps": [
        {"key": "due+1", "offset_days": 1, "channel": "sms", "template": "friendly",
         "tone": "friendly"}]}
    client = _client(tenant)
    dry = preview.preview(client, NOW, days=14, cadence=cad.from_dict(proposed))
    assert dry["proposed_cadence"] is True
    steps = {m["step"] for m in dry["messages"]}
    assert steps <= {"first-contact", "due+1"}
    # nothing was saved: the client's own cadence is unchanged, nothing was sent
    assert "cadence" not in (_client(tenant).settings or {})
    assert sent_emails() == []
    # WHEN the cadence is saved, the accounts' next actions follow it
    before = debtor(tenant, "P2").next_action_at
    clients.update_client(_admin(tenant), tenant.client_id,
                          ClientPatch(settings={"cadence": proposed}), now=NOW)
    after = debtor(tenant, "P2").next_action_at
    assert before != after
    # P2 falls due in 10 days; the only step is a day after due: its first touch then
    assert after[:10] >= (NOW + timedelta(days=11)).date().isoformat()


def test_the_preview_api_validates_and_is_for_the_clients_staff(tenant, http):
    _book(tenant)
    url = f"/v1/clients/{tenant.client_id}/preview"
    ok = http.http.post(url, headers=bearer(tenant.specialist), body='{"days": 3}')
    assert ok.status_code == 200, ok.body
    assert len(ok.json_body["days"]) == 4
    bad = http.http.post(url, headers=bearer(tenant.specialist),
                         body='{"cadence": {"id": "x", "name": "x", "steps": '
                              '[{"key": "a", "offset_days": 1, "channel": "fax", '
                              '"template": "t", "tone": "friendly"}]}}')
    assert bad.status_code == 422
    assert "cadence.steps[0].channel" in bad.body.decode()
    assert http.http.post(url, headers=bearer(tenant.outsider), body="{}").status_code in (403, 404)
    mode = f"/v1/clients/{tenant.client_id}/chasing"
    assert http.http.post(mode, headers=bearer(tenant.specialist),
                          body='{"mode": "preview"}').status_code == 403
    done = http.http.post(mode, headers=bearer(tenant.admin), body='{"mode": "preview"}')
    assert done.status_code == 200 and done.json_body["settings"]["chasing"] == "preview"
    assert http.http.post(mode, headers=bearer(tenant.admin),
                          body='{"mode": "live"}').status_code == 422


def test_the_preview_of_a_book_reads_it_in_bulk_and_honours_the_suppression_list(tenant):
    # GIVEN the three-debtor book, and P1's email address on the agency's suppression list
    from bench.meter import metered
    from chalicelib.dunning import suppression

    clients.set_chasing(_admin(tenant), tenant.client_id, "preview", now=NOW)
    _book(tenant)
    suppression.suppress(tenant.agency_id, "email", "ap@p1.example.com", NOW, "hard bounce")
    # WHEN the whole book is previewed
    client = _client(tenant)
    with metered() as m:
        dry = preview.preview(client, NOW, days=14)
    # THEN P1 gets no email (the suppressed address), the others their messages as before
    assert not [x for x in dry["messages"] if x["to"] == "ap@p1.example.com"]
    assert {x["debtor_name"] for x in dry["messages"]} >= {"P2 Ltd", "P3 Ltd"}
    # AND the book was read in bulk: the debtors, each account's contacts, the invoices in
    # one index read, the suppression markers in one batch read (not a read per address)
    assert m.requests["BatchGetItem"] == 1 and m.requests.get("GetItem", 0) == 0, m.breakdown()
    assert m.requests["Query"] == 1 + 3 + 1, m.breakdown()
