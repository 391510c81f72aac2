"""Each client's report aggregate in DynamoDB: counter items added to atomically, applied once.

The aggregate is a set of small counter items under the client's key (``agg#m#…`` by kind and
month, ``agg#d#<debtor>`` by debtor; see figures.counter_parts) plus ``agg#head``. A batch
(an import part, an invoice edit, a payment, a touch) has a deterministic id. Applying it:

1. stop if the batch's marker (``batch#<id>``) exists;
2. read the touched invoices' contributions (what each invoice counts for now);
3. for each changed invoice, the delta before → after as counter additions; write, in one
   transaction per up to 100 items, the new contributions (each conditional on the
   contribution's ``rev`` being the one read) and the counters (``ADD``, never a rewrite);
   a cancelled transaction is re-read and re-applied (step 2 finds what got in);
4. put the batch's marker. A batch without invoices (a touch, a promise) writes its
   counters and its marker (conditional: not there yet) in one transaction.

So each invoice's delta lands exactly once with its contribution (a replay finds the
contribution already equal to the new state: no delta), a marker-only batch lands once, no
event rewrites data proportional to the book (DynamoDB bills a write by the item's size), and
concurrent batches never conflict on a whole-aggregate version. Reading the aggregate is one
query over ``agg#`` (the month items and one small item per debtor).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.reporting import kpis
from chalicelib.reporting.figures import (counter_parts, dumps, fact_from_state, from_counters,
                                          loads, merge)
from chalicelib.reporting.models import ContributionModel, ReportModel
from chalicelib.store.keys import client_key

NO_CHANGE = object()
Change = Callable[[dict | None], Any]  # old entry -> new entry | None | NO_CHANGE
TX_ITEMS = 100  # DynamoDB's limit of items in one transaction
ATTEMPTS = 12
SCHEMA = 2
_KEYS = ("client_key", "part")


@dataclass
class Loaded:
    agg: kpis.ClientAggregate
    head: dict  # {"activity": {month: {name: count | {key: count}}}}
    items: dict[str, int] = field(default_factory=dict)  # stored parts ("head", "d#…") -> bytes
    first: bool = False  # the batch that loaded this created the aggregate


def _table(model: type = ReportModel) -> str:
    return model.Meta.table_name


def _conn():
    return events.connection()


def _query(ckey: str, prefix: str, consistent: bool) -> list[dict]:
    kwargs: dict[str, Any] = {
        "TableName": _table(), "ConsistentRead": consistent,
        "KeyConditionExpression": "#k = :k AND begins_with(#p, :p)",
        "ExpressionAttributeNames": {"#k": "client_key", "#p": "part"},
        "ExpressionAttributeValues": {":k": {"S": ckey}, ":p": {"S": prefix}}}
    items: list[dict] = []
    while True:
        out = _conn().dispatch("Query", dict(kwargs))
        items += out.get("Items", [])
        if not out.get("LastEvaluatedKey"):
            return items
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def _raw_size(item: dict) -> int:
    """Bytes as DynamoDB sizes an item of strings and numbers (names + values)."""
    n = 0
    for name, value in item.items():
        n += len(name.encode())
        if "S" in value:
            n += len(value["S"].encode())
        elif "N" in value:
            n += len(value["N"].lstrip("-")) // 2 + 2
        else:
            n += len(dumps(value))
    return n


def load(agency_id: str, client_id: str, currency: str, *, consistent: bool = False) -> Loaded:
    ckey = client_key(agency_id, client_id)
    raw = _query(ckey, "agg#", consistent)
    if any("body" in it for it in raw):  # stored as JSON parts before the counters
        raw = _migrate(ckey, raw, currency)
    counters: dict[str, dict[str, int]] = {}
    sizes: dict[str, int] = {}
    for it in raw:
        part = it["part"]["S"][4:]
        sizes[part] = _raw_size(it)
        if part != "head":
            counters[part] = {k: int(v["N"]) for k, v in it.items()
                              if k not in _KEYS and "N" in v}
    if "head" not in sizes:
        return Loaded(kpis.ClientAggregate(currency), {"activity": {}}, {})
    agg, activity = from_counters(currency, counters)
    return Loaded(agg, {"activity": activity}, sizes)


def _migrate(ckey: str, raw: list[dict], currency: str) -> list[dict]:
    """Move a client stored as JSON parts (head + open#…) to counter items: absolute puts
    (a crashed move re-puts the same values), then the old parts go, the head last."""
    legacy = {it["part"]["S"][4:]: loads(it["body"]["S"]) for it in raw if "body" in it}
    if "head" in legacy:
        agg, head = merge(legacy)
        for part, attrs in counter_parts(agg, head.get("activity")).items():
            _conn().dispatch("PutItem", {"TableName": _table(), "Item": {
                "client_key": {"S": ckey}, "part": {"S": "agg#" + part},
                **{k: {"N": str(v)} for k, v in attrs.items()}}})
    for part in legacy:
        if part != "head":
            _conn().dispatch("DeleteItem", {"TableName": _table(), "Key": {
                "client_key": {"S": ckey}, "part": {"S": "agg#" + part}}})
    _conn().dispatch("PutItem", {"TableName": _table(), "Item": _head_item(ckey, currency)})
    return _query(ckey, "agg#", True)


def _head_item(ckey: str, currency: str) -> dict:
    return {"client_key": {"S": ckey}, "part": {"S": "agg#head"},
            "currency": {"S": currency.upper()}, "schema": {"N": str(SCHEMA)}}


def fact_of(entry: dict | None, currency: str) -> kpis.InvoiceFact | None:
    """The KPI fact of a contribution; other currencies and missing ones count nowhere."""
    if not entry or entry["state"].get("currency", "").upper() != currency.upper():
        return None
    return fact_from_state(entry["state"], entry.get("payments") or [])


def _delta(agg: kpis.ClientAggregate, old: kpis.InvoiceFact | None,
           new: kpis.InvoiceFact | None) -> None:
    if old is None and new is None:
        return
    if old is None:
        agg.apply(kpis.InvoiceCreated(new))
    elif new is None:
        agg.apply(kpis.InvoiceChanged(old, replace(old, status="void")))
    else:
        agg.apply(kpis.InvoiceChanged(old, new))


Mutate = Callable[[Loaded, dict[str, dict | None], dict[str, dict | None]], None]


def apply_batch(agency_id: str, client_id: str, currency: str, batch_id: str,
                changes: dict[str, Change], *, now: datetime, mutate: Mutate | None = None,
                after: Callable[[Loaded], None] | None = None) -> bool:
    """Apply one batch exactly once; False if it had already been applied.

    ``mutate(delta, olds, news)`` adds to ``delta`` (an empty aggregate and activity) what
    the batch changes beyond the invoices' own figures: called once per changed invoice
    with that invoice's before and after, or once with no invoices for a batch without any.
    """
    ckey = client_key(agency_id, client_id)
    marker = "batch#" + batch_id
    head, seen = _head_and_marker(ckey, marker)
    if seen:
        return False
    if head is not None and "body" in head:
        load(agency_id, client_id, currency, consistent=True)  # moves it to counters
    first = [head is None]
    if changes:
        _apply_changes(ckey, currency, batch_id, changes, mutate, first)
        _conn().dispatch("PutItem", {"TableName": _table(), "Item": _marker_item(
            ckey, marker, now)})
    elif not _apply_counters_once(ckey, currency, marker, mutate, first, now):
        return False
    if after is not None:
        state = load(agency_id, client_id, currency, consistent=True)
        state.first = head is None
        after(state)
    return True


def _marker_item(ckey: str, marker: str, now: datetime) -> dict:
    return {"client_key": {"S": ckey}, "part": {"S": marker}, "at": {"S": iso(now)}}


def _head_and_marker(ckey: str, marker: str) -> tuple[dict | None, bool]:
    keys = [{"client_key": {"S": ckey}, "part": {"S": p}} for p in ("agg#head", marker)]
    out = _conn().dispatch("BatchGetItem", {"RequestItems": {_table(): {
        "Keys": keys, "ConsistentRead": True}}})
    found = {it["part"]["S"]: it for it in out.get("Responses", {}).get(_table(), [])}
    return found.get("agg#head"), marker in found


def _update(ckey: str, part: str, attrs: dict[str, int]) -> dict:
    names = {f"#a{i}": name for i, name in enumerate(attrs)}
    values = {f":v{i}": {"N": str(v)} for i, v in enumerate(attrs.values())}
    return {"Update": {
        "TableName": _table(), "Key": {"client_key": {"S": ckey}, "part": {"S": "agg#" + part}},
        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(attrs))),
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}


def _put_new(table: str, item: dict, key: str) -> dict:
    return {"Put": {"TableName": table, "Item": item,
                    "ConditionExpression": "attribute_not_exists(#k)",
                    "ExpressionAttributeNames": {"#k": key}}}


def _transact(items: list[dict]) -> list[str | None] | None:
    """None when the transaction went through, else each item's cancellation reason."""
    try:
        _conn().dispatch("TransactWriteItems", {"TransactItems": items})
        return None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "TransactionConflictException":
            return [None] * len(items)
        if code != "TransactionCanceledException":
            raise
        reasons = [getattr(r, "code", None) for r in getattr(exc, "cancellation_reasons", [])]
        return reasons or [None] * len(items)


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.05 * 2 ** attempt, 1.0)))


def _apply_counters_once(ckey: str, currency: str, marker: str, mutate: Mutate | None,
                         first: list[bool], now: datetime) -> bool:
    delta = Loaded(kpis.ClientAggregate(currency), {"activity": {}})
    if mutate is not None:
        mutate(delta, {}, {})
    ops = counter_parts(delta.agg, delta.head["activity"])
    for attempt in range(ATTEMPTS):
        items = [_put_new(_table(), _marker_item(ckey, marker, now), "part")]
        if first[0]:
            items.append(_put_new(_table(), _head_item(ckey, currency), "part"))
        items += [_update(ckey, part, attrs) for part, attrs in ops.items()]
        reasons = _transact(items)
        if reasons is None:
            return True
        if reasons[0] == "ConditionalCheckFailed":
            return False  # applied already
        if first[0] and len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            first[0] = False
        _backoff(attempt)
    raise RuntimeError(f"report aggregate of {ckey} kept changing; batch {marker} not applied")


def _contribution_put(ckey: str, inv_id: str, new: dict | None, batch_id: str,
                      stored: ContributionModel | None) -> dict:
    rev = int(getattr(stored, "rev", None) or 0) if stored is not None else 0
    version = int((new or {}).get("state", {}).get("version") or 0)
    item = {"client_key": {"S": ckey}, "invoice_id": {"S": inv_id}, "batch": {"S": batch_id},
            "invoice_version": {"N": str(version)}, "rev": {"N": str(rev + 1)}}
    if new:
        item["entry"] = {"S": dumps(new)}
    table = _table(ContributionModel)
    if stored is None:
        return _put_new(table, item, "invoice_id")
    if getattr(stored, "rev", None) is None:  # written before revs: its batch stamp
        return {"Put": {"TableName": table, "Item": item,
                        "ConditionExpression": "attribute_not_exists(#r) AND #b = :b",
                        "ExpressionAttributeNames": {"#r": "rev", "#b": "batch"},
                        "ExpressionAttributeValues": {":b": {"S": stored.batch}}}}
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "#r = :r",
                    "ExpressionAttributeNames": {"#r": "rev"},
                    "ExpressionAttributeValues": {":r": {"N": str(rev)}}}}


def _apply_changes(ckey: str, currency: str, batch_id: str, changes: dict[str, Change],
                   mutate: Mutate | None, first: list[bool]) -> None:
    todo = list(changes)
    for attempt in range(ATTEMPTS):
        stored = {m.invoice_id: m for m in ContributionModel.batch_get(
            [(ckey, inv_id) for inv_id in todo], consistent_read=True)}
        chunks: list[tuple[list[str], list[dict], dict[str, dict[str, int]]]] = []
        ids: list[str] = []
        puts: list[dict] = []
        ops: dict[str, dict[str, int]] = {}
        for inv_id in todo:
            m = stored.get(inv_id)
            old = loads(m.entry) if m is not None and m.entry else None
            new = changes[inv_id](old)
            if new is NO_CHANGE or new == old:
                continue
            delta = Loaded(kpis.ClientAggregate(currency), {"activity": {}})
            _delta(delta.agg, fact_of(old, currency), fact_of(new, currency))
            if mutate is not None:
                mutate(delta, {inv_id: old}, {inv_id: new})
            mine = counter_parts(delta.agg, delta.head["activity"])
            if ids and len(puts) + 2 + len(set(ops) | set(mine)) > TX_ITEMS:  # + the head
                chunks.append((ids, puts, ops))
                ids, puts, ops = [], [], {}
            ids.append(inv_id)
            puts.append(_contribution_put(ckey, inv_id, new, batch_id, m))
            for part, attrs in mine.items():
                row = ops.setdefault(part, {})
                for attr, value in attrs.items():
                    row[attr] = row.get(attr, 0) + value
        if ids:
            chunks.append((ids, puts, ops))
        failed: list[str] = []
        for ids, puts, ops in chunks:
            items = []
            if first[0]:
                items.append(_put_new(_table(), _head_item(ckey, currency), "part"))
            items += puts + [_update(ckey, part, attrs) for part, attrs in ops.items() if attrs]
            reasons = _transact(items)
            if reasons is None:
                first[0] = False
                continue
            if first[0] and reasons[0] == "ConditionalCheckFailed":
                first[0] = False  # another batch created the head meanwhile
            failed += ids
        if not failed:
            return
        todo = failed
        _backoff(attempt)
    raise RuntimeError(f"report aggregate of {ckey} kept changing; batch {batch_id} not applied")


def put_item(agency_id: str, client_id: str, part: str, body: Any, now: datetime, *,
             only_if_new: bool = False) -> bool:
    """Write a report item (snapshot, summary, baseline); False if only_if_new and it exists."""
    m = ReportModel(client_key(agency_id, client_id), part, body=dumps(body), updated_at=iso(now))
    if only_if_new:
        try:
            m.save(condition=ReportModel.part.does_not_exist(), add_version_condition=False)
        except PutError:
            return False
        return True
    m.save(add_version_condition=False)
    return True


def get_item(agency_id: str, client_id: str, part: str) -> Any | None:
    try:
        return loads(ReportModel.get(client_key(agency_id, client_id), part).body)
    except ReportModel.DoesNotExist:
        return None


def latest_snapshot(agency_id: str, client_id: str, on_or_before: str) -> Any | None:
    for m in ReportModel.query(client_key(agency_id, client_id),
                               ReportModel.part.between("snap#", f"snap#{on_or_before}"),
                               scan_index_forward=False, limit=1):
        return loads(m.body)
    return None


def collected_by_day(agency_id: str, client_id: str, first: date, last: date) -> dict[str, int]:
    """Money collected per day (every source, the client's currency) between two days, from
    the month counter items (``agg#m#coll#YYYY-MM``) only: one Query for a few small items."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "#k = :k AND #p BETWEEN :a AND :b",
        "ExpressionAttributeNames": {"#k": "client_key", "#p": "part"},
        "ExpressionAttributeValues": {":k": {"S": client_key(agency_id, client_id)},
                                      ":a": {"S": f"agg#m#coll#{first.isoformat()[:7]}"},
                                      ":b": {"S": f"agg#m#coll#{last.isoformat()[:7]}"}}}
    out: dict[str, int] = {}
    s, e = first.isoformat(), last.isoformat()
    while True:
        page = _conn().dispatch("Query", dict(kwargs))
        for it in page.get("Items", []):
            for name, value in it.items():
                day = name.split("#", 1)[0]
                if name not in _KEYS and "N" in value and s <= day <= e:
                    out[day] = out.get(day, 0) + int(value["N"])
        if not page.get("LastEvaluatedKey"):
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


REGISTRY = "_clients_with_reports"  # ReportModel partition: one item per agency#client


def register(agency_id: str, client_id: str, now: datetime) -> None:
    """Remember that a client has a report, so the monthly job finds it without a Scan."""
    try:
        ReportModel(REGISTRY, f"{agency_id}#{client_id}", body="{}", updated_at=iso(now)).save(
            condition=ReportModel.part.does_not_exist(), add_version_condition=False)
    except PutError:
        pass
