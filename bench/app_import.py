"""Cold start: importing the app against importing its runtime dependencies alone, both
from the prod deployment zip unpacked as Lambda runs it (infra/lambda_sandbox.py: only the
zip and the runtime's boto3/botocore on the path, no bytecode written). CPU time of the
import (`time.process_time`, the least of several fresh processes: robust to a busy
machine), with the zip as shipped (bytecode included) and, for comparison, with its .pyc
files stripped (what every cold start paid before the zip carried bytecode).

`import_time_app_over_dependencies` compares with the dependencies the app imports when it
starts; `..._over_runtime_dependencies` with every package of requirements.txt (Stripe
included, which the app imports only where it charges a card)."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

# What the app imports at start (requirements.txt minus Stripe and the pieces of
# powertools it loads lazily); RUNTIME adds those, i.e. everything requirements.txt lists.
STARTUP_DEPS = "import pynamodb.models, jinja2, pydantic, jwt, babel, holidays, phonenumbers, chalice"
RUNTIME_DEPS = STARTUP_DEPS + ", stripe, aws_lambda_powertools.utilities.batch"
PROBE = """
import json, time
t = time.process_time()
{code}
print(json.dumps({{"s": time.process_time() - t, "stripe": "stripe" in sys.modules}}))
"""


def _time(code_dir: Path, runtime: Path, code: str, runs: int) -> tuple[float, bool]:
    from infra.lambda_sandbox import run

    best, stripe = None, False
    for _ in range(runs):
        res = run(code_dir, runtime, PROBE.format(code=code))
        if res.returncode:
            raise SystemExit(res.stderr[-2000:])
        got = json.loads(res.stdout.strip().splitlines()[-1])
        best = got["s"] if best is None else min(best, got["s"])
        stripe |= got["stripe"]
    return best, stripe


def run(full: bool = False) -> None:
    from bench.package_size import copy_project
    from infra.lambda_sandbox import unpack
    from infra.package import package

    runs = 9 if full else 5
    with tempfile.TemporaryDirectory() as tmp:
        out = package("prod", copy_project(Path(tmp) / "recoup"))
        shipped = unpack(out / "deployment.zip", Path(tmp) / "shipped")
        source = unpack(out / "deployment.zip", Path(tmp) / "source", bytecode=False)
        deps, _ = _time(*shipped, STARTUP_DEPS, runs)
        everything, _ = _time(*shipped, RUNTIME_DEPS, runs)
        app, stripe = _time(*shipped, "import app", runs)
        app_source, _ = _time(*source, "import app", runs)
    print(f"import_time_dependencies: {deps * 1000:.0f} ms")
    print(f"import_time_runtime_dependencies: {everything * 1000:.0f} ms")
    print(f"import_time_app: {app * 1000:.0f} ms")
    print(f"import_time_app_without_bytecode: {app_source * 1000:.0f} ms")
    print(f"import_time_app_over_dependencies: {app / deps:.2f} ratio")
    print(f"import_time_app_over_runtime_dependencies: {app / everything:.2f} ratio")
    print(f"import_time_bytecode_saving: {1 - app / app_source:.2f} ratio")
    print(f"stripe_imported_by_app: {int(stripe)} bool")
