"""Payer types and how each responds to a reminder: the debtor side of the outcomes lab.

Plain Python (no AWS): a population is drawn from a seed, so the same seed gives the same
debtors, amounts, terms, zones and unprompted pay dates whichever playbook is run on it.

What is grounded in published figures, and what is an assumption
-----------------------------------------------------------------
Sources (what they say, as far as we can state it honestly):

* Xero, "Invoice payment terms" (xero.com/us/small-business-guides/invoicing/
  invoice-payment-terms/): over 12 million small-business invoices raised 2009-2012,
  "regardless of whether your payment terms are due immediately or due in 30 days, on
  average invoices are paid two weeks late". Used as the calibration target for NO
  reminders: the unprompted lateness of the population averages about 14 days (we print
  `outcomes_none_mean_days_late` to show it). That most of those invoices got few or no
  reminders is our assumption.
* Xero Small Business Insights (reported for NZ, June 2018, and Aug 2018 in the press):
  on average an invoice was about 8 days late (7-day terms paid in 17.3 days, 14-day terms
  in 22.2 days). Used as a loose check on the Xero-style e-mail sequence (+7/+14/+21),
  assuming by 2018 many invoices got Xero's automatic e-mail reminders (an assumption).
* Cadena & Schoar, "Remembering to Pay? Reminders vs. Financial Incentives for Loan
  Payments", NBER w17020 (randomised trial, Ugandan micro-lender): a text message shortly
  before each instalment was due improved on-time repayment about as much as a 25%
  interest-rate cut; the issue quotes the uplift as 7-9%. Used to size the pre-due
  reminder: one reminder before the due date moves about 8 points of the population to
  paying on time (the forgetters' pre-due response below times their share).
* Karlan, Morten & Zinman, "A Personal Touch: Text Messaging for Loan Repayment", NBER
  w17952: reminders only robustly improved repayment when they named a person the
  borrower knew. Used qualitatively: a call that reaches someone moves a debtor more than
  an SMS, which moves more than an e-mail (the multipliers are assumptions).

Assumptions (not from a source; change them here and the docs say so):

* the mix of payer types (_MIX), the payment-terms mix (_TERMS), the zone mix (_ZONES),
  the lognormal invoice amounts;
* per-type response: the chance a touch prompts payment by channel and tone, and the
  delay to payment after it (_TYPES); a call reaches a person with CALL_REACH;
* a disputer raises the query on the first touch (or when they would have paid), the
  query takes 10-25 days to resolve, chasing holds meanwhile, then they pay;
* payments land on the debtor's local weekdays only; nobody pays on Saturday or Sunday;
* one invoice per debtor; non-payers pay nothing within the horizon unless a call reaches
  them or a final notice lands (small chance).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

PROMPT, FORGETTER, SLOW, DISPUTER, STRETCHED, NON_PAYER = (
    "prompt", "forgetter", "slow", "disputer", "stretched", "non_payer")
TYPES = (PROMPT, FORGETTER, SLOW, DISPUTER, STRETCHED, NON_PAYER)

# Shares of the default population (assumption; tuned so that with no reminders the mean
# lateness of paid invoices is about two weeks, Xero's 2009-2012 figure).
_MIX = {PROMPT: 0.38, FORGETTER: 0.22, SLOW: 0.20, DISPUTER: 0.07, STRETCHED: 0.10,
        NON_PAYER: 0.03}
_TERMS = ((7, 0.10), (14, 0.25), (30, 0.55), (60, 0.10))  # days: share (assumption)
_ZONES = (("Europe/London", "GB", 0.60), ("America/New_York", "US", 0.15),
          ("Europe/Berlin", "DE", 0.10), ("Australia/Sydney", "AU", 0.10),
          ("Pacific/Auckland", "NZ", 0.05))
CALL_REACH = 0.5  # share of call attempts that reach a person who can pay (assumption)
# Channel multipliers on a type's per-touch response (assumption, ordered per w17952).
CHANNEL_WEIGHT = {"email": 1.0, "letter": 0.8, "sms": 1.25, "call": 2.0}


@dataclass(frozen=True)
class PayerType:
    name: str
    natural_late: tuple[int, int] | None  # unprompted days after due (uniform), None: never
    respond: dict[str, float]  # chance a touch of this tone prompts payment (email)
    pay_lag: tuple[int, int]  # weekdays from the prompting touch to the payment
    pre_due: float = 0.0  # chance a touch before the due date gets it paid on time


_TYPES = {
    PROMPT: PayerType(PROMPT, (-5, 0), {"friendly": 0.0, "firm": 0.0, "final": 0.0}, (0, 1)),
    # Would pay when they next look at their payables (weeks late); any nudge does it.
    FORGETTER: PayerType(FORGETTER, (10, 35), {"friendly": 0.6, "firm": 0.7, "final": 0.8},
                         (0, 2), pre_due=0.38),
    # Pay in their own time; firmer words and a person move them more.
    SLOW: PayerType(SLOW, (5, 30), {"friendly": 0.12, "firm": 0.25, "final": 0.4}, (1, 4),
                    pre_due=0.05),
    # Pay after a query is resolved (handled in the simulator).
    DISPUTER: PayerType(DISPUTER, (20, 50), {"friendly": 0.0, "firm": 0.0, "final": 0.0},
                        (0, 4)),
    # Pay when cash allows; pressure helps only a little and takes time.
    STRETCHED: PayerType(STRETCHED, (25, 70), {"friendly": 0.04, "firm": 0.1, "final": 0.2},
                         (5, 15)),
    NON_PAYER: PayerType(NON_PAYER, None, {"friendly": 0.0, "firm": 0.0, "final": 0.03},
                         (3, 10)),
}
DISPUTE_RESOLUTION = (10, 25)  # days from the query to agreement (assumption)


def payer_type(name: str) -> PayerType:
    return _TYPES[name]


def touch_response(kind: PayerType, channel: str, tone: str, before_due: bool) -> float:
    """Chance one touch gets this debtor to pay (a call must first reach them)."""
    if before_due:
        base = kind.pre_due
    else:
        base = kind.respond.get(tone, 0.0)
    p = base * CHANNEL_WEIGHT.get(channel, 1.0)
    if channel == "call":
        p *= CALL_REACH
    return min(p, 0.95)


@dataclass(frozen=True)
class Debtor:
    index: int
    debtor_id: str
    kind: str
    tz: str
    country: str
    issue_date: date
    terms_days: int
    amount_minor: int
    currency: str
    natural_pay: date | None  # when they pay with no reminder at all (None: never)
    consumer: bool = False

    @property
    def due_date(self) -> date:
        return self.issue_date + timedelta(days=self.terms_days)


def next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def add_weekdays(day: date, n: int) -> date:
    day = next_weekday(day)
    for _ in range(n):
        day = next_weekday(day + timedelta(days=1))
    return day


def _pick(rng: random.Random, weighted) -> object:
    roll, acc = rng.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if roll < acc:
            return value
    return weighted[-1][0]


def draw_kind(rng: random.Random, weights: dict[str, float] | None = None) -> str:
    mix = weights or _MIX
    total = sum(mix.values())
    return str(_pick(rng, [(k, v / total) for k, v in mix.items() if v > 0]))


def natural_pay(rng: random.Random, kind: str, due: date) -> date | None:
    spec = _TYPES[kind].natural_late
    if spec is None:
        return None
    return next_weekday(due + timedelta(days=rng.randint(*spec)))


def make_debtor(index: int, rng: random.Random, *, kind: str, issue_date: date,
                terms_days: int, amount_minor: int, tz: str, country: str,
                currency: str = "GBP", consumer: bool = False,
                debtor_id: str | None = None) -> Debtor:
    due = issue_date + timedelta(days=terms_days)
    return Debtor(index, debtor_id or f"d{index:06d}", kind, tz, country, issue_date,
                  terms_days, amount_minor, currency, natural_pay(rng, kind, due), consumer)


def population(size: int, seed: int, start: date, *, mix: dict[str, float] | None = None,
               zones=None, issue_spread_days: int = 28) -> list[Debtor]:
    """`size` debtors, one invoice each, issued over `issue_spread_days` from `start`."""
    rng = random.Random(seed)
    out = []
    for i in range(size):
        kind = draw_kind(rng, mix)
        tz, country = _pick(rng, [((z, c), w) for z, c, w in (zones or _ZONES)])
        terms = int(_pick(rng, _TERMS))
        issue = start + timedelta(days=rng.randrange(issue_spread_days))
        amount = int(round(math.exp(rng.gauss(math.log(60000), 1.0)) / 100) * 100) or 100
        out.append(make_debtor(i, rng, kind=kind, issue_date=issue, terms_days=terms,
                               amount_minor=amount, tz=tz, country=country))
    return out


def weights_from_lateness(days_late: list[int], disputed: int = 0) -> dict[str, float]:
    """Payer-type weights for a debtor from its paid history (days late per settled
    invoice, negative = early) and how many of those invoices were disputed. A debtor
    with no history gets the population mix. A plain mapping, documented as such: it is
    an assumption, not a fitted model."""
    if not days_late:
        return dict(_MIX)
    n = len(days_late)
    mean = sum(days_late) / n
    late_share = sum(1 for d in days_late if d > 0) / n
    w = {k: 0.02 for k in TYPES}
    if mean <= 1 and late_share <= 0.25:
        w[PROMPT] += 0.8
        w[FORGETTER] += 0.15
    elif mean <= 10:
        w[FORGETTER] += 0.5
        w[SLOW] += 0.3
        w[PROMPT] += 0.15
    elif mean <= 35:
        w[SLOW] += 0.6
        w[STRETCHED] += 0.2
        w[FORGETTER] += 0.15
    else:
        w[STRETCHED] += 0.6
        w[SLOW] += 0.2
        w[NON_PAYER] += 0.1
    if disputed:
        w[DISPUTER] += 0.6 * disputed / n
    return w
