"""Cold-start cost: the app's import time against its dependencies' alone (median of runs),
and whether Stripe is imported on paths that do not pay."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

DEPS = "import boto3, chalice, pynamodb, jinja2, pydantic, jwt, babel, holidays, phonenumbers"
PROBE = """
import json, sys, time
t = time.perf_counter()
{code}
print(json.dumps({{"s": time.perf_counter() - t, "stripe": "stripe" in sys.modules}}))
"""


def _time(code: str, runs: int) -> tuple[float, bool]:
    env = {**os.environ, "RECOUP_STAGE": "bench"}
    out = []
    stripe = False
    for _ in range(runs):
        res = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], env=env,
                             capture_output=True, text=True, check=True)
        got = json.loads(res.stdout.strip().splitlines()[-1])
        out.append(got["s"])
        stripe |= got["stripe"]
    return statistics.median(out), stripe


def run(full: bool = False) -> None:
    runs = 9 if full else 5
    deps, _ = _time(DEPS, runs)
    app, stripe = _time("import app", runs)
    print(f"import_time_dependencies: {deps * 1000:.0f} ms")
    print(f"import_time_app: {app * 1000:.0f} ms")
    print(f"import_time_app_over_dependencies: {app / deps:.2f} ratio")
    print(f"stripe_imported_by_app: {int(stripe)} bool")
