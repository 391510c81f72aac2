"""Reads flat (issue 12): DynamoDB items read and time of the pages people open, for a small
and a big book of one client: the client report, the portal dashboard, the agency home
(overview), a page of the invoice and debtor listings (API) and of the portal's debtor
list; and take-next across 50 clients with one open task per debtor.

Sizes: RECOUP_BENCH_READ_SIZES (default 1000,5000 so `make bench` stays short);
--full runs 1000,20000. Items read count what DynamoDB bills for: every item a query
examined (ScannedCount, filters included), every item a get returned. Pages go through the
HTTP app (chalice.test), so their time includes routing, access checks and rendering.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
import statistics
import time
from datetime import date, datetime, timezone

from bench.books import generate
from bench.meter import metered

AS_OF = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
RUNS = 3
PAGES = ("report", "portal_dashboard", "overview", "invoices_page", "debtors_page",
         "portal_debtors_page")


def _sizes(full: bool) -> tuple[int, int]:
    if full:
        return 1_000, 20_000
    sizes = [int(s) for s in os.environ.get("RECOUP_BENCH_READ_SIZES", "1000,5000").split(",")]
    return sizes[0], sizes[-1]


def _book(size: int):
    from chalicelib.agency import clients
    from chalicelib.book.importer import import_book
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn
    from chalicelib.store.models import ClientModel
    from local.progress import bar

    admin = Principal(f"bench-reads-{size}", "bench", "admin")
    cid = clients.create_client(admin, ClientIn(name="Bench Ltd", sender_email="ar@bench.example.com",
                                                settings={"chasing": "active"}), now=NOW)["id"]
    with _without_segments():
        import_book(admin.agency_id, cid, generate(size), actor="bench",
                    progress=bar(f"seed {size}"), now=NOW)
    return admin, ClientModel.get(admin.agency_id, cid)


@contextmanager
def _without_segments():
    """Seeding only: behaviour's segment recompute on import (most of a 20k import's time on
    the local stack, and nothing these pages read) is left out while the book is loaded."""
    from chalicelib.behaviour import subscribers as behaviour
    from chalicelib.kernel import events

    events._load_subscribers()
    handlers = events._handlers["invoice_changed"]
    handlers.remove(behaviour.on_invoice_changed)
    try:
        yield
    finally:
        handlers.append(behaviour.on_invoice_changed)


def _timed(call) -> tuple[float, float, float]:
    """(items read per call, requests per call, median ms), after one warm call."""
    call()
    times = []
    with metered() as m:
        for _ in range(RUNS):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
    return m.items_billed / RUNS, m.read_requests / RUNS, statistics.median(times)


def _pages(size: int) -> dict[str, tuple[float, float, float]]:
    from chalice.test import Client

    from app import app
    from chalicelib.http.auth import mint_token
    from chalicelib.kernel.settings import get_settings
    from chalicelib.reporting import reports

    admin, client = _book(size)
    cid = client.client_id
    headers = {"Authorization": "Bearer " + mint_token(get_settings().jwt_secret, admin)}
    out = {"report": _timed(lambda: reports.build(client, AS_OF))}
    paths = {"portal_dashboard": f"/portal/clients/{cid}?as_of={AS_OF}",
             "overview": "/w/home",
             "invoices_page": f"/v1/clients/{cid}/invoices?limit=50",
             "debtors_page": f"/v1/clients/{cid}/debtors?limit=50",
             "portal_debtors_page": f"/portal/clients/{cid}/debtors"}
    with Client(app, stage_name="test") as http:
        for name, path in paths.items():
            def get(path=path):
                r = http.http.get(path, headers=headers)
                assert r.status_code == 200, (path, r.status_code, r.body[:300])
            out[name] = _timed(get)
    return out


def _take_next(size: int) -> tuple[float, float, float]:
    """One open task per debtor (size / 10, at least a first page of 3 for each of the 50
    clients) over 50 clients, take-next across all of them."""
    from bench import next_task
    from chalicelib.http.auth import Principal
    from chalicelib.workbench.tasks import take_next

    agency = f"bench-reads-next-{size}"
    next_task._seed(agency, max(3 * next_task.CLIENTS, size // 10))
    spec = Principal(agency, "spec", "specialist")
    return _timed(lambda: take_next(spec, None, now=next_task.NOW))


def run(full: bool = False) -> None:
    import logging

    os.environ.setdefault("RECOUP_STAGE", "bench")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    small, big = _sizes(full)
    print(f"reads_sizes: {small},{big} invoices")
    results = {size: _pages(size) for size in (small, big)}
    for size in (small, big):
        results[size]["take_next"] = _take_next(size)
    for name in (*PAGES, "take_next"):
        for size in (small, big):
            items, requests, ms = results[size][name]
            print(f"reads_{name}_items_{size}: {items:.0f} items")
            print(f"reads_{name}_requests_{size}: {requests:.0f} requests")
            print(f"reads_{name}_ms_{size}: {ms:.1f} ms")
        ratio = results[big][name][0] / max(results[small][name][0], 1)
        print(f"reads_{name}_ratio: {ratio:.2f} ratio")
        print(f"reads_{name}_time_ratio: {results[big][name][2] / results[small][name][2]:.2f} ratio")
    print(f"portal_dashboard_ms_{big}: {results[big]['portal_dashboard'][2]:.0f} ms")
