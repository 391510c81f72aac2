"""A client viewer in a real browser: signs in, reads the aging chart and debtors, downloads CSV."""
from __future__ import annotations

import csv
import io


def test_viewer_sees_aging_chart_and_debtors_and_downloads_csv(demo, page):
    base = demo["base"]
    # GIVEN Acme's finance director signs in with the token the agency gave them
    page.goto(f"{base}/portal/login")
    page.get_by_label("Your access token (from your agency)").fill(demo["tokens"]["client_viewer"])
    page.locator("#sign-in").click()
    # THEN the dashboard shows Acme's aging chart with its five buckets
    page.wait_for_url(f"**/portal/clients/{demo['clients']['acme']}")
    assert "token=" not in page.url
    chart = page.locator("#aging-chart")
    chart.wait_for()
    assert chart.locator("g.bar").count() == 5
    assert page.locator("header h1").inner_text() == "Acme Supplies"
    assert page.locator("#top-debtors tr").count() > 1
    # and the session cookie is out of reach of page scripts
    cookies = page.context.cookies()
    assert any(c["name"] == "recoup_portal" and c["httpOnly"] for c in cookies)
    # WHEN they open the debtor list
    page.click("text=Debtors")
    rows = page.locator("#debtors tr")
    rows.nth(1).wait_for()
    assert rows.count() > 10
    first = rows.nth(1).inner_text()
    # AND download it as CSV
    with page.expect_download() as info:
        page.click("text=CSV (all)")
    data = open(info.value.path(), encoding="utf-8").read()
    table = list(csv.reader(io.StringIO(data)))
    # THEN the file holds the same debtors
    assert table[0][:3] == ["name", "account_ref", "status"]
    assert first.split("\t")[0] in {r[0] for r in table[1:]}
    assert len(table) - 1 >= rows.count() - 1
    # AND the browser's favicon request is answered, not refused
    assert page.request.get(f"{base}/favicon.ico").status == 200
    # WHEN they sign out THEN the dashboard asks them to sign in again
    page.locator("#logout").click()
    page.wait_for_url("**/portal/login")
    resp = page.goto(f"{base}/portal/clients/{demo['clients']['acme']}")
    assert resp.status == 401


def test_viewer_searches_debtors_opens_one_and_downloads_the_playbook(demo, page):
    from chalicelib.kernel.pdf import text_of

    base, acme = demo["base"], demo["clients"]["acme"]
    page.goto(f"{base}/portal/login")
    page.get_by_label("Your access token (from your agency)").fill(demo["tokens"]["client_viewer"])
    page.locator("#sign-in").click()
    page.wait_for_url(f"**/portal/clients/{acme}")
    # the "since the agency took over" table reads as figures, not storage keys
    assert "aging.1_30" not in page.locator("main").inner_text()
    assert "_minor" not in page.locator("main").inner_text()
    # WHEN the viewer searches the debtor list for a name
    page.click("nav >> text=Debtors")
    page.get_by_label("Search by name or account reference").fill("saltmarsh")
    page.locator("#search").click()
    page.wait_for_url("**/debtors?q=saltmarsh*")
    names = page.locator("#debtors tbody tr td:first-child a").all_inner_texts()
    # THEN only matching debtors are listed, and the count says so
    assert names and all("saltmarsh" in n.lower() for n in names)
    assert "match" in page.locator("#count").inner_text()
    # WHEN they sort by name
    page.locator('th a[data-sort="name"]').click()
    page.wait_for_url("**sort=name*")
    sorted_names = page.locator("#debtors tbody tr td:first-child a").all_inner_texts()
    assert sorted_names == sorted(sorted_names, key=str.casefold)
    # WHEN they open the first debtor THEN they see its open invoices and its activity
    first = sorted_names[0]
    page.locator("#debtors tbody tr td:first-child a").first.click()
    page.locator("#debtor-name").wait_for()
    assert first in page.locator("#debtor-name").inner_text()
    assert page.locator("#open-invoices tr").count() >= 2
    assert page.locator("#activity-log").is_visible()
    # WHEN they open the playbook and download it as PDF
    page.click("nav >> text=Playbook")
    page.locator("#playbook-title").wait_for()
    assert page.locator("ol.timeline li").count() >= 5
    # and printed, the page drops its links bar and keeps the document
    page.emulate_media(media="print")
    assert not page.locator("#download-pdf").is_visible()
    assert page.locator("#playbook-title").is_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as info:
        page.locator("#download-pdf").click()
    data = open(info.value.path(), "rb").read()
    # THEN it is a PDF with pages that names the client
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page ") >= 3
    assert "Acme Supplies" in text_of(data)
