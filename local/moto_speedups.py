"""Make the embedded moto DynamoDB keep up with a 20,000-invoice book (local stack only).

moto checks DynamoDB's 400 KB item limit by re-measuring the whole item each time it sets
one attribute while building it, so storing an item costs attributes² size walks; at an
import's thousands of items a second that was most of moto's time. `install()` builds the
item's attributes first and measures it once, with the same limit and the same error
(ItemSizeTooLarge); later single-attribute updates keep moto's own check.
"""
from __future__ import annotations

from typing import Any

_installed = False
LIMIT = 405_000  # moto's own figure (DynamoDB rejects between 409 and 410 KB)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = {key: dynamo_type.DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(k) + v.size() for k, v in built.items()) > LIMIT:
            raise ItemSizeTooLarge
        self.attrs = dynamo_type.LimitedSizeDict()
        dict.update(self.attrs, built)

    dynamo_type.Item.__init__ = item_init
    _installed = True
