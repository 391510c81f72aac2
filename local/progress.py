"""A small progress bar for long commands (stderr, redrawn in place).

Each phase of a command draws its own bar and ends it on its own line when it completes,
so nothing happens silently after a bar has reached 100%."""
from __future__ import annotations

import sys
import time


def bar(title: str, stream=None):
    started = [time.monotonic()]
    last = [0.0]
    shown = [""]

    def update(stage: str, done: int, total: int) -> None:
        out = stream or sys.stderr
        now = time.monotonic()
        if done < total and stage == shown[0] and now - last[0] < 0.2:
            return
        last[0] = now
        shown[0] = stage
        width = 30
        frac = min(done / total, 1.0) if total else 1.0
        filled = int(width * frac)
        took = now - started[0]
        rate = done / max(took, 1e-6)
        # a slow phase (a few big parts) shows its rate with a decimal, and its time
        speed = f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.1f}/s"
        out.write(f"\r{title}: {stage:<22} [{'#' * filled}{'.' * (width - filled)}] "
                  f"{done}/{total} ({speed}, {took:,.0f} s)")
        if done >= total:
            out.write("\n")
            started[0] = now  # the next phase's rate is its own
        out.flush()

    return update
