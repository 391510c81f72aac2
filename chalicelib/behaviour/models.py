"""The behaviour table: what the behaviour capability learns per client (the prior its
predictions shrink toward), derived from the book and refitted when an import lands; and
the credit tables (each debtor's credit record, the credit alerts)."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models import _index_meta, _meta


class BehaviourModel(Model):
    Meta = _meta("behaviour")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    part = UnicodeAttribute(range_key=True)  # "prior"
    data = JSONAttribute(default=dict)
    invoices = NumberAttribute(default=0)  # settled invoices it was learnt from
    fitted_at = UnicodeAttribute()


class OpenAlertIndex(GlobalSecondaryIndex):
    """Sparse: a client's credit alerts that are not resolved yet, newest last."""

    Meta = _index_meta("open_alerts", AllProjection())
    open_key = UnicodeAttribute(hash_key=True)  # agency#client while open or acknowledged
    open_sort = UnicodeAttribute(range_key=True)  # raised_at#alert_id


class OnHoldIndex(GlobalSecondaryIndex):
    """Sparse: a client's debtors on credit hold."""

    Meta = _index_meta("on_hold", AllProjection())
    hold_key = UnicodeAttribute(hash_key=True)  # agency#client while on hold
    hold_sort = UnicodeAttribute(range_key=True)  # held_at#debtor_id


class CreditAccountModel(Model):
    """One per debtor with credit news (behaviour/credit.py): the specialist's override of
    limit and terms, what the last evaluation found, and any credit hold."""

    Meta = _meta("credit_accounts")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    debtor_id = UnicodeAttribute(range_key=True)
    override = JSONAttribute(null=True)   # {limit_minor, currency, terms_days}
    state = JSONAttribute(null=True)      # credit_rules.State.to_dict()
    hold = JSONAttribute(null=True)       # {status: on_hold | released, by, role, at, note}
    seq = NumberAttribute(default=0)      # alerts raised so far (the next alert's number)
    hold_key = UnicodeAttribute(null=True)
    hold_sort = UnicodeAttribute(null=True)
    on_hold = OnHoldIndex()
    evaluated_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = VersionAttribute()


class CreditAlertModel(Model):
    """A credit alert: raised once per cause (`{debtor}.{seq}`, the debtor's n-th alert,
    written in the same transaction as the evaluation that raised it)."""

    Meta = _meta("credit_alerts")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    alert_id = UnicodeAttribute(range_key=True)   # debtor_id.00001
    debtor_id = UnicodeAttribute()
    debtor_name = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()                     # over_limit | band_changed
    status = UnicodeAttribute(default="open")     # open | acknowledged | resolved
    message = UnicodeAttribute()
    recommendation = UnicodeAttribute()           # credit_hold | review_limit
    data = JSONAttribute(default=dict)
    raised_at = UnicodeAttribute()
    acknowledged_by = UnicodeAttribute(null=True)
    acknowledged_at = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    resolution = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    open_key = UnicodeAttribute(null=True)
    open_sort = UnicodeAttribute(null=True)
    open_alerts = OpenAlertIndex()
    version = VersionAttribute()
