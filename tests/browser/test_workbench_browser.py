"""A specialist's call, in a real browser: log in, take the next task, log a promise, see the
task leave the queue and the promise on the timeline."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def _sign_in(page, base: str, token: str) -> None:
    """The login form, as a person uses it: paste the token, press Log in."""
    page.goto(f"{base}/w/login")
    page.get_by_label("Your access token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/queue$"))


def test_take_next_and_log_a_promise(workbench, page):
    base = workbench["base"]
    # GIVEN the specialist logs in with their token (a session in an HttpOnly cookie)
    _sign_in(page, base, workbench["specialist"])
    expect(page).to_have_url(f"{base}/w/queue")
    assert all(c["httpOnly"] for c in page.context.cookies())
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    # the Sydney debtor ranks first (largest debt) but it is night there: it says when
    sydney = page.locator("#queue tr", has_text="Harbour Pty")
    expect(sydney).to_contain_text("from Thu 26 Nov 09:00")
    expect(page.locator("#queue tr", has_text="Camden Cafe")).to_contain_text("£4,800 overdue")
    # WHEN they take the next task (keyboard: the button has focus)
    page.locator("#take-next").focus()
    page.keyboard.press("Enter")
    # THEN they get the best debtor callable now, not the one asleep in Sydney
    expect(page.locator("#debtor-name")).to_contain_text("Camden Cafe")
    expect(page.locator("#task")).to_contain_text("callable now")
    expect(page.locator("#task")).to_contain_text("final notice unanswered")
    # WHEN they log a promise to pay
    page.get_by_label("promise to pay").check()
    page.locator("input[name=date]").fill("2026-11-30")
    page.locator("input[name=amount]").fill("4800.00")
    page.locator("#note").fill("AP manager will pay Monday")
    page.locator("#log-outcome").click()
    # THEN the task leaves the queue and the page says what happens next
    expect(page).to_have_url(re.compile(r"/w/queue\?msg="))
    expect(page.locator(".msg")).to_contain_text("chasing paused until 2026-12-03")
    expect(page.locator("#queue tbody tr")).to_have_count(2)
    expect(page.locator("#queue")).not_to_contain_text("Camden Cafe")
    # AND the promise is on the debtor's timeline and in their promises
    client, debtor = workbench["client_id"], workbench["debtors"]["CAM"]
    page.goto(f"{base}/w/clients/{client}/debtors/{debtor}")
    expect(page.locator("#timeline")).to_contain_text("Promise to pay £4,800.00 by 2026-11-30")
    expect(page.locator("#timeline")).to_contain_text("AP manager will pay Monday")
    expect(page.locator("#promises")).to_contain_text("open")
    expect(page.locator("#balance")).to_contain_text("chasing paused until")


def test_a_bad_outcome_keeps_the_form_and_names_the_field(workbench, page):
    base = workbench["base"]
    _sign_in(page, base, workbench["specialist"])
    page.locator("#take-next").click()
    expect(page.locator("#debtor-name")).to_contain_text("Brixton Bikes")
    page.get_by_label("promise to pay").check()
    page.locator("#log-outcome").click()
    expect(page.locator(".err")).to_contain_text("date: is required")
    expect(page.locator("#debtor-name")).to_contain_text("Brixton Bikes")


def test_another_agency_sees_no_debtor_page(workbench, page):
    base = workbench["base"]
    _sign_in(page, base, workbench["other_agency"])
    client, debtor = workbench["client_id"], workbench["debtors"]["CAM"]
    resp = page.goto(f"{base}/w/clients/{client}/debtors/{debtor}")
    assert resp.status == 404
    expect(page.locator("body")).not_to_contain_text("Camden")
