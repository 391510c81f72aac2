"""The agency console pages: the home, onboarding a client, its book (upload, row errors,
history) and users and roles, as a browser posts them; and who may see them."""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.page_support import FORM, page_csrf, session

HEADER = ("debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
          "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid\n")
GOOD = "D1,Bramble Bakery,Bea Bramble,bea@bramble.example.com,,,Europe/London,GB,INV-1,,2026-10-01,2026-10-31,GBP,1200.00,0.00\n"
BAD = "D2,Crumb Co,Cal Crumb,cal@crumb.example.com,,,Europe/London,GB,INV-2,,2026-10-01,not-a-date,GBP,80.00,0.00\n"


def _me(http, token):
    return session(http, "/w/login", token)


def _csrf(http, me, path="/w/home"):
    r = http.http.get(path, headers=me)
    assert r.status_code == 200, r.body
    return page_csrf(r.body)


def _post(http, me, path, data, csrf=None):
    csrf = csrf or _csrf(http, me)
    return http.http.post(path, headers={**me, **FORM},
                          body=urlencode({"csrf": csrf, **data}, doseq=True).encode())


def _upload(http, me, client_id, text: str, csrf: str, filename="book.csv"):
    boundary = "----recoupTestBoundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nfull\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n{text}\r\n"
            f"--{boundary}--\r\n").encode()
    return http.http.post(f"/w/clients/{client_id}/imports", body=body, headers={
        **me, "Content-Type": f"multipart/form-data; boundary={boundary}"})


ONBOARD = {"name": "Bramble Foods Ltd", "brand_name": "Bramble", "sender_email":
           "ar@bramble.example.com", "reply_to": "credit@bramble.example.com",
           "timezone": "Europe/London", "country": "GB", "currency": "GBP",
           "primary_colour": "#1f4e79", "accent_colour": "#0b6e4f",
           "logo_url": "https://cdn.example.com/bramble.png", "payment_terms": "30 days net",
           "charges_kind": "fixed", "fixed_fee": "40.00", "grace_days": "7",
           "cadence": "default"}


def test_home_lists_every_client_with_money_formatted_and_sorts(http, tenants):
    a, b = tenants
    me = _me(http, a.admin)
    page = http.http.get("/w/home", headers=me).body.decode()
    assert "Acme Ltd" in page and "Specialists&#39; load" in page or "Specialists' load" in page
    assert "Onboard a client" in page
    assert "Agency agB" not in page
    sorted_page = http.http.get("/w/home?sort=receivables&dir=asc", headers=me)
    assert sorted_page.status_code == 200
    assert 'aria-sort="ascending"' in sorted_page.body.decode()


def test_home_counts_promises_due_and_disputed_invoices_per_client(http, tenants, now):
    from chalicelib.workbench import promises

    a, _ = tenants
    api = {"Authorization": f"Bearer {a.admin}"}
    r = http.http.post(f"/v1/clients/{a.client_id}/imports", headers={
        **api, "Content-Type": "text/csv"}, body=(HEADER + GOOD + GOOD.replace(
            "INV-1", "INV-3").replace("D1,Bramble Bakery", "D3,Oat Mill")).encode())
    assert r.status_code == 201, r.json_body
    invs = http.http.get(f"/v1/clients/{a.client_id}/invoices?open=true",
                         headers=api).json_body["items"]
    promises.record(a.agency_id, a.client_id, invs[0]["debtor_id"], amount_minor=500,
                    currency="GBP", promised_for=now.date(), taken_by="test", now=now)
    r = http.http.request("PATCH", f"/v1/clients/{a.client_id}/debtors/{invs[1]['debtor_id']}"
                          f"/invoices/{invs[1]['id']}", headers={
                              **api, "Content-Type": "application/json"},
                          body=b'{"status": "disputed", "reason": "pricing"}')
    assert r.status_code == 200, r.json_body
    page = http.http.get("/w/home", headers=_me(http, a.admin)).body.decode()
    row = re.search(rf'<tr data-client="{a.client_id}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert "£2,400.00" in cells[1]  # receivables, formatted
    assert cells[6].strip() == "1" and cells[7].strip() == "1"  # promises due, disputed
    assert "no errors" in cells[8]


def test_an_admin_onboards_a_client_uploads_its_book_and_reads_the_row_errors(http, tenants):
    a, _ = tenants
    me = _me(http, a.admin)
    csrf = _csrf(http, me, "/w/clients/new")
    # a brand colour white text is unreadable on is refused, naming the field
    r = _post(http, me, "/w/clients/new", {**ONBOARD, "primary_colour": "#ffff00"}, csrf)
    assert r.status_code == 422
    text = r.body.decode()
    assert "primary_colour" in text and "4.5:1" in text
    assert 'value="Bramble Foods Ltd"' in text  # what was typed stays
    r = _post(http, me, "/w/clients/new", {**ONBOARD, "charges_kind": "percentage",
                                           "percent": "250"}, csrf)
    assert r.status_code == 422 and "percent" in r.body.decode()
    # the whole form creates the client (in preview) through the same use case as the API
    r = _post(http, me, "/w/clients/new", ONBOARD, csrf)
    assert r.status_code == 303, r.body
    book_path = r.headers["Location"].split("?")[0]
    client_id = re.match(r"/w/clients/([^/]+)/book", book_path).group(1)
    api = http.http.get(f"/v1/clients/{client_id}",
                        headers={"Authorization": f"Bearer {a.admin}"}).json_body
    assert api["settings"]["chasing"] == "preview"
    assert api["settings"]["brand"]["primary_colour"] == "#1f4e79"
    assert api["settings"]["charges"]["fixed_minor"] == 4000
    assert api["settings"]["charges"]["grace_days"] == 7
    book = http.http.get(book_path, headers=me).body.decode()
    assert "ar@bramble.example.com" in book and 'id="sender-status"' in book
    assert "No book imported yet" in book
    # the upload goes to the importer; the bad row is reported with row, field and reason
    r = _upload(http, me, client_id, HEADER + GOOD + BAD, page_csrf(book.encode()))
    assert r.status_code == 303, r.body
    report = http.http.get(r.headers["Location"], headers=me).body.decode()
    assert "1 row rejected" in report
    assert re.search(r"<td class=\"n\">3</td><td>due_date</td>", report)
    assert "/preview" in report
    csv_path = re.search(r'href="([^"]+errors\.csv)"', report).group(1)
    dl = http.http.get(csv_path, headers=me)
    assert dl.status_code == 200 and dl.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in dl.headers["Content-Disposition"]
    lines = dl.body.decode().splitlines()
    assert lines[0] == "row,field,reason,value" and lines[1].startswith("3,due_date,")
    # the history lists it, as GET /v1/clients/{c}/imports does
    history = http.http.get(book_path, headers=me).body.decode()
    assert "book.csv" in history and "No book imported yet" not in history
    assert len(http.http.get(f"/v1/clients/{client_id}/imports", headers={
        "Authorization": f"Bearer {a.admin}"}).json_body["items"]) == 1
    # and the home shows the new client with its last import's errors
    home = http.http.get("/w/home", headers=me).body.decode()
    assert "Bramble Foods Ltd" in home and "1 row error" in home


def test_an_upload_without_a_file_or_csrf_is_refused(http, tenants):
    a, _ = tenants
    me = _me(http, a.admin)
    csrf = _csrf(http, me, f"/w/clients/{a.client_id}/book")
    r = _upload(http, me, a.client_id, "", csrf)
    assert r.status_code == 422 and "choose a CSV file" in r.body.decode()
    r = _upload(http, me, a.client_id, HEADER + GOOD, "wrong")
    assert r.status_code == 403


def test_users_invite_assign_and_deactivate_stops_the_token(http, tenants):
    a, _ = tenants
    me = _me(http, a.admin)
    csrf = _csrf(http, me, "/w/users")
    r = _post(http, me, "/w/users", {"email": "newbie@agA.example.com", "name": "Nia New",
                                     "role": "specialist"}, csrf)
    assert r.status_code == 303
    users = http.http.get("/w/users", headers=me).body.decode()
    assert "Nia New" in users
    r = _post(http, me, "/w/users", {"email": "v@agA.example.com", "name": "Vee",
                                     "role": "client_viewer"}, csrf)
    assert r.status_code == 422 and "client_id" in r.body.decode()
    # assign: the client is worked by the new specialist alone
    nia = re.search(r'data-user="([^"]+)"><td>Nia New', users).group(1)
    r = _post(http, me, f"/w/clients/{a.client_id}/specialists", {"specialist_ids": [nia]}, csrf)
    assert r.status_code == 303 and "Nia New" in r.headers["Location"].replace("+", " ")
    api = http.http.get(f"/v1/clients/{a.client_id}",
                        headers={"Authorization": f"Bearer {a.admin}"}).json_body
    assert api["specialist_ids"] == [nia]
    # deactivate the (formerly assigned) specialist Sam: his token stops working everywhere
    sam = http.http.get("/v1/me", headers={"Authorization": f"Bearer {a.specialist}"}).json_body
    sam_session = _me(http, a.specialist)
    r = _post(http, me, f"/w/users/{sam['id']}/active", {"active": "0"}, csrf)
    assert r.status_code == 303 and "deactivated" in r.headers["Location"]
    assert http.http.get("/v1/me", headers={
        "Authorization": f"Bearer {a.specialist}"}).status_code == 401
    assert http.http.get("/w/queue", headers=sam_session).status_code == 303  # to sign-in
    from tests.page_support import post_login
    assert post_login(http, "/w/login", a.specialist).status_code == 401
    # an admin cannot deactivate themself
    admin_id = http.http.get("/v1/me", headers={"Authorization": f"Bearer {a.admin}"}
                             ).json_body["id"]
    r = _post(http, me, f"/w/users/{admin_id}/active", {"active": "0"}, csrf)
    assert r.status_code == 422 and "yourself" in r.body.decode()
    # a deactivated user cannot be assigned a client
    r = _post(http, me, f"/w/clients/{a.client_id}/specialists",
              {"specialist_ids": [sam["id"]]}, csrf)
    assert r.status_code == 422 and "deactivated" in r.body.decode()
    # reactivating restores it
    _post(http, me, f"/w/users/{sam['id']}/active", {"active": "1"}, csrf)
    assert http.http.get("/v1/me", headers={
        "Authorization": f"Bearer {a.specialist}"}).status_code == 200


def test_the_json_route_deactivates_a_user(http, tenants):
    a, b = tenants
    sam = http.http.get("/v1/me", headers={"Authorization": f"Bearer {a.specialist}"}).json_body
    headers = {"Authorization": f"Bearer {a.admin}", "Content-Type": "application/json"}
    r = http.http.request("PATCH", f"/v1/users/{sam['id']}", headers=headers,
                          body=b'{"active": false}')
    assert r.status_code == 200 and r.json_body["active"] is False
    # another agency's admin cannot touch it
    r = http.http.request("PATCH", f"/v1/users/{sam['id']}", headers={
        **headers, "Authorization": f"Bearer {b.admin}"}, body=b'{"active": true}')
    assert r.status_code == 404


@pytest.mark.parametrize("path", ["/w/clients/new", "/w/users"])
def test_a_specialist_cannot_onboard_or_manage_users(http, tenants, path):
    a, _ = tenants
    me = _me(http, a.specialist)
    assert http.http.get(path, headers=me).status_code == 403
    csrf = _csrf(http, me)
    assert _post(http, me, path, {**ONBOARD, "email": "x@y.example.com", "role": "admin"},
                 csrf).status_code == 403


def test_another_agencys_admin_sees_nothing(http, tenants):
    a, b = tenants
    me = _me(http, b.admin)
    home = http.http.get("/w/home", headers=me).body.decode()
    assert "Acme Ltd" in home  # agB's own client has the same name...
    assert a.client_id not in home  # ...but agA's client is not there
    for path in (f"/w/clients/{a.client_id}/book",
                 f"/w/clients/{a.client_id}/imports/x",
                 f"/w/clients/{a.client_id}/imports/x/errors.csv"):
        r = http.http.get(path, headers=me)
        assert r.status_code == 404, (path, r.status_code)
    csrf = _csrf(http, me)
    assert _post(http, me, f"/w/clients/{a.client_id}/specialists", {"specialist_ids": []},
                 csrf).status_code == 404
    assert _upload(http, me, a.client_id, HEADER + GOOD, csrf).status_code == 404
    users = http.http.get("/w/users", headers=me).body.decode()
    assert "admin@agA" not in users and "sam@agA" not in users


def test_a_specialist_sees_only_their_clients_on_the_home(http, tenants):
    a, _ = tenants
    mine = http.http.get("/w/home", headers=_me(http, a.specialist)).body.decode()
    assert a.client_id in mine and "Onboard a client" not in mine
    other = http.http.get("/w/home", headers=_me(http, a.outsider)).body.decode()
    assert a.client_id not in other and "No clients yet" in other


def test_a_client_viewer_gets_no_console(http, tenants):
    a, _ = tenants
    me = _me(http, a.viewer)
    for path in ("/w/home", "/w/users", "/w/clients/new", f"/w/clients/{a.client_id}/book"):
        assert http.http.get(path, headers=me).status_code == 403
