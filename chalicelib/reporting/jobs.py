"""Scheduled reporting jobs: the monthly report email on the 1st at 07:00 UTC, and the
cash forecast's daily snapshot of every client at 05:00 UTC. Each imports its use case on
the call (app.py registers this blueprint, so importing the app loads none of them)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)


@bp.schedule("cron(0 7 1 * ? *)")
def monthly_report_emails(event):
    from chalicelib.reporting import emails as report_emails

    return report_emails.send_all(utcnow())


@bp.schedule("cron(0 5 * * ? *)")
def forecast_snapshots(event):
    """Daily: each client's cash forecast, stored as this week's snapshot (the last one made
    in a week is the forecast the next weeks are compared with)."""
    from chalicelib.reporting import forecast

    return forecast.snapshot_all(utcnow())
