"""The embedded local stack: moto's server stands in for DynamoDB, SES, SNS and SQS.

Everything is created from the same definitions production uses (the PynamoDB models and
the queue definitions in infra). Used by `make run`, the benchmarks and the CLI.
"""
from __future__ import annotations

import os
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# CPython's cyclic collector, at its defaults (700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Collect garbage less often in a process that hosts the embedded stack.

    moto keeps every stored item as Python objects in this process (a 20,000-invoice book is
    millions of them), and CPython's cyclic collector walks the generations it collects:
    at the default thresholds an import spent ~3 s of its ~22 s CPU collecting (13 full
    collections, ~1,000 of the middle generation, 11,000 young), almost all of it walking
    the database, which holds no garbage cycles. Collecting the young generation every
    50,000 allocations instead of 700 cut that to under 1 s (`python -m bench
    import_book --full`). The CLI's import does the same (a batch run that builds the book's
    rows, models and events: ~1 s of a 20k import through `local.cli`). Local tooling only:
    a Lambda keeps CPython's defaults."""
    import gc

    gc.set_threshold(*GC_THRESHOLDS)


class LocalAWS:
    """moto's threaded server in this process; AWS_ENDPOINT_URL points every client at it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = None

    def start(self) -> LocalAWS:
        from moto.server import ThreadedMotoServer

        from local import moto_speedups

        moto_speedups.install()
        tune_gc()

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def provision() -> None:
    """Create tables (and, as capabilities add them, queues and identities)."""
    from chalicelib.tables import create_tables

    create_tables()
    try:
        from local import resources
    except ImportError:  # pragma: no cover - optional until dunning adds queues
        return
    resources.provision()


def reset() -> None:
    """Empty the running local stack and create its resources again."""
    from urllib.request import Request, urlopen

    urlopen(Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset", method="POST"))  # noqa: S310 - loopback only
    provision()
