"""Import cost (issue 12): invoices per second end to end and DynamoDB write requests per
invoice, on the local stack (moto's server over HTTP, as `make run`), through the use case
the CLI and the API call (`book.importer.import_book`: parse, plan, write, the report and
behaviour consumers of its `invoice_changed` parts, the import record). Afterwards it checks
what a user would: the import is listed and the report's receivables are the file's open
total; then a re-import of the same file.

Size: RECOUP_BENCH_IMPORT (default 2000); --full 20000; RECOUP_BENCH_IMPORT=100000 for the
big figure (about as many minutes as thousands / 10 on a quiet machine).
"""
from __future__ import annotations

import os
import time

from bench.books import generate, open_total
from bench.meter import metered


def _tenant(agency: str, currency: str = "GBP") -> tuple[str, str]:
    from chalicelib.http.auth import Principal
    from chalicelib.kernel.clock import utcnow
    from chalicelib.http.schemas import ClientIn
    from chalicelib.agency import clients
    from chalicelib.tables import create_tables

    create_tables()
    c = clients.create_client(Principal(agency, "bench", "admin"),
                              ClientIn(name="Bench Ltd", sender_email="ar@bench.example.com",
                                       currency=currency, settings={"chasing": "active"}),
                              now=utcnow())
    return agency, c["id"]


def run(full: bool = False) -> None:
    os.environ.setdefault("RECOUP_STAGE", "bench")
    from chalicelib.book.importer import import_book, list_imports
    from chalicelib.kernel.clock import utcnow
    from chalicelib.reporting import reports
    from chalicelib.store.models import ClientModel
    from local.progress import bar

    size = 20_000 if full else int(os.environ.get("RECOUP_BENCH_IMPORT", "2000"))
    agency, client_id = _tenant(f"bench-import-{size}", "EUR")
    data = generate(size, currency="EUR", per_debtor=40)  # the book: 500 debtors at 20k
    with metered() as m:
        t0, c0 = time.perf_counter(), time.process_time()
        report = import_book(agency, client_id, data, actor="bench", progress=bar("import"),
                             now=utcnow())
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert report["counts"]["invoices_created"] == size, report["counts"]
    listed = list_imports(agency, client_id)
    assert [i["import_id"] for i in listed] == [report["import_id"]], listed
    assert listed[0]["status"] == "done", listed[0]
    client = ClientModel.get(agency, client_id)
    figures = reports.build(client, utcnow().date())["figures"]
    assert figures["receivables_minor"] == open_total(data), (figures, open_total(data))
    with metered() as again:
        t1 = time.perf_counter()
        import_book(agency, client_id, data, actor="bench", now=utcnow())
        re_elapsed = time.perf_counter() - t1
    assert reports.build(client, utcnow().date())["figures"]["receivables_minor"] == open_total(data)
    print(f"import_invoices: {size} invoices")
    print(f"import_invoices_per_s_{size}: {size / elapsed:.0f} invoices/s")
    print(f"import_seconds_{size}: {elapsed:.1f} s")
    # this process's CPU (the client and the embedded moto server): the figure a busy,
    # shared machine does not move
    print(f"import_cpu_seconds_{size}: {cpu:.1f} s")
    print(f"import_write_requests_per_invoice: {m.write_requests / size:.4f} requests")
    print(f"import_requests_per_invoice: {sum(m.requests.values()) / size:.4f} requests")
    print(f"import_items_written_per_invoice: {m.items_written / size:.3f} items")
    print(f"reimport_invoices_per_s_{size}: {size / re_elapsed:.0f} invoices/s")
    # The only write a no-change re-import should make is its own import record.
    print(f"reimport_write_requests: {again.write_requests} requests")
    if os.environ.get("RECOUP_BENCH_BREAKDOWN"):  # requests per 1,000 invoices, by table
        print("\n".join(m.breakdown(per=size / 1000)))
