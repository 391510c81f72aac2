"""Outcomes that change the account (retries and caps, callbacks, disputes, refusals) and the
road to collections: rules, the client's decision, the letter, the case file."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from chalicelib.kernel import events
from tests.conftest import FIXED_NOW, bearer
from tests.functional.test_workbench import _debtor, _need_call, _post, now  # noqa: F401


def _take(http, token):
    r = http.http.post("/v1/tasks/next", headers=bearer(token), body=b"")
    return r.json_body if r.status_code == 200 else None


def _outcome(http, t, token, task, body):
    return _post(http, token, f"/v1/clients/{t.client_id}/tasks/{task['id']}/outcome", body)


def test_no_answer_comes_back_the_next_business_day_voicemail_two_days_later(
        http, tenants, now):
    a, _ = tenants
    d, _ = _debtor(http, a, "RING", "Ringing Ltd")
    _need_call(a, d)
    task = _take(http, a.specialist)
    r = _outcome(http, a, a.specialist, task, {"outcome": "no_answer"})
    nxt = r.json_body["next_task"]
    assert nxt["due_at"] == "2026-11-26T10:00:00.000000Z"  # Wednesday -> Thursday
    assert nxt["callable_now"] is False and nxt["reasons"][0]["reason"] == "retry after no answer"
    assert _take(http, a.specialist) is None
    now(FIXED_NOW + timedelta(days=1))
    task = _take(http, a.specialist)
    assert task["id"] == nxt["id"]
    r = _outcome(http, a, a.specialist, task, {"outcome": "voicemail"})
    assert r.json_body["next_task"]["due_at"] == "2026-11-30T10:00:00.000000Z"  # Thu -> Mon


def test_seven_unanswered_calls_in_a_week_block_the_next_until_the_window_moves(
        http, tenants, now):
    a, _ = tenants
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import OutcomeIn
    from chalicelib.workbench import outcomes, tasks

    d, _ = _debtor(http, a, "CAPS", "Capped Ltd")
    admin = Principal(a.agency_id, "agA-admin", "admin")
    for hour in range(7):  # seven calls on one day (an admin redialling)
        at = FIXED_NOW + timedelta(hours=hour)
        tasks.raise_task(a.agency_id, a.client_id, d, "redial", due_at=at, now=at)
        slot = tasks.open_task_for(a.agency_id, a.client_id, d)
        outcomes.log_outcome(admin, a.client_id, tasks.task_id_of(slot),
                             OutcomeIn(outcome="voicemail"), now=at)
    tasks.raise_task(a.agency_id, a.client_id, d, "redial", now=FIXED_NOW + timedelta(hours=7))
    q = tasks.list_queue(admin, a.client_id, now=FIXED_NOW + timedelta(days=3))["items"][0]
    assert q["callable_now"] is False
    assert "7 call attempts in the 7 days" in q["not_callable_because"]
    assert q["callable_from"].startswith("2026-12-02T09:00")  # 7 days on, calling hours
    assert tasks.take_next(admin, a.client_id, now=FIXED_NOW + timedelta(days=3)) is None


def test_a_callback_is_a_new_task_at_the_asked_time_that_outranks_others(http, tenants, now):
    a, _ = tenants
    big, _ = _debtor(http, a, "BIG", "Big Debt plc", amount=5_000_000)
    small, _ = _debtor(http, a, "SML", "Small Shop", amount=10_000)
    _need_call(a, small)
    task = _take(http, a.specialist)
    r = _outcome(http, a, a.specialist, task, {"outcome": "callback_requested",
                                                "at": "2026-11-25T15:00:00Z"})
    assert r.status_code == 200 and r.json_body["next_task"]["callable_now"] is False
    _need_call(a, big)
    now(FIXED_NOW.replace(hour=15, minute=5))
    q = http.http.get("/v1/tasks", headers=bearer(a.specialist)).json_body["items"]
    assert q[0]["debtor_name"] == "Small Shop"
    assert q[0]["why"][0] == "callback requested for 15:00"


def test_a_dispute_holds_the_invoice_and_a_credit_note_resolves_it(http, tenants, now):
    a, _ = tenants
    d, inv = _debtor(http, a, "DISP", "Dispute Ltd", amount=120_000)
    _need_call(a, d)
    task = _take(http, a.specialist)
    r = _outcome(http, a, a.specialist, task, {"outcome": "dispute", "invoice_id": inv,
                                                "reason": "wrong_thing"})
    assert r.status_code == 422 and "reason must be one of pricing" in r.body.decode()
    r = _outcome(http, a, a.specialist, task, {"outcome": "dispute", "invoice_id": inv,
                                                "reason": "quality", "detail": "broken pallets"})
    assert r.status_code == 200, r.body
    dispute = r.json_body["dispute"]
    base = f"/v1/clients/{a.client_id}/debtors/{d}"
    invoice = http.http.get(f"{base}/invoices/{inv}", headers=bearer(a.specialist)).json_body
    assert invoice["status"] == "disputed" and invoice["dispute"]["reason"] == "quality"
    r = http.http.patch(f"{base}/disputes/{dispute['id']}", headers=bearer(a.specialist),
                        body=json.dumps({"status": "waiting_on_client", "note": "asked Acme"}))
    assert r.json_body["status"] == "waiting_on_client"
    r = http.http.patch(f"{base}/disputes/{dispute['id']}", headers=bearer(a.specialist),
                        body=json.dumps({"status": "resolved_for_debtor",
                                         "credit_minor": 20_000}))
    assert r.status_code == 200, r.body
    invoice = http.http.get(f"{base}/invoices/{inv}", headers=bearer(a.specialist)).json_body
    assert invoice["balance_minor"] == 100_000 and invoice["status"] == "part_paid"
    debtor = http.http.get(base, headers=bearer(a.specialist)).json_body
    assert debtor["balance_minor"] == 100_000
    tl = http.http.get(f"{base}/timeline", headers=bearer(a.specialist)).json_body["items"]
    assert any("resolved for debtor; credit note £200.00" in e["summary"] for e in tl)


def test_wrong_number_flags_the_contact_and_paid_already_pauses_for_reconciliation(
        http, tenants, now):
    a, _ = tenants
    d, _ = _debtor(http, a, "WRNG", "Wrong Co")
    base = f"/v1/clients/{a.client_id}/debtors/{d}"
    contact = http.http.get(f"{base}/contacts", headers=bearer(a.admin)).json_body["items"][0]
    _need_call(a, d)
    task = _take(http, a.specialist)
    r = _outcome(http, a, a.specialist, task, {"outcome": "wrong_number",
                                                "contact_id": contact["id"]})
    assert r.status_code == 200
    contact = http.http.get(f"{base}/contacts", headers=bearer(a.admin)).json_body["items"][0]
    assert {"call", "sms"} <= set(contact["opted_out"])
    _need_call(a, d, reason="still owes")
    task = _take(http, a.specialist)
    r = _outcome(http, a, a.specialist, task, {"outcome": "paid_already",
                                                "paid_on": "2026-11-20", "reference": "BACS 991"})
    assert r.json_body["next_action"]["kind"] == "flag_reconciliation"
    assert http.http.get(base, headers=bearer(a.admin)).json_body["paused_until"].startswith(
        "2026-11-27")


def test_refusal_proposes_escalation_the_client_approves_and_a_letter_goes(http, tenants, now):
    a, _ = tenants
    http.http.patch(f"/v1/clients/{a.client_id}", headers=bearer(a.admin), body=json.dumps(
        {"settings": {"escalation": {"days_past_due": 30, "min_amount_minor": 10_000},
                      "charges": {"kind": "uk_statutory"}}}))
    d, inv = _debtor(http, a, "=CMD|' /C calc'!A0", "=HYPERLINK(\"http://x\")", amount=250_000,
                     due="2025-10-31")
    _need_call(a, d)
    task = _take(http, a.specialist)
    r = _outcome(http, a, a.specialist, task, {"outcome": "refuses_to_pay",
                                                "reason": "says goods were late"})
    esc = r.json_body["escalation"]
    assert esc["status"] == "proposed" and esc["rules"] == ["debtor refuses to pay"]
    # The client's viewer sees it and approves it; the client comes from their token.
    listing = http.http.get("/v1/portal/escalations", headers=bearer(a.viewer)).json_body
    assert [e["id"] for e in listing["items"]] == [esc["id"]]
    r = _post(http, a.viewer, f"/v1/portal/escalations/{esc['id']}/decision",
              {"decision": "approve", "note": "go ahead"})
    assert r.status_code == 200, r.body
    assert r.json_body["status"] == "approved" and r.json_body["case"]["status"] == "letter_sent"
    letter = r.json_body["letter"]
    assert letter["compensation_minor"] == 7_000  # £70 on a debt of £1,000-£9,999.99
    assert letter["total_minor"] >= 257_000
    base = f"/v1/clients/{a.client_id}"
    full = http.http.get(f"{base}/escalations/{esc['id']}", headers=bearer(a.admin)).json_body
    assert "Letter before action" in full["letter"]["html"]
    assert "Late Payment of Commercial Debts" in full["letter"]["html"]
    assert "&#34;http://x&#34;" in full["letter"]["html"] or "&quot;" in full["letter"]["html"]
    debtor = http.http.get(f"{base}/debtors/{d}", headers=bearer(a.admin)).json_body
    assert debtor["status"] == "in_collections" and debtor["next_action_at"] is None
    _need_call(a, d, reason="dunning would call")  # the cadence has stopped: no task
    assert http.http.get(f"{base}/tasks", headers=bearer(a.admin)).json_body["items"] == []
    # A second decision is refused.
    r = _post(http, a.viewer, f"/v1/portal/escalations/{esc['id']}/decision",
              {"decision": "decline"})
    assert r.status_code == 409
    r = http.http.patch(f"{base}/escalations/{esc['id']}/case", headers=bearer(a.admin),
                        body=json.dumps({"recovery_minor": 100_000, "fee_minor": 15_000,
                                         "status": "in_recovery"}))
    assert r.json_body["case"]["recoveries_minor"] == 100_000
    # The case file: formula text in names and references is neutralised.
    r = http.http.get(f"{base}/escalations/{esc['id']}/export?format=csv",
                      headers=bearer(a.admin))
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.body.decode())))
    debtor_row = rows[1]
    assert debtor_row[3] == "'=CMD|' /C calc'!A0" and debtor_row[4].startswith("'=HYPERLINK")
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    r = http.http.get(f"{base}/escalations/{esc['id']}/export?format=json",
                      headers=bearer(a.admin))
    case = json.loads(r.body)
    assert {"debtor", "contacts", "invoices", "timeline"} <= set(case)
    assert any(e["kind"] == "letter_before_action" for e in case["timeline"])


def test_rules_propose_long_overdue_accounts_and_skip_small_or_disputed_ones(
        http, tenants, now):
    a, _ = tenants
    http.http.patch(f"/v1/clients/{a.client_id}", headers=bearer(a.admin), body=json.dumps(
        {"settings": {"escalation": {"days_past_due": 60, "min_amount_minor": 50_000}}}))
    old, _ = _debtor(http, a, "OLD", "Old Debt Ltd", amount=80_000, due="2026-08-01")
    _debtor(http, a, "TINY", "Tiny Ltd", amount=1_000, due="2026-08-01")
    _debtor(http, a, "NEW", "Recent Ltd", amount=900_000, due="2026-11-01")
    disp, inv = _debtor(http, a, "ARGUE", "Argued Ltd", amount=900_000, due="2026-08-01")
    r = http.http.patch(f"/v1/clients/{a.client_id}/debtors/{disp}/invoices/{inv}",
                        headers=bearer(a.admin), body=json.dumps({"status": "disputed",
                                                                  "reason": "pricing"}))
    assert r.json_body["status"] == "disputed"
    r = _post(http, a.admin, f"/v1/clients/{a.client_id}/escalations/evaluate")
    assert [e["debtor_id"] for e in r.json_body["items"]] == [old]
    assert "more than 60 days past due" in r.json_body["items"][0]["rules"][0]
    r = _post(http, a.admin, f"/v1/clients/{a.client_id}/escalations/evaluate")
    assert r.json_body["items"] == []  # proposed once
    assert _post(http, a.specialist,
                 f"/v1/clients/{a.client_id}/escalations/evaluate").status_code == 403
