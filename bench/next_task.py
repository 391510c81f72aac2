"""Take-next cost: latency and DynamoDB reads per "take next task" over N open tasks across
50 clients, at two sizes, to show the reads do not grow with the number of tasks: a
specialist on all 50 clients, one on 5 of them (the other 45's tasks stay out of their
queue), one client's queue, and an agency of 1 client (the reads do not grow with clients)."""
from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timezone

from bench.meter import metered

CLIENTS = 50
PART = 5  # the clients the second specialist ("part") works
TAKES = 10
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # a Wednesday, London calling hours


def _seed(agency: str, tasks: int, clients: int = CLIENTS) -> list[str]:
    """Clients (a specialist on all, a second on the first PART) and open tasks with their
    take-next queue entries, batch-written; a fifth are in Sydney, where it is night, so
    take-next has to skip some."""
    from chalicelib.kernel.clock import iso
    from chalicelib.workbench.call_rules import rank_key
    from chalicelib.store.models import ClientModel
    from chalicelib.tables import create_tables
    from chalicelib.workbench import tasks as call_tasks
    from chalicelib.workbench.models import CallTaskModel, QueueEntryModel

    create_tables()
    rng = random.Random(tasks)
    now = iso(NOW)
    client_ids = [f"c{i:03d}" for i in range(clients)]
    models = {cid: ClientModel(agency, cid, name=cid, brand_name=cid,
                               sender_email="ar@bench.example.com", timezone="Europe/London",
                               country="GB", currency="GBP",
                               specialist_ids=["spec", "part"] if i < PART else ["spec"],
                               created_at=now, updated_at=now)
              for i, cid in enumerate(client_ids)}
    with ClientModel.batch_write() as batch:
        for client in models.values():
            batch.save(client)
    with CallTaskModel.batch_write() as batch, QueueEntryModel.batch_write() as entries:
        for n in range(tasks):
            cid = client_ids[n % clients]
            debtor_id = f"d{n:06d}"
            score = rng.randint(0, 130)
            sydney = rng.random() < 0.2
            slot = CallTaskModel(
                f"{agency}#{cid}", debtor_id, generation=1, status="open",
                queue_key=f"{agency}#{cid}", rank=rank_key(score, NOW, debtor_id), score=score,
                why=[f"£{score * 100} overdue"], reasons=[{"reason": "final notice unanswered"}],
                due_at=now, debtor_name=f"Debtor {n}",
                timezone="Australia/Sydney" if sydney else "Europe/London",
                country="AU" if sydney else "GB", created_at=now, updated_at=now, version=1,
                queued_for=call_tasks.queues_of(models[cid]))
            batch.save(slot)
            for entry in call_tasks.queue_entries(slot):
                entries.save(entry)
    return client_ids


def _measure(agency: str, client_ids: list[str], single: str) -> dict:
    """`single`: an agency of one client, seeded like the other."""
    from chalicelib.http.auth import Principal
    from chalicelib.workbench.tasks import take_next

    from chalicelib.workbench.models import CallTaskModel

    spec = Principal(agency, "spec", "specialist")
    t0 = time.perf_counter()
    for _ in range(TAKES):
        list(CallTaskModel.queue.query(f"{agency}#{client_ids[1]}", limit=3))
    # The local stack's own cost of one 3-item index query (moto_index: the queried
    # index bucket, not the table).
    out = {"bare_query_ms": (time.perf_counter() - t0) * 1000 / TAKES}
    takers = (("all_clients", spec, None), ("one_client", spec, client_ids[0]),
              (f"{PART}_of_{len(client_ids)}_clients", Principal(agency, "part", "specialist"),
               None),
              ("all_of_1_client", Principal(single, "spec", "specialist"), None))
    for label, who, client in takers:
        times, cpu = [], time.process_time()
        with metered() as m:
            for _ in range(TAKES):
                t0 = time.perf_counter()
                got = take_next(who, client, now=NOW)
                times.append((time.perf_counter() - t0) * 1000)
                assert got is not None
                assert who.user_id == "spec" or got["client_id"] in client_ids[:PART]
        out[label] = {"p50_ms": statistics.median(times),
                      "p95_ms": sorted(times)[int(len(times) * 0.95) - 1],
                      "cpu_ms": (time.process_time() - cpu) * 1000 / TAKES,
                      "reads": m.read_requests / TAKES, "items": m.items_read / TAKES,
                      "writes": m.write_requests / TAKES}
    return out


def run(full: bool = False) -> None:
    sizes = (2_000, 10_000) if full else (500, 2_000)
    results = {}
    for size in sizes:
        agency = f"bench-next-{size}"
        t0 = time.perf_counter()
        clients = _seed(agency, size)
        seed_s = time.perf_counter() - t0
        _seed(f"{agency}-single", size, clients=1)
        results[size] = _measure(agency, clients, f"{agency}-single")
        print(f"next_task_seeded_{size}: {size / seed_s:.0f} tasks/s")
        print(f"next_task_moto_bare_query_{size}_latency: "
              f"{results[size].pop('bare_query_ms'):.1f} ms")
        for label, r in results[size].items():
            print(f"next_task_{label}_{size}_latency_p50: {r['p50_ms']:.1f} ms")
            print(f"next_task_{label}_{size}_latency_p95: {r['p95_ms']:.1f} ms")
            print(f"next_task_{label}_{size}_cpu: {r['cpu_ms']:.1f} ms")
            print(f"next_task_{label}_{size}_read_requests: {r['reads']:.1f} requests")
            print(f"next_task_{label}_{size}_write_requests: {r['writes']:.1f} requests")
            print(f"next_task_{label}_{size}_items_read: {r['items']:.1f} items")
    small, big = sizes
    for label in results[big]:
        ratio = results[big][label]["reads"] / results[small][label]["reads"]
        print(f"next_task_{label}_read_ratio_{big}_vs_{small}: {ratio:.2f} x "
              f"(tasks x{big / small:.0f})")
