"""The dry run in a real browser: an admin opens a client still in preview, reads what the
next two weeks would send, tries a proposed cadence, then activates chasing."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect


def test_an_admin_reads_the_dry_run_tries_a_cadence_and_activates(demo, page):
    base, northwind = demo["base"], demo["clients"]["northwind"]
    page.goto(f"{base}/w/login")
    page.get_by_label("Your access token").fill(demo["tokens"]["admin"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/queue$"))
    # GIVEN the clients list: Northwind (just onboarded) is in preview, Acme is active
    page.get_by_role("link", name="Clients").click()
    row = page.locator("#clients tr", has_text="Northwind Traders")
    expect(row).to_contain_text("Preview: nothing is sent")
    expect(page.locator("#clients tr", has_text="Acme Supplies")).to_contain_text("Active")
    # WHEN the admin opens its dry run
    row.get_by_role("link", name="Dry run").click()
    expect(page.locator("h1")).to_contain_text("Dry run for Northwind Traders")
    # THEN fifteen days are counted and the first day's messages are listed with their text
    expect(page.locator("#per-day tbody tr")).to_have_count(15)
    first = page.locator("#messages li").first
    expect(first).to_contain_text("first-contact")
    first.locator("summary").click()
    expect(first.locator("pre")).to_contain_text("Northwind Traders")
    total = int(re.match(r"(\d+) message", page.locator("h2").first.inner_text()).group(1))
    assert total > 0
    # WHEN a proposed cadence (one friendly email a week after due) is tried
    page.locator("summary", has_text="Try a different cadence").click()
    page.locator("#cadence").fill(json.dumps({"id": "gentle", "name": "Gentle", "steps": [
        {"key": "due+7", "offset_days": 7, "channel": "email", "template": "friendly",
         "tone": "friendly"}]}))
    page.locator("#try-cadence").click()
    # THEN the preview says so and never shows a step of the old cadence
    expect(page.locator("h2").first).to_contain_text("with the proposed cadence")
    expect(page.locator("#messages")).not_to_contain_text("due+30")
    # AND a broken cadence is refused naming the field
    page.locator("#cadence").fill('{"id": "x", "name": "x", "steps": [{"key": "a", '
                                  '"offset_days": 1, "channel": "fax", "template": "t", '
                                  '"tone": "friendly"}]}')
    page.locator("#try-cadence").click()
    expect(page.locator("#errors")).to_contain_text("cadence.steps[0].channel")
    # WHEN the admin activates chasing
    page.goto(f"{base}/w/clients/{northwind}/preview")
    page.locator("#activate").click()
    # THEN the page says chasing is live and offers to stop it
    expect(page.locator(".msg")).to_contain_text("Chasing is live")
    expect(page.locator("#mode")).to_contain_text("Active")
    expect(page.locator("#to-preview")).to_be_visible()
