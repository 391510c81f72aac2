"""Indexes for the embedded moto DynamoDB (local stack and tests only; never deployed).

moto 5 answers every Query by walking and sorting *every item of the table*: a base-table
Query keeps the items whose hash key matches, a GSI Query the items whose index key
matches, and each page of the answer walks the table again. DynamoDB reads one
partition. So on the local stack every read grew with everything stored (at a 20,000-
invoice book a GSI page took seconds and a client import's reads minutes), which is not
what the product costs in AWS.

`install()` hands moto's own `Table.query` the candidates it would have kept anyway:

- a base-table Query gets the items of its partition (`table.items[hash]`);
- a GSI Query (one hash attribute) gets the items whose index hash attribute equals the
  queried value, from a bucket map built on the index's first Query (one walk) and kept
  current by every write moto makes: `Table.put_item`, `Table.delete_item` (PutItem,
  DeleteItem, BatchWriteItem, transactions and their undo all end there) and
  `DynamoDBBackend.update_item` (UpdateItem changes the stored item in place).

Everything after the candidate list is moto's code: key conditions, the index's sparse
rule, sort order, paging, limits, filters and projections. The candidates are sorted as
moto's `all_items` sorts the table, so answers are identical item for item and page for
page (tests/unit/test_moto_index.py runs the same queries with and without the index).
Anything else (Scan, a local secondary index, a multi-attribute GSI key) is moto's walk.
A page's results are not deep-copied (they are only read afterwards).
moto's sort of the candidates and its skip to a page's start key compare DynamoTypes that
recompute their value at every comparison; `sorted_items` and `_item_comes_before_dct`
here compute each key once (same order: DynamoType compares by that value).
A long read's pages: once a read's answer is known in moto's order (kept until the next
write), each page hands moto only the stretch it reaches: from just after the start key
(found by halving with moto's own comparison) to the item that ends the page by count or by
the 1 MB rule, so a 20,000-item read costs its pages, not pages x the book. Each stored item
is measured once (`Item.size`), until an update changes it in place.
"""
from __future__ import annotations

import threading
from typing import Any

ENABLED = True  # the comparison test turns it off to ask moto's own walk
_installed = False
_lock = threading.RLock()
_local = threading.local()
# what the index's UpdateItem wraps: moto's, or the counter fast path put beneath it
# (`under_index`), whichever was installed first
_inner_update: list = [None]


def under_index(update: Any) -> Any | None:
    """Put `update` beneath the installed index's UpdateItem; the update it replaces
    (None when the index is not installed)."""
    if _inner_update[0] is None:
        return None
    before, _inner_update[0] = _inner_update[0], update
    return before


def _sort_key(x: Any) -> Any:
    # moto's Table.all_items order ((hash, range) DynamoTypes, which compare by cast_value;
    # a table's key types are fixed), each value computed once
    return (x.hash_key.cast_value, x.range_key.cast_value) if x.range_key else (
        x.hash_key.cast_value)


def _pk(item: Any) -> tuple:
    return (item.hash_key, item.range_key)


class _Buckets:
    """One GSI: index hash value -> {primary key: item}, and each item's current bucket."""

    def __init__(self, attr: str, table: Any) -> None:
        self.attr = attr
        self.buckets: dict[Any, dict[tuple, Any]] = {}
        self.where: dict[tuple, Any] = {}
        for item in _walk(table):
            self.add(item)

    def add(self, item: Any) -> None:
        self.drop(_pk(item))
        value = item.attrs.get(self.attr)
        if value is None:
            return  # not in the (sparse) index
        self.buckets.setdefault(value, {})[_pk(item)] = item
        self.where[_pk(item)] = value

    def drop(self, pk: tuple) -> None:
        value = self.where.pop(pk, None)
        if value is not None:
            bucket = self.buckets.get(value)
            if bucket is not None:
                bucket.pop(pk, None)
                if not bucket:
                    del self.buckets[value]


def snapshot(item: Any) -> Any:
    """The item as it stands, its attribute map copied but not the values in it: enough
    wherever the item's values are only replaced afterwards, never changed in place (a
    query page read after the lock is released, a transaction's undo of a Put or a counter
    ADD). Anything but a plain Item is deep-copied."""
    import copy

    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    if type(item) is not Item:
        return copy.deepcopy(item)
    out = Item.__new__(Item)
    out.hash_key, out.range_key = item.hash_key, item.range_key
    out.attrs = LimitedSizeDict()
    dict.update(out.attrs, item.attrs)
    return out


def _walk(table: Any) -> list:
    out = []
    for hash_set in list(table.items.values()):
        out.extend(hash_set.values() if table.range_key_attr else [hash_set])
    return out


def _indexes(table: Any) -> dict[str, _Buckets]:
    got = table.__dict__.get("_recoup_gsi")
    if got is None:
        got = table.__dict__["_recoup_gsi"] = {}
    return got


def _gsi_hash_attr(table: Any, index_name: str) -> str | None:
    for index in table.global_indexes or []:
        if index.name == index_name:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            return hashes[0] if len(hashes) == 1 else None
    return None  # a local secondary index, or unknown: moto reports it


def _candidates(table: Any, hash_key: Any, index_name: str | None,
                conditions: list | None) -> list | None:
    if index_name is None:
        if hash_key is None:
            return None
        part = table.items.get(hash_key)  # .get: items is a defaultdict
        if part is None:
            return []
        return list(part.values()) if table.range_key_attr else [part]
    attr = _gsi_hash_attr(table, index_name)
    if attr is None or not conditions or len(conditions) != 1 or conditions[0][0] != attr:
        return None
    indexes = _indexes(table)
    if index_name not in indexes:
        indexes[index_name] = _Buckets(attr, table)
    return list(indexes[index_name].buckets.get(conditions[0][1], {}).values())


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    real_query, real_all_items = Table.query, Table.all_items
    real_put, real_delete = Table.put_item, Table.delete_item
    _inner_update[0] = DynamoDBBackend.update_item

    def all_items(self: Any) -> list:
        if getattr(_local, "table", None) is self:
            _local.table = None  # once: the query's candidate walk
            return _local.items
        return real_all_items(self)

    def presorted(table: Any, index_name: str | None, bound: dict,
                  found: list) -> tuple[list, list]:
        """The candidates in moto's `all_items` order, and the cache entry of the query
        ([sorted candidates, moto's input to sorted_items, its output, the key attributes
        moto sorted by]): kept until the table's next write (`written` drops it), so the
        pages of one long read sort once, not once a page (each page is a new Query that
        sorts everything again). A partition's answer is already in moto's order (it sorts
        by the range key)."""
        cache = table.__dict__.setdefault("_recoup_sorted", {})
        if index_name is None:
            key = (None, bound["hash_key"])
            if key not in cache:
                ordered = sorted(found, key=_sort_key)
                cache[key] = [ordered, None, ordered,
                              ([table.hash_key_attr], [table.range_key_attr])]
        else:
            key = (index_name, bound["hash_key_conditions"][0][1])
            if key not in cache:
                cache[key] = [sorted(found, key=_sort_key), None, None, None]
        return cache[key][0], cache[key]

    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    def window(table: Any, bound: dict, entry: list) -> list | None:
        """The part of the answer moto's page walk reaches, in its order: from just after the
        start key (found by halving, with moto's own comparison) to the item that ends the
        page (by count or by moto's 1 MB rule), inclusive, so moto stops on it exactly
        where it would have. None (moto walks everything) for a read whose answer is not
        known yet in moto's order, or one that skips items by a range condition or a
        filter, or reads backwards."""
        if entry[2] is None or entry[3] is None or bound.get("range_comparison") or (
                bound.get("filter_kwargs") or bound.get("scan_index_forward") is False):
            return None
        order, (hash_attrs, range_attrs) = entry[2], entry[3]
        start, lo, hi = bound.get("exclusive_start_key"), 0, len(order)
        if start:
            while lo < hi:
                mid = (lo + hi) // 2
                if table._item_comes_before_dct(order[mid], start, hash_attrs, range_attrs,
                                                True):
                    lo = mid + 1
                else:
                    hi = mid
        limit, count, size = bound.get("limit"), 0, 0
        for end in range(lo, len(order)):
            item_size = order[end].size()
            if count == limit or size + item_size > RESULT_SIZE_LIMIT:
                return order[lo:end + 1]
            count, size = count + 1, size + item_size
        return order[lo:]

    import copy as real_copy
    import inspect

    from moto.dynamodb.models import table as table_module

    signature = inspect.signature(real_query)

    from moto.dynamodb.models.dynamo_type import Item

    class _ResultsNotCopied:
        """moto's `copy` inside Table.query: the page's results are only read afterwards
        (projections build new items, the response converts attributes to new dicts), so
        each item's attribute map is copied, not every attribute value; elsewhere, copy's
        own."""

        def deepcopy(self, value: Any, memo: Any = None) -> Any:
            if getattr(_local, "shallow", False) and isinstance(value, list):
                return [snapshot(v) for v in value]
            return real_copy.deepcopy(value, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(real_copy, name)

    table_module.copy = _ResultsNotCopied()

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            found = None
            if ENABLED:
                bound = signature.bind(self, hash_key, *args, **kwargs).arguments
                found = _candidates(self, hash_key, bound.get("index_name"),
                                    bound.get("hash_key_conditions"))
            _local.shallow = ENABLED
            try:
                if found is None:
                    return real_query(self, hash_key, *args, **kwargs)
                _local.table = self
                _local.items, _local.entry = presorted(self, bound.get("index_name"), bound,
                                                       found)
                part = window(self, bound, _local.entry)
                if part is not None:
                    _local.items, _local.entry, _local.window = part, None, True
                return real_query(self, hash_key, *args, **kwargs)
            finally:
                _local.table, _local.items, _local.shallow = None, None, False
                _local.entry, _local.window = None, False

    def reindex(table: Any, item: Any | None, pk: tuple) -> None:
        written(table)
        for buckets in _indexes(table).values():
            if item is None:
                buckets.drop(pk)
            else:
                buckets.add(item)

    def written(table: Any) -> None:
        # a write: the sorted GSI answers kept for the pages of a long read are stale
        table.__dict__.pop("_recoup_sorted", None)

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            item = real_put(self, *args, **kwargs)
            reindex(self, item, _pk(item))
            return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        with _lock:
            item = real_delete(self, hash_key, range_key)
            if item is not None:
                reindex(self, None, _pk(item))
            return item

    def update_item(self: Any, table_name: str, key: dict, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            try:
                return _inner_update[0](self, table_name, key, *args, **kwargs)
            finally:  # the item changed in place (or a failure left it part-changed)
                table = self.get_table(table_name)
                hash_value, range_value = self.get_keys_value(table, key)
                current = table.get_item(hash_value, range_value) if (
                    hash_value in table.items) else None
                if current is not None:  # measured again when next read, unless the
                    # update measured it as it now stands (a counter ADD)
                    after = current.__dict__.pop("_recoup_size_after", None)
                    if after is None:
                        current.__dict__.pop("_recoup_size", None)
                    else:
                        current.__dict__["_recoup_size"] = after
                reindex(table, current, (hash_value, range_value))

    def sorted_items(self: Any, hash_key_attrs: list, range_key_attrs: list, items: list) -> list:
        # moto's order (DynamoType compares by cast_value), each key computed once, not
        # at every comparison of the sort
        if getattr(_local, "window", False):
            return items  # a slice of this read's answer, already in this order
        entry = getattr(_local, "entry", None)
        if entry is not None and entry[1] is not None and len(entry[1]) == len(items) and all(
                a is b for a, b in zip(entry[1], items)):
            return list(entry[2])  # this read's earlier page sorted these very items
        original = list(items)
        attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        items.sort(key=lambda x: tuple(x.attrs[k].cast_value for k in attrs))
        if entry is not None:
            entry[1], entry[2] = original, list(items)
            entry[3] = (list(hash_key_attrs), list(range_key_attrs))
        return items

    from moto.dynamodb.models.dynamo_type import DynamoType

    def comes_before(self: Any, item: Any, dct: dict, hash_key_attrs: list,
                     range_key_attrs: list, scan_index_forward: bool) -> bool:
        # moto's _item_comes_before_dct with the start key's values typed once per page
        cache = getattr(_local, "start", None)
        if cache is None or cache[0] is not dct:
            attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
            cache = (dct, [(a, DynamoType(dct.get(a)).cast_value if dct.get(a) is not None
                            else None, DynamoType(dct.get(a)) if dct.get(a) is not None
                            else None) for a in attrs])
            _local.start = cache
        for attr, value, typed in cache[1]:
            if attr in item.attrs:
                mine = item.attrs[attr]
                if typed is None:
                    return real_comes_before(self, item, dct, hash_key_attrs,
                                             range_key_attrs, scan_index_forward)
                if mine != typed:
                    return (mine.cast_value < value) == scan_index_forward
        return True

    real_size = Item.size

    def size(self: Any) -> int:
        # moto measures each item of a page twice (and the window once), at every read:
        # measured once and kept on the stored item until an update changes it in place
        # (`update_item` drops it; a put or a delete replaces the item)
        if type(self) is not Item:
            return real_size(self)
        got = self.__dict__.get("_recoup_size")
        if got is None:
            got = self.__dict__["_recoup_size"] = real_size(self)
        return got

    Item.size = size
    real_comes_before = Table._item_comes_before_dct
    Table._item_comes_before_dct = comes_before
    Table.sorted_items = sorted_items
    Table.all_items = all_items
    Table.query = query
    Table.put_item = put_item
    Table.delete_item = delete_item
    DynamoDBBackend.update_item = update_item
    _installed = True
