"""Routes registered from a manifest, each capability imported on its route's first call.

A cold API Lambda imports app.py, and app.py used to import every capability's routes and
pages (their whole use-case trees) to register them. Now it registers each route listed in
the route manifest (`route_manifest.py`, generated from the real blueprints by
`python -m chalicelib.http.lazy`) as a trampoline: Chalice, the API Gateway template
`chalice package` writes, the local server and the test client all see the route with its
path, method, view name, authorizer, content types and docstring, exactly as the blueprint
declares it. On its first call the trampoline imports the blueprint's module, reads the
route as Chalice registers it (on a scratch app), lends every route blueprint imported so
far the app (so `bp.current_request` is this request, also in a page wrapper another module
defines) and calls the real view with the same path parameters. A cold request thus loads only its own capability; the work is not gone, it is
paid by the first request that needs it.

Limits (checked by tests/functional/test_route_manifest.py):
- the manifest is a generated file: a changed route needs `python -m chalicelib.http.lazy`
  (the test fails, naming the command, when the file differs from what the blueprints say);
- route blueprints hold routes only (a timer or queue consumer in a module nobody imports at
  start would never be registered: `collect` refuses it; put it in the capability's jobs.py,
  which app.py registers as it is); a module declares its routes on its own blueprint
  (importing another's would not declare them); no CORS, API keys or authorizers other
  than Chalice's built-in ones (registered on the app before the routes, found by name);
- anything filled in by importing route modules (the OpenAPI registry) is complete only after
  `load_all()`, which /openapi.json calls.
"""
from __future__ import annotations

import importlib
import inspect
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

MANIFEST = Path(__file__).with_name("route_manifest.py")
COMMAND = "python -m chalicelib.http.lazy"


class Route(NamedTuple):
    """One row of the manifest: a route as its blueprint declares it."""
    path: str
    method: str
    module: str  # the module whose `bp` declares it
    view: str  # Chalice's name for the view
    authorizer: str | None  # a built-in authorizer registered on the app, by name
    content_types: tuple[str, ...]
    doc: str | None  # the view's docstring (API Gateway's summary and description)


_lock = threading.RLock()
_declared: dict[str, dict[tuple[str, str], Any]] = {}
_modules: dict[str, None] = {}  # every module a registered manifest names, in order


def declared(module: str) -> dict[tuple[str, str], Any]:
    """(path, method) -> Chalice's RouteEntry for each route `module.bp` declares, as
    register_blueprint adds them (on a scratch app: the blueprint keeps its own app).
    Once per module and process: Chalice consumes a blueprint's route arguments when it
    registers them, so a second registration would lose their methods and authorizers.
    Refuses a blueprint that declares anything else: nothing else could be registered."""
    got = _declared.get(module)
    if got is None:
        with _lock:  # the local server serves requests on threads
            got = _declared.get(module)
            if got is None:
                got = _declared[module] = _register_once(module)
    return got


def _register_once(module: str) -> dict[tuple[str, str], Any]:
    from chalice import Chalice

    bp = importlib.import_module(module).bp
    lent = bp._current_app  # Chalice keeps a blueprint's app there; register() replaces it
    scratch = Chalice(app_name="manifest", configure_logs=False)
    scratch.register_blueprint(bp)
    bp._current_app = lent
    other = [s.name for s in (*scratch.event_sources, *scratch.builtin_auth_handlers,
                              *scratch.pure_lambda_functions)]
    if other or scratch.middleware_handlers or scratch.websocket_handlers:
        raise TypeError(f"{module} is a route blueprint, loaded only when one of its routes "
                        f"is called, so it may declare routes only; move {other or 'the rest'} "
                        "to the capability's jobs.py (app.py registers it at start)")
    return {(path, method): entry for path, methods in scratch.routes.items()
            for method, entry in methods.items()}


def _attach(app: Any) -> None:
    """What register_blueprint would have set: every route blueprint imported so far reads
    this app's current_request (a page of one module calls another's helpers, which read
    their own blueprint's). Set on every call: cheap, and right even if a scratch app or a
    test's second app borrowed a blueprint meanwhile."""
    for module in _modules:
        bp = getattr(sys.modules.get(module), "bp", None)  # None: not imported (yet)
        if bp is not None:
            bp._current_app = app


def _trampoline(app: Any, route: Route) -> Callable[..., Any]:
    key = (route.path, route.method)

    def view(**params: Any) -> Any:
        entry = declared(route.module).get(key)
        if entry is None:
            raise RuntimeError(f"{route.module} no longer declares {route.method} "
                               f"{route.path}: the route manifest is stale, run {COMMAND}")
        _attach(app)
        return entry.view_function(**params)

    view.__name__ = view.__qualname__ = route.view
    view.__module__ = route.module
    view.__doc__ = route.doc
    return view


def register(app: Any, rows: Iterable[tuple] | None = None) -> None:
    """Register every route of the manifest (or `rows`) on `app`. Its authorizers must be
    registered first (app.handler_map holds them by name)."""
    if rows is None:
        from chalicelib.http.route_manifest import ROUTES as rows
    for row in rows:
        route = Route(*row)
        kwargs: dict[str, Any] = {"methods": [route.method], "name": route.view,
                                  "content_types": list(route.content_types)}
        if route.authorizer is not None:
            kwargs["authorizer"] = app.handler_map[route.authorizer]
        app.route(route.path, **kwargs)(_trampoline(app, route))
        _modules.setdefault(route.module)
    _attach(app)  # modules the app imported anyway (the local stages' own pages)


def load_all() -> None:
    """Import every module of the registered manifests (what app.py imported before)."""
    for module in list(_modules):
        declared(module)


def load(path: str, method: str = "GET") -> None:
    """Import the module behind one registered route, as its first call would."""
    from chalicelib.http.route_manifest import ROUTES

    for row in ROUTES:
        if row[0] == path and row[1] == method:
            declared(row[2])
            return
    raise KeyError(f"{method} {path} is not in the route manifest")


# --------------------------------------------------------------------------- generating


def collect(modules: Iterable[str]) -> list[Route]:
    """Every route the blueprints of `modules` declare: what the manifest must say."""
    from chalice.app import ChaliceAuthorizer

    modules = tuple(modules)
    out: list[Route] = []
    seen: dict[tuple[str, str], str] = {}
    for module in modules:
        for (path, method), e in declared(module).items():
            if (path, method) in seen:
                raise ValueError(f"{method} {path} is declared by {seen[path, method]} "
                                 f"and {module}")
            seen[path, method] = module
            where = getattr(e.view_function, "__module__", module)
            if where != module and where in modules:
                raise ValueError(f"{method} {path}: {where} declares it on {module}'s "
                                 f"blueprint, so importing {module} alone would not; declare "
                                 f"it on {where}'s own blueprint")
            if e.cors or e.api_key_required:
                raise ValueError(f"{method} {path}: the manifest has no CORS or API keys")
            if e.authorizer is not None and not isinstance(e.authorizer, ChaliceAuthorizer):
                raise ValueError(f"{method} {path}: only built-in authorizers are supported")
            out.append(Route(path, method, module, e.view_name,
                             e.authorizer.name if e.authorizer is not None else None,
                             tuple(e.content_types), inspect.getdoc(e.view_function)))
    return out


def render(routes: Iterable[Route]) -> str:
    lines = [f'"""Generated by `{COMMAND}` from the route blueprints app.py lists: do not',
             "edit. One row per route, as its blueprint declares it (chalicelib/http/lazy.py:",
             'app.py registers each as a trampoline that imports the module on first call)."""',
             "",
             "# path, method, module (its `bp`), view name, authorizer, content types, docstring",
             "ROUTES = ("]
    for r in routes:
        lines.append(f"    ({r.path!r}, {r.method!r}, {r.module!r}, {r.view!r},")
        lines.append(f"     {r.authorizer!r}, {r.content_types!r},")
        lines.append(f"     {r.doc!r}),")
    lines.append(")")
    return "\n".join(lines) + "\n"


def route_blueprints(app_py: Path = MANIFEST.parents[2] / "app.py") -> tuple[str, ...]:
    """app.py's ROUTE_BLUEPRINTS, read from its source: importing app.py needs the manifest,
    which may be the stale or missing file being generated."""
    import ast

    for node in ast.parse(app_py.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "ROUTE_BLUEPRINTS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise LookupError(f"{app_py} has no ROUTE_BLUEPRINTS")


def expected() -> str:
    """The manifest the route blueprints app.py lists declare today."""
    return render(collect(route_blueprints()))


def main(argv: list[str]) -> int:
    text = expected()
    if "--check" in argv:
        stale = not MANIFEST.exists() or MANIFEST.read_text() != text
        print(f"{MANIFEST} is stale: run {COMMAND}" if stale else f"{MANIFEST} is current")
        return int(stale)
    MANIFEST.write_text(text)
    print(f"wrote {MANIFEST}: {text.count(chr(10) + '    (')} routes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
