"""Report cost: DynamoDB items read and time to build one client report, small vs big book."""
from __future__ import annotations

import os
import statistics
import time
from datetime import date

from bench.books import generate
from bench.meter import metered


def _client(agency: str):
    from chalicelib.http.auth import Principal
    from chalicelib.kernel.clock import utcnow
    from chalicelib.http.schemas import ClientIn
    from chalicelib.agency import clients
    from chalicelib.store.models import ClientModel
    from chalicelib.tables import create_tables

    create_tables()
    c = clients.create_client(Principal(agency, "bench", "admin"),
                              ClientIn(name="Bench Ltd", sender_email="ar@bench.example.com", settings={"chasing": "active"}), now=utcnow())
    return ClientModel.get(agency, c["id"])


def _measure(size: int) -> tuple[int, int, float, tuple[int, int]]:
    from chalicelib.reporting import reports
    from chalicelib.book.importer import import_book
    from chalicelib.kernel.clock import utcnow
    from chalicelib.store.keys import client_key
    from chalicelib.reporting.models import ReportModel
    from local.progress import bar

    client = _client(f"bench-report-{size}")
    import_book(client.agency_id, client.client_id, generate(size), actor="bench",
                progress=bar(f"seed {size}"), now=utcnow())
    as_of = date(2026, 11, 25)
    stored = list(ReportModel.query(client_key(client.agency_id, client.client_id),
                                    ReportModel.part.startswith("agg#")))
    parts = (len(stored), sum(len(m.body) for m in stored))
    reports.build(client, as_of)  # warm
    times = []
    for _ in range(3):
        with metered() as m:
            t0 = time.perf_counter()
            reports.build(client, as_of)
            times.append(time.perf_counter() - t0)
    return m.items_read, m.read_requests, statistics.median(times), parts


def run(full: bool = False) -> None:
    import logging

    os.environ.setdefault("RECOUP_STAGE", "bench")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sizes = (1_000, 100_000) if full else tuple(
        int(s) for s in os.environ.get("RECOUP_BENCH_REPORT_SIZES", "1000,20000").split(","))
    small, big = sizes[0], sizes[-1]
    results = {size: _measure(size) for size in (small, big)}
    for size, (items, requests, seconds, parts) in results.items():
        print(f"report_items_read_{size}: {items} items")
        print(f"report_read_requests_{size}: {requests} requests")
        print(f"report_aggregate_parts_{size}: {parts[0]} items")
        print(f"report_aggregate_bytes_{size}: {parts[1] / 1024:.0f} KiB")
        print(f"report_build_time_{size}: {seconds * 1000:.1f} ms")
    ratio = results[big][0] / max(results[small][0], 1)
    print(f"report_items_ratio_{big}_vs_{small}: {ratio:.2f} x")
    print(f"report_time_ratio_{big}_vs_{small}: {results[big][2] / results[small][2]:.2f} x")
