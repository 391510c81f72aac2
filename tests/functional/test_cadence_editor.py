"""The cadence and template editor: a broken cadence or template is refused naming the
field, a saved cadence is a version and re-plans the accounts, a version is restored, a
template is rendered for a real debtor, "send me a test" reaches only the signed-in user,
and the editor keeps tenancy and roles."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from chalicelib.dunning import cadence as cad
from chalicelib.store.models import ClientModel, DebtorModel, UserModel
from tests.conftest import bearer
from tests.functional.test_workbench import _debtor, now  # noqa: F401
from tests.page_support import FORM, page_csrf, session

C = "/v1/clients/{}"


def _cadence(**changes) -> dict:
    body = cad.to_dict(cad.DEFAULT_CADENCE)
    body.update(id="acme", name="Acme reminders")
    for i, fields in changes.items():
        body["steps"][int(i[1:])].update(fields)
    return body


def _json(http, method, token, path, body=None):
    return getattr(http.http, method)(path, headers=bearer(token),
                                      body=json.dumps(body) if body is not None else b"")


@pytest.fixture
def book(http, tenants, dunning, now):
    a, b = tenants
    d, _ = _debtor(http, a, "BRAM", "Bramble Bakery")
    return a, b, d


def _page_post(http, cookie, path, fields: dict):
    csrf = page_csrf(http.http.get("/w/queue", headers=cookie).body)  # bound to the session
    return http.http.post(path, headers={**FORM, **cookie},
                          body=urlencode({"csrf": csrf, **fields}).encode())


def _form_of(cadence: dict) -> dict:
    fields = {"id": cadence["id"], "name": cadence["name"], "n": str(len(cadence["steps"])),
              "min_gap_days": str(cadence.get("min_gap_days", 0))}
    for i, s in enumerate(cadence["steps"]):
        for k, v in s.items():
            fields[f"steps-{i}-{k}"] = "" if v is None else str(v)
    return fields


def test_a_broken_cadence_is_refused_naming_the_field(http, book):
    """GIVEN a cadence whose third step is softer than the one before it
    WHEN an admin saves it through the API or the page
    THEN it is refused (422) naming cadence.steps[2].tone, and nothing is stored."""
    a, _, _ = book
    bad = _cadence(s2={"tone": "friendly"}, s1={"tone": "firm"})
    r = _json(http, "put", a.admin, C.format(a.client_id) + "/cadences/client",
              {"cadence": bad})
    assert r.status_code == 422
    assert r.json_body["error"]["fields"][0]["field"] == "cadence.steps[2].tone"
    cookie = session(http, "/w/login", a.admin)
    page = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                      {**_form_of(bad), "action": "save"})
    assert page.status_code == 422
    assert "cadence.steps[2].tone" in page.body.decode()
    assert "Not saved" in page.body.decode()
    # odd form input is named, never a server error
    for fields, named in (({"steps-3-offset_days": "--5", "action": "add"}, None),
                          ({"steps-3-offset_days": "soon", "action": "effect"},
                           "cadence.steps[3].offset_days"),
                          ({"n": "x", "action": "effect"}, "cadence.steps"),
                          ({"min_gap_days": "two", "action": "save"}, "cadence.min_gap_days")):
        page = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                          {**_form_of(_cadence()), **fields})
        assert page.status_code in (200, 422), (fields, page.status_code)
        assert named is None or named in page.body.decode(), fields
    settings = ClientModel.get(a.agency_id, a.client_id).settings
    assert not settings.get("cadence")


def test_a_saved_cadence_is_a_version_re_plans_and_is_restored(http, book):
    """GIVEN Bramble Bakery on the standard cadence
    WHEN an admin replaces it in the page with one email 62 days after due, and saves
    THEN the client's cadence is the new one, it is version 2 in history (version 1 is
    how it was), the account's next action moves from now (day 56) to 1 December;
    restoring version 1 brings back ours and the account is due again."""
    a, _, d = book
    cookie = session(http, "/w/login", a.admin)
    before = DebtorModel.get(f"{a.agency_id}#{a.client_id}", d).next_action_at
    edited = {"id": "acme", "name": "Later", "min_gap_days": 0, "steps": [
        {"key": "due+62", "offset_days": 62, "channel": "email", "template": "friendly",
         "tone": "friendly", "repeat_every_days": None, "repeat_limit": None}]}
    r = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                   {**_form_of(edited), "action": "save", "note": "later final"})
    assert r.status_code == 303, r.body
    assert "Saved+as+version+2" in r.headers["Location"]
    live = ClientModel.get(a.agency_id, a.client_id).settings["cadence"]
    assert [s["offset_days"] for s in live["steps"]] == [62]
    after = DebtorModel.get(f"{a.agency_id}#{a.client_id}", d).next_action_at
    assert before.startswith("2026-11-25") and after.startswith("2026-12-01")
    versions = _json(http, "get", a.specialist, C.format(a.client_id)
                     + "/settings-versions?kind=cadence&name=client").json_body["items"]
    assert [(v["version"], v["note"]) for v in versions] == [
        (2, "later final"), (1, "as it was before the first edit here")]
    assert versions[0]["created_by"] == f"{a.agency_id}-admin"
    page = http.http.get(f"/w/clients/{a.client_id}/cadences/client", headers=cookie)
    assert "Restore version 1" in page.body.decode()
    r = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client/restore",
                   {"version": "1"})
    assert r.status_code == 303 and "now+version+3" in r.headers["Location"]
    assert not ClientModel.get(a.agency_id, a.client_id).settings.get("cadence")
    assert DebtorModel.get(f"{a.agency_id}#{a.client_id}", d).next_action_at == before


def test_preview_effect_counts_the_proposal_next_to_the_current_cadence(http, book):
    a, _, _ = book
    quiet = {"id": "acme", "name": "Quiet", "steps": [
        {"key": "due+90", "offset_days": 90, "channel": "email", "template": "friendly",
         "tone": "friendly"}]}
    r = _json(http, "post", a.specialist, C.format(a.client_id) + "/cadences/client/effect",
              {"cadence": quiet})
    assert r.status_code == 200, r.body
    eff = r.json_body
    assert eff["current"]["messages_total"] > 0 and eff["proposed"]["messages_total"] == 0
    assert eff["change"] == -eff["current"]["messages_total"]
    cookie = session(http, "/w/login", a.admin)
    page = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                      {**_form_of(quiet), "action": "effect"}).body.decode()
    assert re.search(r"message.? now, <span id=\"proposed-total\">0</span> with this change",
                     page)
    assert not ClientModel.get(a.agency_id, a.client_id).settings.get("cadence")
    # add, move and remove steps with plain form buttons (nothing saved)
    std = _cadence()
    page = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                      {**_form_of(std), "action": "add"}).body.decode()
    assert page.count('class="step-row"') == 8
    assert 'name="steps-7-offset_days" value="51"' in page  # after the final's repeats
    page = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                      {**_form_of(std), "action": "remove-2"}).body.decode()
    assert page.count('class="step-row"') == 6 and 'value="due+3"' not in page
    page = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                      {**_form_of(std), "action": "down-0"}).body.decode()
    assert 'name="steps-1-key" value="due-3"' in page


def test_a_template_is_previewed_for_a_real_debtor_and_a_broken_one_is_refused(http, book):
    """GIVEN the client's debtor Bramble Bakery owing £2,500
    WHEN an admin previews an edited friendly email, then saves a broken one and a typo
    THEN the preview names the debtor and the amount; the broken ones are refused naming
    `text` with Jinja's error and nothing is saved; a good one is saved as a version."""
    a, _, d = book
    path = C.format(a.client_id) + "/templates"
    text = ('{% set subject = "Hello " ~ debtor_name %}Dear {{ debtor_name }}, '
            'you owe {{ total }}.\n{% include "email/_footer.txt.j2" %}')
    r = _json(http, "post", a.specialist, path + "/preview",
              {"name": "email/friendly.txt.j2", "text": text, "debtor_id": d})
    assert r.status_code == 200, r.body
    assert r.json_body["subject"] == "Hello Bramble Bakery"
    assert "Dear Bramble Bakery, you owe £2,500.00." in r.json_body["text"]
    assert r.json_body["debtor_name"] == "Bramble Bakery"
    broken = _json(http, "put", a.admin, path, {"name": "email/friendly.txt.j2",
                                                 "text": "Dear {{ debtor_name "})
    assert broken.status_code == 422
    problem = broken.json_body["error"]["fields"][0]
    assert problem["field"] == "text" and "email/friendly.txt.j2: line 1" in problem["reason"]
    typo = _json(http, "put", a.admin, path, {"name": "email/friendly.txt.j2",
                                               "text": "Dear {{ debtr_name }}"})
    assert typo.status_code == 422 and "debtr_name" in typo.json_body["error"]["message"]
    assert not ClientModel.get(a.agency_id, a.client_id).settings.get("templates")
    # the page shows the same refusal
    cookie = session(http, "/w/login", a.admin)
    page = _page_post(http, cookie, f"/w/clients/{a.client_id}/templates",
                      {"name": "email/friendly.txt.j2", "text": "{% if %}", "action": "save"})
    assert page.status_code == 422 and "Not saved" in page.body.decode()
    ok = _json(http, "put", a.admin, path, {"name": "email/friendly.txt.j2", "text": text})
    assert ok.status_code == 200, ok.body
    assert ok.json_body["version"]["version"] == 2  # version 1: ours, as it was before
    own = ClientModel.get(a.agency_id, a.client_id).settings["templates"]
    assert own["email/friendly.txt.j2"] == text
    page = http.http.get(f"/w/clients/{a.client_id}/templates?"
                         + urlencode({"name": "email/friendly.txt.j2"}), headers=cookie)
    assert "Dear Bramble Bakery, you owe £2,500.00." in page.body.decode()
    # restoring version 1 (ours) removes the client's own again, as version 3
    r = _json(http, "post", a.admin, C.format(a.client_id) + "/settings-versions/restore",
              {"kind": "template", "name": "email/friendly.txt.j2", "version": 1})
    assert r.status_code == 200 and r.json_body["version"]["version"] == 3
    assert r.json_body["source"] == "default"
    assert "email/friendly.txt.j2" not in ClientModel.get(
        a.agency_id, a.client_id).settings["templates"]
    # a form without its CSRF token changes nothing
    forged = http.http.post(f"/w/clients/{a.client_id}/templates", headers={**FORM, **cookie},
                            body=urlencode({"name": "email/friendly.txt.j2", "text": "x",
                                            "action": "save"}).encode())
    assert forged.status_code == 403


def test_send_me_a_test_reaches_only_the_signed_in_user(http, book):
    """GIVEN a verified sender and a debtor with an email address
    WHEN the specialist asks for a test of the day-7 firm email
    THEN it is in the outbox addressed to the specialist, from the client's sender, with
    the debtor's facts; nothing went to the debtor and its timeline is unchanged."""
    from local import outbox

    a, _, d = book
    timeline = f"{C.format(a.client_id)}/debtors/{d}/timeline"
    entries = _json(http, "get", a.admin, timeline).json_body["items"]
    r = _json(http, "post", a.specialist, C.format(a.client_id) + "/test-sends",
              {"channel": "email", "template": "overdue_firm", "tone": "firm",
               "debtor_id": d})
    assert r.status_code == 200, r.body
    me = UserModel.get(a.agency_id, json.loads(
        __import__("base64").urlsafe_b64decode(a.specialist.split(".")[1] + "==")
    )["sub"]).email
    sent = outbox.emails()
    assert [m["to"] for m in sent] == [me] == [r.json_body["to"]]
    assert sent[0]["subject"].startswith("[Test] ")
    assert "Bramble Bakery" in sent[0]["text"] and "sent only to you" in sent[0]["text"]
    assert sent[0]["from"] == ClientModel.get(a.agency_id, a.client_id).sender_email
    assert "bram.example.com" not in json.dumps(sent)
    # the debtor's own signed links (pay, opt out) are not in a test
    assert "/d/" not in sent[0]["text"] and "example.invalid" in sent[0]["text"]
    assert _json(http, "get", a.admin, timeline).json_body["items"] == entries
    # an SMS step's text comes by email too, labelled
    r = _json(http, "post", a.specialist, C.format(a.client_id) + "/test-sends",
              {"channel": "sms", "template": "sms_overdue_nudge", "tone": "friendly"})
    assert r.status_code == 200 and outbox.emails()[-1]["subject"].startswith("[Test SMS]")
    assert outbox.sms() == []


def test_the_editor_keeps_tenancy_and_roles(http, book):
    """Another agency's admin gets 404 for the pages and the API; a specialist reads but
    cannot save (403)."""
    a, b, _ = book
    for path in (f"/w/clients/{a.client_id}/cadences",
                 f"/w/clients/{a.client_id}/cadences/client",
                 f"/w/clients/{a.client_id}/templates"):
        assert http.http.get(path, headers=session(http, "/w/login", b.admin)).status_code \
            == 404
        assert http.http.get(path, headers=session(http, "/w/login", a.specialist)
                             ).status_code == 200
    for method, path, body in (
            ("get", "/cadences", None),
            ("get", "/settings-versions?kind=cadence&name=client", None),
            ("post", "/templates/preview", {"name": "email/friendly.txt.j2"}),
            ("post", "/test-sends", {})):
        assert _json(http, method, b.admin, C.format(a.client_id) + path, body
                     ).status_code == 404, path
    r = _json(http, "put", a.specialist, C.format(a.client_id) + "/cadences/client",
              {"cadence": _cadence()})
    assert r.status_code == 403
    cookie = session(http, "/w/login", a.specialist)
    page = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/client",
                      {**_form_of(_cadence()), "action": "save"})
    assert page.status_code == 403
    page = http.http.get(f"/w/clients/{a.client_id}/cadences/client", headers=cookie)
    assert "Only an admin may save." in page.body.decode()
    assert not ClientModel.get(a.agency_id, a.client_id).settings.get("cadence")


def test_no_test_is_sent_while_the_sender_is_unverified(http, book):
    from local import outbox

    a, _, d = book
    c = ClientModel.get(a.agency_id, a.client_id)
    c.sender_status, c.sender_checked_at = "pending", "2026-11-25T09:59:00Z"
    c.save()
    r = _json(http, "post", a.admin, C.format(a.client_id) + "/test-sends",
              {"name": "email/friendly.txt.j2", "debtor_id": d})
    assert r.status_code == 409
    assert r.json_body["error"]["fields"][0]["field"] == "sender"
    assert "not verified" in r.json_body["error"]["message"]
    assert outbox.emails() == []


def test_a_segment_gets_its_own_named_cadence_and_its_edit_moves_only_that_segment(
        http, book):
    """GIVEN Bramble Bakery (segment "retail") and Corner Cafe (no segment)
    WHEN an admin creates a named cadence "retail", assigns the segment to it and previews
    moving all its steps past the next two weeks
    THEN the overview shows the segment on it; the effect drops only Bramble's messages;
    the edit page renders each step (a call step as its call script) for the debtor."""
    a, _, d = book
    _debtor(http, a, "CORN", "Corner Cafe")
    _json(http, "patch", a.admin, f"{C.format(a.client_id)}/debtors/{d}", {"segment": "retail"})
    cookie = session(http, "/w/login", a.admin)
    r = _page_post(http, cookie, f"/w/clients/{a.client_id}/cadences/new",
                   {"id": "retail", "name": "Retail"})
    assert r.status_code == 303 and r.headers["Location"].startswith(
        f"/w/clients/{a.client_id}/cadences/retail?")
    r = _page_post(http, cookie, f"/w/clients/{a.client_id}/segments",
                   {"segment": "retail", "cadence_id": "retail"})
    assert r.status_code == 303
    over = _json(http, "get", a.specialist, C.format(a.client_id) + "/cadences").json_body
    assert over["segment_cadences"] == {"retail": "retail"}
    assert [(i["slot"], i["segments"]) for i in over["items"]] == [("client", []),
                                                                   ("retail", ["retail"])]
    page = http.http.get(f"/w/clients/{a.client_id}/cadences", headers=cookie).body.decode()
    assert "Used by segment: retail" in page
    # the step cards say when a step is skipped (the client's thresholds)
    assert "skipped when less than £50.00 is owed" in page
    later = {"id": "retail", "name": "Retail", "steps": [
        {"key": "due+120", "offset_days": 120, "channel": "email", "template": "friendly",
         "tone": "friendly"}]}
    eff = _json(http, "post", a.admin, C.format(a.client_id) + "/cadences/retail/effect",
                {"cadence": later}).json_body
    assert eff["current"]["accounts_contacted"] == 2
    assert eff["proposed"]["accounts_contacted"] == 1  # Corner Cafe keeps the client's
    edit = http.http.get(f"/w/clients/{a.client_id}/cadences/retail?debtor_id={d}",
                         headers=cookie).body.decode()
    assert "for Bramble Bakery" in edit and "Call script:" in edit


def test_a_patch_of_the_client_saves_cadences_and_templates_as_the_editor_does(http, book):
    """GIVEN a client on our cadence
    WHEN an admin PATCHes /v1/clients/{id} with a broken cadence
    THEN it is refused naming settings.cadence.steps[2].tone and nothing changes (not even
    the brand sent alongside);
    WHEN they PATCH a good cadence, a template and a brand change together
    THEN all are saved, the cadence and the template are versions in the history the editor
    shows (by whom, "changed through the API"), and the brand is changed too."""
    a, _, _ = book
    path = C.format(a.client_id)
    bad = _cadence(s2={"tone": "friendly"}, s1={"tone": "firm"})
    r = _json(http, "patch", a.admin, path, {"brand_name": "Not Saved",
                                              "settings": {"cadence": bad}})
    assert r.status_code == 422, r.body
    assert r.json_body["error"]["fields"][0]["field"].startswith("settings.cadence.steps[")
    live = ClientModel.get(a.agency_id, a.client_id)
    assert not (live.settings or {}).get("cadence") and live.brand_name != "Not Saved"
    r = _json(http, "patch", a.admin, path, {"settings": {"templates": {
        "sms/nudge.txt.j2": "{{ broken"}}})
    assert r.status_code == 422
    assert r.json_body["error"]["fields"][0]["field"] == "settings.templates.sms/nudge.txt.j2"
    good = _cadence(s3={"offset_days": 10})
    text = "Hi {{ contact_name }}, {{ total }} is late {{ link }} Reply STOP to opt out"
    r = _json(http, "patch", a.admin, path, {"brand_name": "Acme Brand", "settings": {
        "cadence": good, "templates": {"sms/nudge.txt.j2": text}, "first_contact": False}})
    assert r.status_code == 200, r.body
    live = ClientModel.get(a.agency_id, a.client_id)
    assert live.brand_name == "Acme Brand" and live.settings["first_contact"] is False
    assert live.settings["cadence"]["steps"][3]["offset_days"] == 10
    assert live.settings["templates"] == {"sms/nudge.txt.j2": text}
    versions = _json(http, "get", a.admin, path + "/settings-versions?kind=cadence&name=client"
                     ).json_body["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["note"] == "changed through the API"
    tv = _json(http, "get", a.admin, path + "/settings-versions?" + urlencode(
        {"kind": "template", "name": "sms/nudge.txt.j2"})).json_body["items"]
    assert tv[0]["body"] == {"text": text} and tv[0]["note"] == "changed through the API"
    # the same cadence again changes nothing and adds no version
    assert _json(http, "patch", a.admin, path, {"settings": {"cadence": good}}).status_code == 200
    assert len(_json(http, "get", a.admin, path + "/settings-versions?kind=cadence&name=client"
                     ).json_body["items"]) == 2
