"""`make bench`: run every benchmark and print `name: value unit` lines.

RECOUP_BENCH_FULL=1 (or --full) runs the full sizes named in the issues.
"""
from __future__ import annotations

import importlib
import os
import sys

BENCHMARKS = ["bench.import_book", "bench.sweep_cost", "bench.dispatch_rate", "bench.payments",
              "bench.report_cost", "bench.report_writes", "bench.reads", "bench.next_task", "bench.api_latency",
              "bench.app_import", "bench.package_size", "bench.cost_model",
              "bench.reply_classifier", "bench.prediction", "bench.outcomes", "bench.credit_eval",
              "bench.forecast"]


def main(argv: list[str]) -> int:
    full = "--full" in argv or os.environ.get("RECOUP_BENCH_FULL") == "1"
    only = [a for a in argv if not a.startswith("-")]
    import logging

    from local.stack import LocalAWS, reset

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    aws = LocalAWS().start()
    try:
        for name in BENCHMARKS:
            if only and not any(o in name for o in only):
                continue
            print(f"# {name}", flush=True)
            reset()  # each benchmark starts on an empty local stack (the sweep is global)
            importlib.import_module(name).run(full=full)
    finally:
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
