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


if __name__ == "__main__":
    main()
