"""Command line for operators: import a large book with a progress bar, mint a token, put
open call tasks in the take-next queues (the backfill, once after deploying them).

    python -m local.cli import-book --agency A --client C --file book.csv [--date-order DMY]
    python -m local.cli token --agency A --user U --role admin|specialist|client_viewer [--client C]
    python -m local.cli requeue-tasks [--agency A]

It talks to whatever AWS the environment points at: the running local stack
(`--local` reads its endpoint from .local/demo.json) or a real account's credentials.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _use_local_stack() -> None:
    state = Path(".local/demo.json")
    if not state.exists():
        sys.exit("no running local stack found (.local/demo.json): start `make run` first")
    demo = json.loads(state.read_text())
    os.environ["AWS_ENDPOINT_URL"] = demo["aws_endpoint"]
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    os.environ.setdefault("RECOUP_STAGE", "local")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recoup")
    ap.add_argument("--local", action="store_true", help="use the running `make run` stack")
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import-book", help="import a client's debtor book (CSV)")
    imp.add_argument("--agency", required=True)
    imp.add_argument("--client", required=True)
    imp.add_argument("--file", required=True, type=Path)
    imp.add_argument("--date-order", choices=["DMY", "MDY", "YMD"])
    imp.add_argument("--mode", choices=["full", "partial"], default="full")
    tok = sub.add_parser("token", help="mint a bearer token for a user")
    tok.add_argument("--agency", required=True)
    tok.add_argument("--user", required=True)
    tok.add_argument("--role", required=True, choices=["admin", "specialist", "client_viewer"])
    tok.add_argument("--client")
    tok.add_argument("--hours", type=int, default=8)
    req = sub.add_parser("requeue-tasks",
                         help="put every open call task in the take-next queues (backfill)")
    req.add_argument("--agency", help="one agency (default: every agency)")
    args = ap.parse_args(argv)
    if args.local:
        _use_local_stack()

    if args.cmd == "token":
        from chalicelib.http.auth import Principal, mint_token
        from chalicelib.kernel.settings import get_settings

        print(mint_token(get_settings().jwt_secret,
                         Principal(args.agency, args.user, args.role, args.client),
                         ttl_seconds=args.hours * 3600))
        return 0

    from chalicelib.kernel.clock import utcnow

    if args.cmd == "requeue-tasks":
        from chalicelib.workbench.tasks import requeue_open

        print(json.dumps({"requeued": requeue_open(utcnow(), args.agency)}))
        return 0

    from chalicelib.kernel.errors import RecoupError
    from chalicelib.book.importer import import_book
    from local.progress import bar
    from local.stack import tune_gc

    tune_gc()  # a batch run building tens of thousands of objects (see tune_gc)

    try:
        report = import_book(args.agency, args.client, args.file.read_bytes(), actor="cli",
                             filename=args.file.name, date_order=args.date_order,
                             mode=args.mode, progress=bar(args.file.name), now=utcnow())
    except RecoupError as err:
        print(json.dumps(err.to_dict(), indent=2), file=sys.stderr)
        return 2
    print(json.dumps(report["counts"], indent=2))
    for e in report["errors"]:
        print(f"row {e['row']}: {e['field']}: {e['reason']}", file=sys.stderr)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
