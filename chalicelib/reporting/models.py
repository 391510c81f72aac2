"""Reporting tables: each client's aggregate parts, snapshots and per-invoice contributions."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.models import Model

from chalicelib.kernel.settings import region, table_prefix


def _meta(name: str) -> type:
    return type("Meta", (), {"table_name": f"{table_prefix()}{name}", "region": region(),
                             "billing_mode": "PAY_PER_REQUEST"})


class ReportModel(Model):
    """One client's report items under ``agency#client``: ``agg#head`` and ``agg#open#…``
    (the aggregate, read together by one query), ``baseline``, ``summary`` (headline figures
    for the agency overview) and ``snap#YYYY-MM-DD`` (figures as of a day)."""

    Meta = _meta("reports")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    part = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute()  # JSON (domain/reporting.dumps): kept compact, ratios exact
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class ContributionModel(Model):
    """What one invoice currently contributes to its client's aggregate (its state and the
    Recoup payments on it), the contribution before the last batch (``prev``) and that
    batch's id: a replayed batch finds its own id here and applies prev → entry again only
    if the aggregate does not list the batch as applied."""

    Meta = _meta("report_contributions")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    invoice_id = UnicodeAttribute(range_key=True)
    entry = UnicodeAttribute(null=True)  # JSON {"state": {...}, "payments": [...]} or null
    prev = UnicodeAttribute(null=True)
    batch = UnicodeAttribute()
    invoice_version = NumberAttribute(default=0)

