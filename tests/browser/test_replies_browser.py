"""A debtor's reply, end to end on the local stack in a real browser: reply to a sent
reminder from the outbox as the debtor ("I will pay on <date>"), then, as the specialist,
confirm the proposed promise in the workspace and see it on the debtor view."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect


def test_reply_as_debtor_then_confirm_the_proposed_promise(replies_demo, page):
    base, reminded = replies_demo["base"], replies_demo["reminded"]
    promised = (replies_demo["now"] + timedelta(days=5)).date()
    # GIVEN the reminder the local stack sent to one of Acme's debtors, in the outbox
    page.goto(f"{base}/outbox")
    row = page.locator("tr[data-message-id]", has_text=reminded["emails"][0]).first
    expect(row.get_by_role("button", name="Reply as debtor")).to_be_visible()
    # WHEN the debtor replies that they will pay on a date
    row.get_by_label("Reply text").fill(f"Hello, I will pay on {promised:%d %B %Y}. Thanks")
    row.get_by_role("button", name="Reply as debtor").click()
    # THEN the reply is received (the SES receiving path) and read as a promise to pay
    expect(page.locator("#outbox-msg")).to_contain_text("read as promise to pay")
    # WHEN the specialist opens the debtor (signing in on the way)
    page.locator("#open-debtor").click()
    expect(page).to_have_url(re.compile(r"/w/login\?next="))
    page.get_by_label("Your access token").fill(replies_demo["tokens"]["specialist"])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#debtor-name")).to_contain_text(reminded["name"])
    # THEN the reply waits with its proposal: a promise by that date, nothing applied yet
    reply = page.locator("#reply")
    expect(reply).to_contain_text("promise to pay")
    expect(reply).to_contain_text("I will pay on")
    expect(reply.locator("input[name=promise_date]")).to_have_value(promised.isoformat())
    expect(page.locator("#promises")).to_contain_text("none")
    # WHEN they confirm it in one click
    reply.get_by_role("button", name="Confirm promise").click()
    # THEN the promise is on the debtor view, open, and the reply no longer waits
    expect(page.locator(".msg")).to_contain_text(f"by {promised.isoformat()} recorded")
    promises = page.locator("#promises")
    expect(promises).to_contain_text(f"by {promised.isoformat()}")
    expect(promises).to_contain_text("open")
    expect(page.locator("#reply")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("Promise to pay")
