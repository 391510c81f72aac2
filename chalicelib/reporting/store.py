"""Each client's report aggregate in DynamoDB: load it, apply a batch of changes exactly once.

A batch (an import, an invoice edit, a payment, a touch) has a deterministic id. Applying it:

1. load the aggregate parts (one query); stop if the head lists the batch as applied;
2. read the touched invoices' contributions; a contribution already stamped with this batch
   is a replay after a crash, so its ``prev`` is the true "before";
3. write the new contributions stamped with the batch (and their ``prev``);
4. apply before → after to the aggregate, add the batch id to the head's recent list and
   write the changed parts in one transaction under their versions (retry from 1 on a
   conflict: step 2 then finds its own stamps).

So a retried or duplicated delivery never counts twice, and a crash between 3 and 4 is
repaired by the retry. The head remembers the last RECENT batch ids.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.kernel.clock import iso
from chalicelib.reporting import kpis
from chalicelib.reporting.figures import dumps, fact_from_state, loads, merge, split_within_limit
from chalicelib.kernel import events
from chalicelib.store.keys import client_key
from chalicelib.reporting.models import ContributionModel, ReportModel

RECENT = 500
NO_CHANGE = object()
Change = Callable[[dict | None], Any]  # old entry -> new entry | None | NO_CHANGE


@dataclass
class Loaded:
    agg: kpis.ClientAggregate
    head: dict  # extra head fields: recent, activity, shards, ...
    items: dict[str, ReportModel]  # stored parts by name ("head", "open#2026-11#0")


def load(agency_id: str, client_id: str, currency: str, *, consistent: bool = False) -> Loaded:
    ckey = client_key(agency_id, client_id)
    items = {m.part[4:]: m for m in ReportModel.query(
        ckey, ReportModel.part.startswith("agg#"), consistent_read=consistent)}
    if "head" not in items:
        return Loaded(kpis.ClientAggregate(currency), {}, {})
    agg, head = merge({name: loads(m.body) for name, m in items.items()})
    return Loaded(agg, head, items)


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


def apply_batch(agency_id: str, client_id: str, currency: str, batch_id: str,
                changes: dict[str, Change], *, now: datetime,
                mutate: Callable[[Loaded, dict[str, dict | None], dict[str, dict | None]],
                                 None] | None = None,
                after: Callable[[Loaded], None] | None = None) -> bool:
    """Apply one batch exactly once; False if it had already been applied."""
    ckey = client_key(agency_id, client_id)
    for _attempt in range(8):
        state = load(agency_id, client_id, currency, consistent=True)
        if batch_id in state.head.get("recent", []):
            return False
        olds, news = _contributions(ckey, batch_id, changes)
        for inv_id in news:
            _delta(state.agg, fact_of(olds[inv_id], currency), fact_of(news[inv_id], currency))
        head = state.head
        head.setdefault("activity", {})
        if mutate is not None:
            mutate(state, olds, news)
        head["recent"] = (head.get("recent", []) + [batch_id])[-RECENT:]
        head["updated_at"] = iso(now)
        if _save(ckey, state, now):
            if after is not None:
                after(state)
            return True
    raise RuntimeError(f"report aggregate of {client_id} kept changing; batch {batch_id} not applied")


def _contributions(ckey: str, batch_id: str, changes: dict[str, Change]):
    stored = {m.invoice_id: m for m in ContributionModel.batch_get(
        [(ckey, inv_id) for inv_id in changes])} if changes else {}
    olds: dict[str, dict | None] = {}
    news: dict[str, dict | None] = {}
    writes = []
    for inv_id, change in changes.items():
        m = stored.get(inv_id)
        if m is not None and m.batch == batch_id:  # our own stamp: a replay
            old = loads(m.prev) if m.prev else None
        else:
            old = loads(m.entry) if m is not None and m.entry else None
        new = change(old)
        if new is NO_CHANGE:
            continue
        olds[inv_id], news[inv_id] = old, new
        if m is not None and m.batch == batch_id and (loads(m.entry) if m.entry else None) == new:
            continue
        version = int((new or {}).get("state", {}).get("version") or 0)
        writes.append(ContributionModel(ckey, inv_id, entry=dumps(new) if new else None,
                                        prev=dumps(old) if old else None, batch=batch_id,
                                        invoice_version=version))
    with ContributionModel.batch_write() as batch:
        for m in writes:
            batch.save(m)
    return olds, news


def _save(ckey: str, state: Loaded, now: datetime) -> bool:
    parts = split_within_limit(state.agg, state.head, state.head.get("shards"))
    stamp = iso(now)
    saves, deletes = [], []
    for name, body in parts.items():
        text = dumps(body)
        m = state.items.get(name)
        if m is None:
            saves.append(ReportModel(ckey, "agg#" + name, body=text, updated_at=stamp))
        elif m.body != text:
            m.body, m.updated_at = text, stamp
            saves.append(m)
    deletes = [m for name, m in state.items.items() if name not in parts]
    try:
        if len(saves) + len(deletes) <= 100:
            with TransactWrite(connection=events.connection()) as tx:
                for m in saves:
                    tx.save(m)
                for m in deletes:
                    tx.delete(m)
        else:  # weak point: more than 100 parts cannot move in one transaction
            head = next(m for m in saves if m.part == "agg#head")
            for m in [m for m in saves if m is not head]:
                m.save()
            for m in deletes:
                m.delete()
            head.save()
    except TransactWriteError as exc:
        code = getattr(exc, "cause_response_code", None) or ""
        if code in ("TransactionCanceledException", "ConditionalCheckFailedException",
                    "TransactionConflictException") or "ConditionalCheckFailed" in str(exc):
            return False  # another writer got there first: re-read and re-apply
        raise
    return True


def put_item(agency_id: str, client_id: str, part: str, body: Any, now: datetime, *,
             only_if_new: bool = False) -> bool:
    """Write a report item (snapshot, summary, baseline); False if only_if_new and it exists."""
    m = ReportModel(client_key(agency_id, client_id), part, body=dumps(body), updated_at=iso(now))
    if only_if_new:
        from pynamodb.exceptions import PutError

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


REGISTRY = "_clients_with_reports"  # ReportModel partition: one item per agency#client


def register(agency_id: str, client_id: str, now: datetime) -> None:
    """Remember that a client has a report, so the monthly job finds it without a Scan."""
    try:
        ReportModel(REGISTRY, f"{agency_id}#{client_id}", body="{}", updated_at=iso(now)).save(
            condition=ReportModel.part.does_not_exist(), add_version_condition=False)
    except PutError:
        pass
