"""Scheduled reporting jobs: the monthly report email on the 1st at 07:00 UTC."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow
from chalicelib.reporting import emails as report_emails

bp = Blueprint(__name__)


@bp.schedule("cron(0 7 1 * ? *)")
def monthly_report_emails(event):
    return report_emails.send_all(utcnow())
