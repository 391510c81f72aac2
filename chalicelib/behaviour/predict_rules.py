"""When will an open invoice be paid, and how likely is it to be paid late? Pure rules.

The model (light enough for Lambda: plain Python, no numpy):
1. **Prior.** `fit_prior` learns the client's behaviour from its settled invoices: the
   typical lateness of the client's debtors and of each behaviour segment, the spread of an
   invoice around its debtor's habit (residual quantiles), the shrinkage strength `k`
   (empirical Bayes: the within-debtor variance over the between-debtor variance), and two
   slopes (days late per doubling of the amount over the debtor's usual amount; per 30 days
   of terms over the debtor's usual terms).
2. **Debtor estimate shrunk toward the prior.** The debtor's recency-weighted median
   lateness `m`, from `n` invoices, weighs `w = n / (n + k)`; the segment's typical lateness
   (the client's when the segment has few invoices) weighs `1 - w`.
3. **Adjustments** in days, each one reported: the amount and terms slopes, an open dispute,
   broken promises, a habit of paying in parts.
4. **Distribution.** The centre plus residuals: the debtor's own (weight `w`) and the
   client's (weight `1 - w`), conditioned on what is known today (an unpaid invoice is paid
   today at the earliest). The predicted day is the weighted median; P(late) the weight
   above zero days late; the expected days late the weighted mean of those above zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable, Mapping, Sequence

from chalicelib.behaviour.profile_rules import Paid, Profile, profile, segment_for

# Without any history (a client's first import): invoices are paid about two weeks late
# whatever the terms (Xero's analysis of its small-business invoices), spread ±15 days.
DEFAULT_CENTER_DAYS = 14.0
DEFAULT_SPREAD_DAYS = 15.0
DEFAULT_SIGMA2 = 100.0      # an invoice around its debtor's habit: ±10 days (no data yet)
DEFAULT_TAU2 = 225.0        # debtors' habits around the client's: ±15 days (no data yet)
SIGMA2_PRIOR_WEIGHT = 4     # a debtor's own variance is shrunk toward the pooled one
K_BOUNDS = (0.05, 25.0)
HALF_LIFE_INVOICES = 6      # a debtor's invoice counts half after 6 newer ones
SEGMENT_MIN_INVOICES = 20   # a segment's typical lateness is used once it has this many
RESIDUAL_QUANTILES = 41
AMOUNT_SLOPE_BOUNDS = (-3.0, 8.0)    # days per doubling of the amount
TERMS_SLOPE_BOUNDS = (-15.0, 15.0)   # days per 30 days of terms
AMOUNT_MAX_DAYS = 15.0
DISPUTE_DAYS = 30.0         # an open dispute: not paid before it is resolved
BROKEN_PROMISE_DAYS = 5.0   # per broken promise, at most 3 counted
BROKEN_PROMISES_MAX = 3
IN_PARTS_SHARE = 0.3        # paying in parts is a habit from 30% of invoices
IN_PARTS_DAYS = 5.0
LATE_FROM_DAYS = 0.5        # paid on a day after the due day (lateness rounds to 1+)
UNPAID_TAIL_DAYS = 7.0      # past anything seen: expect it a week after today
TREND_WINDOW = 24           # the trend line runs through the latest 24 paid invoices ...
TREND_MIN = 4               # ... at least 4 of them, ...
TREND_MIN_SPAN_DAYS = 60    # ... issued over 60 days or more
TREND_T = 3.0               # ... with a slope at least 3 standard errors from flat
TREND_MAX_DAYS = 45.0       # a trend moves a prediction by 45 days at most
PERSISTENCE_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Prior:
    n: int = 0
    center: float = DEFAULT_CENTER_DAYS
    late_share: float = 0.7
    sigma2: float = DEFAULT_SIGMA2  # within-debtor variance (pooled)
    tau2: float = DEFAULT_TAU2      # between-debtor variance of habits
    residuals: tuple[float, ...] = ()
    segments: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    amount_slope: float = 0.0
    terms_slope: float = 0.0
    trend_persistence: float = 0.0  # how much of a debtor's trend carries on (learnt)

    @property
    def k(self) -> float:
        """Shrinkage strength for a debtor of average consistency."""
        return self.shrinkage(None)

    def shrinkage(self, own_variance: float | None, n: int = 0) -> float:
        """k = σ²_debtor / τ²: a debtor whose invoices scatter little around its habit
        needs fewer invoices to be believed. Its own variance (from n invoices) is shrunk
        toward the pooled σ² first."""
        s2 = self.sigma2
        if own_variance is not None and n >= 2:
            s2 = ((n - 1) * own_variance + SIGMA2_PRIOR_WEIGHT * self.sigma2) / (
                n - 1 + SIGMA2_PRIOR_WEIGHT)
        return max(K_BOUNDS[0], min(K_BOUNDS[1], s2 / max(1e-6, self.tau2)))

    def spread(self) -> tuple[float, ...]:
        if self.residuals:
            return self.residuals
        # a normal-ish spread when nothing is known: quantiles of N(0, DEFAULT_SPREAD_DAYS)
        return tuple(DEFAULT_SPREAD_DAYS * _probit((i + 0.5) / RESIDUAL_QUANTILES)
                     for i in range(RESIDUAL_QUANTILES))

    def to_dict(self) -> dict:
        return {"n": self.n, "center": self.center, "late_share": self.late_share,
                "sigma2": self.sigma2, "tau2": self.tau2, "residuals": list(self.residuals),
                "segments": {s: [n, c] for s, (n, c) in self.segments.items()},
                "amount_slope": self.amount_slope, "terms_slope": self.terms_slope,
                "trend_persistence": self.trend_persistence}

    @classmethod
    def from_dict(cls, d: Mapping | None) -> Prior:
        if not d:
            return cls()
        return cls(n=int(d.get("n", 0)), center=float(d.get("center", DEFAULT_CENTER_DAYS)),
                   late_share=float(d.get("late_share", 0.7)),
                   sigma2=float(d.get("sigma2", DEFAULT_SIGMA2)),
                   tau2=float(d.get("tau2", DEFAULT_TAU2)),
                   residuals=tuple(float(x) for x in d.get("residuals", ())),
                   segments={s: (int(v[0]), float(v[1]))
                             for s, v in (d.get("segments") or {}).items()},
                   amount_slope=float(d.get("amount_slope", 0.0)),
                   terms_slope=float(d.get("terms_slope", 0.0)),
                   trend_persistence=float(d.get("trend_persistence", 0.0)))


def _probit(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's rational approximation)."""
    a = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
         1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
    b = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
         6.680131188771972e+01, -1.328068155288572e+01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
         -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
         3.754408661907416e+00)
    if p < 0.02425:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - 0.02425:
        return -_probit(1 - p)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return float(s[n // 2]) if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def weighted_median(pairs: Iterable[tuple[float, float]]) -> float:
    items = sorted(pairs)
    total = sum(w for _, w in items)
    acc = 0.0
    for v, w in items:
        acc += w
        if acc >= total / 2:
            return v
    return items[-1][0]


def recency_weights(n: int) -> list[float]:
    """Oldest first; the newest weighs 1, one HALF_LIFE_INVOICES older weighs 1/2."""
    return [0.5 ** ((n - 1 - i) / HALF_LIFE_INVOICES) for i in range(n)]


def habit(p: Profile) -> float | None:
    """The debtor's own typical lateness: the recency-weighted median."""
    if not p.lateness:
        return None
    return weighted_median(zip((float(x) for x in p.lateness), recency_weights(len(p.lateness))))


def trend(p: Profile) -> tuple[float, date] | None:
    """The debtor's trend: days later per 30 days of issue dates (least squares through the
    latest TREND_WINDOW paid invoices) and the mean issue day it pivots on; None when too
    few, too close together or not clearly a trend."""
    xs = p.issued[-TREND_WINDOW:]
    ys = [float(y) for y in p.lateness[-TREND_WINDOW:]]
    if len(xs) < TREND_MIN or (xs[-1] - xs[0]).days < TREND_MIN_SPAN_DAYS:
        return None
    ords = [x.toordinal() for x in xs]
    mx, my = sum(ords) / len(ords), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in ords)
    slope = sum((x - mx) * (y - my) for x, y in zip(ords, ys)) / sxx
    resid = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(ords, ys)) / (len(ys) - 2)
    se = math.sqrt(resid / sxx) if resid > 0 else 0.0
    if se and abs(slope) / se < TREND_T:
        return None  # could be noise
    return slope * 30, date.fromordinal(int(round(mx)))


def trend_shift(p: Profile, issue: date, persistence: float) -> float:
    """Days the trend adds to the habit for an invoice issued on `issue`."""
    t = trend(p) if persistence else None
    if t is None:
        return 0.0
    per30, pivot = t
    # the habit (recency-weighted) sits near the latest invoices: extrapolate from there
    anchor = max(pivot, p.issued[-1] - timedelta(days=HALF_LIFE_INVOICES * 15))
    shift = persistence * per30 * (issue - anchor).days / 30
    return max(-TREND_MAX_DAYS, min(TREND_MAX_DAYS, shift))


def _persistence(profiles: Iterable[Profile]) -> float:
    """How much of a trend carries on: on each debtor with 8+ paid invoices, the habit and
    trend of its first two thirds predict the last third; the share of the trend that
    predicts best (absolute error) wins."""
    cases = []
    for p in profiles:
        if p.paid_count < 8:
            continue
        cut = (2 * p.paid_count) // 3
        head = profile_slice(p, cut)
        own = habit(head)
        for x, day in zip(p.lateness[cut:], p.issued[cut:]):
            cases.append((head, own, float(x), day))
    if len(cases) < 30:
        return 0.0
    best, best_err = 0.0, None
    for f in PERSISTENCE_STEPS:
        err = sum(abs(own + trend_shift(head, day, f) - x) for head, own, x, day in cases)
        if best_err is None or err < best_err - 1e-9:
            best, best_err = f, err
    return best


def profile_slice(p: Profile, n: int) -> Profile:
    """The profile as it stood after its first `n` paid invoices (lateness facts only)."""
    from dataclasses import replace

    return replace(p, paid_count=n, lateness=p.lateness[:n], amounts=p.amounts[:n],
                   terms=p.terms[:n], issued=p.issued[:n])


def _quantiles(xs: Sequence[float], n: int = RESIDUAL_QUANTILES) -> tuple[float, ...]:
    s = sorted(xs)
    if not s:
        return ()
    return tuple(round(s[min(len(s) - 1, int((i + 0.5) * len(s) / n))], 2) for i in range(n))


def _slope(xs: Sequence[float], ys: Sequence[float], bounds: tuple[float, float]) -> float:
    """Least-squares slope through the origin (residuals are centred per debtor), clipped."""
    sxx = sum(x * x for x in xs)
    if sxx < 1e-9 or len(xs) < 20:
        return 0.0
    b = sum(x * y for x, y in zip(xs, ys)) / sxx
    return max(bounds[0], min(bounds[1], round(b, 3)))


def _log2_ratio(amount: int, usual: float) -> float:
    return math.log2(max(1, amount) / max(1.0, usual))


def fit_prior(histories: Mapping[str, Iterable[Paid]]) -> Prior:
    """The client's behaviour from every debtor's settled invoices."""
    profiles = {d: profile(ps) for d, ps in histories.items()}
    profiles = {d: p for d, p in profiles.items() if p.paid_count}
    every = [float(x) for p in profiles.values() for x in p.lateness]
    if not every:
        return Prior()
    center = _median(every)
    residuals, within, means, ns = [], [], [], []
    amt_x, amt_y, terms_x, terms_y = [], [], [], []
    segments: dict[str, list[float]] = {}
    for p in profiles.values():
        xs = [float(x) for x in p.lateness]
        segments.setdefault(segment_for(p).name, []).extend(xs)
        means.append(sum(xs) / len(xs))
        ns.append(len(xs))
        if len(xs) < 2:
            continue
        m = _median(xs)
        mean = sum(xs) / len(xs)
        within.extend((x - mean) ** 2 for x in xs)
        # leave-one-out residuals: how far an invoice falls from the habit of the others,
        # which is what a prediction from the others faces
        for i, x in enumerate(xs):
            rest = xs[:i] + xs[i + 1:]
            residuals.append(x - _median(rest))
        usual_amount = _median([float(a) for a in p.amounts])
        usual_terms = _median([float(t) for t in p.terms])
        for x, a, t in zip(xs, p.amounts, p.terms):
            amt_x.append(_log2_ratio(a, usual_amount))
            amt_y.append(x - m)
            terms_x.append((t - usual_terms) / 30)
            terms_y.append(x - m)
    sigma2, tau2 = DEFAULT_SIGMA2, DEFAULT_TAU2
    if within and len(means) >= 5:  # empirical Bayes: method of moments
        dof = sum(n - 1 for n in ns if n >= 2)
        sigma2 = max(1.0, sum(within) / max(1, dof))
        mm = sum(means) / len(means)
        var_means = sum((m - mm) ** 2 for m in means) / (len(means) - 1)
        tau2 = max(sigma2 / K_BOUNDS[1], var_means - sum(sigma2 / n for n in ns) / len(ns))
    return Prior(n=len(every), center=round(center, 2),
                 late_share=round(sum(1 for x in every if x > 0) / len(every), 4),
                 sigma2=round(sigma2, 3), tau2=round(tau2, 3), residuals=_quantiles(residuals),
                 segments={s: (len(xs), round(_median(xs), 2)) for s, xs in segments.items()},
                 amount_slope=_slope(amt_x, amt_y, AMOUNT_SLOPE_BOUNDS),
                 terms_slope=_slope(terms_x, terms_y, TERMS_SLOPE_BOUNDS),
                 trend_persistence=_persistence(profiles.values()))


# ------------------------------------------------------------------------------ predict


@dataclass(frozen=True)
class OpenInvoice:
    issue: date
    due: date
    amount_minor: int         # what is still owed
    total_minor: int = 0
    disputed: bool = False


@dataclass(frozen=True)
class Moved:
    """One fact that moved the prediction, by how many days (signed)."""

    fact: str
    days: float

    def text(self) -> str:
        k = round(self.days)
        if abs(self.days) < 0.5:
            return self.fact
        return f"{self.fact} ({'+' if k > 0 else '−'}{abs(k)} day{'s' if abs(k) != 1 else ''})"


@dataclass(frozen=True)
class Prediction:
    pay_on: date
    days_late: float          # predicted pay day minus due day
    p_late: float             # probability of being paid after the due date
    expected_days_late: float  # how late, if late (mean days after due)
    center: float
    moved: tuple[Moved, ...]
    # the distribution it is the median of: (whole days after due, share), shares sum to 1
    distribution: tuple[tuple[int, float], ...] = ()

    @property
    def expected_overdue_days(self) -> float:
        """P(late) × expected days late."""
        return self.p_late * self.expected_days_late

    def reasons(self) -> list[str]:
        return [m.text() for m in self.moved]


def _words(days: float) -> str:
    k = int(round(abs(days)))
    if k == 0:
        return "on the due date"
    return f"{k} day{'s' if k != 1 else ''} {'late' if days > 0 else 'early'}"


def predict(history: Profile, invoice: OpenInvoice, prior: Prior, today: date, *,
            segment: str | None = None, broken_promises: int | None = None) -> Prediction:
    """Predict one open invoice of a debtor whose behaviour is `history` (its profile)."""
    moved: list[Moved] = []
    seg = segment or segment_for(history).name
    n_seg, c_seg = prior.segments.get(seg, (0, prior.center))
    if seg != "new" and n_seg >= SEGMENT_MIN_INVOICES:
        base = c_seg
        moved.append(Moved(f"{seg.replace('_', ' ')} debtors of this client pay "
                           f"{_words(base)}", 0.0))  # the starting point
    else:
        base = prior.center
        moved.append(Moved(("this client's debtors pay " if prior.n else
                            "invoices are paid (no history yet) ") + _words(base), 0.0))
    own = habit(history)
    n = history.paid_count
    shift = trend_shift(history, invoice.issue, prior.trend_persistence) if own is not None else 0.0
    w = n / (n + prior.shrinkage((history.spread_days or 0.0) ** 2, n)) if n else 0.0
    center = base
    if own is not None:
        center = w * own + (1 - w) * base
        moved.append(Moved(f"their {n} paid invoice{'s' if n != 1 else ''}: usually "
                           f"{_words(own)} (weight {w:.0%})", center - base))
        if abs(shift) >= 0.5:
            moved.append(Moved("getting later" if shift > 0 else "getting earlier", w * shift))
            center += w * shift
    if n and prior.amount_slope:
        usual = _median([float(a) for a in history.amounts])
        d = max(-AMOUNT_MAX_DAYS, min(AMOUNT_MAX_DAYS,
                                      prior.amount_slope * _log2_ratio(invoice.total_minor
                                                                       or invoice.amount_minor, usual)))
        if abs(d) >= 0.5:
            moved.append(Moved("larger than their usual invoice" if d > 0 else
                               "smaller than their usual invoice", d))
            center += d
    terms = (invoice.due - invoice.issue).days
    if n and prior.terms_slope:
        usual_terms = _median([float(t) for t in history.terms])
        d = prior.terms_slope * (terms - usual_terms) / 30
        if abs(d) >= 0.5:
            moved.append(Moved(f"{terms}-day terms (usually {int(usual_terms)})", d))
            center += d
    if invoice.disputed:
        moved.append(Moved("open dispute", DISPUTE_DAYS))
        center += DISPUTE_DAYS
    broken = history.promises_broken if broken_promises is None else broken_promises
    if broken:
        d = BROKEN_PROMISE_DAYS * min(broken, BROKEN_PROMISES_MAX)
        moved.append(Moved(f"{broken} broken promise{'s' if broken != 1 else ''}", d))
        center += d
    if history.invoices_seen >= 2 and history.partial_share >= IN_PARTS_SHARE:
        moved.append(Moved(f"pays in parts ({history.in_parts} of {history.invoices_seen})",
                           IN_PARTS_DAYS))
        center += IN_PARTS_DAYS
    # the distribution around the centre: their own residuals and the client's
    samples: list[tuple[float, float]] = []
    spread = prior.spread()
    for r in spread:
        samples.append((center + r, (1 - w) / len(spread)))
    if own is not None and w > 0 and n >= 2:
        for x in history.lateness:
            samples.append((center + (x - own), w / n))
    elif w > 0:
        for r in spread:
            samples.append((center + r, w / len(spread)))
    # unpaid today: it will be paid today at the earliest
    floor = (today - invoice.due).days
    alive = [(v, wt) for v, wt in samples if v >= floor]
    if not alive or sum(wt for _, wt in alive) < 1e-6:
        alive = [(floor + UNPAID_TAIL_DAYS, 1.0)]
        if floor > 0:
            moved.append(Moved(f"already {floor} days overdue, later than "
                               + ("they have ever paid" if own is not None else
                                  "this client's invoices are paid"), 0))
    elif floor > 0 and len(alive) < len(samples):
        moved.append(Moved(f"still unpaid {floor} days after due", 0))
    total = sum(wt for _, wt in alive)
    days_late = weighted_median(alive)
    late = [(v, wt) for v, wt in alive if v >= LATE_FROM_DAYS]
    p_late = sum(wt for _, wt in late) / total
    expected = sum(v * wt for v, wt in late) / sum(wt for _, wt in late) if late else 0.0
    by_day: dict[int, float] = {}
    for v, wt in alive:
        by_day[int(round(v))] = by_day.get(int(round(v)), 0.0) + wt / total
    return Prediction(pay_on=invoice.due + timedelta(days=int(round(days_late))),
                      days_late=round(days_late, 2), p_late=round(p_late, 4),
                      expected_days_late=round(expected, 2), center=round(center, 2),
                      moved=tuple(moved), distribution=tuple(sorted(by_day.items())))


@dataclass(frozen=True)
class Outlook:
    """An account's expected overdue value: Σ owed × P(late) × expected days late."""

    owed_minor: int
    expected_overdue_minor_days: int
    p_late: float              # amount-weighted
    expected_days_late: float  # amount-weighted, of those likely late
    reasons: tuple[str, ...]


def outlook(pairs: Iterable[tuple[OpenInvoice, Prediction]]) -> Outlook:
    pairs = [(i, p) for i, p in pairs if i.amount_minor > 0]
    owed = sum(i.amount_minor for i, _ in pairs)
    if not owed:
        return Outlook(0, 0, 0.0, 0.0, ())
    value = sum(i.amount_minor * p.p_late * p.expected_days_late for i, p in pairs)
    p_late = sum(i.amount_minor * p.p_late for i, p in pairs) / owed
    weight = sum(i.amount_minor * p.p_late for i, p in pairs)
    days = value / weight if weight else 0.0
    # the facts that moved the largest invoice's prediction explain the account
    top = max(pairs, key=lambda ip: ip[0].amount_minor * ip[1].expected_overdue_days)[1]
    return Outlook(owed, int(round(value)), round(p_late, 4), round(days, 2),
                   tuple(m.text() for m in top.moved[1:] if abs(m.days) >= 0.5 or m.days == 0))
