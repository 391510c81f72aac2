"""Sweep cost: DynamoDB items read per due account, for the same 50 due accounts in a
small and a large book (default 2k and 20k invoices; --full: 10k and 100k); and a chasing
day (issue 12): one simulated day of sweep + dispatch with a client's imported book loaded
(RECOUP_BENCH_CHASING invoices, default 2000; --full 20000)."""
from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone

from bench.meter import metered

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
DUE = 50
PER_DEBTOR = 10


def _book(agency: str, invoices: int) -> list:
    """Write a client's book straight to the tables (batch writes, no import): every
    account has PER_DEBTOR invoices; DUE accounts are due now, the rest in the future."""
    from chalicelib.http.auth import Principal
    from chalicelib.kernel.clock import utcnow
    from chalicelib.kernel.clock import iso
    from chalicelib.http.schemas import ClientIn
    from chalicelib.agency import clients
    from chalicelib.dunning import scheduling
    from chalicelib.book.invoices import new_invoice
    from chalicelib.store.models import DebtorModel, InvoiceModel

    c = clients.create_client(Principal(agency, "bench", "admin"),
                              ClientIn(name="Bench Ltd", sender_email="ar@bench.example.com", settings={"chasing": "active"}), now=utcnow())
    ckey, stamp = f"{agency}#{c['id']}", iso(NOW)
    due_accounts = []
    with DebtorModel.batch_write() as dw, InvoiceModel.batch_write() as iw:
        for n in range(invoices // PER_DEBTOR):
            due_now = n < DUE
            d = DebtorModel(ckey, f"d{n:07d}", account_ref=f"A{n}", name=f"Debtor {n}",
                            currency="GBP", created_at=stamp, updated_at=stamp)
            scheduling.set_next_action(d, NOW - timedelta(hours=1) if due_now
                                       else NOW + timedelta(days=1 + n % 60))
            dw.save(d)
            if due_now:
                due_accounts.append(d)
            for k in range(PER_DEBTOR):
                due = date(2026, 11, 18) if due_now else date(2027, 1, 1) + timedelta(days=n % 60)
                iw.save(new_invoice(agency, c["id"], d.debtor_id, number=f"I{n}-{k}",
                                    reference=None, issue_date=due - timedelta(days=30),
                                    due_date=due, currency="GBP", total_minor=10_000,
                                    balance_minor=10_000, now=stamp))
    return due_accounts


def _measure(invoices: int) -> float:
    from chalicelib.kernel import adapters as wiring
    from chalicelib.dunning import scheduling, sweep
    from chalicelib.store.models import DebtorModel

    due = _book(f"bench-sweep-{invoices}", invoices)
    with metered() as m:
        counts = sweep.sweep(NOW)
    assert counts["due"] == DUE, counts
    # Take this book's due accounts out of the index and empty the queue for the next run.
    with DebtorModel.batch_write() as dw:
        for d in due:
            scheduling.set_next_action(d, None)
            dw.save(d)
    sqs, url = wiring.aws("sqs"), sweep.queue_url()
    while True:  # PurgeQueue allows one call a minute: delete what this run enqueued
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        sweep.delete_messages([m["ReceiptHandle"] for m in got])
    return m.items_read / DUE


def run(full: bool = False) -> None:
    os.environ.setdefault("RECOUP_STAGE", "bench")
    from local.stack import provision

    provision()
    small, large = (10_000, 100_000) if full else (2_000, 20_000)
    t0 = time.perf_counter()
    a = _measure(small)
    b = _measure(large)
    print(f"sweep_due_accounts: {DUE} accounts")
    print(f"sweep_items_read_per_due_account_{small}_invoices: {a:.2f} items")
    print(f"sweep_items_read_per_due_account_{large}_invoices: {b:.2f} items")
    print(f"sweep_cost_ratio_large_to_small: {b / a:.2f} x")
    print(f"sweep_bench_seconds: {time.perf_counter() - t0:.1f} s")
    from local.stack import reset

    reset()  # the chasing day on its own: only its client is due
    chasing_day(20_000 if full else int(os.environ.get("RECOUP_BENCH_CHASING", "2000")))


def chasing_day(size: int) -> None:
    """One simulated day of chasing with a client of `size` invoices loaded: the sweep and
    the dispatch of every due account, as `python -m local.sweep --as-of …` runs it (its
    progress bars included), timed from the sweep to the last reminder recorded."""
    import io

    from bench.books import generate
    from bench.import_book import _tenant
    from chalicelib.book.importer import import_book
    from local.resources import verify_sender
    from local.sweep import run_as_of

    agency, client_id = _tenant(f"bench-chasing-{size}")
    verify_sender("ar@bench.example.com")
    import_book(agency, client_id, generate(size, per_debtor=40), actor="bench",
                now=NOW - timedelta(days=1))
    import contextlib

    from chalicelib.dunning import sweep as sweep_mod

    real_sweep, swept = sweep_mod.sweep, []

    def timed_sweep(*args, **kwargs):  # the sweep's share of the day
        t = time.perf_counter()
        try:
            return real_sweep(*args, **kwargs)
        finally:
            swept.append(time.perf_counter() - t)

    shown = io.StringIO()
    sweep_mod.sweep = timed_sweep
    try:
        with metered() as m, contextlib.redirect_stderr(shown), \
                contextlib.redirect_stdout(shown):
            t0, cpu0, own0 = time.perf_counter(), time.process_time(), time.thread_time()
            outcomes = run_as_of(NOW)
            elapsed = time.perf_counter() - t0
            cpu, own = time.process_time() - cpu0, time.thread_time() - own0
    finally:
        sweep_mod.sweep = real_sweep
    touched = sum(outcomes.values())
    print(f"chasing_day_accounts_due_{size}: {touched} accounts")
    print(f"chasing_day_sent_{size}: {outcomes.get('sent', 0)} reminders")
    print(f"chasing_day_s_{size}: {elapsed:.1f} s")
    print(f"chasing_day_sweep_s_{size}: {sum(swept):.2f} s")
    # CPU of this process: the embedded moto server runs in its threads, so the day's CPU
    # splits into ours (this thread: our code, botocore, PynamoDB) and moto's (the rest)
    print(f"chasing_day_cpu_s_{size}: {cpu:.1f} s")
    print(f"chasing_day_client_cpu_s_{size}: {own:.1f} s")
    print(f"chasing_day_moto_cpu_s_{size}: {cpu - own:.1f} s")
    print(f"chasing_day_requests_per_due_account_{size}: "
          f"{sum(m.requests.values()) / max(touched, 1):.1f} requests")
