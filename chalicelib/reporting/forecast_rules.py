"""The cash forecast: expected receipts per week for the next 13 weeks. Pure rules.

Three sources, each counted once per minor unit owed:
- **plan instalments** (a live plan): each instalment still owed lands in the week it is due,
  in full (a missed one breaks the plan and the account goes back to chasing);
- **promises** (an open promise to pay, the part still unpaid): the debtor's promise-kept
  rate of it lands in the week of the promised date; the rest is what a broken promise
  leaves owed, so it stays with the invoices it covered, on their predicted dates but never
  before the week after the promise;
- **predicted** (every other open invoice): the balance, times its probability of being
  paid (1 unless told), spread over the weeks by its predicted distribution
  (`behaviour.predict_rules.predict`: each week gets the share of the distribution that
  falls in it; without one, all of it lands in the week of the predicted pay date).

An invoice covered by a plan or a promise is counted through them, not also through its
prediction: a debtor's plan takes its remaining total off the debtor's open invoices
first (oldest due first, as payments are allocated), then its promise takes what it
covers off the rest. Anything dated before the first week (overdue, a promise date past)
lands in week 1; after week 13 it is "later". Weeks start on Monday in the client's time
zone (the caller passes the client's local today). Amounts are integer minor units per
currency: shares are rounded per item, the rest of each item stays whole elsewhere, so
weeks + later add up exactly to what is expected.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

WEEKS = 13
KINDS = ("predicted", "promised", "plan")
# A debtor's kept rate is shrunk toward the client's: (kept + K × client) / (judged + K).
KEPT_PRIOR_WEIGHT = 2.0
DEFAULT_KEPT_RATE = 0.5  # no promise of the client judged yet


@dataclass(frozen=True)
class Predicted:
    """An open invoice and when it is predicted to be paid."""

    debtor_id: str
    invoice_id: str
    currency: str
    amount_minor: int      # still owed
    due: date
    pay_on: date
    probability: float = 1.0
    # when it may be paid: (day, share) summing to 1; empty: all on `pay_on`
    spread: tuple[tuple[date, float], ...] = ()


@dataclass(frozen=True)
class Promise:
    """An open promise: what is still unpaid of it, by when, and the debtor's record."""

    debtor_id: str
    currency: str
    amount_minor: int
    promised_for: date
    kept: int = 0          # the debtor's promises kept ...
    broken: int = 0        # ... and broken (judged ones)


@dataclass(frozen=True)
class Instalment:
    """A live plan's instalment still owed (what is left of it)."""

    debtor_id: str
    currency: str
    amount_minor: int
    due: date


@dataclass
class Split:
    predicted: int = 0
    promised: int = 0
    plan: int = 0

    @property
    def total(self) -> int:
        return self.predicted + self.promised + self.plan

    def add(self, kind: str, amount: int) -> None:
        setattr(self, kind, getattr(self, kind) + amount)

    def to_dict(self) -> dict:
        return {"total_minor": self.total, "predicted_minor": self.predicted,
                "promised_minor": self.promised, "plan_minor": self.plan}


@dataclass
class CurrencyForecast:
    currency: str
    weeks: list[Split]
    later: Split = field(default_factory=Split)

    @property
    def total(self) -> int:
        return sum(w.total for w in self.weeks) + self.later.total


@dataclass
class Forecast:
    today: date
    week_starts: list[date]
    currencies: dict[str, CurrencyForecast]
    kept_rate: float                     # the client's promise-kept rate used as prior

    def week_of(self, day: date) -> int | None:
        """Index of the week holding `day` (past days: week 0), None beyond the horizon."""
        i = max(0, (day - self.week_starts[0]).days // 7)
        return i if i < len(self.week_starts) else None

    def to_dict(self) -> dict:
        return {"as_of": self.today.isoformat(),
                "weeks": [w.isoformat() for w in self.week_starts],
                "kept_rate": round(self.kept_rate, 4),
                "currencies": [{"currency": c.currency,
                                "weeks": [w.to_dict() for w in c.weeks],
                                "later": c.later.to_dict(), "total_minor": c.total}
                               for c in (self.currencies[k] for k in sorted(self.currencies))]}


def week_start(day: date) -> date:
    """The Monday on or before `day`."""
    return day - timedelta(days=day.weekday())


def client_kept_rate(promises: Iterable[Promise]) -> float:
    """The client's kept rate over its debtors' judged promises (each debtor once)."""
    seen: dict[str, tuple[int, int]] = {}
    for p in promises:
        seen[p.debtor_id] = (p.kept, p.broken)
    kept = sum(k for k, _ in seen.values())
    judged = kept + sum(b for _, b in seen.values())
    return kept / judged if judged else DEFAULT_KEPT_RATE


def kept_rate(p: Promise, prior: float) -> float:
    """The debtor's promise-kept rate, shrunk toward the client's (few promises say little)."""
    judged = p.kept + p.broken
    return (p.kept + KEPT_PRIOR_WEIGHT * prior) / (judged + KEPT_PRIOR_WEIGHT)


def _take(invoices: list[list], amount: int) -> list[tuple[Predicted, int]]:
    """Take `amount` off the debtor's invoices (oldest due first); returns what was taken
    from which invoice. `invoices` holds [invoice, amount left] and is changed in place."""
    taken = []
    for row in invoices:
        if amount <= 0:
            break
        part = min(row[1], amount)
        if part > 0:
            row[1] -= part
            amount -= part
            taken.append((row[0], part))
    return taken


def forecast(today: date, predicted: Iterable[Predicted], promises: Iterable[Promise] = (),
             instalments: Iterable[Instalment] = (), *, weeks: int = WEEKS,
             kept_prior: float | None = None) -> Forecast:
    """Expected receipts per week from `today` (the client's local day)."""
    first = week_start(today)
    f = Forecast(today, [first + timedelta(days=7 * i) for i in range(weeks)], {}, 0.0)
    promises = list(promises)
    f.kept_rate = client_kept_rate(promises) if kept_prior is None else kept_prior

    def put(currency: str, day: date, kind: str, amount: int) -> None:
        if amount <= 0:
            return
        c = f.currencies.get(currency)
        if c is None:
            c = f.currencies[currency] = CurrencyForecast(currency, [Split() for _ in range(weeks)])
        i = f.week_of(day)
        (c.later if i is None else c.weeks[i]).add(kind, amount)

    # each debtor's open invoices per currency, oldest due first: [invoice, amount left]
    books: dict[tuple[str, str], list[list]] = {}
    for inv in predicted:
        if inv.amount_minor > 0:
            books.setdefault((inv.debtor_id, inv.currency), []).append([inv, inv.amount_minor])
    for rows in books.values():
        rows.sort(key=lambda r: (r[0].due, r[0].invoice_id))
    # plans first: the instalments, and the amount they cover off the invoices
    for ins in instalments:
        if ins.amount_minor <= 0:
            continue
        put(ins.currency, ins.due, "plan", ins.amount_minor)
        _take(books.get((ins.debtor_id, ins.currency), []), ins.amount_minor)
    # promises: the kept share on the promised date; the rest stays on the invoices
    unkept: dict[tuple[str, str], list[tuple[Predicted, int, date]]] = {}
    for p in promises:
        if p.amount_minor <= 0:
            continue
        # a promise counts only against what is still owed (and not under a plan)
        covered = _take(books.get((p.debtor_id, p.currency), []), p.amount_minor)
        amount = sum(part for _, part in covered)
        share = int(round(amount * kept_rate(p, f.kept_rate)))
        put(p.currency, p.promised_for, "promised", share)
        # what a broken promise leaves: on the covered invoices' predicted dates, after it
        rest = amount - share
        after = max(p.promised_for, today) + timedelta(days=7)
        for inv, part in covered:
            piece = min(part, rest)
            rest -= piece
            put(inv.currency, max(inv.pay_on, after), "predicted", piece)
    # everything else: through its prediction, spread over the weeks it may be paid in
    for rows in books.values():
        for inv, left in rows:
            expected = left if inv.probability >= 1 else int(round(left * inv.probability))
            if not inv.spread:
                put(inv.currency, inv.pay_on, "predicted", expected)
                continue
            shares: dict[int | None, float] = {}
            for day, share in inv.spread:
                i = f.week_of(day)
                shares[i] = shares.get(i, 0.0) + share
            for i, amount in _allocate(expected, shares).items():
                put(inv.currency, f.week_starts[i] if i is not None else
                    f.week_starts[-1] + timedelta(days=7), "predicted", amount)
    return f


def _allocate(amount: int, shares: Mapping) -> dict:
    """Whole minor units per key in proportion to the shares, summing exactly to `amount`
    (largest remainders get the odd units)."""
    total = sum(shares.values()) or 1.0
    exact = {k: amount * v / total for k, v in shares.items()}
    out = {k: int(x) for k, x in exact.items()}
    short = amount - sum(out.values())
    order = sorted(exact, key=lambda k: (-(exact[k] - out[k]), -1 if k is None else k))
    for k in order[:short]:
        out[k] += 1
    return out


# ------------------------------------------------------------------- forecast vs actual


def versus_actual(snapshots: Mapping[str, Mapping], actual_by_day: Mapping[str, int],
                  currency: str, this_week: date, *, weeks: int = WEEKS) -> list[dict]:
    """For each past week (newest first, up to `weeks`) that a stored forecast covered: what
    the latest forecast made before the week began expected in `currency` (else the one
    made in the week itself), and what was actually collected. `snapshots` maps each
    forecast's week (ISO Monday) to its `Forecast.to_dict()`; `actual_by_day` maps ISO days
    to money collected."""
    rows = []
    for k in range(1, weeks + 1):
        start = this_week - timedelta(days=7 * k)
        made = None
        for back in (1, 0):
            s = snapshots.get((start - timedelta(days=7 * back)).isoformat())
            if s is not None:
                made = s
                break
        if made is None:
            continue
        cur = next((c for c in made["currencies"] if c["currency"] == currency), None)
        i = made["weeks"].index(start.isoformat()) if start.isoformat() in made["weeks"] else None
        expected = cur["weeks"][i] if cur is not None and i is not None else None
        end = start + timedelta(days=6)
        actual = sum(v for d, v in actual_by_day.items()
                     if start.isoformat() <= d <= end.isoformat())
        exp_total = expected["total_minor"] if expected else 0
        rows.append({"week": start.isoformat(), "forecast_made_on": made["as_of"],
                     "forecast_minor": exp_total,
                     "split": expected or Split().to_dict(),
                     "actual_minor": actual, "difference_minor": actual - exp_total})
    return rows
