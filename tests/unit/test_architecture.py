"""Architecture contracts, checked on every `make test`: the import-linter contracts in
.importlinter (pure rules import no AWS/Stripe/Chalice; the kernel imports no capability;
capabilities sit in layers) and no import cycle between chalicelib modules."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "3 kept, 0 broken" in run.stdout


def test_no_module_of_chalicelib_imports_itself_back_through_others():
    """A cycle (A imports B imports … imports A), counting imports inside functions too."""
    import grimp

    graph = grimp.build_graph("chalicelib", cache_dir=None)
    modules = sorted(m for m in graph.modules if not graph.find_children(m))
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if d in modules}
             for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for m in modules:
        if m not in index:
            visit(m)
    assert cycles == [], "\n".join(" <-> ".join(c) for c in cycles)
