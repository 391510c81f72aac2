"""Serve the demo for browser tests: moto's threaded server, the seeded demo and Chalice's
local server on a free port, in one child process (so the test process's own moto mocks
and cached PynamoDB connections never meet this server). Prints one JSON line when ready."""
from __future__ import annotations

import json
import os
import sys
import threading

os.environ["RECOUP_STAGE"] = "local"
os.environ.setdefault("RECOUP_TABLE_PREFIX", "recoup-browser-")


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from local.stack import LocalAWS, free_port, provision

    aws = LocalAWS().start()
    provision()
    from local.seed import seed

    demo = seed()
    if os.environ.get("RECOUP_BROWSER_REMIND"):
        demo["reminded"] = remind_one(demo["clients"]["acme"])
    from chalice.config import Config
    from chalice.local import create_local_server

    from app import app

    port = free_port()
    server = create_local_server(app, Config(chalice_stage="local"), "127.0.0.1", port)
    # The socket is bound already: announce first, so no server log shares our line.
    print("READY " + json.dumps({"base": f"http://127.0.0.1:{port}", **demo}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the parent closes stdin to stop us
    server.shutdown()
    aws.stop()


def remind_one(client_id: str) -> dict:
    """Send one Acme debtor its reminder now (the dispatcher's own path), so the outbox has
    an email to reply to; the first account the cadence and calling hours allow an email."""
    from chalicelib.dunning import dispatch
    from chalicelib.kernel.clock import utcnow
    from chalicelib.store.models import DebtorModel
    from local import outbox
    from local.resources import verify_senders
    from local.seed import AGENCY

    verify_senders(AGENCY)  # as the local stack's workers do before sending
    now = utcnow()
    for d in DebtorModel.query(f"{AGENCY}#{client_id}"):
        if int(d.overdue_minor or 0) <= 0:
            continue
        before = len(outbox.emails())
        if dispatch.dispatch_account(AGENCY, client_id, d.debtor_id, now) == "sent" \
                and len(outbox.emails()) > before:  # an email (not an SMS) went out
            return {"debtor_id": d.debtor_id, "name": d.name,
                    "emails": [outbox.emails()[-1]["to"]]}
    raise RuntimeError("no Acme account could be reminded now")


if __name__ == "__main__":
    main()
