"""Import cost: invoices per second and DynamoDB write requests per invoice (local stack)."""
from __future__ import annotations

import os
import time

from bench.books import generate
from bench.meter import metered


def _tenant(agency: str) -> tuple[str, str]:
    from chalicelib.http.auth import Principal
    from chalicelib.kernel.clock import utcnow
    from chalicelib.http.schemas import ClientIn
    from chalicelib.agency import clients
    from chalicelib.tables import create_tables

    create_tables()
    c = clients.create_client(Principal(agency, "bench", "admin"),
                              ClientIn(name="Bench Ltd", sender_email="ar@bench.example.com", settings={"chasing": "active"}), now=utcnow())
    return agency, c["id"]


def run(full: bool = False) -> None:
    os.environ.setdefault("RECOUP_STAGE", "bench")
    from chalicelib.book.importer import import_book
    from chalicelib.kernel.clock import utcnow
    from local.progress import bar

    size = 20_000 if full else int(os.environ.get("RECOUP_BENCH_IMPORT", "5000"))
    agency, client_id = _tenant(f"bench-import-{size}")
    data = generate(size)
    with metered() as m:
        t0 = time.perf_counter()
        report = import_book(agency, client_id, data, actor="bench", progress=bar("import"), now=utcnow())
        elapsed = time.perf_counter() - t0
    assert report["counts"]["invoices_created"] == size, report["counts"]
    with metered() as again:
        t1 = time.perf_counter()
        import_book(agency, client_id, data, actor="bench", now=utcnow())
        re_elapsed = time.perf_counter() - t1
    print(f"import_invoices: {size} invoices")
    print(f"import_rate: {size / elapsed:.0f} invoices/s")
    print(f"import_write_requests_per_invoice: {m.write_requests / size:.4f} requests")
    print(f"import_items_written_per_invoice: {m.items_written / size:.3f} items")
    print(f"reimport_rate: {size / re_elapsed:.0f} invoices/s")
    # The only write a no-change re-import should make is its own import record.
    print(f"reimport_write_requests: {again.write_requests} requests")
