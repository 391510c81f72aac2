"""One-click unsubscribe (RFC 8058): every email names its opt-out link in List-Unsubscribe
headers; the link's GET asks, its POST (a mail provider's, without our CSRF token) opts out
at once, and doing it twice is harmless. SMS keeps STOP."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import entries, load_book, row, run_cadence, sent_emails

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _one_click(http, path: str, body: bytes = b"List-Unsubscribe=One-Click",
               content_type: str = "application/x-www-form-urlencoded"):
    return http.http.post(path, body=body, headers={"Content-Type": content_type})


def test_an_email_unsubscribes_in_one_click_and_chasing_by_email_stops(tenant, http):
    # GIVEN a debtor sent an overdue reminder by email
    load_book(tenant, [row("U1", "INV-U1", "2026-11-18", phone="+447400123111")], NOW)
    assert run_cadence(NOW) == ["sent"]
    [mail] = sent_emails("ap@u1.example.com")
    # THEN the email names its one-click unsubscribe link, the same one as its footer
    headers = mail["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [url] = re.findall(r"<(http[^>]+)>", headers["List-Unsubscribe"])
    assert url.endswith("/opt-out?channel=email")
    assert f"To stop receiving these emails: {url}" in mail["text"]
    assert url.replace("&", "&amp;") in mail["html"]
    path = url[url.index("/d/"):]

    # WHEN the debtor opens the footer link
    page = http.http.get(path)
    # THEN a confirmation page in the debtor page's styling asks, with a button, and
    # nothing has changed yet
    html = page.body.decode()
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Stop receiving email from" in html and '<button type="submit">Unsubscribe</button>' \
        in html and "--primary:" in html
    assert not entries(tenant, "U1", "debtor_opt_out")

    # WHEN the mail provider POSTs the one-click body, with no CSRF token
    done = _one_click(http, path)
    # THEN the debtor is unsubscribed from email and told so
    assert done.status_code == 200, done.body
    assert "We will no longer contact you by email." in done.body.decode()
    # AND a second POST (the provider retrying, the debtor clicking again) is fine and
    # records nothing more
    again = _one_click(http, path, body=b"--b\r\nContent-Disposition: form-data; "
                       b"name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n",
                       content_type="multipart/form-data; boundary=b")
    assert again.status_code == 200 and "no longer contact you by email" in again.body.decode()
    assert len(entries(tenant, "U1", "debtor_opt_out")) == 1

    # WHEN the cadence carries on for weeks
    for days in range(1, 40):
        run_cadence(NOW + timedelta(days=days))
    # THEN no further email reaches the debtor (other channels may still be used)
    assert len(sent_emails("ap@u1.example.com")) == 1


def test_the_confirmation_form_posts_and_a_bad_channel_is_a_clear_refusal(tenant, http):
    # GIVEN a debtor's email
    load_book(tenant, [row("U2", "INV-U2", "2026-11-18")], NOW)
    run_cadence(NOW)
    [mail] = sent_emails("ap@u2.example.com")
    url = re.findall(r"<(http[^>]+)>", mail["headers"]["List-Unsubscribe"])[0]
    path = url[url.index("/d/"):]
    # WHEN the debtor presses the page's button (a browser form post with the csrf field)
    from tests.payments_support import form_fields, post_form

    fields = form_fields(http.http.get(path).body.decode(), "/opt-out")
    assert fields["channel"] == "email" and fields["csrf"]
    r = post_form(http, path.split("?")[0], fields)
    # THEN it is done
    assert r.status_code == 200 and "no longer contact you by email" in r.body.decode()
    # AND a made-up channel gets a 4xx page, not a 500
    bad = post_form(http, path.split("?")[0], {"channel": "pigeon"})
    assert bad.status_code == 422 and "choose a channel" in bad.body.decode()
    # AND a tampered link is the one 404
    swapped = "y" if path[-25] == "x" else "x"  # a character the signature did not have
    assert _one_click(http, path[:-25] + swapped + path[-24:]).status_code == 404
