"""The workbench's timers: the daily re-rank of open call tasks and the hourly check of
promises due. Each parses and calls a service (imported on the call, so the timer's Lambda
loads only what it runs)."""
from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)


@bp.schedule("cron(30 4 * * ? *)", name="task_rerank")
def task_rerank_timer(event):
    """Daily, before the working day: every open call task ranked again as of today."""
    from chalicelib.workbench import tasks

    return {"reranked": tasks.rerank_open(utcnow())}


@bp.schedule(Rate(1, unit=Rate.HOURS))
def promise_timer(event):
    """Hourly: promises past date + grace and not paid in full become broken (and a task)."""
    from chalicelib.workbench import promises

    promises.break_due(utcnow())
