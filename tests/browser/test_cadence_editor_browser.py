"""The cadence editor in a real browser: an admin opens Northwind's cadences, edits a
step's day, sees the dry-run effect change next to the current counts, saves, and finds
the new version in the history; each step is rendered for a real debtor."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def test_an_admin_edits_a_step_sees_the_effect_saves_and_finds_the_version(demo, page):
    base, northwind = demo["base"], demo["clients"]["northwind"]
    page.goto(f"{base}/w/login")
    page.get_by_label("Your access token").fill(demo["tokens"]["admin"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/queue$"))
    # GIVEN the clients list links to each client's cadences
    page.get_by_role("link", name="Clients").click()
    page.locator("#clients tr", has_text="Northwind Traders").get_by_role(
        "link", name="Cadences and templates").click()
    expect(page.locator("h1")).to_contain_text("Cadences for Northwind Traders")
    # THEN the client's cadence is a timeline of step cards
    cards = page.locator("#cadence-client .timeline li")
    expect(cards.first).to_contain_text("Day -3")
    expect(cards.last).to_contain_text("final")
    # WHEN the admin opens it: each step is rendered for a real debtor of the client
    page.locator("#cadence-client a.edit").click()
    expect(page.locator("h1")).to_contain_text("The client's cadence for Northwind Traders")
    preview = page.locator(".step-preview").first
    preview.locator("summary").click()
    expect(preview.locator("pre")).to_contain_text("Northwind Traders")
    # WHEN the firm email's day (7) moves to 25 and the effect is previewed
    page.get_by_label("Step 3 day").fill("25")
    page.locator("#preview-effect").click()
    effect = page.locator("#effect")
    expect(effect).to_contain_text("with this change")
    row = page.locator("#effect-steps tr", has_text="due+7")
    cells = row.locator("td")
    now, proposed = int(cells.nth(1).inner_text()), int(cells.nth(2).inner_text())
    assert proposed < now, (now, proposed)  # fewer firm emails in the next two weeks
    expect(page.get_by_label("Step 3 day")).to_have_value("25")  # the proposal is kept
    # AND a softer tone after a firm one is refused naming the field, nothing saved
    page.get_by_label("Step 5 tone").select_option("friendly")
    page.locator("#preview-effect").click()
    expect(page.locator("#errors")).to_contain_text("cadence.steps[5].tone")
    page.get_by_label("Step 5 tone").select_option("firm")
    # WHEN the admin saves with a note
    page.locator("#note").fill("firm email a month later")
    page.locator("#save").click()
    # THEN it is saved, live, and the history shows it with who and the one before it
    expect(page.locator(".msg")).to_contain_text("Saved as version 2")
    expect(page.get_by_label("Step 5 day")).to_have_value("25")  # now in day order
    versions = page.locator("#versions tr.version")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("firm email a month later")
    expect(versions.first).to_contain_text("(live)")
    expect(versions.nth(1)).to_contain_text("as it was before the first edit here")
    expect(page.get_by_role("button", name="Restore version 1")).to_be_visible()
