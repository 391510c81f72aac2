"""Credit policy in a real browser: the specialist's debtor view shows an account over its
segment's credit limit (limit, exposure, risk band, terms, the alert recommending a hold);
the client's viewer sees it on the portal's Credit page and approves the hold; the debtor
view then says the account is on credit hold, approved by the client."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_workbench_browser import _sign_in


def test_debtor_over_its_limit_is_shown_and_the_client_approves_the_hold(workbench, browser):
    base, client_id = workbench["base"], workbench["client_id"]
    debtor_id = workbench["debtors"]["MER"]
    desk = browser.new_context(viewport={"width": 1366, "height": 900})
    page = desk.new_page()
    page.set_default_timeout(10_000)
    _sign_in(page, base, workbench["specialist"])
    # GIVEN Mersey Mills owes £1,500 against its segment's £1,000 limit
    page.goto(f"{base}/w/clients/{client_id}/debtors/{debtor_id}")
    section = page.locator("#credit")
    expect(section.locator("#credit-summary")).to_contain_text("£1,500.00 exposure")
    expect(section.locator("#credit-limit")).to_have_text("£1,000.00")
    expect(section.locator("#credit-summary")).to_contain_text("the segment's")
    expect(section.locator("#credit-summary")).to_contain_text("terms 14 days")
    expect(section.locator("#credit-band")).to_contain_text("Risk band")
    expect(section.locator("#credit-over")).to_have_text(
        "Over the credit limit: recommend a credit hold.")
    alert = section.locator(".credit-alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Exposure £1,500.00 is over the credit limit of £1,000.00 "
                                  "by £500.00")
    # the specialist acknowledges it: it stays on the client's credit page, marked
    alert.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".msg")).to_contain_text("Mersey Mills: alert acknowledged.")
    expect(page.locator("#credit .credit-alert")).to_contain_text("(acknowledged)")

    # WHEN the client's viewer opens the portal's Credit page on a phone
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    portal = phone.new_page()
    portal.set_default_timeout(10_000)
    portal.goto(f"{base}/portal/login")
    portal.get_by_label("Your access token (from your agency)").fill(workbench["viewer"])
    portal.locator("#sign-in").click()
    portal.get_by_role("link", name="Credit").click()
    row = portal.locator("#portal-credit tr.credit-account", has_text="Mersey Mills")
    expect(row).to_contain_text("£1,500.00")
    expect(row).to_contain_text("£1,000.00")
    expect(row).to_contain_text("Credit hold recommended")
    expect(row).to_contain_text("Over credit limit")
    # THEN approving records the hold
    row.get_by_role("button", name="Approve the credit hold").click()
    expect(portal.locator("#portal-msg")).to_have_text(
        "Mersey Mills: on credit hold: no new orders on credit.")
    expect(portal.locator("#portal-credit tr.credit-account", has_text="Mersey Mills")
           ).to_contain_text("On credit hold")
    # AND the specialist's debtor view says so
    page.reload()
    expect(page.locator("#credit-hold-status")).to_contain_text("approved by the client")
    expect(page.locator("#timeline")).to_contain_text("Credit hold approved by the client")
    desk.close()
    phone.close()
