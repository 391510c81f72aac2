"""A specialist sends a statement from the debtor view, in a real browser: choose kind and
channel, preview the rendered message, send it, and see it on the timeline with their name;
a debtor asleep on the other side of the world cannot be sent to now, and the preview says so."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def _sign_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/w/login")
    page.get_by_label("Your access token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/queue$"))


def test_preview_then_send_a_statement_and_see_it_on_the_timeline(workbench, page):
    base, client = workbench["base"], workbench["client_id"]
    _sign_in(page, base, workbench["specialist"])
    # GIVEN the specialist on a London debtor's page (10:00 there: inside the window)
    page.goto(f"{base}/w/clients/{client}/debtors/{workbench['debtors']['BRI']}")
    send = page.locator("#send-now")
    # WHEN they choose an email statement and press Preview
    send.get_by_label("Kind").select_option("statement")
    send.get_by_label("Channel").select_option("email")
    page.locator("#preview-send").click()
    # THEN they see the message as it will go, and to whom; nothing is on the timeline yet
    expect(page.locator("#preview-subject")).to_contain_text("Statement of your account")
    expect(page.locator("#preview-text")).to_contain_text("BRI-1")
    expect(page.locator("#preview-text")).to_contain_text("£950.00")
    expect(page.locator("#send-preview")).to_contain_text("ap@bri.example.com")
    expect(page.locator("#send-preview")).to_contain_text("statement.csv")
    expect(page.locator("#timeline")).not_to_contain_text("manual statement")
    # WHEN they press Send
    page.locator("#send-button").click()
    # THEN the page says it went, and the timeline shows who sent it
    expect(page.locator(".msg")).to_contain_text("Email sent to ap@bri.example.com")
    row = page.locator("#timeline tr", has_text="manual statement")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Email sent by Sam (manual statement, friendly) to "
                                "ap@bri.example.com")


def test_the_preview_says_why_a_debtor_outside_their_window_cannot_be_sent_to(workbench, page):
    base, client = workbench["base"], workbench["client_id"]
    _sign_in(page, base, workbench["specialist"])
    # GIVEN a Sydney debtor: it is 21:00 there
    page.goto(f"{base}/w/clients/{client}/debtors/{workbench['debtors']['SYD']}")
    page.locator("#send-now").get_by_label("Channel").select_option("sms")
    page.locator("#preview-send").click()
    # THEN the message is shown, but it cannot be sent now, and the page says why
    expect(page.locator("#preview-text")).to_contain_text("9,000.00 outstanding")
    expect(page.locator("#send-refusal")).to_contain_text("outside the debtor's contact window")
    expect(page.locator("#send-refusal")).to_contain_text("Thu 26 Nov 09:00")
    expect(page.locator("#send-button")).to_have_count(0)
