"""Call scripts on the call task: the script for the task's situation filled with the
debtor's facts, a client's own versions (every one kept, the latest live), a broken
template refused, and the task page showing script, objections and numbers to call."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.kernel import events
from chalicelib.workbench import call_scripts, promises
from tests.conftest import FIXED_NOW, bearer
from tests.functional.test_workbench import _debtor, _need_call, _post, now  # noqa: F401
from tests.page_support import session

SCRIPTS = "/v1/clients/{}/call-scripts"


def _put(http, token, client_id, situation, body):
    return http.http.put(f"{SCRIPTS.format(client_id)}/{situation}", headers=bearer(token),
                         body=json.dumps(body))


def _task(http, t):
    q = http.http.get(f"/v1/clients/{t.client_id}/tasks", headers=bearer(t.admin)).json_body
    return http.http.get(f"/v1/clients/{t.client_id}/tasks/{q['items'][0]['id']}",
                         headers=bearer(t.specialist)).json_body


def _broken_promise(http, a, now):
    """Bramble Bakery promised £2,500 by 27 Nov on a call and did not pay: a new task."""
    d, _ = _debtor(http, a, "BRAM", "Bramble Bakery")
    _need_call(a, d, reason="cadence_step", tone="firm", template="call_overdue")
    first = http.http.post("/v1/tasks/next", headers=bearer(a.specialist), body=b"").json_body
    _post(http, a.specialist, f"/v1/clients/{a.client_id}/tasks/{first['id']}/outcome",
          {"outcome": "promise_to_pay", "date": "2026-11-27", "amount_minor": 250_000})
    assert len(promises.break_due(now(FIXED_NOW + timedelta(days=6)))) == 1
    return d


def test_a_first_call_task_carries_the_filled_script_in_the_debtors_locale(
        http, tenants, now):
    """GIVEN a German debtor whose reminders went unanswered and whose call step came due
    WHEN the specialist reads the task
    THEN the first-call script names the debtor and contact, the overdue amount in German
    form, the oldest invoice and its days overdue, with objections and where to log."""
    a, _ = tenants
    d, _ = _debtor(http, a, "KOLN", "Kölner Back GmbH", tz="Europe/Berlin", country="DE")
    _need_call(a, d, reason="cadence_step", tone="firm", template="call_overdue")
    task = _task(http, a)
    script = task["script"]
    assert script["situation"] == "first_call" and script["source"] == "default"
    assert "may I speak to Kölner Back GmbH AP at Kölner Back GmbH?" in script["text"]
    assert "2.500,00\xa0£" in script["text"]  # de: GBP after the amount, comma decimals
    assert "invoice KOLN-1" in script["text"] and "56 days overdue" in script["text"]
    assert script["facts"]["oldest"]["number"] == "KOLN-1"
    assert script["objections"] and all(o["answer"] and "{{" not in o["answer"]
                                        for o in script["objections"])
    assert script["outcome_form"] == f"/w/clients/{a.client_id}/tasks/{task['id']}#outcome-form"
    # The check's sample offers exactly the facts a real task has (no name is refused that
    # a real script could use, none is accepted that it could not).
    from chalicelib.store.models import ClientModel, ContactModel, DebtorModel

    client = ClientModel.get(a.agency_id, a.client_id)
    debtor = DebtorModel.get(f"{a.agency_id}#{a.client_id}", d)
    contacts = list(ContactModel.query(f"{a.agency_id}#{a.client_id}#{d}"))
    ctx, _ = call_scripts._facts(client, debtor, contacts, task, FIXED_NOW)
    assert set(ctx) | {"situation"} == set(call_scripts.SAMPLE)
    assert set(ctx["brand"]) == set(call_scripts.SAMPLE["brand"])
    assert script["phones"] == [{"contact_id": script["phones"][0]["contact_id"],
                                 "name": "Kölner Back GmbH AP", "role": "primary",
                                 "phone": "+442079460000", "display": "020 7946 0000",
                                 "callable": True}]


def test_a_broken_promise_gets_its_own_script(http, tenants, now):
    a, _ = tenants
    _broken_promise(http, a, now)
    script = _task(http, a)["script"]
    assert script["situation"] == "broken_promise"
    assert "you agreed to pay £2,500.00 by 27 Nov 2026, and we haven't received it" in \
        script["text"]
    assert script["facts"]["promise"]["broken"] is True


def test_every_edit_is_a_version_the_latest_is_live_and_defaults_can_be_restored(
        http, tenants, now):
    """GIVEN the client's admin edits the first-call script twice, then restores ours
    WHEN the script is read
    THEN every version is listed newest first with who and when, the task uses the latest,
    and a specialist may read but not edit."""
    a, _ = tenants
    d, _ = _debtor(http, a, "VERS", "Version Ltd")
    _need_call(a, d, reason="cadence_step", tone="firm")
    r = _put(http, a.admin, a.client_id, "first_call",
             {"template": "Hello {{ contact_name }}, {{ overdue_total }} is overdue.",
              "note": "shorter opening"})
    assert r.status_code == 200, r.body
    assert r.json_body["version"] == 1 and r.json_body["source"] == "client"
    now(FIXED_NOW + timedelta(hours=1))
    r = _put(http, a.admin, a.client_id, "first_call",
             {"template": "Good morning {{ contact_name }}: {{ overdue_total }}, oldest "
                          "{{ oldest.number }}.",
              "objections": [{"objection": "Not today",
                              "answer": "Shall I call {{ debtor_name }} tomorrow?"}]})
    got = http.http.get(f"{SCRIPTS.format(a.client_id)}/first_call",
                        headers=bearer(a.specialist)).json_body
    assert [v["version"] for v in got["versions"]] == [2, 1]
    assert got["versions"][1]["note"] == "shorter opening"
    assert got["versions"][0]["created_by"] == got["versions"][1]["created_by"] == \
        "agA-admin"
    assert got["versions"][0]["created_at"] > got["versions"][1]["created_at"]
    assert got["version"] == 2 and got["template"].startswith("Good morning")
    script = _task(http, a)["script"]
    assert script["source"] == "client" and script["version"] == 2
    assert script["text"] == "Good morning Version Ltd AP: £2,500.00, oldest VERS-1.\n"
    assert script["objections"] == [{"objection": "Not today",
                                     "answer": "Shall I call Version Ltd tomorrow?"}]
    listing = http.http.get(SCRIPTS.format(a.client_id), headers=bearer(a.specialist)).json_body
    mine = {s["situation"]: s for s in listing["items"]}
    assert set(mine) == {"first_call", "broken_promise", "dispute_follow_up", "final_call",
                         "follow_up"}
    assert mine["first_call"]["source"] == "client" and mine["final_call"]["source"] == "default"
    assert "collections" in mine["final_call"]["template"]
    r = _put(http, a.specialist, a.client_id, "first_call", {"template": "Hi"})
    assert r.status_code == 403
    r = _put(http, a.admin, a.client_id, "first_call", {})  # back to the product's script
    assert r.json_body["version"] == 3 and r.json_body["source"] == "default"
    assert _task(http, a)["script"]["source"] == "default"
    assert http.http.get(f"{SCRIPTS.format(a.client_id)}/small_talk",
                         headers=bearer(a.admin)).status_code == 404
    # a script version shares the slot table, but is never read as a task (API Gateway
    # decodes %23 in a path parameter, so the id can arrive like this)
    from chalicelib.http.auth import Principal
    from chalicelib.kernel.errors import NotFound
    from chalicelib.workbench import tasks

    with pytest.raises(NotFound):
        tasks.get_task(Principal(a.agency_id, "agA-admin", "admin"), a.client_id,
                       "script#first_call#000001.0", now=FIXED_NOW)


def test_a_broken_template_is_refused_naming_the_field_and_the_jinja_error(
        http, tenants, now):
    a, b = tenants
    cases = [
        ({"template": "Hello {% if contact_name %}{{ contact_name }}"}, "template",
         "line 1: Unexpected end of template"),
        ({"template": "Hello {{ debter_name }}"}, "template", "'debter_name' is undefined"),
        ({"template": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, "template", "unsafe"),
        ({"template": "{{ oldest.days_overdue + 1 }} days"}, "template", "UndefinedError"),
        ({"objections": [{"objection": "Why?", "answer": "{{ overdue_total | nosuch }}"}]},
         "objections.0.answer", "No filter named 'nosuch'"),
    ]
    for body, field, reason in cases:
        r = _put(http, a.admin, a.client_id, "final_call", body)
        assert r.status_code == 422, (body, r.body)
        fields = r.json_body["error"]["fields"]
        assert fields[0]["field"] == field and reason in fields[0]["reason"], fields
    got = http.http.get(f"{SCRIPTS.format(a.client_id)}/final_call",
                        headers=bearer(a.admin)).json_body
    assert got["versions"] == [] and got["source"] == "default"  # nothing was saved
    # another agency's admin cannot touch the client
    assert _put(http, b.admin, a.client_id, "final_call", {"template": "x"}).status_code == 404


def test_the_call_task_page_shows_the_script_objections_and_numbers_to_call(
        http, tenants, now):
    """GIVEN a broken promise and an open dispute on another invoice
    WHEN the specialist opens the call task page
    THEN it shows the broken-promise script with the debtor's facts, the objections with
    answers, the phone number formatted, the dispute note and the link to the outcome form."""
    a, _ = tenants
    d = _broken_promise(http, a, now)
    inv2 = _post(http, a.admin, f"/v1/clients/{a.client_id}/debtors/{d}/invoices",
                 {"number": "BRAM-2", "issue_date": "2026-10-01", "due_date": "2026-10-31",
                  "total_minor": 30_000}).json_body
    _post(http, a.admin, f"/v1/clients/{a.client_id}/debtors/{d}/disputes",
          {"invoice_id": inv2["id"], "reason": "pricing"})
    task = _task(http, a)
    me = session(http, "/w/login", a.specialist)
    page = http.http.get(f"/w/clients/{a.client_id}/tasks/{task['id']}", headers=me)
    assert page.status_code == 200
    html = page.body.decode()
    assert 'id="script" data-situation="broken_promise"' in html
    assert "Script: Broken promise" in html
    assert "you agreed to pay £2,500.00 by 27 Nov 2026, and we haven&#39;t received it" in html
    assert "invoice BRAM-2 is in dispute (pricing, open)" in html
    assert "Likely objections" in html and "Something came up." in html
    assert '<a href="tel:+442079460000">020 7946 0000</a>' in html
    assert 'href="#outcome-form"' in html and 'id="outcome-form"' in html
    # the debtor view lists the numbers to call, task or not
    view = http.http.get(f"/w/clients/{a.client_id}/debtors/{d}", headers=me).body.decode()
    assert 'id="phones"' in view and "020 7946 0000" in view and 'id="script"' in view


def test_a_dispute_raised_on_the_page_gets_the_dispute_follow_up(http, tenants, now):
    a, _ = tenants
    d, inv = _debtor(http, a, "DISP", "Dispute Ltd")
    _post(http, a.admin, f"/v1/clients/{a.client_id}/debtors/{d}/disputes",
          {"invoice_id": inv, "reason": "goods_not_received"})
    events.publish("debtor_action", agency_id=a.agency_id, client_id=a.client_id,
                   debtor_id=d, action="dispute", details={"invoice_id": inv},
                   at=FIXED_NOW)
    script = _task(http, a)["script"]
    assert script["situation"] == "dispute_follow_up"
    assert "your query on invoice DISP-1 (goods not received)" in script["text"]


def test_an_account_proposed_for_collections_gets_the_final_call(http, tenants, now):
    a, _ = tenants
    from chalicelib.workbench import escalations

    d, _ = _debtor(http, a, "LAST", "Last Chance Ltd")
    escalations.propose(a.agency_id, a.client_id, d, ["56 days past due"], now=FIXED_NOW)
    _need_call(a, d, reason="cadence_step", tone="firm", template="call_overdue")
    script = _task(http, a)["script"]
    assert script["situation"] == "final_call"
    assert "the account is proposed for collections" in script["why"]
    assert "has been put forward to Acme Ltd for collections" in script["text"]
    assert "can you pay £2,500.00 today, or agree a plan now?" in script["text"]


def test_two_admins_saving_at_once_make_two_versions(tenants, atomic_writes):
    """GIVEN two admins saving the same script at the same moment
    THEN both edits are kept, as versions 1 and 2 (neither overwrites the other)."""
    import threading

    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import CallScriptIn

    a, _ = tenants
    admins = [Principal(a.agency_id, f"agA-admin-{i}", "admin") for i in range(2)]
    barrier = threading.Barrier(len(admins))

    def save(p):
        barrier.wait()
        call_scripts.save_script(p, a.client_id, "first_call",
                                 CallScriptIn(template=f"Hello from {p.user_id}"), now=FIXED_NOW)

    threads = [threading.Thread(target=save, args=(p,)) for p in admins]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    got = call_scripts.get_script(admins[0], a.client_id, "first_call")
    assert sorted(v["version"] for v in got["versions"]) == [1, 2]
    assert {v["created_by"] for v in got["versions"]} == {"agA-admin-0", "agA-admin-1"}
