"""Signing in to the workspace and the portal as a browser does: open the sign-in page
(which sets the form's double-submit cookie), then POST the token with that form's csrf."""
from __future__ import annotations

import re
from urllib.parse import urlencode

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def cookie_pair(set_cookie: str) -> str:
    """`name=value` of a Set-Cookie header."""
    return set_cookie.split(";")[0]


def login_form(http, login_path: str) -> tuple[str, str]:
    """(csrf field, Cookie header value) of a freshly opened sign-in page."""
    r = http.http.get(login_path)
    assert r.status_code == 200, r.body
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.body.decode()).group(1)
    return csrf, cookie_pair(r.headers["Set-Cookie"])


def post_login(http, login_path: str, token: str, **extra_headers: str):
    csrf, cookie = login_form(http, login_path)
    return http.http.post(login_path, headers={**FORM, "Cookie": cookie, **extra_headers},
                          body=urlencode({"csrf": csrf, "token": token}).encode())


def session(http, login_path: str, token: str) -> dict:
    """Sign in; the Cookie header a browser would send afterwards."""
    r = post_login(http, login_path, token)
    assert r.status_code == 303, (r.status_code, r.body)
    return {"Cookie": cookie_pair(r.headers["Set-Cookie"])}


def page_csrf(body: bytes) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', body.decode()).group(1)
