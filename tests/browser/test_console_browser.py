"""The agency console in a real browser: an admin signs in, sees every client on the home,
onboards a new client (a colour white text is unreadable on is refused first), uploads a
small book with one bad row, reads the row error and lands on the dry run."""
from __future__ import annotations

import re

from playwright.sync_api import expect

BOOK = (
    "debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
    "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid\n"
    "H1,Hedgerow Hardware,Hal Hedge,hal@hedgerow.example.com,,,Europe/London,GB,HH-1,,"
    "2026-09-01,2026-10-01,GBP,950.00,0.00\n"
    "H2,Thistle Tools,Tess Thistle,tess@thistle.example.com,,,Europe/London,GB,HH-2,,"
    "2026-09-01,2026-10-01,GBP,310.50,10.50\n"
    "H3,Broken Row Ltd,Bo Broke,bo@broken.example.com,,,Europe/London,GB,HH-3,,"
    "2026-09-01,someday,GBP,75.00,0.00\n")


def test_an_admin_onboards_a_client_uploads_its_book_and_reaches_the_dry_run(demo, page):
    base = demo["base"]
    page.goto(f"{base}/w/login")
    page.get_by_label("Your access token").fill(demo["tokens"]["admin"])
    page.get_by_role("button", name="Log in").click()
    # GIVEN the agency home: both demo clients, one row each, money formatted
    page.get_by_role("link", name="Home").click()
    expect(page.locator("h1")).to_contain_text("Every client at a glance")
    acme = page.locator("#home tbody tr", has_text="Acme Supplies Ltd")
    expect(acme).to_contain_text("£")
    expect(acme).to_contain_text("Active")
    expect(page.locator("#home tbody tr", has_text="Northwind Traders")).to_contain_text(
        "Preview")
    expect(page.locator("#load")).to_contain_text("Sam Specialist")
    # sorting by overdue puts the heading in the sorted state
    page.get_by_role("link", name="Overdue", exact=True).click()
    expect(page.locator("th[aria-sort]")).to_contain_text("Overdue")
    # WHEN the admin onboards a client with an unreadable brand colour
    page.get_by_role("link", name="Onboard a client").click()
    page.get_by_label("Business name").fill("Hedgerow Supplies Ltd")
    page.get_by_label("Main colour").fill("#ffff00")
    page.get_by_label("Send emails from").fill("ar@hedgerow-supplies.example.com")
    page.get_by_label("Payment terms, as debtors read them").fill("30 days net")
    page.get_by_label("Policy").select_option("fixed")
    page.get_by_label("Fixed fee (in the client's currency)").fill("40.00")
    page.get_by_label("Sam Specialist").check()
    page.locator("#create-client").click()
    # THEN it is refused, naming the field, and what was typed stays
    expect(page.locator("#errors")).to_contain_text("primary_colour")
    expect(page.locator("#errors")).to_contain_text("4.5:1")
    expect(page.get_by_label("Business name")).to_have_value("Hedgerow Supplies Ltd")
    # WHEN the colour is fixed
    page.get_by_label("Main colour").fill("#1f4e79")
    page.locator("#create-client").click()
    # THEN the client exists, in preview, and its book page shows the sender's status
    expect(page.locator(".msg")).to_contain_text("Hedgerow Supplies Ltd is onboarded")
    expect(page.locator("#sender")).to_contain_text("ar@hedgerow-supplies.example.com")
    expect(page.locator("#history")).to_contain_text("No book imported yet")
    # WHEN its book is uploaded with one bad row
    page.get_by_label(re.compile("CSV file")).set_input_files(files=[{
        "name": "hedgerow.csv", "mimeType": "text/csv", "buffer": BOOK.encode()}])
    page.locator("#import").click()
    # THEN the report names the row, the field and the reason
    expect(page.locator("#rejected")).to_contain_text("1 row rejected")
    bad = page.locator("#row-errors tbody tr").first
    expect(bad).to_contain_text("due_date")
    expect(bad.locator("td").first).to_have_text("4")
    with page.expect_download() as dl:
        page.locator("#errors-csv").click()
    assert dl.value.suggested_filename.endswith("-errors.csv")
    # AND the way on is the dry run, before anything is sent
    page.locator("#continue").click()
    expect(page.locator("h1")).to_contain_text("Dry run for Hedgerow Supplies Ltd")
    # AND the home now lists the new client with its import's error
    page.get_by_role("link", name="Home").click()
    row = page.locator("#home tbody tr", has_text="Hedgerow Supplies Ltd")
    expect(row).to_contain_text("1 row error")
    expect(row).to_contain_text("Preview")


def test_the_console_is_usable_at_390_px(demo, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{demo['base']}/w/login")
    page.get_by_label("Your access token").fill(demo["tokens"]["admin"])
    page.get_by_role("button", name="Log in").click()
    for path in ("/w/home", "/w/clients/new", "/w/users"):
        page.goto(demo["base"] + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)  # wide tables scroll inside their box
    # every input of the onboarding form has a label, and Tab reaches the submit button
    page.goto(demo["base"] + "/w/clients/new")
    unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]),select')]
        .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)""")
    assert unlabelled == []
    page.locator("#name").focus()
    for _ in range(60):
        if page.evaluate("document.activeElement.id") == "create-client":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "create-client"
    context.close()


def test_a_book_upload_says_how_far_it_has_gone_then_opens_the_report(demo, page):
    """GIVEN a client's book page (scripts allowed only with the page's nonce)
    WHEN a book is uploaded and the server is still importing it
    THEN the page says the file went up and how long the import has been running, with the
    button disabled against a second submit; the report opens when the server answers; a
    refused file shows its reasons in place, the form ready to try again."""
    base = demo["base"]
    page.goto(f"{base}/w/login")
    page.get_by_label("Your access token").fill(demo["tokens"]["admin"])
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/w/clients/new")  # a client of its own: the demo's books stay as seeded
    page.get_by_label("Business name").fill("Upload Progress Ltd")
    page.get_by_label("Send emails from").fill("ar@upload-progress.example.com")
    page.locator("#create-client").click()
    expect(page.locator(".msg")).to_contain_text("Upload Progress Ltd is onboarded")
    book_url = page.url
    # a book big enough that the server is still importing it a second later
    rows = "".join(f"U{n},Upload Debtor {n},,ap{n}@u{n}.example.com,,,Europe/London,GB,U-{n},,"
                   f"2026-09-01,2026-10-01,GBP,{100 + n}.00,0.00\n" for n in range(1500))
    page.get_by_label(re.compile("CSV file")).set_input_files(files=[{
        "name": "upload-progress.csv", "mimeType": "text/csv",
        "buffer": (BOOK + rows).encode()}])
    page.locator("#import").click()
    status = page.locator("#upload-status")
    expect(status).to_contain_text("Uploaded. Importing the book")
    expect(page.locator("#import")).to_be_disabled()
    expect(status).to_contain_text(re.compile(r"Importing the book… [1-9]\d* s"))
    expect(page.locator("#rejected")).to_contain_text("1 row rejected", timeout=120_000)
    assert re.search(r"/imports/[^/]+$", page.url)
    # AND a file that is not a book is refused in place, naming the field
    page.goto(book_url)
    page.get_by_label(re.compile("CSV file")).set_input_files(files=[{
        "name": "notes.csv", "mimeType": "text/csv", "buffer": b"hello,world\n1,2\n"}])
    page.locator("#import").click()
    expect(page.locator("#errors")).to_be_visible()
    expect(page.locator("#import")).to_be_enabled()
