"""The cash forecast as the agency and the client read it: JSON and CSV from the API, the
portal page, promises and plans counted once, and last forecast against what came in."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from chalicelib.book import importer
from chalicelib.payments import ledger, plans
from chalicelib.reporting import forecast
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel
from chalicelib.workbench import promises
from tests.conftest import BOOKS, FIXED_NOW, bearer
from tests.page_support import session


def _owed(a) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in InvoiceModel.by_client_number.query(client_key(a.agency_id, a.client_id)):
        if i.status in ("open", "part_paid", "disputed", "on_hold", "in_collections"):
            out[i.currency] = out.get(i.currency, 0) + int(i.balance_minor)
    return out


def _debtors(a) -> list[DebtorModel]:
    return sorted((d for d in DebtorModel.query(client_key(a.agency_id, a.client_id))
                   if int(d.balance_minor or 0) > 0), key=lambda d: -int(d.balance_minor))


def test_agency_and_viewer_read_13_weeks_as_json_and_csv(http, book):
    a, b = book
    base = f"/v1/clients/{a.client_id}/forecast"
    # WHEN the agency asks for the client's forecast
    r = http.http.get(base, headers=bearer(a.admin))
    assert r.status_code == 200, r.body
    body = r.json_body
    f = body["forecast"]
    # THEN it has 13 weeks starting on Mondays from this week, in the client's currency
    assert len(f["weeks"]) == 13 and f["weeks"][0] == "2026-11-23"
    assert all(date.fromisoformat(w).weekday() == 0 for w in f["weeks"])
    gbp = next(c for c in f["currencies"] if c["currency"] == "GBP")
    # and every pound owed is expected exactly once (in a week, or later)
    assert {c["currency"]: c["total_minor"] for c in f["currencies"]} == _owed(a)
    assert gbp["total_minor"] == sum(w["total_minor"] for w in gbp["weeks"]) + \
        gbp["later"]["total_minor"]
    assert gbp["weeks"][0]["total_minor"] > 0  # overdue invoices land in this week
    assert body["versus_actual"] == []  # no week has passed yet
    # the client's own viewer reads the same forecast (the stored snapshot)
    v = http.http.get(base, headers=bearer(a.viewer))
    assert v.status_code == 200 and v.json_body["forecast"] == f
    # AND as CSV
    c = http.http.get(base + "?format=csv", headers=bearer(a.viewer))
    assert c.status_code == 200 and c.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(c.body.decode())))
    assert rows[0][:4] == ["section", "currency", "week_starting", "expected_minor"]
    assert [r[2] for r in rows[1:14]] == f["weeks"]
    assert sum(int(r[3]) for r in rows[1:] if r[1] == "GBP") == gbp["total_minor"]
    # a bad format is named; other tenants see nothing
    bad = http.http.get(base + "?format=xls", headers=bearer(a.admin))
    assert bad.status_code == 422 and "format" in bad.body.decode()
    assert http.http.get(base, headers=bearer(b.admin)).status_code == 404
    assert http.http.get(base, headers=bearer(b.viewer)).status_code == 404
    assert http.http.get(base, headers=bearer(a.outsider)).status_code == 403


def test_a_promise_and_a_plan_are_counted_through_them_not_twice(book):
    a, _ = book
    client = ClientModel.get(a.agency_id, a.client_id)
    first, second = _debtors(a)[:2]
    owed = _owed(a)["GBP"]
    # GIVEN the largest debtor promises to pay 100.00 next Wednesday
    promises.record(a.agency_id, a.client_id, first.debtor_id, amount_minor=10_000,
                    currency=first.currency, promised_for=date(2026, 12, 2), taken_by="t",
                    now=FIXED_NOW)
    # AND the second agrees a plan of 3 fortnightly instalments over its balance
    plans.create_plan(a.agency_id, client, second, instalments=3, first_due=date(2026, 12, 1),
                      interval="fortnightly", source="specialist", actor="t", now=FIXED_NOW)
    plan_total = int(second.balance_minor)
    # WHEN the forecast is computed
    f = forecast.compute(client, FIXED_NOW)
    gbp = f.currencies["GBP"]
    # THEN the plan's instalments are in weeks 2, 4 and 6 in full
    assert sum(w.plan for w in gbp.weeks) == plan_total
    assert [i for i, w in enumerate(gbp.weeks) if w.plan] == [1, 3, 5]
    # AND the promise counts at the client's kept rate (no promise judged: one half)
    assert gbp.weeks[1].promised == 5_000
    # AND nothing is counted twice: the total is still what is owed
    assert gbp.total == owed


def test_last_forecast_against_what_came_in(http, book):
    a, _ = book
    client = ClientModel.get(a.agency_id, a.client_id)
    debtor = _debtors(a)[0]
    # GIVEN the timer's snapshot in week 0 (Monday 23 November)
    week0 = forecast.snapshot(client, FIXED_NOW)
    week1 = week0["weeks"][1]
    expected = next(c for c in week0["currencies"] if c["currency"] == "GBP")["weeks"][1]
    # WHEN a payment of 250.00 arrives in week 1
    paid_on = date(2026, 12, 2)
    ledger.apply_payment(a.agency_id, a.client_id, debtor.debtor_id, amount_minor=25_000,
                         currency=debtor.currency, source="transfer", payment_id="pay-wk1",
                         received_on=paid_on, now=FIXED_NOW + timedelta(days=7), actor="t")
    # AND the clock reaches week 2
    later = FIXED_NOW + timedelta(days=14)
    out = forecast.read(client, later)
    # THEN week 1 shows what the week-0 forecast expected against the 250.00 collected
    row = next(r for r in out["versus_actual"] if r["week"] == week1)
    assert row["forecast_made_on"] == "2026-11-25"
    assert row["forecast_minor"] == expected["total_minor"]
    assert row["actual_minor"] == 25_000
    assert row["difference_minor"] == 25_000 - expected["total_minor"]
    # AND this week's forecast was made now (a new snapshot), starting on 7 December
    assert out["forecast"]["weeks"][0] == "2026-12-07"
    # AND the client sees it on the portal page
    import os

    from chalicelib.kernel import clock

    clock.write_travel(os.environ["RECOUP_CLOCK_FILE"],
                       offset_seconds=later.timestamp() - clock.wall_seconds())
    cookie = session(http, "/portal/login", a.viewer)
    page = http.http.get(f"/portal/clients/{a.client_id}/forecast", headers=cookie)
    assert page.status_code == 200, page.body
    text = page.body.decode()
    assert 'id="forecast-chart"' in text and "Cash forecast" in text
    assert 'id="forecast-vs-actual"' in text and "£250.00" in text
    csv_page = http.http.get(f"/portal/clients/{a.client_id}/forecast.csv", headers=cookie)
    assert csv_page.status_code == 200 and b"versus_actual" in csv_page.body


def test_the_agency_opens_the_same_forecast_from_the_workspace(http, book):
    a, b = book
    # WHEN agency staff open the client's forecast in the workspace
    page = http.http.get(f"/w/clients/{a.client_id}/forecast", headers=bearer(a.admin))
    assert page.status_code == 200, page.body
    text = page.body.decode()
    # THEN they see the client's chart and table, with the workspace's CSV
    assert 'id="forecast-chart"' in text and 'id="forecast-gbp"' in text
    assert f'href="/w/clients/{a.client_id}/forecast.csv"' in text
    assert "/portal/logout" not in text
    assert http.http.get(f"/w/clients/{a.client_id}/forecast.csv",
                         headers=bearer(a.admin)).status_code == 200
    # AND the client list links to it
    listing = http.http.get("/w/clients", headers=bearer(a.admin)).body.decode()
    assert f"/w/clients/{a.client_id}/forecast" in listing
    # and nobody else may
    assert http.http.get(f"/w/clients/{a.client_id}/forecast",
                         headers=bearer(b.admin)).status_code == 404
    assert http.http.get(f"/w/clients/{a.client_id}/forecast",
                         headers=bearer(a.viewer)).status_code == 403


def test_the_daily_timer_stores_the_snapshot_the_pages_then_read(http, book):
    a, _ = book
    import json

    from app import app  # noqa: F401 - the scheduled function itself, as Lambda would call it
    from chalicelib.reporting.models import ReportModel

    # WHEN the daily job runs (its handler asks the clock: the tests' clock is FIXED_NOW)
    out = http.lambda_.invoke("forecast_snapshots", http.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    # THEN the client's week has its snapshot
    assert out.payload["stored"] >= 1 and out.payload["failed"] == 0
    key = client_key(a.agency_id, a.client_id)
    item = ReportModel.get(key, "forecast#2026-11-23")
    # AND a read serves that snapshot instead of computing again
    r = http.http.get(f"/v1/clients/{a.client_id}/forecast", headers=bearer(a.admin))
    assert r.json_body["forecast"]["computed_at"] == json.loads(item.body)["computed_at"]
