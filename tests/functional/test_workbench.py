"""The specialist's day: tasks arrive from events, the best callable one is claimed, outcomes
pause or resume chasing, promises are kept or broken."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from chalicelib.kernel import events
from chalicelib.kernel.clock import utcnow
from tests.conftest import FIXED_NOW, at_once, bearer


@pytest.fixture
def now(monkeypatch):
    def move(at: datetime) -> datetime:
        monkeypatch.setenv("RECOUP_DEMO_NOW", at.isoformat())
        return at

    move(FIXED_NOW)
    return move


def _post(http, token, path, body=None):
    return http.http.post(path, headers=bearer(token), body=json.dumps(body or {}))


def _debtor(http, t, ref, name, *, tz="Europe/London", country="GB", amount=250_000,
            due="2026-09-30", kind="business"):
    base = f"/v1/clients/{t.client_id}/debtors"
    d = _post(http, t.admin, base, {"account_ref": ref, "name": name, "timezone": tz,
                                    "country": country, "kind": kind}).json_body
    _post(http, t.admin, f"{base}/{d['id']}/contacts",
          {"name": f"{name} AP", "phone": "+442079460000",
           "email": f"ap@{''.join(c for c in ref.lower() if c.isalnum())}.example.com"})
    issue = (date.fromisoformat(due) - timedelta(days=30)).isoformat()
    inv = _post(http, t.admin, f"{base}/{d['id']}/invoices",
                {"number": f"{ref}-1", "issue_date": issue, "due_date": due,
                 "total_minor": amount}).json_body
    return d["id"], inv["id"]


def _need_call(t, debtor_id, reason="final notice unanswered", **extra):
    events.publish("call_task_needed", agency_id=t.agency_id, client_id=t.client_id,
                   debtor_id=debtor_id, reason=reason, due_at=FIXED_NOW, details=extra,
                   at=utcnow())  # the `now` fixture's (pinned) clock


def test_the_same_need_twice_is_one_task_and_a_new_reason_merges_into_it(http, tenants, now):
    a, _ = tenants
    d, _ = _debtor(http, a, "BRAM", "Bramble Bakery")
    _need_call(a, d)
    _need_call(a, d)  # redelivered
    _need_call(a, d, reason="email bounced, no other channel")
    q = http.http.get(f"/v1/clients/{a.client_id}/tasks", headers=bearer(a.specialist)).json_body
    assert len(q["items"]) == 1
    task = q["items"][0]
    assert [r["reason"] for r in task["reasons"]] == ["final notice unanswered",
                                                      "email bounced, no other channel"]
    assert "£2,500 overdue" in task["why"] and "56 days past due" in task["why"]
    assert task["callable_now"] is True


def test_take_next_skips_a_debtor_in_their_night_and_says_when_they_may_be_called(
        http, tenants, now):
    a, _ = tenants
    syd, _ = _debtor(http, a, "SYD", "Harbour Pty", tz="Australia/Sydney", country="AU",
                     amount=900_000)
    ldn, _ = _debtor(http, a, "LDN", "Camden Cafe", amount=40_000)
    _need_call(a, syd)
    _need_call(a, ldn)
    q = http.http.get("/v1/tasks", headers=bearer(a.specialist)).json_body["items"]
    assert [t["debtor_name"] for t in q] == ["Harbour Pty", "Camden Cafe"]  # bigger debt first
    assert q[0]["callable_now"] is False
    assert q[0]["callable_from"] == "2026-11-25T22:00:00.000000Z"  # 09:00 Thursday in Sydney
    assert "Australia/Sydney" in q[0]["not_callable_because"]
    r = http.http.post("/v1/tasks/next", headers=bearer(a.specialist), body=b"")
    assert r.status_code == 200 and r.json_body["debtor_name"] == "Camden Cafe"
    assert r.json_body["claimed_by"] == "agA-sam" or r.json_body["claimed_by"]
    r = http.http.post("/v1/tasks/next", headers=bearer(a.outsider), body=b"")
    assert r.status_code == 204  # not assigned to the client: nothing for them


def test_two_specialists_never_get_the_same_task(http, tenants, now, atomic_writes):
    a, _ = tenants
    from chalicelib.http.auth import Principal
    from chalicelib.workbench import tasks

    ids = [_debtor(http, a, f"T{i}", f"Debtor {i}", amount=10_000 * (i + 1))[0] for i in range(3)]
    for d in ids:
        _need_call(a, d)
    callers = [Principal(a.agency_id, f"spec-{i}", "admin") for i in range(8)]

    def take(p):
        t = tasks.take_next(p, a.client_id, now=FIXED_NOW)
        return t and (t["id"], t["claimed_by"])

    got = at_once(take, callers)
    assert len(got) == len(callers)  # every caller got an answer (none died)
    claimed = [g for g in got if g]
    assert len(claimed) == 3 and len({tid for tid, _ in claimed}) == 3
    assert len({who for _, who in claimed}) == 3


def test_an_abandoned_claim_returns_to_the_queue_after_it_expires(http, tenants, now):
    a, _ = tenants
    d, _ = _debtor(http, a, "ABND", "Abandon Ltd")
    _need_call(a, d)
    first = http.http.post("/v1/tasks/next", headers=bearer(a.specialist), body=b"").json_body
    r = http.http.post("/v1/tasks/next", headers=bearer(a.admin), body=b"")
    assert r.status_code == 204  # held by the specialist
    now(FIXED_NOW + timedelta(minutes=16))
    r = http.http.post("/v1/tasks/next", headers=bearer(a.admin), body=b"")
    assert r.status_code == 200 and r.json_body["id"] == first["id"]
    assert r.json_body["claimed_by"] == "agA-admin"


def test_a_promise_pauses_chasing_leaves_the_queue_and_is_kept_by_payment(http, tenants, now):
    a, _ = tenants
    d, _ = _debtor(http, a, "PROM", "Promise Co")
    _need_call(a, d)
    task = http.http.post("/v1/tasks/next", headers=bearer(a.specialist), body=b"").json_body
    r = _post(http, a.specialist, f"/v1/clients/{a.client_id}/tasks/{task['id']}/outcome",
              {"outcome": "promise_to_pay", "date": "2026-11-30", "amount_minor": 250_000,
               "note": "FD will pay Monday"})
    assert r.status_code == 200, r.body
    assert r.json_body["next_action"]["kind"] == "pause_until"
    assert r.json_body["promise"]["status"] == "open"
    base = f"/v1/clients/{a.client_id}/debtors/{d}"
    debtor = http.http.get(base, headers=bearer(a.specialist)).json_body
    assert debtor["paused_until"].startswith("2026-12-03")
    assert http.http.get(f"/v1/clients/{a.client_id}/tasks",
                         headers=bearer(a.specialist)).json_body["items"] == []
    tl = http.http.get(f"{base}/timeline", headers=bearer(a.specialist)).json_body["items"]
    assert any("Promise to pay £2,500.00 by 2026-11-30" in e["summary"] for e in tl)
    assert any(e["kind"] == "call_outcome" and "FD will pay Monday" in e["summary"] for e in tl)
    # The same outcome posted again is refused, not applied twice.
    r = _post(http, a.specialist, f"/v1/clients/{a.client_id}/tasks/{task['id']}/outcome",
              {"outcome": "promise_to_pay", "date": "2026-11-30", "amount_minor": 250_000})
    assert r.status_code == 409 and "closed" in r.json_body["error"]["message"]
    for _ in range(2):  # delivered twice
        events.publish("payment_applied", agency_id=a.agency_id, client_id=a.client_id,
                       debtor_id=d, payment_id="pay-1", amount_minor=250_000, currency="GBP",
                       allocations=[], source="link", at=FIXED_NOW + timedelta(days=4))
    p = http.http.get(f"{base}/promises", headers=bearer(a.specialist)).json_body["items"]
    assert p[0]["status"] == "kept" and p[0]["paid_minor"] == 250_000


def test_a_broken_promise_raises_a_task_that_ranks_higher(http, tenants, now):
    a, _ = tenants
    from chalicelib.workbench import promises

    d, _ = _debtor(http, a, "BRKN", "Broken Co")
    _need_call(a, d)
    before = http.http.post("/v1/tasks/next", headers=bearer(a.specialist), body=b"").json_body
    _post(http, a.specialist, f"/v1/clients/{a.client_id}/tasks/{before['id']}/outcome",
          {"outcome": "promise_to_pay", "date": "2026-11-27", "amount_minor": 250_000})
    events.publish("payment_applied", agency_id=a.agency_id, client_id=a.client_id,
                   debtor_id=d, payment_id="pay-part", amount_minor=1_000, currency="GBP",
                   allocations=[], source="link", at=FIXED_NOW)
    assert promises.break_due(FIXED_NOW + timedelta(days=3)) == []  # within grace
    later = now(FIXED_NOW + timedelta(days=6))
    assert len(promises.break_due(later)) == 1
    assert promises.break_due(later) == []  # the timer firing twice breaks it once
    q = http.http.get(f"/v1/clients/{a.client_id}/tasks", headers=bearer(a.specialist)).json_body
    task = q["items"][0]
    assert task["reasons"][0]["reason"] == "promise broken"
    # the broken promise moves the predicted lateness, so the expected overdue value rises
    assert "1 broken promise (+5 days)" in task["why"] and task["score"] > before["score"]
    assert task["id"] != before["id"]


def test_a_debtor_acting_on_the_payment_page_raises_a_task_and_paying_off_closes_it(
        http, tenants, now):
    a, _ = tenants
    d, inv = _debtor(http, a, "ACT", "Acting Ltd")
    for _ in range(2):  # delivered twice
        events.publish("debtor_action", agency_id=a.agency_id, client_id=a.client_id,
                       debtor_id=d, action="question", details={"text": "which invoice?",
                                                                "event_id": "q-1"},
                       at=utcnow())
    q = http.http.get(f"/v1/clients/{a.client_id}/tasks", headers=bearer(a.admin)).json_body
    assert [r["reason"] for r in q["items"][0]["reasons"]] == [
        "debtor asked a question on the payment page"]
    # The account is settled (here: written off) and the payment event closes the task.
    http.http.patch(f"/v1/clients/{a.client_id}/debtors/{d}/invoices/{inv}",
                    headers=bearer(a.admin), body=json.dumps({"status": "written_off"}))
    events.publish("payment_applied", agency_id=a.agency_id, client_id=a.client_id,
                   debtor_id=d, payment_id="pay-9", amount_minor=1, currency="GBP",
                   allocations=[], source="link", at=FIXED_NOW)
    assert http.http.get(f"/v1/clients/{a.client_id}/tasks",
                         headers=bearer(a.admin)).json_body["items"] == []


def test_the_hourly_timer_breaks_overdue_promises(http, tenants, now):
    a, _ = tenants
    d, _ = _debtor(http, a, "TIMR", "Timer Ltd")
    _need_call(a, d)
    task = http.http.post("/v1/tasks/next", headers=bearer(a.specialist), body=b"").json_body
    _post(http, a.specialist, f"/v1/clients/{a.client_id}/tasks/{task['id']}/outcome",
          {"outcome": "promise_to_pay", "date": "2026-11-26", "amount_minor": 5_000})
    now(FIXED_NOW + timedelta(days=10))
    http.lambda_.invoke("promise_timer", http.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    base = f"/v1/clients/{a.client_id}/debtors/{d}"
    assert http.http.get(f"{base}/promises", headers=bearer(a.admin)).json_body[
        "items"][0]["status"] == "broken"
    q = http.http.get(f"/v1/clients/{a.client_id}/tasks", headers=bearer(a.admin)).json_body
    assert q["items"][0]["reasons"][0]["reason"] == "promise broken"


def test_needs_arriving_at_once_for_one_debtor_make_one_task_with_every_reason(
        http, tenants, now, atomic_writes):
    a, _ = tenants
    d, _ = _debtor(http, a, "RACE", "Race Ltd")
    reasons = [f"reason {i}" for i in range(6)]

    def need(reason):
        try:
            _need_call(a, d, reason=reason)
        except Exception as exc:  # a thread's exception would otherwise vanish
            return exc

    assert at_once(need, reasons) == [None] * len(reasons)
    q = http.http.get(f"/v1/clients/{a.client_id}/tasks", headers=bearer(a.admin)).json_body
    assert len(q["items"]) == 1
    assert sorted(r["reason"] for r in q["items"][0]["reasons"]) == reasons


def test_a_plan_agreed_on_a_call_is_the_same_plan_the_api_and_the_debtor_page_make(
        http, tenants, now):
    """GIVEN a debtor with an open call task
    WHEN the specialist logs "payment plan agreed" (3 instalments from 1 December)
    THEN the account has a live plan made by the specialist, listed in GET …/plans, with
    three instalments, and chasing pauses until the first instalment plus grace."""
    a, _ = tenants
    d, _ = _debtor(http, a, "PLAN", "Plan Co", amount=90_000)
    _need_call(a, d)
    task = http.http.post("/v1/tasks/next", headers=bearer(a.specialist), body=b"").json_body
    r = _post(http, a.specialist, f"/v1/clients/{a.client_id}/tasks/{task['id']}/outcome",
              {"outcome": "payment_plan_agreed", "first_due": "2026-12-01",
               "instalments": 3})
    assert r.status_code == 200, r.body
    assert r.json_body["plan"]["status"] == "active"
    base = f"/v1/clients/{a.client_id}/debtors/{d}"
    plans = http.http.get(f"{base}/plans", headers=bearer(a.specialist)).json_body["items"]
    assert len(plans) == 1 and plans[0]["id"] == r.json_body["plan"]["id"]
    assert len(plans[0]["instalments"]) == 3
    assert sum(i["amount_minor"] for i in plans[0]["instalments"]) == 90_000
