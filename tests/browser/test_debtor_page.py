"""The hosted debtor page in real headless Chromium: open the link on a phone, see what is
owed, pay through the local checkout, see it paid. The app runs in Chalice's local server
backed by moto's threaded server, both started here on free ports."""
from __future__ import annotations

import json
import os
import threading
import urllib.request

import pytest


def _reset_connections() -> None:
    from chalicelib.tables import ALL_MODELS

    for model in ALL_MODELS:
        model._connection = None


def _api(base: str, token: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - localhost
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def live():
    """moto server + the Chalice app on localhost, a tenant and a debtor with two invoices.
    Module-scoped (one start for every browser test) and fully undone afterwards, so the
    in-process moto tests sharing this worker are unaffected."""
    from chalice.config import Config
    from chalice.local import create_local_server

    from chalicelib.kernel.settings import get_settings
    from local.stack import LocalAWS, free_port

    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "RECOUP_PUBLIC_URL")}
    aws = LocalAWS().start()
    port = free_port()
    os.environ["RECOUP_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    get_settings.cache_clear()
    _reset_connections()
    server = None
    try:
        from chalicelib.tables import create_tables
        from tests.conftest import make_tenant

        create_tables()
        tenant = make_tenant("agWeb")
        from app import app

        server = create_local_server(app, Config(chalice_stage="local"), "127.0.0.1", port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        client = f"/v1/clients/{tenant.client_id}"
        d = _api(base, tenant.specialist, f"{client}/debtors",
                 {"account_ref": "WEB-1", "name": "Bramble Bakery"})
        for number, due, total in (("INV-1", "2026-10-01", 10000), ("INV-2", "2026-10-31", 25000)):
            _api(base, tenant.specialist, f"{client}/debtors/{d['id']}/invoices",
                 {"number": number, "issue_date": "2026-09-01", "due_date": due,
                  "total_minor": total})
        link = _api(base, tenant.specialist, f"{client}/debtors/{d['id']}/link", {})["url"]
        yield {"base": base, "link": link}
    finally:
        if server is not None:
            server.shutdown()
        aws.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        _reset_connections()


def _unlabelled(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden')
        .filter(e => !(e.getAttribute('aria-label') || e.closest('label') ||
                       (e.id && document.querySelector(`label[for="${e.id}"]`))))
        .map(e => e.name || e.id)""")


def test_debtor_opens_the_link_on_a_phone_pays_and_sees_it_paid(live, browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    # GIVEN the debtor opens the link from their message on a phone
    resp = page.goto(live["link"])
    assert resp.status == 200
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert page.locator("#balance").inner_text() == "£350.00"
    assert page.locator("text=INV-1").count() >= 1
    # the nonce'd stylesheet applied (CSP allowed it), nothing spills sideways, all labelled
    header_bg = page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor")
    assert header_bg == "rgb(31, 78, 121)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert _unlabelled(page) == []
    # WHEN they pay everything through the local test checkout
    page.click("#pay-button")
    page.wait_for_selector("text=LOCAL TEST CHECKOUT")
    assert page.locator("#checkout-amount").inner_text() == "£350.00"
    page.click("#local-pay")
    page.wait_for_selector("#flash")
    # THEN the page says thank you and nothing is owed
    assert "Thank you" in page.locator("#flash").inner_text()
    assert page.locator("#balance").inner_text() == "£0.00"
    assert page.locator("#pay-button").count() == 0
    assert [p for p in problems if "Content Security Policy" in p] == []
    ctx.close()


def test_a_tampered_link_shows_the_not_found_page(live, browser):
    page = browser.new_page()
    resp = page.goto(live["link"][:-4] + "AAAA")
    assert resp.status == 404
    assert "This link is not valid" in page.inner_text("body")
    page.close()
