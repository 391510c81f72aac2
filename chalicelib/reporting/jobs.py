"""Scheduled reporting jobs: the monthly report email on the 1st at 07:00 UTC, and the
cash forecast's daily snapshot of every client at 05:00 UTC."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow
from chalicelib.reporting import emails as report_emails
from chalicelib.reporting import forecast

bp = Blueprint(__name__)


@bp.schedule("cron(0 7 1 * ? *)")
def monthly_report_emails(event):
    return report_emails.send_all(utcnow())


@bp.schedule("cron(0 5 * * ? *)")
def forecast_snapshots(event):
    """Daily: each client's cash forecast, stored as this week's snapshot (the last one made
    in a week is the forecast the next weeks are compared with)."""
    return forecast.snapshot_all(utcnow())
