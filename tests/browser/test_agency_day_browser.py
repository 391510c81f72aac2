"""The agency's day in one walk, in a real browser, as one admin would run it: sign in,
onboard a client, upload its book (and read the row error), read the dry run, edit a
cadence step and see the dry run's effect change, activate chasing, find a debtor who calls
quoting an invoice number, record their payment and see the balance drop, propose the
account for collections; then the client's viewer approves it in their portal, the
workspace shows it approved, and the handover playbook (HTML and PDF) names the client and
its cadence.

Set RECOUP_SCREENS=/some/dir to keep a screenshot of each page at 1280 and 390 px."""
from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect

CLIENT = "Wren & Willow Ltd"
SCREENS = os.environ.get("RECOUP_SCREENS")


def _book(today: date) -> str:
    """Three accounts around today (so the next two weeks have reminders in them) and one
    row with a broken date."""
    d = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
    head = ("debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
            "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid\n")
    rows = [
        ("W1", "Oakfield Joinery", "Olly Oak", "olly@oakfield.example.com", "WW-1001",
         d(-70), d(-40), "2400.00", "0.00"),
        ("W2", "Birch Bakery", "Bea Birch", "bea@birch.example.com", "WW-1002",
         d(-35), d(-5), "310.50", "10.50"),
        ("W3", "Cedar Cycles", "Cy Cedar", "cy@cedar.example.com", "WW-1003",
         d(-28), d(2), "125.00", "0.00"),
        ("W4", "Broken Row Ltd", "Bo Broke", "bo@broken.example.com", "WW-1004",
         d(-30), "someday", "75.00", "0.00"),
    ]
    return head + "".join(
        f"{ref},{name},{contact},{email},,,Europe/London,GB,{inv},,{issued},{due},GBP,"
        f"{amount},{paid}\n" for ref, name, contact, email, inv, issued, due, amount, paid
        in rows)


def _shot(page, name: str) -> None:
    """A full-page screenshot at 1280 and at 390 px; at 390 the page must not scroll
    sideways (wide tables scroll inside their own box)."""
    if not SCREENS:
        return
    out = Path(SCREENS)
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(out / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(out / f"{name}-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 390 && e.children.length === 0)
        .slice(0, 8).map(e => `${e.tagName}#${e.id}.${e.className}`)""")  # to name the culprit
    page.set_viewport_size({"width": 1280, "height": 900})
    assert width <= 390, (name, width, wide)


def _viewer_token(agency_id: str, user_id: str, client_id: str) -> str:
    """What `make token ROLE=client_viewer` prints for the invited viewer (the local stack's
    secret; the agency hands the token to its client)."""
    from time_machine import escape_hatch

    from chalicelib.http.auth import Principal, mint_token
    from chalicelib.kernel.settings import _secret

    # the served stack checks tokens against the real clock (JWT iat/exp are wall time,
    # never travelled), and this process's may be shifted (RECOUP_TEST_SHIFT_DAYS)
    return mint_token(_secret("RECOUP_JWT_SECRET", "local"),
                      Principal(agency_id, user_id, "client_viewer", client_id), 3600,
                      now=escape_hatch.time.time() if escape_hatch.is_travelling() else None)


def test_the_agencys_day_in_one_walk(demo, browser):
    base = demo["base"]
    today = date.today()
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = desk.new_page()
    page.set_default_timeout(10_000)

    # GIVEN the admin signs in and sees every client at a glance
    page.goto(f"{base}/w/login")
    _shot(page, "01-login")
    page.get_by_label("Your access token").fill(demo["tokens"]["admin"])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header .who")).to_contain_text("Alex Admin")
    page.get_by_role("link", name="Home").click()
    expect(page.locator("h1")).to_contain_text("Every client at a glance")
    _shot(page, "02-home")

    # WHEN they onboard a client (details, brand, sender, terms, fees, cadence, specialist)
    page.get_by_role("link", name="Onboard a client").click()
    expect(page.locator("h1")).to_contain_text("Onboard a client")
    page.get_by_label("Business name").fill(CLIENT)
    page.get_by_label("Main colour").fill("#1f4e79")
    page.get_by_label("Send emails from").fill("accounts@wren-willow.example.com")
    page.get_by_label("Replies go to").fill("ar@wren-willow.example.com")
    page.get_by_label("Payment terms, as debtors read them").fill("30 days from invoice")
    page.get_by_label("Policy").select_option("fixed")
    page.get_by_label("Fixed fee (in the client's currency)").fill("40.00")
    page.get_by_label("Sam Specialist").check()
    _shot(page, "03-onboard")
    page.locator("#create-client").click()
    # THEN it exists, in preview, and its book page shows the sender's status
    expect(page.locator(".msg")).to_contain_text(f"{CLIENT} is onboarded")
    expect(page.locator("h1")).to_contain_text(f"{CLIENT}: its book")
    expect(page.locator("#sender")).to_contain_text("accounts@wren-willow.example.com")
    expect(page.locator("#history")).to_contain_text("No book imported yet")
    client_id = re.search(r"/w/clients/([^/]+)/book", page.url).group(1)
    _shot(page, "04-book")

    # WHEN its book is uploaded in the page, one row with a broken date
    page.get_by_label(re.compile("CSV file")).set_input_files(files=[{
        "name": "wren-willow.csv", "mimeType": "text/csv", "buffer": _book(today).encode()}])
    page.locator("#import").click()
    # THEN the import result counts what was taken and names the bad row, field and reason
    expect(page.locator("#rejected")).to_contain_text("1 row rejected")
    bad = page.locator("#row-errors tbody tr").first
    expect(bad.locator("td").first).to_have_text("5")
    expect(bad).to_contain_text("due_date")
    _shot(page, "05-import")

    # WHEN they continue to the dry run
    page.locator("#continue").click()
    expect(page.locator("h1")).to_contain_text(f"Dry run for {CLIENT}")
    expect(page.locator("#mode")).to_contain_text("nothing is sent")
    total = int(re.match(r"(\d+) message", page.locator("h2").first.inner_text()).group(1))
    assert total > 0
    first = page.locator("#messages li").first
    first.locator("summary").click()
    expect(first.locator("pre")).to_contain_text("Wren & Willow")
    _shot(page, "06-dry-run")

    # WHEN they open the client's cadence and move the firm email from day 7 to day 25
    page.get_by_role("link", name="Edit the cadence").click()
    expect(page.locator("h1")).to_contain_text(f"The client's cadence for {CLIENT}")
    page.get_by_label("Step 3 day").fill("25")
    page.locator("#preview-effect").click()
    # THEN the dry-run effect shows fewer firm emails in the next two weeks; nothing saved
    expect(page.locator("#effect")).to_contain_text("with this change")
    cells = page.locator("#effect-steps tr", has_text="due+7").locator("td")
    now_n, proposed_n = int(cells.nth(1).inner_text()), int(cells.nth(2).inner_text())
    assert proposed_n < now_n, (now_n, proposed_n)
    _shot(page, "07-cadence-effect")
    page.locator("#note").fill("firm email later for a trade client")
    page.locator("#save").click()
    expect(page.locator(".msg")).to_contain_text("Saved as version 2")
    expect(page.locator("#versions tr.version").first).to_contain_text(
        "firm email later for a trade client")

    # WHEN they return to the dry run and activate chasing
    page.goto(f"{base}/w/clients/{client_id}/preview")
    expect(page.locator("#messages")).not_to_contain_text("step due+7")
    page.locator("#activate").click()
    expect(page.locator(".msg")).to_contain_text("Chasing is live")
    expect(page.locator("#mode")).to_contain_text("Active")

    # WHEN a debtor calls quoting invoice WW-1001: typed into the header's search box
    page.get_by_label("Find a debtor").fill("WW-1001")
    page.keyboard.press("Enter")
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Oakfield Joinery")
    expect(results.first).to_contain_text("invoice WW-1001")
    expect(results.first).to_contain_text("£2,400.00")
    _shot(page, "08-search")
    results.first.get_by_role("link", name="Oakfield Joinery").click()
    expect(page.locator("#debtor-name")).to_contain_text("Oakfield Joinery")
    expect(page.locator("#balance")).to_contain_text("£2,400.00 owed")
    _shot(page, "09-debtor")
    # on a phone the balance is under the name, before the long list of actions
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#phone-balance")).to_contain_text("£2,400.00 owed")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.locator("#phone-balance")).to_be_hidden()

    # WHEN they record the £400 the debtor paid by transfer yesterday
    form = page.locator("#record-payment")
    form.get_by_label("Amount (GBP)").fill("400.00")
    form.get_by_label("Received on").fill((today - timedelta(days=1)).isoformat())
    form.get_by_label("Bank reference").fill("FPS 7731")
    form.get_by_role("button", name="Record payment").click()
    # THEN the balance drops and the payment is listed
    expect(page.locator(".msg")).to_contain_text("Payment of £400.00 recorded")
    expect(page.locator("#balance")).to_contain_text("£2,000.00 owed")
    expect(page.locator("#payments")).to_contain_text("FPS 7731")

    # WHEN they propose the account for collections
    page.get_by_label("Why").fill("Forty days late, no answer to three reminders")
    page.get_by_role("button", name="Propose for collections").click()
    expect(page.locator("#escalation-status")).to_contain_text(
        "awaiting the client's decision")

    # AND they invite the client's viewer (who signs in with the token the agency gives)
    page.goto(f"{base}/w/users")
    page.get_by_label("Email").fill("fd@wren-willow.example.com")
    page.get_by_label("Name").fill("Fran Director")
    page.get_by_label("Role").select_option("client_viewer")
    page.get_by_label("Client (for a client viewer)").select_option(label=CLIENT)
    page.locator("#add-user").click()
    msg = page.locator(".msg")
    expect(msg).to_contain_text("Fran Director")
    expect(msg).to_contain_text("sign in to the client portal")
    user_id = re.search(r"user id (\w+)\.", msg.inner_text()).group(1)
    _shot(page, "10-users")

    # WHEN the viewer signs in to the portal and approves the escalation
    client = browser.new_context(viewport={"width": 1280, "height": 900},
                                 accept_downloads=True)
    portal = client.new_page()
    portal.set_default_timeout(10_000)
    portal.goto(f"{base}/portal/login")
    portal.get_by_label("Your access token (from your agency)").fill(
        _viewer_token("demo-agency", user_id, client_id))
    portal.locator("#sign-in").click()
    expect(portal.locator("h1")).to_contain_text("Wren & Willow")
    _shot(portal, "11-portal-home")
    portal.get_by_role("link", name="Escalations").click()
    proposed = portal.locator("#portal-escalations tr", has_text="Oakfield Joinery")
    expect(proposed).to_contain_text("waiting for your decision")
    expect(proposed).to_contain_text("£2,000.00")
    _shot(portal, "12-portal-escalations")
    proposed.get_by_label("Note (optional)").fill("Agreed, go ahead")
    proposed.get_by_role("button", name="Approve").click()
    expect(portal.locator("#portal-msg")).to_contain_text("Oakfield Joinery: approved")
    expect(portal.locator("#portal-escalations tr", has_text="Oakfield Joinery")
           ).to_contain_text("approved by you")
    client.close()

    # THEN the workspace shows it approved
    page.goto(f"{base}/w/escalations")
    row = page.locator("#escalations tbody tr", has_text="Oakfield Joinery")
    expect(row).to_contain_text("Agreed, go ahead")
    expect(row).to_contain_text("letter before action sent")
    _shot(page, "13-escalations")

    # WHEN the admin opens the handover playbook from the clients list
    page.get_by_role("link", name="Clients").click()
    page.locator("#clients tr", has_text=CLIENT).get_by_role(
        "link", name="Handover playbook").click()
    # THEN it names the client and shows the cadence as saved (firm email on day 25)
    expect(page.locator("#playbook-title")).to_contain_text("Wren & Willow")
    cadence = page.locator("#cadence")
    expect(cadence).to_contain_text("Standard reminders")
    expect(cadence).to_contain_text("25 days after the due date — Email: overdue firm")
    _shot(page, "14-playbook")
    # AND its PDF downloads and says the same
    with page.expect_download() as dl:
        page.locator("#download-pdf").click()
    assert dl.value.suggested_filename.endswith("-playbook.pdf")
    pdf = Path(dl.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = pdf.decode("latin-1")
    assert "Wren & Willow" in text and "Standard reminders" in text
    desk.close()


# Text whose colour is closer than 4.5:1 to the background it sits on (WCAG AA, normal
# text), and form fields without an accessible name: both computed in the page.
_LOW_CONTRAST = """() => {
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => {
      v = v / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
      const a = c.match(/[\\d.]+/g); if (a && (a.length < 4 || +a[3] > 0.5)) return c; }
    return 'rgb(255, 255, 255)'; };
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length) continue;
    const s = getComputedStyle(e); if (s.visibility === 'hidden') continue;
    const [a, b] = [lum(s.color), lum(bg(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) out.push(`${e.tagName}.${e.className}: ${ratio.toFixed(2)} `
                              + `"${e.textContent.trim().slice(0, 30)}"`);
  }
  return out; }"""
_UNNAMED = """[...document.querySelectorAll('input:not([type=hidden]),select,textarea,button')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map(e => e.name || e.id || e.outerHTML.slice(0, 60))"""


def test_onboarding_and_the_editors_are_accessible_at_390_px(demo, browser):
    """At 390 px the onboarding form, the book page, the cadence editor and the template
    editor: nothing scrolls sideways, every field has a name a screen reader reads, text is
    readable against its background (4.5:1), and a keyboard focus is visible."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    base, north = demo["base"], demo["clients"]["northwind"]
    page.goto(f"{base}/w/login")
    page.get_by_label("Your access token").fill(demo["tokens"]["admin"])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header .who")).to_contain_text("Alex Admin")
    # the check itself sees a pale grey on white
    page.evaluate("""{const e = document.createElement('p'); e.textContent = 'pale';
        e.style.color = '#bbb'; document.body.append(e)}""")  # CSSOM: the CSP allows it
    assert any("pale" in x for x in page.evaluate(_LOW_CONTRAST))
    for path in ("/w/clients/new", f"/w/clients/{north}/book",
                 f"/w/clients/{north}/cadences", f"/w/clients/{north}/cadences/client",
                 f"/w/clients/{north}/templates"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert page.evaluate(_UNNAMED) == [], path
        assert page.evaluate(_LOW_CONTRAST) == [], path
        # Tab goes past the header into the page, and what has the focus shows a ring
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("!document.activeElement.closest('header')"):
                break
        ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert ring not in ("none", ""), (path, ring)
    ctx.close()
