"""Durable domain events: a capability announces what happened (a payment applied, an
invoice changed, a debtor acted on the hosted page) and others react, without the
announcer importing them.

How an event travels:
1. The publisher builds a typed event (kernel/event_types.py) and stores it in the outbox
   table *with the change that caused it*: `stage()` gives the outbox item to put in the
   change's own TransactWrite (payments do this); `publish()` writes it right after a
   single-item change.
2. Delivery is at least once. In AWS the outbox table's DynamoDB stream invokes
   `deliver_stream_batch` (kernel/jobs.py), which reports partial batch failures; a record
   that keeps failing goes, after the mapping's retries, to the events DLQ (alarmed). On
   the local stack and in tests the publisher delivers inline right after its commit, and
   the local pump (`drain`) delivers anything a crash left pending.
3. Each consumer's effect happens once per event: before a handler runs, a claim
   `{event_id}#{consumer}` is taken in the claims table (kernel/claims.py); a handler that
   raises releases its claim, so the retry runs it again; a handler that finished is
   never run again for that event, however often the event is delivered.

Handlers take the event's fields as keyword arguments (the JSON form stored in the outbox,
so inline and stream deliveries see the same values)."""
from __future__ import annotations

import dataclasses
import logging
import threading
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.kernel import claims
from chalicelib.kernel.clock import iso
from chalicelib.kernel.event_types import CATALOGUE, build
from chalicelib.kernel.naming import is_local_stage
from chalicelib.store.keys import new_id
from chalicelib.store.models import OutboxModel

log = logging.getLogger("recoup.events")
Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
SHARDS = 4
MAX_ATTEMPTS = 5  # local pump: after this many failed deliveries an event is `failed`
CLAIM_LEASE = timedelta(minutes=5)  # a consumer that died mid-way may run again after this
KEEP_DELIVERED = timedelta(days=14)  # outbox items expire (TTL) this long after delivery


class DeliveryFailed(RuntimeError):
    """Some consumer raised; the event stays pending and is delivered again."""


def subscribe(event: str, handler: Handler) -> None:
    if event not in CATALOGUE:
        raise ValueError(f"cannot subscribe to unknown event {event!r}")
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def consumer_name(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def _jsonable(value: Any) -> Any:
    """A fresh copy of a payload in JSON's types (instants as ISO text)."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return value


def stage(name: str, *, event_id: str | None = None, **payload: Any) -> OutboxModel:
    """The outbox item for an event (not yet written): put it in the change's transaction
    with `tx.save(item, condition=OutboxModel.event_id.does_not_exist())`, then call
    `after_commit([item])`."""
    if "at" not in payload or payload["at"] is None:
        raise ValueError(f"event {name}: `at` is required (pass the time in)")
    payload = _jsonable(payload)
    event = build(name, payload)
    # the payload is already a fresh copy in JSON's types: the event's fields as they are
    # (dataclasses.asdict would copy every change of an import part again)
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    eid = event_id or f"{event.agency_id}#ev#{new_id('e')}"
    shard = f"ob#{zlib.crc32(eid.encode()) % SHARDS}"
    return OutboxModel(eid, name=name, payload=fields, at=event.at, status="pending",
                       attempts=0, pending_shard=shard, pending_sort=f"{event.at}#{eid}",
                       created_at=event.at)


def publish(name: str, *, event_id: str | None = None, **payload: Any) -> OutboxModel:
    """Store the event (after a single-item change the caller has committed) and, on the
    local stack and in tests, deliver it at once."""
    return store(stage(name, event_id=event_id, **payload))


def store(item: OutboxModel) -> OutboxModel:
    """Write a staged event on its own (after the caller's single-item change) and deliver
    it as publish does; a retried publisher with the same event id stores nothing new."""
    try:
        item.save(condition=OutboxModel.event_id.does_not_exist())
    except Exception as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return item
    after_commit([item])
    return item


_connections: dict[tuple, Any] = {}


def connection() -> Any:
    """A PynamoDB connection for transactions, kept per region/endpoint/credentials: making
    one builds a botocore client (~0.2 s of service-model loading), once per process."""
    import os

    from pynamodb.connection import Connection

    from chalicelib.kernel.settings import region

    key = (region(), os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_ACCESS_KEY_ID"),
           os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"))
    conn = _connections.get(key)
    if conn is None:
        conn = _connections[key] = Connection(region=key[0])
    return conn


def commit(saves: Iterable[tuple[Any, Any]], announced: Iterable[OutboxModel]) -> None:
    """One DynamoDB transaction: each (item, condition) saved and each event stored, or
    nothing; then the events are delivered (inline on the local stack, by the stream in
    AWS). Raises pynamodb's TransactWriteError if a condition fails."""
    from pynamodb.transactions import TransactWrite

    announced = list(announced)
    with TransactWrite(connection=connection()) as tx:
        for item, condition in saves:
            tx.save(item, condition=condition)
        for event in announced:
            tx.save(event, condition=OutboxModel.event_id.does_not_exist())
    after_commit(announced)


def after_commit(items: Iterable[OutboxModel]) -> None:
    """Deliver freshly committed events inline on the local stack and in tests; in AWS the
    outbox stream does it. A failing consumer never fails the publisher: the event stays
    pending for the next delivery."""
    if not is_local_stage():
        return
    for item in items:
        try:
            deliver(item, datetime.fromisoformat(item.at.replace("Z", "+00:00")))
        except DeliveryFailed as exc:
            log.warning("event %s %s left pending: %s", item.name, item.event_id, exc)


def deliver(item: OutboxModel, now: datetime) -> None:
    """Run every consumer of `item` that has not yet handled it; raise DeliveryFailed if
    any consumer raised (after running the others). `now` is the delivery instant (claim
    leases); inline delivery passes the event's own instant."""
    _load_subscribers()
    when = now
    failures = []
    for handler in list(_handlers[item.name]):
        key = f"{item.event_id}#{consumer_name(handler)}"
        won, claim = claims.take(key, when, lease=CLAIM_LEASE)
        if not won:
            continue  # this consumer handled (or is handling) this event already
        try:
            handler(**item.payload)
        except Exception as exc:  # noqa: BLE001 - any consumer fault: retry later
            log.exception("consumer %s failed on %s %s", consumer_name(handler), item.name,
                          item.event_id)
            claims.settle(claim, "failed", when, error=f"{type(exc).__name__}: {exc}"[:500])
            failures.append(f"{consumer_name(handler)}: {type(exc).__name__}: {exc}")
            continue
        claims.settle(claim, "done", when)
    if failures:
        _mark(item, failed="; ".join(failures)[:1000], now=when)
        raise DeliveryFailed("; ".join(failures))
    _mark(item, now=when)


def _mark(item: OutboxModel, now: datetime, failed: str | None = None) -> None:
    actions = [OutboxModel.attempts.add(1)]
    if failed is None:
        actions += [OutboxModel.status.set("delivered"), OutboxModel.pending_shard.remove(),
                    OutboxModel.pending_sort.remove(), OutboxModel.last_error.remove(),
                    OutboxModel.expires.set(now + KEEP_DELIVERED)]
    else:
        actions.append(OutboxModel.last_error.set(failed))
        if int(item.attempts or 0) + 1 >= MAX_ATTEMPTS:
            actions += [OutboxModel.status.set("failed"), OutboxModel.pending_shard.remove(),
                        OutboxModel.pending_sort.remove()]
    try:
        item.update(actions=actions)
    except Exception:  # noqa: BLE001 - the item is re-read and re-judged on the next pass
        log.warning("could not mark event %s", item.event_id, exc_info=True)


def pending(limit: int = 500) -> list[OutboxModel]:
    """Events not yet delivered to every consumer, oldest first (the local pump's work)."""
    out: list[OutboxModel] = []
    for shard in range(SHARDS):
        for key in OutboxModel.outbox_pending.query(f"ob#{shard}", limit=limit):
            out.append(key)
    out.sort(key=lambda k: k.pending_sort or "")
    return out[:limit]


def drain(now: datetime, limit: int = 500) -> dict[str, int]:
    """Deliver what is pending (after a crash between commit and delivery, or a consumer
    that failed): the local pump calls this; in AWS the stream does the same job."""
    done = failed = 0
    for key in pending(limit):
        try:
            item = OutboxModel.get(key.event_id, consistent_read=True)
        except OutboxModel.DoesNotExist:
            continue
        if item.status != "pending":
            continue
        try:
            deliver(item, now)
            done += 1
        except DeliveryFailed:
            failed += 1
    return {"delivered": done, "failed": failed}


def deliver_record(new_image: dict, now: datetime) -> None:
    """One outbox stream record (its NewImage, deserialised): deliver if still pending."""
    item = OutboxModel.from_raw_data(new_image)
    if item.status == "pending":
        deliver(item, now)


def subscriptions() -> dict[str, list[str]]:
    """Event name -> consumer names (for docs and the pairing test)."""
    _load_subscribers()
    return {name: [consumer_name(h) for h in hs] for name, hs in _handlers.items() if hs}


_loaded = False
_load_lock = threading.Lock()


def _load_subscribers() -> None:
    """Import the modules that subscribe (once), so publishers need not know them. Marked
    loaded only after the imports, under a lock: a second thread must not deliver to an
    empty handler list while the first is still importing."""
    global _loaded
    if _loaded:
        return
    import importlib

    with _load_lock:
        if not _loaded:
            for name in SUBSCRIBERS:
                importlib.import_module(name)
            _loaded = True


# Modules whose import registers handlers; each capability adds its own line.
SUBSCRIBERS: list[str] = [
    "chalicelib.dunning.thanks",  # payment_applied -> thank-you message
    "chalicelib.dunning.chasing",  # client_changed -> accounts re-planned
    "chalicelib.reporting.subscribers",  # money, touches, promises, escalations -> reports
    "chalicelib.workbench.subscribers",  # needs and debtor actions -> call tasks
    "chalicelib.behaviour.subscribers",  # payments, promises, imports -> behaviour segments
]
