"""Read items of several tables in one request (DynamoDB BatchGetItem): a use case that
needs a handful of known items (the client, the debtor, suppression markers) pays one
round trip instead of one per item."""
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pynamodb.models import Model

MAX_KEYS = 100  # DynamoDB's limit per BatchGetItem request
MAX_ROUNDS = 5  # unprocessed keys (throttling) are asked again, this many times at most


def _key_map(model: type[Model], hash_key: Any, range_key: Any = None) -> dict:
    hk = model._hash_key_attribute()
    out = {hk.attr_name: {hk.attr_type: hk.serialize(hash_key)}}
    rk = model._range_key_attribute()
    if rk is not None:
        out[rk.attr_name] = {rk.attr_type: rk.serialize(range_key)}
    return out


def _ident(model: type[Model], raw_key: dict) -> tuple:
    return (model.Meta.table_name, tuple(sorted((k, next(iter(v.values())))
                                                for k, v in raw_key.items())))


def get_raw(requests: Iterable[tuple[str, dict]], consistent: bool = False) -> list[tuple[str, dict]]:
    """(table, raw item) for each (table, raw key) that exists: one BatchGetItem per 100
    keys, keys DynamoDB leaves unprocessed (throttling) asked again with a backoff."""
    from chalicelib.kernel.events import connection

    pending = list(requests)
    found: list[tuple[str, dict]] = []
    while pending:
        chunk, pending = pending[:MAX_KEYS], pending[MAX_KEYS:]
        request: dict[str, dict] = {}
        for table, raw in chunk:
            request.setdefault(table, {"Keys": [], "ConsistentRead": consistent})
            request[table]["Keys"].append(raw)
        for attempt in range(MAX_ROUNDS):
            out = connection().dispatch("BatchGetItem", {"RequestItems": request})
            for table, items in (out.get("Responses") or {}).items():
                found += [(table, item) for item in items]
            request = out.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2 ** attempt)  # throttled: back off before asking again
        else:
            raise RuntimeError("BatchGetItem left keys unprocessed after retries")
    return found


def get_many(keys: Iterable[tuple[type[Model], Any, Any]], consistent: bool = False
             ) -> dict[tuple[type[Model], Any, Any], Model]:
    """{(model, hash_key, range_key): item} for the keys that exist (a missing item is
    simply absent). Keys may span tables; one request per 100 keys (plus a retry of any
    DynamoDB left unprocessed)."""
    wanted: dict[tuple, tuple] = {}
    models: dict[str, type[Model]] = {}
    for model, hk, rk in keys:
        raw = _key_map(model, hk, rk)
        wanted[_ident(model, raw)] = ((model, hk, rk), raw)
        models[model.Meta.table_name] = model
    found: dict[tuple, Model] = {}
    raw_keys = [(key[0].Meta.table_name, raw) for key, raw in wanted.values()]
    for table, raw_item in get_raw(raw_keys, consistent):
        model = models[table]
        key_names = [model._hash_key_attribute().attr_name]
        if model._range_key_attribute() is not None:
            key_names.append(model._range_key_attribute().attr_name)
        ident = _ident(model, {k: raw_item[k] for k in key_names})
        found[wanted[ident][0]] = model.from_raw_data(raw_item)
    return found
