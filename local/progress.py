"""A small progress bar for long commands (stderr, redrawn in place)."""
from __future__ import annotations

import sys
import time


def bar(title: str, stream=sys.stderr):
    started = time.monotonic()
    last = [0.0]

    def update(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.2:
            return
        last[0] = now
        width = 30
        frac = done / total if total else 1.0
        filled = int(width * frac)
        rate = done / max(now - started, 1e-6)
        stream.write(f"\r{title}: {stage:<22} [{'#' * filled}{'.' * (width - filled)}] "
                     f"{done}/{total} ({rate:,.0f}/s)")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return update
