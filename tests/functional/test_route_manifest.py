"""The API Lambda registers every route from the route manifest (chalicelib/http/lazy.py)
without importing the capabilities behind them; each is imported on its route's first call.
These tests hold the manifest to what the blueprints declare, and the app to what it was
when it imported them all."""
from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from chalicelib.http import lazy

ROOT = Path(__file__).resolve().parents[2]
# Paths served without the bearer authorizer: pages sign their callers in themselves
# (session cookie or header, the debtor's signed link), the webhook checks Stripe's
# signature, and the icon and the API document are public.
PUBLIC = ("/w", "/portal", "/d/", "/webhooks/stripe", "/favicon.ico", "/openapi.json")
# Local and test stages only (app.py installs them; local/ is never deployed).
LOCAL_ONLY = ("local.",)


def _fresh(code: str) -> str:
    """`code` run in a new interpreter on the prod stage, as the API Lambda runs app.py;
    its stdout."""
    from infra.lambda_sandbox import ENV

    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env.update(ENV, PATH=os.environ.get("PATH", "/usr/bin:/bin"),
               RECOUP_JWT_SECRET="test-only", RECOUP_LINK_SECRET="test-only")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def _ours(app) -> dict:
    """The app's routes that the manifest is responsible for (not the local stages' own)."""
    return {(path, method): e for path, methods in app.routes.items()
            for method, e in methods.items()
            if not e.view_function.__module__.startswith(LOCAL_ONLY)}


def test_the_manifest_says_what_the_route_blueprints_declare():
    """GIVEN the route blueprints app.py lists, imported as they are
    WHEN the manifest is generated from what Chalice registers for them
    THEN it is the committed file (else: run the command the message names)."""
    want = lazy.expected()
    got = lazy.MANIFEST.read_text()
    diff = "".join(list(difflib.unified_diff(got.splitlines(True), want.splitlines(True),
                                             "committed", "declared"))[:60])
    assert got == want, f"the route manifest is stale: run `{lazy.COMMAND}`\n{diff}"


def test_the_app_registers_every_route_as_its_blueprint_would():
    """GIVEN each route blueprint registered as Chalice does it (the app before the manifest)
    WHEN compared with the app's routes
    THEN the same routes, view names, path parameters, content types, authorizer object and
    docstrings, and the API Gateway definition `chalice package` writes is the same."""
    import inspect

    from chalice import Chalice
    from chalice.deploy.swagger import CFNSwaggerGenerator

    from app import ROUTE_BLUEPRINTS, app

    eager = Chalice(app_name=app.app_name)
    eager.api.binary_types = list(app.api.binary_types)
    for module in ROUTE_BLUEPRINTS:
        for (path, method), entry in lazy.declared(module).items():
            eager.routes[path][method] = entry
    ours, theirs = _ours(app), _ours(eager)
    assert set(ours) == set(theirs) and len(ours) > 150
    for key, want in theirs.items():
        got = ours[key]
        assert (got.view_name, got.uri_pattern, got.view_args, got.content_types, got.cors,
                got.api_key_required) == (want.view_name, want.uri_pattern, want.view_args,
                                          want.content_types, want.cors,
                                          want.api_key_required), key
        assert got.authorizer is want.authorizer, key  # the registered `bearer`, not a copy
        assert inspect.getdoc(got.view_function) == inspect.getdoc(want.view_function), key
    lazy_api = CFNSwaggerGenerator().generate_swagger(app)
    eager_api = CFNSwaggerGenerator().generate_swagger(eager)
    assert {p: lazy_api["paths"][p] for p in eager_api["paths"]} == eager_api["paths"]
    assert lazy_api["securityDefinitions"] == eager_api["securityDefinitions"]


def test_importing_the_app_loads_no_capability_and_a_first_call_only_its_own():
    """GIVEN a fresh interpreter on the prod stage
    WHEN it imports app.py (as a cold API Lambda does)
    THEN no route module, request model, template engine, Stripe, babel, holidays or
    phonenumbers is loaded, only the kernel, the authorizer and the capabilities' timers;
    AND the first request to the book's API loads the book, not the workspace pages;
    AND with every route loaded, Stripe still waits for a payment."""
    from app import ROUTE_BLUEPRINTS

    out = _fresh("import json, sys\n"
                 "import app\n"
                 "from chalicelib.http import lazy\n"
                 "snap = lambda: sorted(sys.modules)\n"
                 "at_start = snap()\n"
                 "lazy.load('/v1/clients', 'POST')\n"
                 "after_one = snap()\n"
                 "lazy.load_all()\n"
                 "print(json.dumps([at_start, after_one, snap()]))")
    at_start, after_one, after_all = (set(x) for x in json.loads(out.splitlines()[-1]))
    assert not at_start & set(ROUTE_BLUEPRINTS)
    heavy = {"stripe", "babel", "holidays", "phonenumbers", "pydantic", "jinja2",
             "chalicelib.http.schemas", "chalicelib.http.edge", "chalicelib.kernel.templating"}
    assert not at_start & heavy, at_start & heavy
    capabilities = {m for m in at_start if m.startswith("chalicelib.")
                    and m.split(".")[1] not in ("kernel", "store", "http")}
    assert capabilities and all(re.fullmatch(r"chalicelib\.\w+(\.jobs)?", m)
                                for m in capabilities), sorted(capabilities)
    assert {"chalicelib.book.routes", "chalicelib.http.schemas"} <= after_one
    assert not after_one & {"chalicelib.workbench.pages", "chalicelib.reporting.portal_pages",
                            "chalicelib.payments.pages", "stripe"}
    assert set(ROUTE_BLUEPRINTS) <= after_all and "stripe" not in after_all


def test_a_cold_first_call_reads_its_own_request_through_any_blueprint():
    """GIVEN a fresh interpreter on the prod stage, nothing called yet
    WHEN the first request is a credit page (its view runs in the workspace's page wrapper,
    which reads the workspace blueprint's request), a portal forecast page (declared by the
    forecast module through the portal's page wrapper) or an API body (the edge)
    THEN each answers from its own request: a sign-in redirect back to itself, the portal's
    sign-in error page, a 422 naming the missing fields."""
    from bench.app_import import CALL

    out = _fresh("import json\nimport app\n" + CALL + "\n"
                 "c1 = {'client_id': 'c1'}\n"
                 "credit = call('GET', '/w/clients/{client_id}/credit', 303, params=c1)\n"
                 "portal = call('GET', '/portal/clients/{client_id}/forecast', 401, params=c1)\n"
                 "body = call('POST', '/v1/clients', 422, body='{}',"
                 " headers={'content-type': 'application/json'})\n"
                 "print(json.dumps([credit['headers']['Location'], portal['body'],"
                 " body['body']]))")
    location, portal, body = json.loads(out.splitlines()[-1])
    assert location == "/w/login?next=%2Fw%2Fclients%2Fc1%2Fcredit"
    assert "sign in" in portal.lower()
    assert {f["field"] for f in json.loads(body)["error"]["fields"]} == {"name", "sender_email"}


def test_every_api_route_has_the_authorizer_and_refuses_a_call_without_a_token(http):
    """GIVEN every route of the app
    WHEN it is called without a token
    THEN each /v1 route (and any other with the authorizer) is the gateway's 401 in the one
    error shape before any view runs, and the routes without it are exactly the pages, the
    Stripe webhook, the icon and the API document."""
    from app import app
    from chalicelib.http.authorizer import UNAUTHORISED_BODY

    bearer = app.handler_map["bearer"]
    routes = _ours(app)
    public = {k for k, e in routes.items() if e.authorizer is None}
    assert all(path.startswith(PUBLIC) for path, _ in public), sorted(public)
    assert not [k for k in public if k[0].startswith("/v1")]
    protected = {k: e for k, e in routes.items() if e.authorizer is not None}
    assert len(protected) > 80 and all(e.authorizer is bearer for e in protected.values())
    for path, method in sorted(protected):
        concrete = re.sub(r"{(\w+)}", r"\1-1", path)
        r = http.http.request(method, concrete, headers={"Content-Type": "application/json"},
                              body=b"{}")
        assert (r.status_code, r.json_body) == (401, UNAUTHORISED_BODY), (method, path)


def test_every_blueprint_in_chalicelib_is_registered_on_the_app():
    """GIVEN every chalicelib module that makes a Blueprint
    THEN the app registers it: its routes through the manifest, or its authorizer, timers
    and consumers as they are (Chalice names their Lambdas by that module)."""
    from app import ROUTE_BLUEPRINTS, app

    made = {".".join(p.relative_to(ROOT).with_suffix("").parts)
            for p in (ROOT / "chalicelib").rglob("*.py")
            if "Blueprint(__name__)" in p.read_text()}
    handlers = (*app.event_sources, *app.pure_lambda_functions, *app.builtin_auth_handlers)
    by_module = {h.handler_string.rsplit(".", 1)[0] for h in handlers}
    assert made == set(ROUTE_BLUEPRINTS) | by_module
    assert not set(ROUTE_BLUEPRINTS) & by_module  # a route blueprint holds routes only
    # handler_map is by name, and the local scheduler finds the timers there
    views = {e.view_name for methods in app.routes.values() for e in methods.values()}
    assert not views & {h.name for h in handlers}
