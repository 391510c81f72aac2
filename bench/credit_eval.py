"""Credit evaluation cost: DynamoDB requests and items per evaluation of one debtor (the
work each invoice, payment or segment event does) in books of two sizes, to show it does
not grow with the book."""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timezone

from bench.meter import metered

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
EVALS = 20


def _seed(agency: str, debtors: int) -> str:
    from chalicelib.book.invoices import index_fields
    from chalicelib.kernel.clock import iso
    from chalicelib.store.keys import client_key, debtor_key
    from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel
    from chalicelib.tables import create_tables

    create_tables()
    now, cid = iso(NOW), "c1"
    ClientModel(agency, cid, name="Bench", brand_name="Bench", sender_email="ar@b.example.com",
                timezone="Europe/London", country="GB", currency="GBP",
                settings={"credit_policy": {"default": {"limit_minor": 100_000,
                                                        "currency": "GBP", "terms_days": 30}}},
                created_at=now, updated_at=now).save()
    ckey = client_key(agency, cid)
    with DebtorModel.batch_write() as batch:
        for n in range(debtors):
            batch.save(DebtorModel(ckey, f"d{n:06d}", account_ref=f"A{n}", name=f"Debtor {n}",
                                   currency="GBP", segment="prompt", balance_minor=80_000,
                                   open_invoices=1, created_at=now, updated_at=now))
    with InvoiceModel.batch_write() as batch:
        for n in range(debtors):
            inv = InvoiceModel(debtor_key(agency, cid, f"d{n:06d}"), f"i{n:06d}",
                               client_key=ckey, debtor_id=f"d{n:06d}", number=f"N{n}",
                               issue_date="2026-10-01", due_date="2026-10-31", currency="GBP",
                               total_minor=80_000, balance_minor=80_000, status="open",
                               created_at=now, updated_at=now)
            index_fields(inv)
            batch.save(inv)
    return cid


def _measure(agency: str, cid: str, debtors: int) -> dict:
    from chalicelib.behaviour import credit
    from chalicelib.store.keys import debtor_key
    from chalicelib.store.models import InvoiceModel

    step = max(1, debtors // EVALS)
    picks = [f"d{n:06d}" for n in range(0, debtors, step)][:EVALS]
    out = {}
    for phase in ("first", "over_limit"):
        if phase == "over_limit":  # each picked debtor's invoice grows past the limit
            for d in picks:
                inv = InvoiceModel.get(debtor_key(agency, cid, d), f"i{d[1:]}")
                inv.total_minor = inv.balance_minor = 150_000
                inv.save()
        times = []
        with metered() as m:
            for d in picks:
                t0 = time.perf_counter()
                credit.evaluate(agency, cid, d, NOW, cause="bench")
                times.append((time.perf_counter() - t0) * 1000)
        out[phase] = {"reads": m.read_requests / len(picks),
                      "writes": m.write_requests / len(picks),
                      "items": m.items_read / len(picks), "p50": statistics.median(times)}
    return out


def run(full: bool = False) -> None:
    sizes = (2_000, 20_000) if full else (200, 2_000)
    results = {}
    for size in sizes:
        agency = f"bench-credit-{size}"
        results[size] = r = _measure(agency, _seed(agency, size), size)
        for phase, x in r.items():
            print(f"credit_eval_{phase}_{size}_read_requests: {x['reads']:.1f} requests")
            print(f"credit_eval_{phase}_{size}_write_requests: {x['writes']:.1f} requests")
            print(f"credit_eval_{phase}_{size}_items_read: {x['items']:.1f} items")
            print(f"credit_eval_{phase}_{size}_latency_p50: {x['p50']:.1f} ms")
    small, big = sizes
    for phase in ("first", "over_limit"):
        ratio = results[big][phase]["reads"] / results[small][phase]["reads"]
        print(f"credit_eval_{phase}_read_ratio_{big}_vs_{small}: {ratio:.2f} x "
              f"(debtors x{big // small})")
