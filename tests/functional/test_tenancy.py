"""Fault 9: every route, called with another agency's token, an unassigned specialist's
token or a client viewer's token, answers 404/403 and shows none of the tenant's data."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from chalicelib.http.edge import REGISTRY
from tests.conftest import BOOKS, FIXED_NOW, bearer

BODIES = {
    "ClientPatch": {"name": "Renamed"},
    "DebtorIn": {"account_ref": "X-1", "name": "Intruder"},
    "DebtorPatch": {"notes": "hello"},
    "ContactIn": {"email": "x@example.com"},
    "ContactPatch": {"notes": "x"},
    "InvoiceIn": {"number": "X-1", "issue_date": "2026-10-01", "due_date": "2026-10-31",
                  "total_minor": 100},
    "InvoicePatch": {"reference": "x"},
    "NoteIn": {"text": "x"},
    "PaymentIn": {"amount_minor": 100, "currency": "GBP", "received_on": "2026-11-20",
                  "reference": "BACS-1"},
    "PlanIn": {"instalments": 2, "first_due": "2026-12-01"},
    "WaiverIn": {"reason": "goodwill"},
    "OutcomeIn": {"outcome": "no_answer"},
    "TaskIn": {"reason": "x"},
    "DisputeIn": {"invoice_id": "x", "reason": "pricing"},
    "DisputePatch": {"status": "resolved_for_debtor"},
    "EscalationDecisionIn": {"decision": "approve"},
    "EscalationProposeIn": {"reason": "x"},
    "CasePatch": {"note": "x"},
    "PreviewIn": {"days": 1},
    "WhatIfIn": {"samples": 1},
    "ChasingIn": {"mode": "active"},
    "CallScriptIn": {"template": "Hello {{ debtor_name }}"},
    "SendIn": {"kind": "statement"},
    "ReplyConfirmIn": {},
    "CadenceSaveIn": {"cadence": None},
    "CadenceEffectIn": {"cadence": {"id": "x", "name": "x", "steps": []}},
    "TemplatePreviewIn": {"name": "email/friendly.txt.j2"},
    "TemplateSaveIn": {"name": "email/friendly.txt.j2", "text": "Hi {{ debtor_name }}"},
    "RestoreIn": {"kind": "cadence", "name": "client", "version": 1},
    "TrySendIn": {},
    "CreditPolicyIn": {"default": {"limit_minor": 100}},
    "CreditTermsIn": {"limit_minor": 100},
    "CreditHoldIn": {"hold": True},
    "CreditAlertIn": {"action": "resolve"},
}
# Agency-level routes: they act inside the caller's own agency, so they are checked
# separately (they must never show tenant A's objects to tenant B).
AGENCY_LEVEL = {"/v1/me", "/v1/users", "/v1/users/{user_id}", "/v1/clients", "/v1/overview",
                "/v1/tasks", "/v1/tasks/next", "/v1/search"}
# Report routes: a client viewer may read its own client's report (and only that one).
REPORT_ROUTES = {"/v1/clients/{client_id}/report", "/v1/clients/{client_id}/forecast"}
# Client-viewer routes: the client comes from the viewer's token; tenant A's own viewer may
# use them (checked in test_portal_routes_serve_only_the_viewers_own_client).
PORTAL = {"/v1/portal/escalations", "/v1/portal/escalations/{escalation_id}/decision"}


@pytest.fixture
def world(http, tenants):
    a, b = tenants
    base = f"/v1/clients/{a.client_id}"
    r = http.http.post(f"{base}/imports", headers=bearer(a.admin, **{"Content-Type": "text/csv"}),
                       body=(BOOKS / "acme_generic.csv").read_bytes())
    imp = r.json_body["import_id"]
    # An account that still owes something, so it can be disputed and escalated.
    inv = http.http.get(f"{base}/invoices?open=true&limit=1",
                        headers=bearer(a.admin)).json_body["items"][0]
    debtor = http.http.get(f"{base}/debtors/{inv['debtor_id']}", headers=bearer(a.admin)).json_body
    contact = http.http.get(f"{base}/debtors/{debtor['id']}/contacts",
                            headers=bearer(a.admin)).json_body["items"][0]
    from chalicelib.kernel import events
    from chalicelib.workbench import disputes, escalations

    events.publish("call_task_needed", agency_id=a.agency_id, client_id=a.client_id,
                   debtor_id=debtor["id"], reason="final notice unanswered", due_at=None,
                   details={}, at=FIXED_NOW)
    task = http.http.get(f"{base}/tasks", headers=bearer(a.admin)).json_body["items"][0]
    dispute = disputes.open_dispute(a.agency_id, a.client_id, debtor["id"], inv["id"], "pricing",
                                    owner=a.agency_id + "-admin", now=FIXED_NOW)
    esc = escalations.propose(a.agency_id, a.client_id, debtor["id"], ["test"], now=FIXED_NOW)
    from chalicelib.dunning import replies

    reply = replies.receive((a.agency_id, a.client_id, debtor["id"]), channel="email",
                            message_id="t-1", sender="ap@a.example.com", subject="Re",
                            body="I will pay on 1 December", now=FIXED_NOW)["reply"]
    ids = {"client_id": a.client_id, "debtor_id": debtor["id"], "invoice_id": inv["id"],
           "contact_id": contact["id"], "import_id": imp, "task_id": task["id"],
           "dispute_id": dispute["id"], "escalation_id": esc["id"],
           "plan_id": "pl" + "0" * 20, "charge_id": "c" + "0" * 24, "situation": "first_call",
           "reply_id": reply, "slot": "client",
           "alert_id": debtor["id"] + ".00001"}
    secrets = {a.client_id, debtor["id"], debtor["name"], inv["number"], contact["email"]}
    return a, b, ids, secrets


def _viewer_of_another_client(a) -> str:
    """A client viewer in the same agency whose token names a different client."""
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn, UserIn
    from chalicelib.agency import clients
    from tests.conftest import _token

    admin = Principal(a.agency_id, f"{a.agency_id}-admin", "admin")
    other = clients.create_client(admin, ClientIn(name="Other Co",
                                                  sender_email="ar@other.example.com"), now=FIXED_NOW)
    viewer = clients.create_user(admin, UserIn(email="cfo@other.example.com", name="Vi",
                                               role="client_viewer", client_id=other["id"]), now=FIXED_NOW)
    return _token(a.agency_id, viewer["id"], "client_viewer", other["id"])


def _call(http, spec, ids, token):
    path = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], spec.path)
    headers = bearer(token)
    body = None
    if spec.body is not None:
        body = json.dumps(BODIES[spec.body.__name__])
    elif spec.method == "POST" and path.endswith("/imports"):
        headers["Content-Type"] = "text/csv"
        body = (BOOKS / "acme_generic.csv").read_bytes()
    return http.http.request(spec.method, path, headers=headers, body=body or b"")


def _tenant_routes(viewer: bool = False):
    import app  # noqa: F401 - the app registers every route of the manifest
    from chalicelib.http import lazy

    lazy.load_all()  # REGISTRY fills as the routes' modules are imported (on first call)
    return [s for s in REGISTRY if s.auth and s.path not in AGENCY_LEVEL
            and not (viewer and s.path in PORTAL)]


def test_every_tenant_route_is_checked():
    import app  # noqa: F401 - routes register when the app is imported

    paths = {s.path for s in _tenant_routes()}
    assert len(paths) >= 20
    assert "/v1/clients/{client_id}/tasks/{task_id}/outcome" in paths
    assert "/v1/portal/escalations/{escalation_id}/decision" in paths
    assert all(s.body is None or s.body.__name__ in BODIES for s in _tenant_routes())


@pytest.mark.parametrize("who,allowed,reports", [("other_agency", {404}, {404}),
                                                 ("unassigned", {403, 404}, {403, 404}),
                                                 ("viewer", {403, 404}, {200}),
                                                 ("other_viewer", {403, 404}, {404})])
def test_foreign_callers_get_nothing(http, world, who, allowed, reports):
    a, b, ids, secrets = world
    token = {"other_agency": lambda: b.admin, "unassigned": lambda: a.outsider,
             "viewer": lambda: a.viewer, "other_viewer": lambda: _viewer_of_another_client(a)}[who]()
    for spec in _tenant_routes(viewer=who in ("viewer", "other_viewer")):
        r = _call(http, spec, ids, token)
        expected = reports if spec.path in REPORT_ROUTES else allowed
        assert r.status_code in expected, (spec.method, spec.path, r.status_code, r.body)
        if r.status_code == 200:
            continue  # the client's own viewer reading its own report
        text = r.body.decode() if isinstance(r.body, bytes) else str(r.body)
        for s in secrets:
            assert s not in text or s == ids["client_id"] and s in r.body.decode().split(
                "client")[0], (spec.path, s)


def test_tenant_data_unchanged_after_the_attack(http, world):
    a, b, ids, _ = world
    before = http.http.get(f"/v1/clients/{a.client_id}/debtors/{ids['debtor_id']}",
                           headers=bearer(a.admin)).json_body
    for spec in _tenant_routes():
        _call(http, spec, ids, b.admin)
    after = http.http.get(f"/v1/clients/{a.client_id}/debtors/{ids['debtor_id']}",
                          headers=bearer(a.admin)).json_body
    assert after == before
    assert http.http.get(f"/v1/clients/{a.client_id}", headers=bearer(a.admin)).json_body[
        "name"] == "Acme Ltd"


def test_agency_level_routes_only_show_the_callers_agency(http, world):
    a, b, ids, secrets = world
    clients_b = http.http.get("/v1/clients", headers=bearer(b.admin)).json_body["items"]
    assert a.client_id not in {c["id"] for c in clients_b}
    users_b = http.http.get("/v1/users", headers=bearer(b.admin)).json_body["items"]
    assert all(u["email"].lower().endswith("@agb.example.com") for u in users_b), users_b
    assert http.http.get("/v1/users", headers=bearer(a.specialist)).status_code == 403
    a_user = http.http.get("/v1/me", headers=bearer(a.specialist)).json_body["id"]
    assert http.http.request("PATCH", f"/v1/users/{a_user}", headers=bearer(b.admin),
                             body=b'{"active": false}').status_code == 404
    assert http.http.request("PATCH", f"/v1/users/{a_user}", headers=bearer(a.specialist),
                             body=b'{"active": false}').status_code == 403
    mine = http.http.get("/v1/clients", headers=bearer(a.outsider)).json_body["items"]
    assert mine == []  # an unassigned specialist sees no clients
    assert http.http.get("/v1/me", headers=bearer(b.admin)).json_body["id"] == "agB-admin"
    overview_b = http.http.get("/v1/overview", headers=bearer(b.admin)).body.decode()
    assert all(s not in overview_b for s in secrets), overview_b
    assert http.http.get("/v1/overview", headers=bearer(a.viewer)).status_code == 403
    for token in (b.admin, a.outsider):  # debtor search: only the caller's own clients
        for q in sorted(s for s in secrets if len(s) >= 2):
            found = http.http.get("/v1/search?" + urlencode({"q": q}), headers=bearer(token))
            assert found.status_code == 200 and found.json_body["items"] == [], (q, found.body)
    assert http.http.get("/v1/search?q=ab", headers=bearer(a.viewer)).status_code == 403


def test_portal_routes_serve_only_the_viewers_own_client(http, world):
    a, b, ids, secrets = world
    path = f"/v1/portal/escalations/{ids['escalation_id']}/decision"
    body = json.dumps({"decision": "decline"})
    r = http.http.post(path, headers=bearer(b.viewer), body=body)
    assert r.status_code == 404 and ids["debtor_id"] not in r.body.decode()
    listing = http.http.get("/v1/portal/escalations", headers=bearer(b.viewer)).json_body
    assert listing["items"] == []
    r = http.http.post(path, headers=bearer(a.viewer), body=body)
    assert r.status_code == 200 and r.json_body["status"] == "declined"


def test_agency_level_queue_only_shows_the_callers_clients(http, world):
    a, b, ids, secrets = world
    assert http.http.get("/v1/tasks", headers=bearer(b.admin)).json_body["items"] == []
    assert http.http.get("/v1/tasks", headers=bearer(a.outsider)).json_body["items"] == []
    assert http.http.get("/v1/tasks", headers=bearer(a.viewer)).status_code == 403
    for token in (b.admin, a.outsider):
        assert http.http.post("/v1/tasks/next", headers=bearer(token), body=b"").status_code == 204
    mine = http.http.get("/v1/tasks", headers=bearer(a.specialist)).json_body["items"]
    assert [t["id"] for t in mine] == [ids["task_id"]]
