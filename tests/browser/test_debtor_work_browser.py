"""A debtor calls in, in a real browser: the specialist finds them by invoice number from the
header's search box, records the payment they made, sees the balance drop, adds a note and
sees it on the timeline, proposes the account for collections; then the client's viewer
approves it in their portal and the agency's escalations page tracks it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_workbench_browser import _sign_in


def test_find_by_invoice_record_a_payment_note_and_the_client_approves_escalation(
        workbench, browser):
    base = workbench["base"]
    desk = browser.new_context(viewport={"width": 1366, "height": 900})
    page = desk.new_page()
    page.set_default_timeout(10_000)
    # GIVEN the specialist is signed in; the header names them, not their user id
    _sign_in(page, base, workbench["specialist"])
    expect(page.locator("header .who")).to_contain_text("Sam (specialist)")
    # WHEN a debtor calls quoting invoice LEE-1042: typed into the header's search box
    page.get_by_label("Find a debtor").fill("LEE-1042")
    page.keyboard.press("Enter")
    # THEN the one account with that invoice is listed, saying what matched
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Leeds Looms")
    expect(results.first).to_contain_text("invoice LEE-1042")
    expect(results.first).to_contain_text("£3,200.00")
    results.first.get_by_role("link", name="Leeds Looms").click()
    expect(page.locator("#debtor-name")).to_contain_text("Leeds Looms")
    expect(page.locator("#balance")).to_contain_text("£3,200.00 owed")
    # WHEN they record the £1,200 the debtor paid by transfer yesterday
    form = page.locator("#record-payment")
    form.get_by_label("Amount (GBP)").fill("1,200.00")
    form.get_by_label("Received on").fill("2026-11-24")
    form.get_by_label("Bank reference").fill("FPS 55102")
    form.get_by_role("button", name="Record payment").click()
    # THEN the page says so and the balance on the debtor view drops
    expect(page.locator(".msg")).to_have_text("Payment of £1,200.00 recorded (received "
                                              "2026-11-24).")
    expect(page.locator("#balance")).to_contain_text("£2,000.00 owed")
    expect(page.locator("#payments")).to_contain_text("FPS 55102")
    # WHEN they add a note (no call logged)
    page.get_by_label("Note (no call is logged)").fill("Rest promised after their month end")
    page.get_by_role("button", name="Add note").click()
    # THEN it is on the timeline and in the notes
    expect(page.locator(".msg")).to_have_text("Note added.")
    expect(page.locator("#timeline tr[data-kind=note]").first).to_contain_text(
        "Rest promised after their month end")
    expect(page.locator("#timeline")).to_contain_text("Payment")
    # a refused action names the field and keeps the page
    page.locator("#payment-amount").fill("12.345")
    page.locator("#payment-reference").fill("X")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("#record-payment .err")).to_contain_text("amount: more decimal places")
    expect(page.locator("#balance")).to_contain_text("£2,000.00 owed")
    # WHEN they propose the account for collections
    page.get_by_label("Why").fill("Disputes nothing, pays nothing")
    page.get_by_role("button", name="Propose for collections").click()
    expect(page.locator(".msg")).to_contain_text("the client decides in their portal")
    expect(page.locator("#escalation-status")).to_contain_text("awaiting the client's decision")
    page.get_by_role("link", name=re.compile("Escalations")).first.click()
    row = page.locator("#escalations tbody tr", has_text="Leeds Looms")
    expect(row).to_contain_text("awaiting the client's decision")
    expect(page.locator("body")).not_to_contain_text("POST /v1/portal")

    # WHEN the client's viewer signs in to their portal and approves it
    client = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    portal = client.new_page()
    portal.set_default_timeout(10_000)
    portal.goto(f"{base}/portal/login")
    portal.get_by_label("Your access token (from your agency)").fill(workbench["viewer"])
    portal.locator("#sign-in").click()
    portal.get_by_role("link", name="Escalations").click()
    proposed = portal.locator("#portal-escalations tr", has_text="Leeds Looms")
    expect(proposed).to_contain_text("waiting for your decision")
    expect(proposed).to_contain_text("£2,000.00")
    proposed.get_by_label("Note (optional)").fill("Go ahead")
    proposed.get_by_role("button", name="Approve").click()
    # THEN the portal says what happens next and shows it approved
    expect(portal.locator("#portal-msg")).to_contain_text(
        "Leeds Looms: approved: the agency sends a letter before action")
    expect(portal.locator("#portal-escalations tr", has_text="Leeds Looms")).to_contain_text(
        "approved by you")
    expect(portal.locator("#portal-escalations")).not_to_contain_text("Approve")
    client.close()

    # AND the agency's escalations page tracks the case
    page.reload()
    row = page.locator("#escalations tbody tr", has_text="Leeds Looms")
    expect(row).to_contain_text("letter before action sent")
    expect(row).to_contain_text("Go ahead")
    row.get_by_role("link", name="Leeds Looms").click()
    expect(page.locator("#balance")).to_contain_text("in_collections")
    desk.close()
