"""Run the dunning sweep and drain the queue as of a chosen instant, to watch a book move
through its cadence:

    python -m local.sweep --as-of 2026-12-20T10:00:00Z [--days 14]

Against a running `make run` (it reads .local/demo.json for moto's address), or, when none
is running, on a fresh local stack with the demo data. --days repeats it day by day.

A running stack has one clock (.local/clock.json, see chalicelib/kernel/clock.py): while
this runs, its ticker, queue pump and every request read the instant being swept; after
it, that clock keeps running from the last instant swept (`--back` returns it to real
time), so the live pump never decides on the real date behind the sweep's back.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.request import urlopen

os.environ.setdefault("RECOUP_STAGE", "local")
STATE = Path(".local/demo.json")


def _clock_file() -> str | None:
    try:
        return json.loads(STATE.read_text()).get("clock_file")
    except (OSError, ValueError):
        return None


def _running_endpoint() -> str | None:
    try:
        endpoint = json.loads(STATE.read_text()).get("aws_endpoint")
        if endpoint:
            urlopen(endpoint + "/moto-api/", timeout=1).read()  # noqa: S310 - local only
            return endpoint
    except (OSError, ValueError):
        return None
    return None


def run_as_of(at: datetime, clock_file: str | None = None) -> Counter:
    from chalicelib.dunning import sweep
    from chalicelib.kernel import clock
    from local.workers import drain_once

    if clock_file:
        clock.write_travel(clock_file, at=at)  # the running stack stands at `at` too
    from local.progress import bar

    from chalicelib.kernel.settings import get_settings

    show = bar(at.strftime("%a %d %b %H:%M"))
    # the sharded next-action index, shard by shard; then each due account's dispatch
    show("finding due accounts", 0, get_settings().sweep_shards)
    counts = sweep.sweep(at, progress=lambda done, total, _due: show(
        "finding due accounts", done, total))
    outcomes: Counter = Counter()
    done, due = 0, counts["due"]
    show("dispatching", 0, due)
    while True:
        batch = drain_once(now=at)
        if not batch:
            break
        outcomes.update(batch)
        done += len(batch)
        # a failed message comes back later: the bar counts deliveries, never past the end
        show("dispatching", min(done, max(due - 1, 0)) if done < due else due, due)
    if done < due:
        show("dispatching", due, due)
    print(f"{at.isoformat()}: {counts['due']} due, outcomes {dict(outcomes) or '-'}", flush=True)
    return outcomes


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m local.sweep")
    ap.add_argument("--as-of", help="ISO instant, e.g. 2026-12-20T10:00:00Z")
    ap.add_argument("--back", action="store_true",
                    help="return the running stack's clock to real time, sweep nothing")
    ap.add_argument("--days", type=int, default=1, help="repeat daily this many days")
    args = ap.parse_args(argv)
    if not args.as_of and not args.back:
        ap.error("--as-of (or --back) is required")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    endpoint = _running_endpoint()
    clock_file = _clock_file() if endpoint else None
    if clock_file:
        os.environ["RECOUP_CLOCK_FILE"] = clock_file  # this process reads it too
    if args.back:
        from chalicelib.kernel import clock

        if clock_file:
            clock.write_travel(clock_file)
        print("the running stack is on real time" if clock_file else "no running stack")
        return 0
    start = datetime.fromisoformat(args.as_of.replace("Z", "+00:00")).astimezone(timezone.utc)
    own = None
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")  # as local/stack.py
        print(f"using the running local stack at {endpoint}")
    else:
        from local.resources import verify_senders
        from local.seed import AGENCY, seed
        from local.stack import LocalAWS, provision

        own = LocalAWS().start()
        provision()
        seed(now=start)  # the demo book is imported then
        verify_senders(AGENCY)
        print("no running stack: started one with the demo data")
    try:
        total: Counter = Counter()
        for day in range(args.days):
            total.update(run_as_of(start + timedelta(days=day), clock_file))
        print(f"total: {dict(total)}")
        if own is not None:
            from local import outbox

            for m in outbox.emails():
                print(f"  email to {m['to']}: {m['subject']}")
            for m in outbox.sms():
                print(f"  sms to {m['to']}: {m['text'][:80]}")
    finally:
        if clock_file:
            from chalicelib.kernel import clock

            last = start + timedelta(days=args.days - 1)
            real = datetime.fromtimestamp(clock.wall_seconds(), timezone.utc)
            clock.write_travel(clock_file, offset_seconds=(last - real).total_seconds())
            print(f"the running stack's clock now runs on from {last.isoformat()}")
        if own is not None:
            own.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
