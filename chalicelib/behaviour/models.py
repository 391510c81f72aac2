"""The behaviour table: what the behaviour capability learns per client (the prior its
predictions shrink toward), derived from the book and refitted when an import lands."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.models import _meta


class BehaviourModel(Model):
    Meta = _meta("behaviour")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    part = UnicodeAttribute(range_key=True)  # "prior"
    data = JSONAttribute(default=dict)
    invoices = NumberAttribute(default=0)  # settled invoices it was learnt from
    fitted_at = UnicodeAttribute()
