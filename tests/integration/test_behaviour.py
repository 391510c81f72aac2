"""Behaviour from payment history: an imported history book gives each debtor a profile in
plain words, a segment with its reason, a predicted pay date per open invoice, and the call
queue orders by expected overdue value (amount × P(late) × expected days late)."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from chalicelib.book import importer
from chalicelib.store.models import ClientModel, InvoiceModel
from chalicelib.workbench import tasks
from tests.conftest import FIXED_NOW, bearer
from tests.integration.dunning_kit import debtor, entries
from tests.page_support import session

NOW = FIXED_NOW  # Wednesday 25 Nov 2026
HEADER = ("debtor_ref,debtor_name,email,timezone,country,invoice_number,issue_date,due_date,"
          "currency,amount,amount_paid,paid_date,disputed")


def line(ref, number, issued: date, amount, paid_on: date | None = None, terms=30):
    money = f"{amount:.2f}"
    return (f"{ref},{ref} Ltd,ap@{ref.lower()}.example.com,Europe/London,GB,{number},"
            f"{issued.isoformat()},{(issued + timedelta(days=terms)).isoformat()},GBP,{money},"
            f"{money if paid_on else '0.00'},{paid_on.isoformat() if paid_on else ''},")


def history(ref: str, days_late: list[int], amount=400.0) -> list[str]:
    """Monthly invoices from March 2026, 30-day terms, each paid `days_late` after due."""
    out = []
    for k, late in enumerate(days_late):
        issued = date(2026, 3, 1) + timedelta(days=30 * k)
        out.append(line(ref, f"{ref}-{k}", issued, amount,
                        issued + timedelta(days=30 + late)))
    return out


# SLOW pays about 20 days late, steadily; PROMPT pays on the due date. Each has one open
# invoice falling due in 5 days: SLOW's £1,000, PROMPT's £5,000 (five times as much).
OPEN_ISSUED = NOW.date() - timedelta(days=25)
BOOK = [*history("SLOW", [19, 21, 20, 22, 18, 20]),
        line("SLOW", "SLOW-OPEN", OPEN_ISSUED, 1000.0),
        *history("PROMPT", [0, -1, 0, 1, 0, 0]),
        line("PROMPT", "PROMPT-OPEN", OPEN_ISSUED, 5000.0),
        # NEWCO: two paid invoices so far, and an open one
        *history("NEWCO", [10, 12]),
        line("NEWCO", "NEWCO-OPEN", OPEN_ISSUED, 300.0)]


def load(tenant, rows, now=NOW):
    from local.resources import verify_sender

    verify_sender(ClientModel.get(tenant.agency_id, tenant.client_id).sender_email)
    data = ("\n".join([HEADER, *rows]) + "\n").encode()
    report = importer.import_book(tenant.agency_id, tenant.client_id, data, actor="test",
                                  now=now, mode="full")
    assert report["errors"] == [], report["errors"]


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def test_a_history_book_gives_profiles_predictions_and_a_queue_by_expected_overdue_value(
        tenant, http):
    # GIVEN a history book with paid dates and open invoices
    load(tenant, BOOK)
    slow, prompt = debtor(tenant, "SLOW"), debtor(tenant, "PROMPT")
    # THEN the import put each debtor in its behaviour segment, with the reason, on the timeline
    assert (slow.segment, prompt.segment, debtor(tenant, "NEWCO").segment) == (
        "slow_but_steady", "prompt", "new")
    assert slow.segment_reason == "usually pays 20 days late, within ±1 day"
    [moved] = entries(tenant, "SLOW", "segment_changed")
    assert moved["summary"] == ("Segment none → slow but steady: usually pays 20 days late, "
                                "within ±1 day")
    # AND the API gives the profile in words and numbers and a predicted pay date
    base = f"/v1/clients/{tenant.client_id}/debtors"
    b = http.http.get(f"{base}/{slow.debtor_id}/behaviour",
                      headers=bearer(tenant.specialist)).json_body
    assert b["summary"][0] == "usually pays 20 days late"
    assert b["profile"]["typical_days_late"] == 20 and b["profile"]["share_late"] == 1.0
    assert b["profile"]["paid_invoices"] == 6 and b["profile"]["trend"] == "steady"
    [pred] = b["predictions"]
    due = OPEN_ISSUED + timedelta(days=30)
    assert pred["number"] == "SLOW-OPEN" and pred["due_date"] == due.isoformat()
    assert abs(date.fromisoformat(pred["pay_on"]) - (due + timedelta(days=20))) <= timedelta(days=2)
    assert pred["p_late"] > 0.9
    assert any(m.startswith("their 6 paid invoices: usually 20 days late") for m in pred["moved"])
    p = http.http.get(f"{base}/{prompt.debtor_id}/behaviour",
                      headers=bearer(tenant.specialist)).json_body
    assert p["summary"][0] == "usually pays on time" and p["predictions"][0]["p_late"] < 0.35
    # AND the debtor view shows "How they pay"
    cookie = session(http, "/w/login", tenant.specialist)
    page = http.http.get(f"/w/clients/{tenant.client_id}/debtors/{slow.debtor_id}",
                         headers=cookie).body.decode()
    assert "How they pay" in page and "usually pays 20 days late" in page
    assert "Segment <strong>slow but steady</strong>: usually pays 20 days late" in page
    assert "SLOW-OPEN" in page
    # WHEN both need a call
    for d in (prompt, slow):
        tasks.raise_task(tenant.agency_id, tenant.client_id, d.debtor_id, "check in", now=NOW)
    # THEN the queue puts SLOW's £1,000 (certainly late, by ~20 days) above PROMPT's £5,000
    # (likely on time): expected overdue value, not the amount
    q = http.http.get(f"/v1/clients/{tenant.client_id}/tasks",
                      headers=bearer(tenant.specialist)).json_body["items"]
    assert [t["debtor_name"] for t in q] == ["SLOW Ltd", "PROMPT Ltd"]
    assert q[0]["why"][0].startswith("£1,000 owed: ") and "late expected" in q[0]["why"][0]
    # WHEN SLOW pays £900 of it
    from chalicelib.payments import ledger

    ledger.apply_payment(tenant.agency_id, tenant.client_id, slow.debtor_id, amount_minor=90_000,
                         currency="GBP", source="transfer", payment_id="pay-slow-part",
                         received_on=NOW.date(), now=NOW, actor="test")
    # THEN its task is ranked again on what is left
    after = http.http.get(f"/v1/clients/{tenant.client_id}/tasks",
                          headers=bearer(tenant.specialist)).json_body["items"]
    again = {t["debtor_name"]: t for t in after}["SLOW Ltd"]
    assert again["why"][0].startswith("£100 owed: ") and again["score"] < q[0]["score"]


def test_a_debtor_moves_segment_as_it_pays_and_a_pinned_segment_stays(tenant, http):
    from chalicelib.payments import ledger

    load(tenant, BOOK)
    newco = debtor(tenant, "NEWCO")
    assert newco.segment == "new"
    [open_inv] = [i for i in InvoiceModel.query(f"{newco.client_key}#{newco.debtor_id}")
                  if i.balance_minor]
    # WHEN its third invoice is paid through Recoup, 11 days late
    paid_on = date.fromisoformat(open_inv.due_date) + timedelta(days=11)
    ledger.apply_payment(tenant.agency_id, tenant.client_id, newco.debtor_id,
                         amount_minor=30_000, currency="GBP", source="transfer",
                         payment_id="pay-newco", received_on=paid_on, now=NOW, actor="test")
    # THEN it leaves "new": three paid invoices, about 11 days late
    newco = debtor(tenant, "NEWCO")
    assert newco.segment == "slow_but_steady"
    assert entries(tenant, "NEWCO", "segment_changed")[0]["summary"].startswith(
        "Segment new → slow but steady: usually pays 11 days late")
    # WHEN a specialist pins PROMPT as at risk
    prompt = debtor(tenant, "PROMPT")
    r = http.http.patch(f"/v1/clients/{tenant.client_id}/debtors/{prompt.debtor_id}",
                        headers=bearer(tenant.admin), body=json.dumps({"segment": "at_risk"}))
    assert r.status_code == 200 and r.json_body["segment_pinned"] is True
    # AND it pays its open invoice on time (behaviour says prompt)
    ledger.apply_payment(tenant.agency_id, tenant.client_id, prompt.debtor_id,
                         amount_minor=500_000, currency="GBP", source="transfer",
                         payment_id="pay-prompt", received_on=NOW.date(), now=NOW, actor="test")
    # THEN the pinned segment stays, and the view says what behaviour would have chosen
    assert debtor(tenant, "PROMPT").segment == "at_risk"
    b = http.http.get(f"/v1/clients/{tenant.client_id}/debtors/{prompt.debtor_id}/behaviour",
                      headers=bearer(tenant.specialist)).json_body
    assert b["segment"]["pinned"] is True and b["segment"]["computed"] == "prompt"
    cookie = session(http, "/w/login", tenant.specialist)
    page = http.http.get(f"/w/clients/{tenant.client_id}/debtors/{prompt.debtor_id}",
                         headers=cookie).body.decode()
    assert ("Segment <strong>at risk</strong> (set by hand; their behaviour says prompt: "
            "usually pays on time") in page
    # WHEN unpinned, the next payment puts it back where it pays
    r = http.http.patch(f"/v1/clients/{tenant.client_id}/debtors/{prompt.debtor_id}",
                        headers=bearer(tenant.admin), body=json.dumps({"segment_pinned": False}))
    assert r.json_body["segment_pinned"] is False
    ledger.apply_payment(tenant.agency_id, tenant.client_id, prompt.debtor_id,
                         amount_minor=100, currency="GBP", source="transfer",
                         payment_id="pay-prompt-2", received_on=NOW.date(), now=NOW, actor="test")
    assert debtor(tenant, "PROMPT").segment == "prompt"


def test_segments_map_to_the_clients_segment_cadences(tenant):
    from dataclasses import asdict

    from chalicelib.dunning import cadence as cad
    from chalicelib.dunning import planner

    # GIVEN a client whose slow-but-steady payers get their own (firmer) cadence
    firm = asdict(cad.copy_cadence(cad.DEFAULT_CADENCE, "firm", "Firm for slow payers"))
    firm["steps"] = list(firm["steps"])
    client = ClientModel.get(tenant.agency_id, tenant.client_id)
    client.settings = {**(client.settings or {}), "cadences": {"firm": firm},
                       "segment_cadences": {"slow_but_steady": "firm"}}
    client.save()
    # WHEN the history lands
    load(tenant, BOOK)
    client = ClientModel.get(tenant.agency_id, tenant.client_id)
    # THEN the computed segment picks the client's cadence for it
    assert planner.cadence_for(client, debtor(tenant, "SLOW")).id == "firm"
    assert planner.cadence_for(client, debtor(tenant, "PROMPT")).id == "default"


def test_the_daily_rerank_moves_a_call_up_as_its_invoice_grows_overdue(tenant, http):
    # GIVEN SLOW (certainly ~20 days late, £1,000) ranked above PROMPT (£5,000, on time)
    load(tenant, BOOK)
    slow, prompt = debtor(tenant, "SLOW"), debtor(tenant, "PROMPT")
    for d in (prompt, slow):
        tasks.raise_task(tenant.agency_id, tenant.client_id, d.debtor_id, "check in", now=NOW)

    def queue():
        return [t["debtor_name"] for t in http.http.get(
            f"/v1/clients/{tenant.client_id}/tasks",
            headers=bearer(tenant.specialist)).json_body["items"]]

    assert queue() == ["SLOW Ltd", "PROMPT Ltd"]
    # WHEN six weeks pass with nothing paid: PROMPT's £5,000 is a month overdue, which no
    # event announces
    later = NOW + timedelta(days=42)
    assert queue() == ["SLOW Ltd", "PROMPT Ltd"]  # ranks are stored: nothing moved yet
    # AND the daily re-rank runs
    assert tasks.rerank_open(later) == 2
    # THEN the larger debt, now certainly late, comes first
    assert queue() == ["PROMPT Ltd", "SLOW Ltd"]
    # AND running it again the same day changes nothing (a retried timer is harmless)
    assert tasks.rerank_open(later) == 2
    assert queue() == ["PROMPT Ltd", "SLOW Ltd"]
