"""Reporting tables: each client's aggregate parts, snapshots and per-invoice contributions."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.models import Model

from chalicelib.kernel.settings import region, table_prefix


def _meta(name: str) -> type:
    return type("Meta", (), {"table_name": f"{table_prefix()}{name}", "region": region(),
                             "billing_mode": "PAY_PER_REQUEST"})


class ReportModel(Model):
    """One client's report items under ``agency#client``: ``baseline``, ``summary`` (headline
    figures for the agency overview) and ``snap#YYYY-MM-DD`` (figures as of a day). The
    aggregate's counter items (``agg#head``, ``agg#m#…``, ``agg#d#…``) and applied-batch
    markers (``batch#…``) share the partition but are read and written raw by
    reporting/store.py (their attributes are the counters), never through this model."""

    Meta = _meta("reports")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    part = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute()  # JSON (domain/reporting.dumps): kept compact, ratios exact
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class ContributionModel(Model):
    """What one invoice currently contributes to its client's aggregate (its state and the
    Recoup payments on it) and the batch that wrote it. It is written in the same transaction
    as the counters its change adds to, conditional on ``rev``: a replayed batch finds the
    contribution already equal to its new state and adds nothing."""

    Meta = _meta("report_contributions")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    invoice_id = UnicodeAttribute(range_key=True)
    entry = UnicodeAttribute(null=True)  # JSON {"state": {...}, "payments": [...]} or null
    prev = UnicodeAttribute(null=True)  # before the counters: the entry before its batch
    batch = UnicodeAttribute()
    invoice_version = NumberAttribute(default=0)
    rev = NumberAttribute(null=True)  # +1 per write: the next write is conditional on it

