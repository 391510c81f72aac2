"""The monthly report email: each client's viewers get their headline figures once a month."""
from __future__ import annotations

import calendar
import logging
from datetime import date, datetime

from chalicelib.kernel import claims, templating
from chalicelib.kernel.money import format_money
from chalicelib.reporting import reports
from chalicelib.reporting import store as report_store
from chalicelib.reporting.client_portal import brand_colour
from chalicelib.kernel.settings import get_settings
from chalicelib.store.models import ClientModel, UserModel
from chalicelib.reporting.models import ReportModel

log = logging.getLogger("recoup.report_emails")
REGISTRY = report_store.REGISTRY


def previous_month(today: date) -> tuple[str, date]:
    first = today.replace(day=1)
    y, m = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    return f"{y:04d}-{m:02d}", date(y, m, calendar.monthrange(y, m)[1])




def send_all(now: datetime, ses=None) -> dict:
    """Send last month's report to every client's viewers; safe to run again."""
    month, last_day = previous_month(now.date())
    ses = ses or _ses()
    out = {"month": month, "sent": 0, "skipped": 0}
    out["failed"] = 0
    for item in ReportModel.query(REGISTRY):
        agency_id, client_id = item.part.split("#", 1)
        try:
            sent = send_one(agency_id, client_id, month, last_day, now, ses)
        except Exception:  # one client's refusal (unverified sender) must not stop the rest
            log.exception("monthly report email to %s failed", item.part)
            out["failed"] += 1
            continue
        out["sent" if sent else "skipped"] += 1
    return out


def _ses():
    from chalicelib.kernel import adapters

    return adapters.aws("ses")


def send_one(agency_id: str, client_id: str, month: str, as_of: date, now: datetime, ses) -> bool:
    """Claim (agency, client, month) with a conditional put, then send; a retry finds the
    claim and sends nothing. A crash between claim and send leaves the claim 'claimed'
    (visible in the ledger): at most once, never twice."""
    try:
        client = ClientModel.get(agency_id, client_id)
    except ClientModel.DoesNotExist:
        return False
    if client.archived:
        return False
    to = [u.email for u in UserModel.query(agency_id)
          if u.role == "client_viewer" and u.client_id == client_id and u.active]
    if not to:
        return False
    context = _context(client, reports.build(client, as_of), month)  # before claiming
    key = f"{agency_id}#report-email#{client_id}#{month}"
    won, claim = claims.take(key, now)
    if not won:
        return False
    brand = client.brand_name or client.name
    reply = {"ReplyToAddresses": [client.reply_to]} if client.reply_to else {}
    try:
        result = _send(ses, client, brand, to, context, reply)
    except Exception:
        # SES refused it, so nothing went out: a failed claim is taken again next run.
        claims.settle(claim, "failed", now)
        raise
    claims.settle(claim, "done", now, message_id=result.get("MessageId"), to=len(to))
    return True


def _send(ses, client: ClientModel, brand: str, to: list[str], context: dict, reply: dict):
    return ses.send_email(
        Source=f"{brand} <{client.sender_email}>", Destination={"ToAddresses": to},
        Message={"Subject": {"Data": f"{brand}: your receivables report for {context['month_name']}"},
                 "Body": {"Text": {"Data": templating.environment().get_template(
                              "email/monthly_report.txt").render(**context)},
                          "Html": {"Data": templating.environment().get_template(
                              "email/monthly_report.html").render(**context)}}}, **reply)


def _context(client: ClientModel, report: dict, month: str) -> dict:
    f, cur = report["figures"], client.currency
    y, m = (int(x) for x in month.split("-"))
    change = (report.get("change_since_takeover") or {}).get("figures", {})
    return {
        "brand": client.brand_name or client.name, "month": month,
        "month_name": f"{calendar.month_name[m]} {y}",
        "colour": brand_colour(client),
        "headline": [
            ("Receivables", format_money(f["receivables_minor"], cur)),
            ("Overdue", format_money(f["overdue_minor"], cur)),
            ("Collected in the month", format_money(f["collected"]["total_minor"], cur)),
            ("DSO (countback)", f"{f['dso_countback']} days"),
            ("CEI", "—" if f["cei"] is None else f"{f['cei']}%"),
        ],
        "overdue_change": (change.get("overdue_minor") or {}).get("delta"),
        "overdue_change_text": None if (change.get("overdue_minor") or {}).get("delta") is None
        else format_money(abs(change["overdue_minor"]["delta"]), cur),
        "link": f"{get_settings().public_base_url}/portal/clients/{client.client_id}/monthly"
                f"?month={month}",
    }
