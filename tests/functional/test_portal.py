"""The client portal as a client viewer uses it, and as nobody else can."""
from __future__ import annotations

import csv
import io
import re

import pytest

from chalicelib.kernel.exports import neutralise, to_csv
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import DebtorIn, InvoiceIn
from chalicelib.book import debtors, importer, invoices
from tests.conftest import BOOKS, FIXED_NOW, bearer
from tests.page_support import post_login, session

EVIL = '=HYPERLINK("http://evil.example.com","x")'


@pytest.fixture
def book(tenants):
    a, b = tenants
    importer.import_book(a.agency_id, a.client_id, (BOOKS / "acme_generic.csv").read_bytes(),
                         actor="t", now=FIXED_NOW)
    # The importer refuses formula text, but names typed through the API are taken as given.
    admin = Principal(a.agency_id, f"{a.agency_id}-admin", "admin")
    d = debtors.create_debtor(admin, a.client_id, DebtorIn(account_ref="E1", name=EVIL), now=FIXED_NOW)
    invoices.create_invoice(admin, a.client_id, d["id"], InvoiceIn(
        number="EV-1", issue_date="2026-09-01", due_date="2026-09-15", total_minor=99_999_900), now=FIXED_NOW)
    return a, b


def _cookie(http, token):
    r = post_login(http, "/portal/login", token)
    assert r.status_code == 303
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    return r, {"Cookie": cookie.split(";")[0]}


def test_viewer_signs_in_and_reads_the_dashboard(http, book):
    a, _ = book
    # GIVEN the client viewer's sign-in link
    r, cookie = _cookie(http, a.viewer)
    assert r.headers["Location"] == f"/portal/clients/{a.client_id}"
    # WHEN they open their dashboard with the cookie alone
    page = http.http.get(r.headers["Location"], headers=cookie)
    # THEN they see their business: aging chart, charts without scripts, figures explained
    assert page.status_code == 200, page.body
    text = page.body.decode()
    assert 'id="aging-chart"' in text and 'id="dso-chart"' in text and "<script" not in text
    assert "Acme Ltd" in text and "How each figure is defined" in text
    assert "Since the agency took over" in text
    assert "=HYPERLINK" in text and "<a href=\"http://evil" not in text  # escaped text
    # and the debtor list with each account's status
    listing = http.http.get(f"/portal/clients/{a.client_id}/debtors", headers=cookie)
    assert listing.status_code == 200 and "Being chased" in listing.body.decode()


def test_the_bearer_header_works_too_and_no_token_is_401(http, book):
    a, _ = book
    assert http.http.get(f"/portal/clients/{a.client_id}",
                         headers=bearer(a.viewer)).status_code == 200
    assert http.http.get(f"/portal/clients/{a.client_id}").status_code == 401
    assert post_login(http, "/portal/login", "forged").status_code == 401


def test_csv_exports_neutralise_formula_text(http, book):
    a, _ = book
    _, cookie = _cookie(http, a.viewer)
    r = http.http.get(f"/portal/clients/{a.client_id}/export/debtors", headers=cookie)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.body.decode())))
    evil = [row for row in rows if "HYPERLINK" in row[0]]
    assert evil and evil[0][0].startswith("'=HYPERLINK")
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(cell) == "'" + cell
    assert neutralise(-5) == -5 and neutralise("plain") == "plain"
    assert to_csv(["a"], [["=x"]]) == "a\r\n'=x\r\n"
    top = http.http.get(f"/portal/clients/{a.client_id}/export/top_debtors", headers=cookie)
    assert "'=HYPERLINK" in top.body.decode()


def test_monthly_report_is_printable(http, book):
    a, _ = book
    r = http.http.get(f"/portal/clients/{a.client_id}/monthly?month=2026-11",
                      headers=bearer(a.viewer))
    assert r.status_code == 200
    assert "@media print" in r.body.decode() and "Monthly receivables report" in r.body.decode()


def _other_viewer(a):
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn, UserIn
    from chalicelib.agency import clients
    from tests.conftest import _token

    admin = Principal(a.agency_id, f"{a.agency_id}-admin", "admin")
    other = clients.create_client(admin, ClientIn(name="Other", sender_email="o@o.example.com"), now=FIXED_NOW)
    v = clients.create_user(admin, UserIn(email="v@o.example.com", name="V", role="client_viewer",
                                          client_id=other["id"]), now=FIXED_NOW)
    return _token(a.agency_id, v["id"], "client_viewer", other["id"])


@pytest.mark.parametrize("who", ["other_viewer", "other_agency", "other_agency_viewer",
                                 "unassigned"])
def test_no_portal_page_shows_another_tenant_anything(http, book, who):
    a, b = book
    token = {"other_viewer": lambda: _other_viewer(a), "other_agency": lambda: b.admin,
             "other_agency_viewer": lambda: b.viewer, "unassigned": lambda: a.outsider}[who]()
    secrets = ["Acme Ltd", "HYPERLINK", "Saltmarsh"]
    from chalicelib.store.keys import client_key
    from chalicelib.store.models import DebtorModel

    one = next(iter(DebtorModel.query(client_key(a.agency_id, a.client_id)))).debtor_id
    cookie = session(http, "/portal/login", token)
    from app import app

    pages = [path for path, methods in app.routes.items()
             if path.startswith("/portal/") and "GET" in methods]
    assert len(pages) >= 5
    for route in pages:
        if "{client_id}" not in route:
            continue
        path = re.sub(r"{client_id}", a.client_id, route).replace("{table}", "debtors").replace(
            "{debtor_id}", one)
        for headers in (bearer(token), cookie):
            r = http.http.get(path, headers=headers)
            assert r.status_code in (403, 404), (who, path, r.status_code)
            assert not any(s in r.body.decode() for s in secrets), (who, path)


def test_a_brand_colour_cannot_smuggle_css(tenants):
    from chalicelib.reporting.client_portal import brand_colour
    from chalicelib.store.models import ClientModel

    a, _ = tenants
    c = ClientModel.get(a.agency_id, a.client_id)
    c.settings = {"brand_colour": "red;}body{background:url(//evil.example.com)"}
    assert brand_colour(c) == "#1f4e79"
    c.settings = {"brand_colour": "#c0ffee"}
    assert brand_colour(c) == "#c0ffee"
