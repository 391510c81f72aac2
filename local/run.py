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


def main() -> int:
    import logging

    from local.stack import LocalAWS, provision

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request log lines

    port = int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("RECOUP_PUBLIC_URL", f"http://localhost:{port}")
    aws = LocalAWS(int(os.environ["MOTO_PORT"]) if os.environ.get("MOTO_PORT") else None).start()
    print(f"local AWS (moto) on {os.environ['AWS_ENDPOINT_URL']}", flush=True)
    provision()

    from local.seed import seed
    from local.progress import bar

    demo = seed(progress=bar("importing demo books"))
    state = Path(".local")
    state.mkdir(exist_ok=True)
    demo["endpoint"] = os.environ["AWS_ENDPOINT_URL"]
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
  workbench      {base}/w/login?token=$(make -s token ROLE=specialist)
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


if __name__ == "__main__":
    sys.exit(main())
