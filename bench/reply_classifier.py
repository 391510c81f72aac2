"""Reply classifier quality on the labelled set (bench/data/replies.json): precision and
recall per class over all replies, and over the held-out part (written after the rules and
never used to tune them)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from chalicelib.dunning.reply_rules import CLASSES, classify

DATA = Path(__file__).parent / "data" / "replies.json"
AS_OF = date(2027, 3, 1)  # the set's dates are written relative to this day


def load() -> list[dict]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def scores(rows: list[dict]) -> dict[str, tuple[float, float]]:
    got = [(r["label"], classify(r["subject"], r["body"], AS_OF).label) for r in rows]
    out = {}
    for c in CLASSES:
        tp = sum(1 for want, have in got if want == c and have == c)
        predicted = sum(1 for _, have in got if have == c)
        actual = sum(1 for want, _ in got if want == c)
        out[c] = (tp / predicted if predicted else 0.0, tp / actual if actual else 0.0)
    return out


def run(full: bool = False) -> None:
    rows = load()
    print(f"reply_set_size: {len(rows)} replies")
    for suffix, part in (("", rows), ("_heldout", [r for r in rows if r["split"] == "heldout"])):
        for c, (p, r) in scores(part).items():
            print(f"reply_precision_{c}{suffix}: {p:.2f} ratio")
            print(f"reply_recall_{c}{suffix}: {r:.2f} ratio")


if __name__ == "__main__":
    run()
