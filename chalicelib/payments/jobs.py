"""Periodic payment jobs: missed plan instalments and late charges."""
from __future__ import annotations

import logging

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)
log = logging.getLogger("recoup.payment_jobs")


@bp.schedule("rate(1 hour)")
def check_payment_plans(event):
    from chalicelib.payments import plans

    broken = plans.check_plans(utcnow())
    log.info("plan check: %d broken", len(broken))
    return {"broken": broken}


@bp.schedule("rate(1 hour)")
def accrue_late_charges(event):
    from chalicelib.payments import charges

    made = charges.accrue_all(utcnow())
    log.info("late charges: %d new", made)
    return {"charged": made}
