"""The client's cash forecast (the rule is `reporting.forecast_rules`): computed from the
book, the predictions, the open promises and the live plans, stored as one snapshot per
client per week, and read back with the forecast made before each past week against
what was actually collected.

Computing (the daily timer, or a read that finds no snapshot for this week) reads:
the client's invoices (one Query of `by_client_number`), its debtors (one Query), the
client's prior (one GetItem), and per debtor with money owed its timeline (one Query,
`behaviour.profiles.account_facts`), its promises (one Query, only when the timeline
shows an open one) and its live plan (one Query, only when the account is stopped for a
plan), 16 accounts at a time. Reading (the API, the portal) is one Query of the
`forecast#` items (the latest and the 13 before) and one of the collected-by-day counters
of those weeks: flat whatever the size of the book.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.behaviour import profiles
from chalicelib.book.invoice_rules import OWED
from chalicelib.http.access import load_client
from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import iso
from chalicelib.payments import plan_rules
from chalicelib.payments import plans as plan_store
from chalicelib.reporting import forecast_rules as fr
from chalicelib.reporting import store as report_store
from chalicelib.reporting.figures import loads
from chalicelib.reporting.models import ReportModel
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel
from chalicelib.workbench.models import PromiseModel

log = logging.getLogger("recoup.forecast")
PREFIX = "forecast#"
SKIPPED = ("written_off",)
PARALLEL = 16  # accounts read at once when computing


def local_today(client: ClientModel, now: datetime) -> date:
    """The client's own day (weeks start on Monday in its time zone)."""
    try:
        return now.astimezone(ZoneInfo(client.timezone or "UTC")).date()
    except (KeyError, ValueError):
        return now.date()


# ------------------------------------------------------------------------------ compute


def _promises(debtor: DebtorModel, facts: profiles.AccountFacts) -> list[fr.Promise]:
    p = facts.profile
    if p.promises_made <= p.promises_kept + p.promises_broken:
        return []  # the timeline shows no open promise: no read
    agency_id, client_id = debtor.client_key.split("#", 1)
    out = []
    for m in PromiseModel.query(debtor_key(agency_id, client_id, debtor.debtor_id),
                                filter_condition=PromiseModel.status == "open"):
        left = int(m.amount_minor) - int(m.paid_minor)
        if left > 0:
            out.append(fr.Promise(debtor.debtor_id, m.currency, left,
                                  date.fromisoformat(m.promised_for),
                                  p.promises_kept, p.promises_broken))
    return out


def _instalments(debtor: DebtorModel) -> list[fr.Instalment]:
    if debtor.stopped_reason != "plan":
        return []  # a live (approved) plan stops the account for "plan"
    agency_id, client_id = debtor.client_key.split("#", 1)
    plan = plan_store.live_plan(agency_id, client_id, debtor.debtor_id)
    if plan is None or plan.status != "active":
        return []
    sched = plan_store.schedule_of(plan)
    paid = plan_rules.paid_by_instalment(sched, int(plan.paid_minor))
    return [fr.Instalment(debtor.debtor_id, plan.currency, i.amount_minor - paid[i.number],
                          i.due_date) for i in sched if paid[i.number] < i.amount_minor]


def compute(client: ClientModel, now: datetime) -> fr.Forecast:
    """The forecast as of `now` (nothing stored)."""
    aid, cid = client.agency_id, client.client_id
    ckey = client_key(aid, cid)
    today = local_today(client, now)
    by_debtor: dict[str, list[InvoiceModel]] = {}
    owing: set[str] = set()
    for i in InvoiceModel.by_client_number.query(ckey):
        by_debtor.setdefault(i.debtor_id, []).append(i)
        if i.status in OWED and int(i.balance_minor or 0) > 0:
            owing.add(i.debtor_id)
    prior = profiles.prior_for(aid, cid, now)

    def account(d: DebtorModel) -> tuple[list[fr.Predicted], list[fr.Promise],
                                         list[fr.Instalment]]:
        facts = profiles.account_facts(d, now, prior=prior, invoices=by_debtor[d.debtor_id])
        return ([fr.Predicted(d.debtor_id, m.invoice_id, m.currency or d.currency,
                              o.amount_minor, o.due, x.pay_on,
                              spread=tuple((o.due + timedelta(days=k), share)
                                           for k, share in x.distribution))
                 for m, o, x in facts.predictions(today)],
                _promises(d, facts), _instalments(d))

    owing_debtors = [d for d in DebtorModel.query(ckey)
                     if d.debtor_id in owing and d.status not in SKIPPED]
    # each account's reads are a round trip of their own: run them side by side
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        accounts = list(pool.map(account, owing_debtors))
    return fr.forecast(today, [x for a, _, _ in accounts for x in a],
                       [x for _, a, _ in accounts for x in a],
                       [x for _, _, a in accounts for x in a])


def snapshot(client: ClientModel, now: datetime) -> dict:
    """Compute and store this week's snapshot (a later run in the same week replaces it,
    so each week keeps the last forecast made in it)."""
    f = compute(client, now)
    body = {**f.to_dict(), "computed_at": iso(now), "client_currency": client.currency}
    report_store.put_item(client.agency_id, client.client_id,
                          PREFIX + f.week_starts[0].isoformat(), body, now)
    return body


def snapshot_all(now: datetime) -> dict:
    """The timer: a snapshot for every client with reports (listed without a Scan)."""
    out = {"stored": 0, "failed": 0}
    for item in ReportModel.query(report_store.REGISTRY):
        agency_id, client_id = item.part.split("#", 1)
        try:
            client = ClientModel.get(agency_id, client_id)
            if client.archived:
                continue
            snapshot(client, now)
            out["stored"] += 1
        except Exception:  # one client's failure must not stop the rest
            log.exception("forecast snapshot of %s failed", item.part)
            out["failed"] += 1
    return out


# --------------------------------------------------------------------------------- read


def _stored(client: ClientModel, weeks: int) -> dict[str, dict]:
    """The newest `weeks` + 1 snapshots by week (one Query)."""
    out = {}
    for m in ReportModel.query(client_key(client.agency_id, client.client_id),
                               ReportModel.part.startswith(PREFIX),
                               scan_index_forward=False, limit=weeks + 1):
        out[m.part[len(PREFIX):]] = loads(m.body)
    return out


def read(client: ClientModel, now: datetime) -> dict:
    """The latest forecast (computed and stored when this week has none yet) and, for the
    weeks that have passed, the forecast made before each against what was collected."""
    this_week = fr.week_start(local_today(client, now))
    snaps = _stored(client, fr.WEEKS)
    latest = snaps.get(this_week.isoformat())
    if latest is None:
        latest = snapshot(client, now)
        snaps[this_week.isoformat()] = latest
    first = this_week - timedelta(days=7 * fr.WEEKS)
    actual = report_store.collected_by_day(client.agency_id, client.client_id, first,
                                           this_week - timedelta(days=1))
    past = fr.versus_actual(snaps, actual, client.currency, this_week)
    return {"client": {"id": client.client_id, "name": client.name,
                       "currency": client.currency, "timezone": client.timezone or "UTC"},
            "forecast": latest, "versus_actual": past,
            "definitions": DEFINITIONS}


DEFINITIONS = {
    "predicted": "Open invoices without a promise or a plan, spread over the weeks they are "
                 "likely to be paid in (from the debtor's own payment history and the "
                 "client's).",
    "promised": "Promises to pay not yet kept, times the debtor's record of keeping "
                "promises, in the week of the promised date. What a broken promise would "
                "leave stays with the invoices, on their predicted dates.",
    "plan": "Instalments of agreed payment plans still to be paid, in the week they are due.",
    "later": "Expected after the 13 weeks shown.",
    "versus_actual": "For each past week: what the forecast made before the week began "
                     "expected, against the money actually collected that week (in the "
                     "client's currency).",
}


def for_principal(p: Principal, client_id: str, now: datetime) -> dict:
    """The one door for the API and the portal: agency staff with access to the client, or
    the client's own viewers."""
    return read(load_client(p, client_id, for_reports=True), now)


def csv_rows(data: dict) -> tuple[list[str], list[list]]:
    """The forecast as a table: one row per currency and week, then later, then the
    forecast-vs-actual rows."""
    header = ["section", "currency", "week_starting", "expected_minor", "predicted_minor",
              "promised_minor", "plan_minor", "actual_minor", "forecast_made_on"]
    rows: list[list] = []
    f = data["forecast"]
    for c in f["currencies"]:
        for week, w in zip(f["weeks"], c["weeks"]):
            rows.append(["forecast", c["currency"], week, w["total_minor"], w["predicted_minor"],
                         w["promised_minor"], w["plan_minor"], "", f["as_of"]])
        lt = c["later"]
        rows.append(["later", c["currency"], "", lt["total_minor"], lt["predicted_minor"],
                     lt["promised_minor"], lt["plan_minor"], "", f["as_of"]])
    for r in data["versus_actual"]:
        s = r["split"]
        rows.append(["versus_actual", data["client"]["currency"], r["week"], r["forecast_minor"],
                     s["predicted_minor"], s["promised_minor"], s["plan_minor"],
                     r["actual_minor"], r["forecast_made_on"]])
    return header, rows
