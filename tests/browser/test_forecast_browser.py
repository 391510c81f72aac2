"""A client viewer in a real browser reads the cash forecast: 13 weekly bars, the weeks in
words with money in their currency, how it is made, and the same figures as CSV."""
from __future__ import annotations

import csv
import io
import re


def test_viewer_reads_the_cash_forecast_and_downloads_it(demo, page):
    base, acme = demo["base"], demo["clients"]["acme"]
    # GIVEN Acme's finance director is signed in
    page.goto(f"{base}/portal/login")
    page.get_by_label("Your access token (from your agency)").fill(demo["tokens"]["client_viewer"])
    page.locator("#sign-in").click()
    page.wait_for_url(f"**/portal/clients/{acme}")
    # WHEN they open the cash forecast (the first view of the week computes it)
    with page.expect_navigation(timeout=120_000):
        page.click("nav >> text=Cash forecast")
    # THEN they see a chart with one bar per week for 13 weeks
    chart = page.locator("#forecast-chart")
    chart.wait_for()
    assert chart.locator("g.bar").count() == 13
    assert "Expected receipts per week (GBP)" in chart.get_attribute("aria-label")
    # AND a table of the weeks in words, money in pounds, and what comes later
    table = page.locator("#forecast-gbp")
    rows = table.locator("tbody tr")
    assert rows.count() == 14
    first = rows.nth(0).locator("td").all_inner_texts()
    assert re.search(r"\d{1,2} \w{3} 20\d\d", first[0]), first  # e.g. "30 Nov 2026"
    assert first[1].startswith("£"), first
    assert "Later than 13 weeks" in rows.nth(13).inner_text()
    headers = table.locator("thead th").all_inner_texts()
    assert headers[:2] == ["Week starting", "Expected"]
    assert "Promised (weighted by promises kept)" in headers
    main = page.locator("main").inner_text()
    assert "_minor" not in main and "How the forecast is made" in main
    # and, before any week has passed, what the comparison will show
    assert page.locator("#versus-actual-empty").is_visible()
    # WHEN they download it as CSV
    with page.expect_download() as info:
        page.click("#forecast-csv")
    data = open(info.value.path(), encoding="utf-8").read()
    table_csv = list(csv.reader(io.StringIO(data)))
    # THEN the file holds the same 13 weeks and the same first week's total
    weeks = [r for r in table_csv[1:] if r[0] == "forecast" and r[1] == "GBP"]
    assert table_csv[0][:4] == ["section", "currency", "week_starting", "expected_minor"]
    assert len(weeks) == 13
    shown = int(re.sub(r"[^\d]", "", first[1]))
    assert int(weeks[0][3]) == shown
