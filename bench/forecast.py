"""Cash forecast cost: time and DynamoDB requests to compute a client's forecast (the daily
timer's work) and to read it (the API and the portal), small vs big book."""
from __future__ import annotations

import os
import time

from bench.books import generate
from bench.meter import metered


def _measure(size: int) -> dict:
    from unittest import mock

    from chalicelib.book.importer import import_book
    from chalicelib.kernel import events
    from chalicelib.kernel.clock import utcnow
    from chalicelib.reporting import forecast
    from bench.report_cost import _client
    from local.progress import bar

    client = _client(f"bench-forecast-{size}")
    # The forecast reads the book, not the report aggregate: the import's events are not
    # delivered (on moto the report batches of a 20k import take hours; bench.report_cost
    # measures them). Collected-by-day then reads an empty aggregate: the same one Query.
    with mock.patch.object(events, "after_commit", lambda items: None):
        import_book(client.agency_id, client.client_id, generate(size), actor="bench",
                    progress=bar(f"seed {size}"), now=utcnow())
    now = utcnow()
    forecast.compute(client, now)  # warm (fits the prior once)
    with metered() as m:
        t0 = time.perf_counter()
        f = forecast.compute(client, now)
        compute_s = time.perf_counter() - t0
    compute_reads = m.read_requests
    forecast.snapshot(client, now)
    with metered() as m:
        t0 = time.perf_counter()
        forecast.read(client, now)
        read_s = time.perf_counter() - t0
    return {"compute_ms": compute_s * 1000, "compute_requests": compute_reads,
            "read_ms": read_s * 1000, "read_requests": m.read_requests,
            "expected": sum(c.total for c in f.currencies.values())}


def _rules_only(size: int) -> float:
    """The CPU part alone (what DynamoDB latency does not change): predict every open
    invoice of `size` (10 per debtor, 5 paid ones of history each) and bucket the weeks,
    with one promise and one plan per 20 debtors. Seconds."""
    import random
    from datetime import date, timedelta

    from chalicelib.behaviour import predict_rules as pr
    from chalicelib.behaviour import profile_rules as rules
    from chalicelib.reporting import forecast_rules as fr

    rnd = random.Random(7)
    today = date(2026, 11, 25)
    debtors = []
    for d in range(size // 10):
        paid = []
        for k in range(5):
            issue = today - timedelta(days=400 - 60 * k)
            paid.append(rules.Paid(issue, issue + timedelta(days=30),
                                   issue + timedelta(days=30 + rnd.randint(-5, 40)),
                                   rnd.randint(1_000, 500_000)))
        opened = [pr.OpenInvoice(today - timedelta(days=rnd.randint(0, 120)),
                                 today + timedelta(days=rnd.randint(-90, 30)),
                                 rnd.randint(1_000, 500_000)) for _ in range(10)]
        debtors.append((f"d{d}", rules.profile(paid, open_invoices=10), opened))
    prior = pr.fit_prior({d: [] for d, _, _ in debtors})
    t0 = time.perf_counter()
    predicted, promised, plans = [], [], []
    for d, prof, opened in debtors:
        seg = rules.segment_for(prof).name
        for n, o in enumerate(opened):
            x = pr.predict(prof, o, prior, today, segment=seg)
            predicted.append(fr.Predicted(d, str(n), "GBP", o.amount_minor, o.due, x.pay_on,
                                          spread=tuple((o.due + timedelta(days=k), w)
                                                       for k, w in x.distribution)))
        if int(d[1:]) % 20 == 0:
            promised.append(fr.Promise(d, "GBP", 50_000, today + timedelta(days=7), 1, 1))
        elif int(d[1:]) % 20 == 1:
            plans += [fr.Instalment(d, "GBP", 20_000, today + timedelta(days=14 * k))
                      for k in range(3)]
    fr.forecast(today, predicted, promised, plans)
    return time.perf_counter() - t0


def run(full: bool = False) -> None:
    os.environ.setdefault("RECOUP_STAGE", "bench")
    sizes = tuple(int(s) for s in os.environ.get(
        "RECOUP_BENCH_FORECAST_SIZES", "1000,20000" if full else "1000,5000").split(","))
    for size in sizes:
        print(f"forecast_rules_{size}: {_rules_only(size) * 1000:.0f} ms")
    if os.environ.get("RECOUP_BENCH_FORECAST_RULES_ONLY"):
        return
    for size in sizes:
        r = _measure(size)
        print(f"forecast_compute_{size}: {r['compute_ms']:.0f} ms")
        print(f"forecast_compute_requests_{size}: {r['compute_requests']} requests")
        print(f"forecast_read_{size}: {r['read_ms']:.1f} ms")
        print(f"forecast_read_requests_{size}: {r['read_requests']} requests")
