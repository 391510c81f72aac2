"""The sweep: find the accounts whose next action is due (the sharded next-action index,
keys only, never the book) and put one dispatch message per account on the queue."""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime

from chalicelib.kernel import adapters as wiring
from chalicelib.kernel.clock import iso
from chalicelib.kernel.settings import get_settings, queue_name
from chalicelib.store.models import DebtorModel


def queue_url() -> str:
    url = os.environ.get("RECOUP_DISPATCH_QUEUE_URL") or get_settings().dispatch_queue_url
    if url:
        return url
    return wiring.aws("sqs").get_queue_url(QueueName=queue_name("dispatch"))["QueueUrl"]


def due_accounts(now: datetime, shards: int | None = None,
                 shard_done: Callable[[int, int], None] | None = None):
    """(client_key, debtor_id, na_sort) of every account due at `now`, shard by shard;
    `shard_done(done, total)` after each shard."""
    # na_sort is "<instant>#<client_key>#<debtor>": everything below "<now>$" is due.
    upper = iso(now) + "$"
    total = shards or get_settings().sweep_shards
    for s in range(total):
        for item in DebtorModel.next_action.query(f"na#{s:02d}", DebtorModel.na_sort < upper,
                                                  page_size=500):
            yield item.client_key, item.debtor_id, item.na_sort
        if shard_done is not None:
            shard_done(s + 1, total)


def sweep(now: datetime, shards: int | None = None,
          progress: Callable[[int, int, int], None] | None = None) -> dict:
    """Enqueue every due account once; the consumer re-reads and dedupes.
    `progress(shards_done, shards, due_so_far)` after each shard (the local CLI's bar)."""
    url = queue_url()
    batch: list[dict] = []
    counts = {"due": 0, "enqueued": 0, "failed": 0}

    def flush() -> None:
        if not batch:
            return
        entries = [{"Id": str(n), "MessageBody": json.dumps(body)} for n, body in enumerate(batch)]
        out = wiring.aws("sqs").send_message_batch(QueueUrl=url, Entries=entries)
        failed = out.get("Failed") or []
        counts["enqueued"] += len(entries) - len(failed)
        counts["failed"] += len(failed)  # still due: the next sweep enqueues them again
        batch.clear()

    def shard_done(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total, counts["due"])

    for client_key, debtor_id, na_sort in due_accounts(now, shards, shard_done):
        agency_id, client_id = client_key.split("#", 1)
        batch.append({"agency_id": agency_id, "client_id": client_id, "debtor_id": debtor_id,
                      "na_sort": na_sort})
        counts["due"] += 1
        if len(batch) == 10:
            flush()
    flush()
    return counts


def delete_messages(receipts: list[str]) -> None:
    sqs, url = wiring.aws("sqs"), queue_url()
    for start in range(0, len(receipts), 10):
        chunk = receipts[start:start + 10]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": r} for n, r in enumerate(chunk)])
