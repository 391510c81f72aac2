"""API latency: p50/p95 of listing a debtor's invoices and timeline through the HTTP routes,
with a large book loaded in the local stack (default 10k invoices; --full: 100k)."""
from __future__ import annotations

import os
import random
import statistics
import time

from bench.books import generate


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def run(full: bool = False) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.http.auth import Principal, mint_token
    from chalicelib.kernel.clock import utcnow
    from chalicelib.http.schemas import ClientIn
    from chalicelib.agency import clients
    from chalicelib.book.importer import import_book
    from chalicelib.kernel.settings import get_settings
    from chalicelib.store.models import DebtorModel
    from local.progress import bar

    size = 100_000 if full else int(os.environ.get("RECOUP_BENCH_LATENCY", "10000"))
    admin = Principal("bench-latency", "bench", "admin")
    c = clients.create_client(admin, ClientIn(name="Big Book Ltd",
                                               sender_email="ar@big.example.com", settings={"chasing": "active"}), now=utcnow())
    for part in range(0, size, 20_000):  # in slices: one import per 20k invoices
        import_book(admin.agency_id, c["id"], generate(min(20_000, size - part), seed=part,
                                                       prefix=f"P{part}"),
                    actor="bench", mode="partial", progress=bar(f"loading {size} invoices"), now=utcnow())
    debtors = [d.debtor_id for d in DebtorModel.query(f"{admin.agency_id}#{c['id']}")]
    rnd = random.Random(3)
    headers = {"Authorization": "Bearer " + mint_token(get_settings().jwt_secret, admin)}
    samples: dict[str, list[float]] = {"invoices": [], "timeline": []}
    with Client(app, stage_name="test") as http:
        for _ in range(60):
            d = rnd.choice(debtors)
            for kind in samples:
                t = time.perf_counter()
                r = http.http.get(f"/v1/clients/{c['id']}/debtors/{d}/{kind}", headers=headers)
                samples[kind].append(time.perf_counter() - t)
                assert r.status_code == 200, r.body
    print(f"latency_book_size: {size} invoices")
    for kind, xs in samples.items():
        print(f"latency_list_{kind}_p50: {statistics.median(xs) * 1000:.1f} ms")
        print(f"latency_list_{kind}_p95: {_pct(xs, 0.95) * 1000:.1f} ms")
