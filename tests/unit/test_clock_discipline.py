"""Time is always passed in: no product code reads the wall clock except the clock module,
and only the edge (handlers) asks the clock, once per request or event, passing `now` down.
Every domain event carries `at`, and no use case defaults `now` (a default hides the wall
clock). Failures name file:line."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"

# The allow-list. The clock module may read the wall clock; the edge modules (request,
# page, job and webhook handlers, and the HTTP edge) may call clock.utcnow(), nothing else.
CLOCK = "chalicelib/kernel/clock.py"
EDGE_FILES = {"routes.py", "pages.py", "portal_pages.py", "console_pages.py",
              "playbook_pages.py", "lab_pages.py", "jobs.py", "webhooks.py"}
EDGE_DIRS = ("chalicelib/http/",)

WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
              ("date", "today"), ("time", "time"), ("time", "time_ns"),
              ("time", "localtime"), ("time", "gmtime")}
WALL_IMPORTS = {("time", "time"), ("time", "time_ns"), ("time", "localtime"),
                ("time", "gmtime")}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _is_edge(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    # a capability's further page or route modules (workbench/cadence_pages.py) are edge too
    return name in EDGE_FILES or name.endswith(("_pages.py", "_routes.py")) \
        or rel.startswith(EDGE_DIRS)


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = _rel(path)
        yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def wall_clock_reads() -> list[str]:
    found = []
    for rel, tree in _modules():
        if rel == CLOCK:
            continue
        edge = _is_edge(rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
                for alias in node.names:
                    if (node.module, alias.name) in WALL_IMPORTS:
                        found.append(f"{rel}:{node.lineno}: from {node.module} import "
                                     f"{alias.name} (the wall clock)")
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            if name[-2:] in WALL_CLOCK:
                found.append(f"{rel}:{node.lineno}: {'.'.join(name)}() reads the wall clock; "
                             "take `now` (services) or clock.utcnow() (handlers)")
            elif name and name[-1] == "utcnow" and not edge:
                found.append(f"{rel}:{node.lineno}: {'.'.join(name)}() outside a handler; "
                             "take `now` as a parameter")
    return found


def test_no_product_code_reads_the_wall_clock():
    assert wall_clock_reads() == []


def test_every_published_event_carries_at():
    missing = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and _dotted(node.func)[-2:] == ("events", "publish")
                    and "at" not in {k.arg for k in node.keywords}):
                missing.append(f"{rel}:{node.lineno}: events.publish without at=")
    assert missing == []


def test_no_service_defaults_now():
    defaults = []
    for rel, tree in _modules():
        if _is_edge(rel) or rel == CLOCK:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = node.args
            positional = a.posonlyargs + a.args
            pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
            pairs += [(arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            for arg, _default in pairs:
                if arg.arg in ("now", "today"):
                    defaults.append(f"{rel}:{node.lineno}: {node.name}({arg.arg}=...) has a "
                                    "default; make it required")
    assert defaults == []


def test_the_check_names_file_and_line(tmp_path, monkeypatch):
    """The checker itself: a planted read is reported with its place."""
    pkg = tmp_path / "chalicelib" / "book"
    pkg.mkdir(parents=True)
    (pkg / "svc.py").write_text("from datetime import datetime\nfrom chalicelib.kernel.clock "
                                "import utcnow\n\n\ndef f():\n    return datetime.now(), utcnow()\n")
    (pkg / "routes.py").write_text("from chalicelib.kernel.clock import utcnow\n\n"
                                   "def r():\n    return utcnow()\n")
    me = sys.modules[__name__]
    monkeypatch.setattr(me, "ROOT", tmp_path)
    monkeypatch.setattr(me, "PACKAGE", tmp_path / "chalicelib")
    found = wall_clock_reads()
    assert len(found) == 2
    assert found[0].startswith("chalicelib/book/svc.py:6: datetime.now()")
    assert found[1].startswith("chalicelib/book/svc.py:6: utcnow() outside a handler")
