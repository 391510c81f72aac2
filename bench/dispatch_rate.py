"""Dispatch rate on the local stack: reminders rendered, sent (moto SES) and recorded per
second by the consumer, from the queue the sweep filled; and the DynamoDB requests per
reminder, on the request path (the consumer's own work) and for the events it announces
(delivered inline here, by the outbox stream in another Lambda in AWS).
RECOUP_BENCH_BREAKDOWN=1 prints the requests per reminder by operation and table."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # a Wednesday, in office hours


def chased_book(accounts: int, now: datetime = NOW) -> dict:
    """An empty stack, one active client whose `accounts` debtors (two invoices each,
    overdue) are all due at `now`; swept, so the dispatch queue holds one message per
    account. Returns the sweep's counts."""
    os.environ.setdefault("RECOUP_STAGE", "bench")
    from chalicelib.http.auth import Principal
    from chalicelib.kernel.clock import utcnow
    from chalicelib.http.schemas import ClientIn
    from chalicelib.agency import clients
    from chalicelib.book import importer
    from chalicelib.dunning import sweep
    from local.resources import verify_sender
    from local.stack import provision

    # moto answers queries by walking whole tables: start from an empty stack so the
    # figure measures our dispatch, not the books earlier benchmarks left behind.
    from urllib.request import Request, urlopen

    urlopen(Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset", method="POST"))  # noqa: S310
    provision()
    c = clients.create_client(Principal("bench-dispatch", "bench", "admin"), ClientIn(
        name="Bench Ltd", sender_email="ar@dispatch.example.com", settings={"chasing": "active"}, timezone="Europe/London"), now=utcnow())
    verify_sender("ar@dispatch.example.com")
    rows = ["debtor_ref,debtor_name,email,timezone,country,invoice_number,issue_date,due_date,"
            "currency,amount,amount_paid"]
    rows += [f"R{n},Debtor {n},ap{n}@debtor{n}.example.com,Europe/London,GB,INV-{n}-{k},"
             f"2026-10-01,2026-11-1{k},GBP,{100 + n}.50,0" for n in range(accounts)
             for k in range(2)]
    importer.import_book("bench-dispatch", c["id"], ("\n".join(rows) + "\n").encode(),
                         actor="bench", now=now)
    return sweep.sweep(now)


def drain_all(now: datetime = NOW) -> int:
    """Run the dispatch consumer until the queue is empty; returns reminders sent."""
    from local.workers import drain_once

    sent = 0
    while True:
        outcomes = drain_once(now=now)
        if not outcomes:
            return sent
        sent += outcomes.count("sent")


def run(full: bool = False) -> None:
    accounts = 1000 if full else int(os.environ.get("RECOUP_BENCH_DISPATCH", "200"))
    counts = chased_book(accounts)
    from contextlib import nullcontext

    from bench.meter import metered
    from bench.write_units import counted

    # write units only with the breakdown: counting them reads each item around its write,
    # which would slow the rate measured here (the meter inside never sees those reads)
    breakdown = os.environ.get("RECOUP_BENCH_BREAKDOWN") == "1"
    with (counted() if breakdown else nullcontext()) as wu, metered() as m:
        t0, cpu0, own0 = time.perf_counter(), time.process_time(), time.thread_time()
        sent = drain_all(NOW)
        elapsed = time.perf_counter() - t0
        cpu, own = time.process_time() - cpu0, time.thread_time() - own0
    print(f"dispatch_accounts_due: {counts['due']} accounts")
    print(f"dispatch_sent: {sent} reminders")
    print(f"dispatch_rate: {sent / elapsed:.1f} reminders/s")
    # CPU per reminder: this process's (the embedded moto server runs in its threads) and
    # this thread's alone (our code, botocore, PynamoDB); a shared machine moves the rate
    print(f"dispatch_cpu_ms_per_reminder: {1000 * cpu / sent:.1f} ms")
    print(f"dispatch_client_cpu_ms_per_reminder: {1000 * own / sent:.1f} ms")
    # everything, the events' consumers included (the local stack delivers them inline)
    print(f"dispatch_dynamodb_requests_per_reminder: {sum(m.requests.values()) / sent:.1f} "
          "requests")
    print(f"dispatch_requests_per_reminder: {m.request_path / sent:.1f} requests")
    print(f"dispatch_event_requests_per_reminder: {sum(m.events.values()) / sent:.1f} "
          "requests")
    print(f"dispatch_items_read_per_reminder: {m.items_read / sent:.1f} items")
    if breakdown:
        # as billed: a transaction's items count twice (the touch's record is one)
        print(f"dispatch_write_units_per_reminder: {wu.total / sent:.1f} WCU")
        print("# requests per reminder by operation and table")
        for line in m.breakdown(per=sent):
            print(line)
