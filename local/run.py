"""`make run`: the whole platform on this machine, with demo data. Ctrl-C stops it all.

State lives in memory: every run starts from a fresh demo (documented in the README).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

os.environ.setdefault("RECOUP_STAGE", "local")
# One clock for the whole local stack: handlers, scheduler and pump read it; local.sweep moves it.
CLOCK_FILE = Path(".local/clock.json").resolve()


def main() -> int:
    import logging

    from local.stack import LocalAWS, provision

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request log lines
    logging.getLogger("botocore").setLevel(logging.WARNING)  # endpoint/credential chatter

    from chalicelib.kernel import clock

    os.environ["RECOUP_CLOCK_FILE"] = str(CLOCK_FILE)
    clock.write_travel(str(CLOCK_FILE))  # a fresh demo starts on the real clock
    port = int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("RECOUP_PUBLIC_URL", f"http://localhost:{port}")
    aws = LocalAWS(int(os.environ["MOTO_PORT"]) if os.environ.get("MOTO_PORT") else None).start()
    print(f"local AWS (moto) on {os.environ['AWS_ENDPOINT_URL']}", flush=True)
    provision()

    from local.seed import seed
    from local.progress import bar

    demo = seed(progress=bar("importing demo books"))
    demo["aws_endpoint"] = os.environ["AWS_ENDPOINT_URL"]  # for `python -m local.sweep`
    demo["clock_file"] = str(CLOCK_FILE)  # local.sweep travels the running stack's clock
    demo["debtor_link"] = _demo_link(demo)
    state = Path(".local")
    state.mkdir(exist_ok=True)
    # Sign-in pages: paste the token into the form (a token never goes in a URL).
    demo["portal"] = f"{os.environ['RECOUP_PUBLIC_URL']}/portal/login"
    demo["workspace"] = f"{os.environ['RECOUP_PUBLIC_URL']}/w/login"
    (state / "demo.json").write_text(json.dumps(demo, indent=2))

    from chalice.config import Config
    from chalice.local import create_local_server

    from app import app

    server = create_local_server(app, Config(chalice_stage="local"), "127.0.0.1", port)
    workers = []
    try:
        from local import workers as worker_mod

        workers = worker_mod.start()
    except ImportError:
        pass
    base = f"http://localhost:{port}"
    print(f"""
Recoup is running.
  API            {base}/v1/clients   (OpenAPI: {base}/openapi.json)
  demo agency    {demo['clients']}
  tokens         .local/demo.json  (admin, specialist, client_viewer)
  outbox         {base}/outbox   (what the workers sent; "Reply as debtor" on any email; JSON: /outbox.json)
  time travel    python -m local.sweep --as-of 2026-12-20T10:00:00Z --days 7   (--back: real time)
  debtor page    {demo['debtor_link']}   (local test checkout: no Stripe keys set)
  client portal  {base}/portal/login   (paste: make -s token ROLE=client_viewer; Acme Supplies' viewer)
  reports        {base}/v1/clients/<id>/report?as_of=YYYY-MM-DD   {base}/v1/overview
  workbench      {base}/w/login   (paste: make -s token ROLE=specialist)
  try            curl -H "Authorization: Bearer $(python -c "import json;print(json.load(open('.local/demo.json'))['tokens']['admin'])")" {base}/v1/clients
Ctrl-C stops everything.
""", flush=True)

    stop = threading.Event()

    def _stop(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    finally:
        for w in workers:
            w.stop()
        aws.stop()
        print("stopped", flush=True)
    return 0


def _demo_link(demo: dict) -> str:
    """A signed hosted-page link for the first Acme debtor, to try the payment flow."""
    from chalicelib.kernel.clock import utcnow
    from chalicelib.payments.links import debtor_link
    from chalicelib.store.keys import client_key
    from chalicelib.store.models import DebtorModel
    from local.seed import AGENCY

    acme = demo["clients"]["acme"]
    first = next(iter(DebtorModel.query(client_key(AGENCY, acme), limit=1)), None)
    return debtor_link(AGENCY, acme, first.debtor_id, utcnow()) if first else "(no debtors)"


if __name__ == "__main__":
    sys.exit(main())
