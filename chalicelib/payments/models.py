"""Payment plans and link rate counters: the payments capability's own tables."""
from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.kernel.settings import region, table_prefix

PLAN_CHECK_SHARD = "plans"  # one partition: live plans are few next to invoices


def _meta(name: str) -> type:
    return type("Meta", (), {"table_name": f"{table_prefix()}{name}", "region": region(),
                             "billing_mode": "PAY_PER_REQUEST"})


class PlanCheckIndex(GlobalSecondaryIndex):
    """Sparse: only live plans carry check_shard; ordered by the next instalment's due date,
    so the hourly check reads only the plans that may have missed one."""

    Meta = type("Meta", (), {"index_name": "plan_check", "projection": KeysOnlyProjection(),
                             "billing_mode": "PAY_PER_REQUEST"})
    check_shard = UnicodeAttribute(hash_key=True)
    check_sort = UnicodeAttribute(range_key=True)


class PlanModel(Model):
    """A payment plan of a debtor: the instalment schedule and what has been paid."""

    Meta = _meta("plans")
    debtor_key = UnicodeAttribute(hash_key=True)  # agency#client#debtor
    plan_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()  # pending_approval | active | broken | completed | cancelled | declined
    currency = UnicodeAttribute()
    total_minor = NumberAttribute()
    paid_minor = NumberAttribute(default=0)
    interval = UnicodeAttribute()
    schedule = JSONAttribute(default=list)  # [{number, due_date, amount_minor}]
    invoice_ids = JSONAttribute(default=list)
    source = UnicodeAttribute()  # debtor | specialist
    actor = UnicodeAttribute()
    grace_days = NumberAttribute(default=0)
    broken_instalment = NumberAttribute(null=True)
    check_shard = UnicodeAttribute(null=True)
    check_sort = UnicodeAttribute(null=True)
    plan_check = PlanCheckIndex()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
