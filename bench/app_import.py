"""Cold start: importing the app against importing its runtime dependencies alone, both
from the prod deployment zip unpacked as Lambda runs it (infra/lambda_sandbox.py: only the
zip and the runtime's boto3/botocore on the path, no bytecode written). CPU time of the
import (`time.process_time`, the least of several fresh processes: robust to a busy
machine), with the zip as shipped (bytecode included) and, for comparison, with its .pyc
files stripped (what every cold start paid before the zip carried bytecode).

`import_time_app_over_dependencies` compares with the dependencies the app imports when it
starts; `..._over_runtime_dependencies` with every package of requirements.txt (Stripe
included, which the app imports only where it charges a card);
`..._over_dependencies_it_loads` with exactly the third-party modules `import app` loads
(its own code's share: the kernel, the authorizer, the timers and the route manifest).

Routes are registered from the route manifest and each capability is imported on its
route's first call (chalicelib/http/lazy.py), so `import app` no longer pays for them; the
work moves to the first request that needs it. The honest figures for that:
`first_request_api` (`import app`, then a first POST /v1/clients through the Lambda handler:
the book's routes and use cases imported, the request model's validator built, a 422 for a
body missing its fields, so no AWS call is needed), `first_request_page` (`import app`,
then GET /w/login: the workspace pages imported, the Jinja environment and the sign-in
template compiled), and `import_time_app_all_routes` (`import app` and every route's
module: a container that has served every capability; what `import app` cost before).
Each excludes the request's DynamoDB calls and the secrets' SSM read."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

# What the app imports at start (requirements.txt minus Stripe and the pieces of
# powertools it loads lazily); RUNTIME adds those, i.e. everything requirements.txt lists.
STARTUP_DEPS = "import pynamodb.models, jinja2, pydantic, jwt, babel, holidays, phonenumbers, chalice"
RUNTIME_DEPS = STARTUP_DEPS + ", stripe, aws_lambda_powertools.utilities.batch"
PROBE = """
import json, os, time
os.environ.update(RECOUP_JWT_SECRET="bench-only", RECOUP_LINK_SECRET="bench-only")
t = time.process_time()
{code}
print(json.dumps({{"s": time.process_time() - t, "stripe": "stripe" in sys.modules}}))
"""
# One request through the API Lambda's handler, as API Gateway sends it (after the
# authorizer, whose context it carries); fails the probe unless the status is `expect`.
CALL = """
def call(method, route, expect, body=None, headers=None, params=None):
    path = route.format(**params or {})
    event = {"resource": route, "path": path, "httpMethod": method, "headers": headers or {},
             "multiValueHeaders": {}, "queryStringParameters": None,
             "multiValueQueryStringParameters": None, "pathParameters": params,
             "stageVariables": None, "body": body, "isBase64Encoded": False,
             "requestContext": {"resourcePath": route, "httpMethod": method, "path": path,
                                "identity": {"sourceIp": "198.51.100.7"},
                                "authorizer": {"agency_id": "ag1", "user_id": "u1",
                                               "role": "admin", "client_id": ""}}}
    got = app.app(event, None)
    assert got["statusCode"] == expect, (method, path, got)
    return got
"""
FIRST_API = ("import app" + CALL + "call('POST', '/v1/clients', 422, body='{}', "
             "headers={'content-type': 'application/json'})")
FIRST_PAGE = "import app" + CALL + "call('GET', '/w/login', 200)"
ALL_ROUTES = "import app; from chalicelib.http import lazy; lazy.load_all()"
# The third-party modules `import app` loads (from the zip or the runtime), in the order it
# loads them: importing only these is the floor under `import app`.
LOADED = """
import json
import app
print(json.dumps([n for n, m in sys.modules.items() if n.split(".")[0] not in ("app", "chalicelib")
                  and (getattr(m, "__file__", None) or "").startswith(tuple(sys.path[:2]))]))
"""


def _loaded(code_dir: Path, runtime: Path) -> str:
    """Code importing exactly the dependencies `import app` loads."""
    from infra.lambda_sandbox import run

    res = run(code_dir, runtime, LOADED)
    if res.returncode:
        raise SystemExit(res.stderr[-2000:])
    names = json.loads(res.stdout.strip().splitlines()[-1])
    return f"import importlib\nfor n in {names!r}:\n    importlib.import_module(n)"


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
        loaded, _ = _time(*shipped, _loaded(*shipped), runs)
        app_source, _ = _time(*source, "import app", runs)
        first_api, _ = _time(*shipped, FIRST_API, runs)
        first_page, _ = _time(*shipped, FIRST_PAGE, runs)
        all_routes, _ = _time(*shipped, ALL_ROUTES, runs)
    print(f"import_time_dependencies: {deps * 1000:.0f} ms")
    print(f"import_time_runtime_dependencies: {everything * 1000:.0f} ms")
    print(f"import_time_app: {app * 1000:.0f} ms")
    print(f"import_time_app_without_bytecode: {app_source * 1000:.0f} ms")
    print(f"import_time_app_over_dependencies: {app / deps:.2f} ratio")
    print(f"import_time_app_over_runtime_dependencies: {app / everything:.2f} ratio")
    print(f"import_time_bytecode_saving: {1 - app / app_source:.2f} ratio")
    print(f"stripe_imported_by_app: {int(stripe)} bool")
    print(f"import_time_dependencies_app_loads: {loaded * 1000:.0f} ms")
    print(f"import_time_app_over_dependencies_it_loads: {app / loaded:.2f} ratio")
    print(f"first_request_api: {first_api * 1000:.0f} ms")
    print(f"first_request_page: {first_page * 1000:.0f} ms")
    print(f"import_time_app_all_routes: {all_routes * 1000:.0f} ms")
    print(f"first_request_api_over_dependencies: {first_api / deps:.2f} ratio")
