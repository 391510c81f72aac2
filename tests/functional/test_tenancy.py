"""Fault 9: every route, called with another agency's token, an unassigned specialist's
token or a client viewer's token, answers 404/403 and shows none of the tenant's data."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.routes.http import REGISTRY
from tests.conftest import BOOKS, bearer

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
}
# Agency-level routes: they act inside the caller's own agency, so they are checked
# separately (they must never show tenant A's objects to tenant B).
AGENCY_LEVEL = {"/v1/me", "/v1/users", "/v1/clients", "/v1/overview"}
# Report routes: a client viewer may read its own client's report (and only that one).
REPORT_ROUTES = {"/v1/clients/{client_id}/report"}


@pytest.fixture
def world(http, tenants):
    a, b = tenants
    base = f"/v1/clients/{a.client_id}"
    r = http.http.post(f"{base}/imports", headers=bearer(a.admin, **{"Content-Type": "text/csv"}),
                       body=(BOOKS / "acme_generic.csv").read_bytes())
    imp = r.json_body["import_id"]
    debtor = http.http.get(f"{base}/debtors?limit=1", headers=bearer(a.admin)).json_body["items"][0]
    inv = http.http.get(f"{base}/debtors/{debtor['id']}/invoices",
                        headers=bearer(a.admin)).json_body["items"][0]
    contact = http.http.get(f"{base}/debtors/{debtor['id']}/contacts",
                            headers=bearer(a.admin)).json_body["items"][0]
    ids = {"client_id": a.client_id, "debtor_id": debtor["id"], "invoice_id": inv["id"],
           "contact_id": contact["id"], "import_id": imp,
           "plan_id": "pl" + "0" * 20, "charge_id": "c" + "0" * 24}
    secrets = {a.client_id, debtor["id"], debtor["name"], inv["number"], contact["email"]}
    return a, b, ids, secrets


def _viewer_of_another_client(a) -> str:
    """A client viewer in the same agency whose token names a different client."""
    from chalicelib.auth import Principal
    from chalicelib.schemas import ClientIn, UserIn
    from chalicelib.services import clients
    from tests.conftest import _token

    admin = Principal(a.agency_id, f"{a.agency_id}-admin", "admin")
    other = clients.create_client(admin, ClientIn(name="Other Co",
                                                  sender_email="ar@other.example.com"))
    viewer = clients.create_user(admin, UserIn(email="cfo@other.example.com", name="Vi",
                                               role="client_viewer", client_id=other["id"]))
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


def _tenant_routes():
    return [s for s in REGISTRY if s.auth and s.path not in AGENCY_LEVEL]


def test_every_tenant_route_is_checked():
    import app  # noqa: F401 - registers every route
    assert len(_tenant_routes()) >= 20


@pytest.mark.parametrize("who,allowed,reports", [("other_agency", {404}, {404}),
                                                 ("unassigned", {403, 404}, {403, 404}),
                                                 ("viewer", {403, 404}, {200}),
                                                 ("other_viewer", {403, 404}, {404})])
def test_foreign_callers_get_nothing(http, world, who, allowed, reports):
    a, b, ids, secrets = world
    token = {"other_agency": lambda: b.admin, "unassigned": lambda: a.outsider,
             "viewer": lambda: a.viewer, "other_viewer": lambda: _viewer_of_another_client(a)}[who]()
    for spec in _tenant_routes():
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
    mine = http.http.get("/v1/clients", headers=bearer(a.outsider)).json_body["items"]
    assert mine == []  # an unassigned specialist sees no clients
    assert http.http.get("/v1/me", headers=bearer(b.admin)).json_body["id"] == "agB-admin"
    overview_b = http.http.get("/v1/overview", headers=bearer(b.admin)).body.decode()
    assert all(s not in overview_b for s in secrets), overview_b
    assert http.http.get("/v1/overview", headers=bearer(a.viewer)).status_code == 403
