"""Workspace pages: the cookie login, the page-level token check, and page tenancy (another
agency's token or an unassigned specialist sees no data)."""
from __future__ import annotations

import re

import pytest

from tests.functional.test_workbench import _debtor, _need_call, now  # noqa: F401
from tests.page_support import post_login, session


def _cookie(http, token: str) -> dict:
    """The workspace session cookie of `token`'s user, signed in through the form."""
    return session(http, "/w/login", token)


@pytest.fixture
def desk(http, tenants, now):
    a, b = tenants
    d, _ = _debtor(http, a, "PAGE", "Pageant Ltd")
    _need_call(a, d, reason="final notice unanswered")
    task = http.http.get(f"/v1/clients/{a.client_id}/tasks",
                         headers={"Authorization": f"Bearer {a.admin}"}).json_body["items"][0]
    return a, b, d, task


def test_login_sets_an_httponly_cookie_and_pages_read_it(http, desk):
    a, _, _, _ = desk
    r = post_login(http, "/w/login", a.specialist)
    assert r.status_code == 303 and r.headers["Location"] == "/w/queue"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = http.http.get("/w/queue", headers={"Cookie": cookie.split(";")[0]})
    assert page.status_code == 200 and "Pageant Ltd" in page.body.decode()
    assert "final notice unanswered" in page.body.decode()
    assert post_login(http, "/w/login", "forged").status_code == 401
    assert http.http.get("/w/queue").headers["Location"] == "/w/login"


def test_a_form_without_its_csrf_token_is_refused(http, desk):
    a, _, _, task = desk
    me = _cookie(http, a.specialist)
    r = http.http.post("/w/next", headers={**me,
                                           "Content-Type": "application/x-www-form-urlencoded"},
                       body=b"")
    assert r.status_code == 403
    page = http.http.get("/w/queue", headers=me).body.decode()
    csrf = re.search(r'name="csrf" value="(\w+)"', page).group(1)
    r = http.http.post("/w/next", headers={**me,
                                           "Content-Type": "application/x-www-form-urlencoded"},
                       body=f"csrf={csrf}".encode())
    assert r.status_code == 303 and task["id"] in r.headers["Location"]


@pytest.mark.parametrize("who,status", [("other_agency", 404), ("unassigned", 403),
                                        ("viewer", 403)])
def test_pages_show_nothing_to_foreign_callers(http, desk, who, status):
    a, b, d, task = desk
    token = {"other_agency": b.admin, "unassigned": a.outsider, "viewer": a.viewer}[who]
    cookie = _cookie(http, token)
    for path in (f"/w/clients/{a.client_id}/debtors/{d}",
                 f"/w/clients/{a.client_id}/tasks/{task['id']}"):
        r = http.http.get(path, headers=cookie)
        assert r.status_code == status, (path, r.status_code)
        assert "Pageant" not in r.body.decode() and "PAGE-1" not in r.body.decode()
    queue = http.http.get("/w/queue", headers=cookie)
    assert "Pageant" not in queue.body.decode()
    r = http.http.post(f"/w/clients/{a.client_id}/tasks/{task['id']}/outcome",
                       headers={**cookie,
                                "Content-Type": "application/x-www-form-urlencoded"},
                       body=b"outcome=no_answer")
    assert r.status_code in (403, 404)
    after = http.http.get(f"/v1/clients/{a.client_id}/tasks",
                          headers={"Authorization": f"Bearer {a.admin}"}).json_body["items"]
    assert [t["id"] for t in after] == [task["id"]]  # nothing was logged


def test_the_debtor_view_asks_to_confirm_a_guessed_time_zone(http, tenants):
    # GIVEN a US debtor with no stated zone (the US spans several) and a London one
    a, _ = tenants
    us, _ = _debtor(http, a, "USA1", "Yankee Supplies", tz=None, country="US")
    uk, _ = _debtor(http, a, "GBR1", "Camden Goods")
    me = _cookie(http, a.specialist)
    # WHEN the specialist opens each debtor view
    page = http.http.get(f"/w/clients/{a.client_id}/debtors/{us}", headers=me).body.decode()
    # THEN the guessed zone is shown with a request to confirm it; the stated one is not
    assert "America/New_York" in page and 'id="tz-guess"' in page
    assert "ask the debtor where they are" in page
    page = http.http.get(f"/w/clients/{a.client_id}/debtors/{uk}", headers=me).body.decode()
    assert 'id="tz-guess"' not in page and "Europe/London" in page
