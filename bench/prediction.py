"""Predicted pay dates against two baselines, on a history book.

RECOUP_HISTORY_BOOK=<csv in the generic shape with paid dates> and
RECOUP_HISTORY_CUTOFF=<YYYY-MM-DD>: learn from the invoices settled before the cutoff,
predict those issued on or after it (and settled, so there is an answer). Without them, the
seeded book of `bench/payer_book.py` (its own cutoff). The model is the product's:
`behaviour.predict_rules.fit_prior` and `predict`, on profiles from
`behaviour.profile_rules.profile`, with the book parsed by `book.rows.parse_book`.

Printed: the mean absolute error in days of the predicted pay date, of "everyone pays on
the due date" and of "each debtor pays its mean lateness so far" (a debtor with no history
so far: the mean of every debtor's), and for "paid more than 0 days late" the AUC and Brier
score of the predicted probability.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from chalicelib.behaviour.predict_rules import OpenInvoice, fit_prior, predict
from chalicelib.behaviour.profile_rules import Paid, profile
from chalicelib.book.rows import parse_book


def auc(scores: list[float], labels: list[bool]) -> float:
    """Mann-Whitney: the chance a late invoice scores above an on-time one (ties half)."""
    ranked = sorted(zip(scores, labels))
    pos = sum(labels)
    neg = len(labels) - pos
    if not pos or not neg:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += mid * sum(1 for _, y in ranked[i:j] if y)
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def evaluate(data: bytes | str, cutoff: date) -> dict[str, float]:
    book = parse_book(data)
    train: dict[str, list[Paid]] = {}
    test = []
    for r in book.rows:
        if r.paid_date is None:
            continue
        paid = Paid(r.issue_date, r.due_date, r.paid_date, r.total_minor, bool(r.disputed))
        if r.paid_date < cutoff:
            train.setdefault(r.debtor_ref, []).append(paid)
        elif r.issue_date >= cutoff:
            test.append((r.debtor_ref, paid))
    prior = fit_prior(train)
    profiles = {ref: profile(ps) for ref, ps in train.items()}
    every = [x for p in profiles.values() for x in p.lateness]
    overall = sum(every) / len(every) if every else 0.0
    errors, due_errors, mean_errors, probs, labels = [], [], [], [], []
    empty = profile([])
    for ref, paid in test:
        prof = profiles.get(ref, empty)
        pred = predict(prof, OpenInvoice(paid.issue, paid.due, paid.total_minor, paid.total_minor),
                       prior, paid.issue)
        actual = paid.lateness or 0
        errors.append(abs(pred.days_late - actual))
        due_errors.append(abs(actual))
        mean_errors.append(abs((prof.mean_days_late if prof.paid_count else overall) - actual))
        probs.append(pred.p_late)
        labels.append(actual > 0)
    n = len(test)
    return {"train": sum(len(v) for v in train.values()), "test": n,
            "mae": sum(errors) / n, "due_mae": sum(due_errors) / n,
            "mean_mae": sum(mean_errors) / n, "auc": auc(probs, labels),
            "brier": sum((p - y) ** 2 for p, y in zip(probs, labels)) / n}


def run(full: bool = False) -> None:
    path = os.environ.get("RECOUP_HISTORY_BOOK")
    if path:
        data: bytes | str = Path(path).read_bytes()
        cutoff = date.fromisoformat(os.environ["RECOUP_HISTORY_CUTOFF"])
        source = path
    else:
        from bench.payer_book import CUTOFF, generate

        data, _ = generate(debtors=600 if full else 300)
        cutoff, source = CUTOFF, "seeded payer_book"
    m = evaluate(data, cutoff)
    print(f"# {source}, cutoff {cutoff}: learnt from {m['train']} settled invoices, "
          f"predicted {m['test']}")
    print(f"prediction_mae_days: {m['mae']:.2f} days")
    print(f"baseline_due_date_mae_days: {m['due_mae']:.2f} days")
    print(f"baseline_debtor_mean_mae_days: {m['mean_mae']:.2f} days")
    print(f"prediction_vs_debtor_mean_mae: {1 - m['mae'] / m['mean_mae']:.3f} ratio")
    print(f"prediction_vs_due_date_mae: {1 - m['mae'] / m['due_mae']:.3f} ratio")
    print(f"prediction_late_auc: {m['auc']:.3f} ratio")
    print(f"prediction_late_brier: {m['brier']:.3f} ratio")


if __name__ == "__main__":
    run()
