"""The page edge as people meet it: signing in by form (never by a link), being slowed
down after too many attempts, signing out, the headers every page sends, forms that
cannot be broken by odd input, and the favicon."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.http import pages as edge
from chalicelib.payments import links
from tests.conftest import FIXED_NOW, bearer
from tests.page_support import (
    FORM,
    cookie_pair,
    login_form,
    page_csrf,
    post_login,
    session,
)
from tests.payments_support import add_debtor, page_path, post_form

SURFACES = {"workspace": ("/w/login", "/w/queue", "/w/logout", "recoup_token"),
            "portal": ("/portal/login", None, "/portal/logout", "recoup_portal")}


def _user(tenant, surface: str) -> str:
    return tenant.specialist if surface == "workspace" else tenant.viewer


def _home(tenant, surface: str) -> str:
    return "/w/queue" if surface == "workspace" else f"/portal/clients/{tenant.client_id}"


def _signed_in(http, page: str, headers: dict) -> bool:
    r = http.http.get(page, headers=headers)
    return r.status_code == 200


@pytest.mark.parametrize("surface", SURFACES)
def test_signing_in_posts_the_token_and_a_token_in_the_url_signs_nobody_in(http, tenants,
                                                                           surface):
    a, _ = tenants
    login = SURFACES[surface][0]
    # GIVEN an old-style sign-in link with the token in its query string
    r = http.http.get(f"{login}?token={_user(a, surface)}")
    # THEN it only shows the sign-in form: no session cookie, the pages stay closed
    assert r.status_code == 200 and 'method="post"' in r.body.decode()
    assert SURFACES[surface][3] not in r.headers.get("Set-Cookie", "")
    assert not _signed_in(http, _home(a, surface),
                          {"Cookie": cookie_pair(r.headers["Set-Cookie"])})
    # WHEN the user posts the token through the form
    r = post_login(http, login, _user(a, surface))
    # THEN they land on their home page with a session cookie
    assert r.status_code == 303 and r.headers["Location"] == _home(a, surface)
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(SURFACES[surface][3] + "=") and "HttpOnly" in cookie
    assert "Secure" not in cookie  # the test stage is local: plain http works
    assert _signed_in(http, _home(a, surface), {"Cookie": cookie_pair(cookie)})
    # and the cookie holds a page session, not the token
    assert _user(a, surface) not in cookie


def test_a_rate_limited_debtor_page_says_when_to_retry(http, tenants, monkeypatch):
    a, _ = tenants
    d = add_debtor(http, a)
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    monkeypatch.setenv("RECOUP_LINK_RATE_PER_TOKEN", "1")
    assert http.http.get(path).status_code == 200
    r = http.http.get(path)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_the_monthly_email_link_opens_the_report_after_signing_in(http, tenants):
    a, _ = tenants
    monthly = f"/portal/clients/{a.client_id}/monthly?month=2026-11"
    # GIVEN a viewer, not signed in, follows the monthly email's link
    r = http.http.get(monthly)
    assert r.status_code == 401
    login = re.search(r'href="(/portal/login\?next=[^"]+)"', r.body.decode()).group(1)
    # WHEN they sign in from there
    r = http.http.get(html.unescape(login))
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', r.body.decode()))
    r = http.http.post("/portal/login", headers={**FORM, "Cookie": cookie_pair(
        r.headers["Set-Cookie"])}, body=urlencode({**fields, "token": a.viewer}).encode())
    # THEN they land on the report they asked for
    assert r.status_code == 303 and r.headers["Location"] == monthly


def test_a_workspace_deep_link_opens_after_signing_in(http, tenants):
    a, _ = tenants
    d = add_debtor(http, a)
    deep = f"/w/clients/{a.client_id}/debtors/{d['id']}"
    r = http.http.get(deep)
    assert r.status_code == 303 and r.headers["Location"].startswith("/w/login?next=")
    page = http.http.get(r.headers["Location"])
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.body.decode()))
    r = http.http.post("/w/login", headers={**FORM, "Cookie": cookie_pair(
        page.headers["Set-Cookie"])}, body=urlencode({**fields, "token": a.specialist}).encode())
    assert r.status_code == 303 and r.headers["Location"] == deep


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x",
                                    "/w/queue", "/portal/../w/queue", "/portal/login",
                                    "/portal\\evil", "javascript:alert(1)"])
def test_sign_in_never_sends_anyone_off_the_portal(http, tenants, target):
    a, _ = tenants
    csrf, cookie = login_form(http, f"/portal/login?next={target}")
    r = http.http.post("/portal/login", headers={**FORM, "Cookie": cookie},
                       body=urlencode({"csrf": csrf, "token": a.viewer, "next": target}).encode())
    assert r.status_code == 303 and r.headers["Location"] == f"/portal/clients/{a.client_id}"


def test_a_sign_in_post_without_its_form_token_is_refused(http, tenants):
    a, _ = tenants
    # GIVEN a sign-in POST forged on another site (no form cookie, or a mismatched one)
    for headers in ({**FORM}, {**FORM, "Cookie": "recoup_login=abc"}):
        r = http.http.post("/w/login", headers=headers,
                           body=urlencode({"csrf": "xyz", "token": a.specialist}).encode())
        # THEN nobody is signed in
        assert r.status_code == 403 and "recoup_token=" not in r.headers.get("Set-Cookie", "")


def test_too_many_sign_in_attempts_for_one_user_or_from_one_address_get_429(
        http, tenants, monkeypatch):
    a, _ = tenants
    monkeypatch.setenv("RECOUP_LOGIN_RATE_PER_USER", "3")
    # GIVEN three sign-ins for the same user this minute
    codes = [post_login(http, "/w/login", a.specialist).status_code for _ in range(3)]
    assert codes == [303, 303, 303]
    # WHEN a fourth comes, even with the right token
    r = post_login(http, "/w/login", a.specialist)
    # THEN it is refused with 429, says when to retry, and sets no session
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in r.body.decode()
    assert "recoup_token=" not in r.headers.get("Set-Cookie", "")
    # AND guessing many tokens from one address is slowed down too
    monkeypatch.setenv("RECOUP_LOGIN_RATE_PER_USER", "100")
    monkeypatch.setenv("RECOUP_LOGIN_RATE_PER_IP", "6")
    guesses = [post_login(http, "/portal/login", f"guess{i}").status_code for i in range(4)]
    assert guesses[0] == 401 and guesses[-1] == 429


def test_outside_the_local_stages_the_session_cookie_is_secure(http, tenants):
    from chalice.test import Client

    from app import app

    a, _ = tenants
    # GIVEN the app runs with the prod stage's environment (.chalice/config.json)
    with Client(app, stage_name="prod") as prod:
        # WHEN a user signs in to the workspace and to the portal
        answers = {s: post_login(prod, SURFACES[s][0], _user(a, s)) for s in SURFACES}
    for surface, r in answers.items():
        # THEN the browser is told to send the cookie over https only
        assert r.status_code == 303, surface
        assert "; Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


@pytest.mark.parametrize("surface", SURFACES)
def test_signing_out_clears_the_cookie_and_ends_the_session(http, tenants, surface):
    a, _ = tenants
    login, _, logout, name = SURFACES[surface]
    cookie = session(http, login, _user(a, surface))
    page = http.http.get(_home(a, surface), headers=cookie)
    assert page.status_code == 200 and 'action="' + logout + '"' in page.body.decode()
    # WHEN the user presses "log out" (the form posts the page's csrf)
    r = http.http.post(logout, headers={**cookie, **FORM},
                       body=urlencode({"csrf": page_csrf(page.body)}).encode())
    # THEN they are back at the sign-in page and the cookie is cleared
    assert r.status_code == 303 and r.headers["Location"] == login
    assert r.headers["Set-Cookie"].startswith(f"{name}=;") and "Max-Age=0" in r.headers[
        "Set-Cookie"]
    # AND a copy of the old cookie no longer opens anything
    assert not _signed_in(http, _home(a, surface), cookie)


def test_a_session_older_than_its_maximum_lifetime_is_refused(http, tenants, monkeypatch):
    a, _ = tenants
    cookie = session(http, "/w/login", a.specialist)
    assert _signed_in(http, "/w/queue", cookie)
    # WHEN the same cookie comes back after the session's maximum lifetime
    later = datetime.now(UTC) + timedelta(seconds=edge.MAX_SESSION_SECONDS + 60)
    monkeypatch.setenv("RECOUP_DEMO_NOW", later.isoformat())
    r = http.http.get("/w/queue", headers=cookie)
    # THEN the user is sent to sign in again
    assert r.status_code == 303 and r.headers["Location"] == "/w/login"


def test_sessions_api_tokens_and_surfaces_do_not_stand_in_for_each_other(http, tenants):
    a, _ = tenants
    ws = session(http, "/w/login", a.specialist)
    portal = session(http, "/portal/login", a.viewer)
    value = ws["Cookie"].split("=", 1)[1]
    # a page session is no API token
    assert http.http.get("/v1/clients", headers=bearer(value)).status_code in (401, 403)
    # an API token pasted into the cookie is no session
    assert not _signed_in(http, "/w/queue", {"Cookie": f"recoup_token={a.specialist}"})
    assert http.http.get(f"/portal/clients/{a.client_id}",
                         headers={"Cookie": f"recoup_portal={a.viewer}"}).status_code == 401
    # a workspace session does not open the portal, nor a portal session the workspace
    moved = {"Cookie": "recoup_portal=" + value}
    assert http.http.get(f"/portal/clients/{a.client_id}", headers=moved).status_code == 401
    pv = portal["Cookie"].split("=", 1)[1]
    assert not _signed_in(http, "/w/queue", {"Cookie": "recoup_token=" + pv})


@pytest.mark.parametrize("value", ["é", "a.b.c", "x" * 4000, "eyJhbGciOiJub25lIn0.e30.", ""])
def test_a_garbage_session_cookie_asks_to_sign_in(http, tenants, value):
    a, _ = tenants
    assert http.http.get("/w/queue", headers={"Cookie": f"recoup_token={value}"}
                         ).headers["Location"] == "/w/login"
    r = http.http.get(f"/portal/clients/{a.client_id}",
                      headers={"Cookie": f"recoup_portal={value}"})
    assert r.status_code == 401 and 'href="/portal/login?next=' in r.body.decode()
    r = http.http.post("/portal/logout", headers={"Cookie": f"recoup_portal={value}", **FORM},
                       body=b"csrf=x")
    assert r.status_code == (403 if value else 303)  # nothing to end: just cleared


def _csp(r) -> str:
    return r.headers["Content-Security-Policy"]


def test_every_page_sends_the_same_security_headers(http, tenants):
    a, _ = tenants
    d = add_debtor(http, a)
    debtor = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    ws = session(http, "/w/login", a.specialist)
    portal = session(http, "/portal/login", a.viewer)
    answers = {
        "workspace queue": http.http.get("/w/queue", headers=ws),
        "workspace debtor": http.http.get(f"/w/clients/{a.client_id}/debtors/{d['id']}",
                                          headers=ws),
        "workspace error": http.http.get(f"/w/clients/{a.client_id}/debtors/nope",
                                         headers=ws),
        "workspace login": http.http.get("/w/login"),
        "portal dashboard": http.http.get(f"/portal/clients/{a.client_id}", headers=portal),
        "portal error": http.http.get(f"/portal/clients/{a.client_id}/export/nope",
                                      headers=portal),
        "portal csv": http.http.get(f"/portal/clients/{a.client_id}/export/debtors",
                                    headers=portal),
        "portal login": http.http.get("/portal/login"),
        "portal signed out": http.http.get(f"/portal/clients/{a.client_id}"),
        "debtor page": http.http.get(debtor),
        "debtor 404": http.http.get("/d/nope"),
    }
    for name, r in answers.items():
        assert r.status_code < 500, name
        csp = _csp(r)
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, name
        assert r.headers["X-Content-Type-Options"] == "nosniff", name
        assert r.headers["Referrer-Policy"] == "no-referrer", name
        assert r.headers["Cache-Control"] == "no-store", name
    # the inline stylesheet runs only with the nonce the header names
    for name in ("workspace queue", "portal dashboard", "debtor page", "workspace login"):
        r = answers[name]
        nonce = _csp(r).split("'nonce-")[1].split("'")[0]
        assert f'<style nonce="{nonce}">' in r.body.decode(), name
        assert ' style="' not in r.body.decode(), name  # inline style attributes would be blocked
    assert "https://checkout.stripe.com" in _csp(answers["debtor page"])
    assert "checkout.stripe.com" not in _csp(answers["workspace queue"])


ODD = ["é" * 32, "\u202e" * 10, "x" * 5000, "%ZZ", "\x00", ""]


@pytest.mark.parametrize("value", ODD)
def test_odd_csrf_values_are_a_403_never_a_500(http, tenants, value):
    a, _ = tenants
    d = add_debtor(http, a)
    debtor = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    ws = session(http, "/w/login", a.specialist)
    portal = session(http, "/portal/login", a.viewer)
    body = urlencode({"csrf": value}).encode()
    # WHEN a form comes back with a mangled csrf value
    answers = [
        http.http.post("/w/next", headers={**ws, **FORM}, body=body),
        http.http.post("/w/logout", headers={**ws, **FORM}, body=body),
        http.http.post("/portal/logout", headers={**portal, **FORM}, body=body),
        post_form(http, f"{debtor}/question", {"csrf": value, "message": "hi"}),
    ]
    _, login_cookie = login_form(http, "/w/login")
    answers.append(http.http.post("/w/login", headers={**FORM, "Cookie": login_cookie},
                                  body=urlencode({"csrf": value, "token": "x"}).encode()))
    # THEN each is refused as an expired form
    assert [r.status_code for r in answers] == [403] * 5


def test_bytes_that_are_not_utf8_in_a_form_are_refused_not_crashed(http, tenants):
    a, _ = tenants
    ws = session(http, "/w/login", a.specialist)
    for body in (b"csrf=\xff\xfe\xfd", b"\xc3\x28=\xa0\xa1", b"csrf=" + "é".encode("latin-1")):
        assert http.http.post("/w/next", headers={**ws, **FORM}, body=body).status_code == 403
        r = http.http.post("/w/login", headers=FORM, body=body)
        assert r.status_code == 403


def test_csrf_comparison_takes_anything_without_raising():
    expected = edge.csrf_token("k", "workspace", "session:abc")
    assert edge.csrf_ok(expected, expected)
    for sent in (None, 7, b"bytes", "é" * 32, expected + "x", expected.upper(), "\ud800"):
        assert edge.csrf_ok(sent, expected) is False


def test_the_favicon_is_served_without_signing_in(http):
    # GIVEN any browser opening any page asks for /favicon.ico, with no credentials
    r = http.http.get("/favicon.ico")
    # THEN it gets a small icon, not a 403
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/svg+xml"
    assert r.body.startswith(b"<svg") and len(r.body) < 2000


def test_odd_query_strings_and_form_values_are_never_a_500(http, tenants):
    from tests.functional.test_workbench import _need_call

    a, _ = tenants
    d = add_debtor(http, a)
    _need_call(a, d["id"], reason="odd input")
    ws = session(http, "/w/login", a.specialist)
    portal = session(http, "/portal/login", a.viewer)
    base = f"/portal/clients/{a.client_id}"
    for path in (f"{base}?as_of=not-a-date", f"{base}?as_of=2026-02-30", f"{base}?as_of=é",
                 f"{base}/monthly?month=2026-13", f"{base}/monthly?month=%FF",
                 f"{base}/debtors?cursor=%%%", f"{base}/debtors?cursor=eyJ9",
                 f"{base}/export/..%2F..%2Fetc"):
        assert http.http.get(path, headers=portal).status_code < 500, path
    task = http.http.get(f"/v1/clients/{a.client_id}/tasks",
                         headers=bearer(a.admin)).json_body["items"][0]
    page = http.http.get(f"/w/clients/{a.client_id}/tasks/{task['id']}", headers=ws)
    csrf = page_csrf(page.body)
    outcome = f"/w/clients/{a.client_id}/tasks/{task['id']}/outcome"
    for fields in ({"outcome": "payment_plan", "instalments": "²"},
                   {"outcome": "promise_to_pay", "date": "2026-99-99", "amount": "1e999"},
                   {"outcome": "call_back", "at_local": "tomorrow"},
                   {"outcome": "é" * 300}, {"outcome": "no_answer", "note": "\x00" * 10}):
        r = http.http.post(outcome, headers={**ws, **FORM},
                           body=urlencode({"csrf": csrf, **fields}).encode())
        assert r.status_code < 500, (fields, r.status_code)
