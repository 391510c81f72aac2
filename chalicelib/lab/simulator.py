"""Runs a playbook over a seeded population through the REAL planner rule.

Each debtor's account is walked forward from the invoice's issue with
`cadence.decide` (the same decision chasing makes, contact windows, zones, weekends,
holidays, min gap, first contact, call and final-notice floors included). A touch changes
the account's facts exactly as `planner.record_touch` changes the stored debtor: its
covers join sent_keys, the first contact starts the cadence's clock (chased_from), and the
last touch is now. The debtor's response to each touch comes from `population` (seeded
per debtor, so the same population answers the same way whichever playbook runs).

Figures: DSO here is the amount-weighted mean of days from issue to payment, an unpaid
invoice counting the whole horizon (the average collection period of the cohort, which is
what DSO measures for a steady book); DBT (days beyond terms) is the same from the due
date; "collected within N days" is the share of the amount paid by due date + N days.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from chalicelib.dunning import cadence as cad
from chalicelib.dunning import contact_window as cw
from chalicelib.lab import population as pop

HORIZON_DAYS = 180  # from issue; an invoice unpaid by then counts the whole horizon
_MAX_DECISIONS = 200  # a cadence that loops is cut here, never forever


@dataclass(frozen=True)
class Playbook:
    name: str
    cadence: cad.Cadence | None  # None: no reminders at all
    first_contact: bool = False  # the product's first-contact statement (planner default)
    final_min_minor: int = 0
    call_min_minor: int = 0
    policy: cw.ContactPolicy | None = None  # None: the planner's default per debtor kind


@dataclass
class Outcome:
    debtor: pop.Debtor
    paid_on: date | None
    touches: Counter = field(default_factory=Counter)
    touch_days: list[tuple[datetime, str]] = field(default_factory=list)


def record(account: cad.AccountFact, touch: cad.PlannedTouch, now: datetime) -> cad.AccountFact:
    """What a touch changes on the account's facts: planner.record_touch, on facts."""
    chased = account.chased_from
    if touch.first_contact and chased is None:
        chased = cw.local_date(now, account.tz)
    return replace(account, sent_keys=account.sent_keys | set(touch.covers),
                   chased_from=chased, last_touch_at=now)


def _start(d: pop.Debtor) -> datetime:
    return cw.local_instant(d.issue_date, time(0), d.tz)


def simulate_debtor(d: pop.Debtor, playbook: Playbook, seed: int,
                    horizon_days: int = HORIZON_DAYS) -> Outcome:
    rng = random.Random(f"{seed}:{d.debtor_id}:respond")
    kind = pop.payer_type(d.kind)
    pay_on = d.natural_pay
    out = Outcome(d, None)
    end = d.issue_date + timedelta(days=horizon_days)
    if playbook.cadence is not None:
        policy = playbook.policy or cw.default_policy(d.consumer)
        account = cad.AccountFact(tz=d.tz, country=d.country, consumer=d.consumer,
                                  first_contact=playbook.first_contact,
                                  final_min_minor=playbook.final_min_minor,
                                  call_min_minor=playbook.call_min_minor)
        invoice = cad.InvoiceFact(f"{d.debtor_id}-1", d.due_date, d.amount_minor, d.currency,
                                  seen_on=d.issue_date)
        at = _start(d)
        for _ in range(_MAX_DECISIONS):
            today = cw.local_date(at, d.tz)
            if today >= end or (pay_on is not None and today >= pay_on):
                break
            decision = cad.decide(playbook.cadence, account, [invoice], at, policy)
            touch = decision.touch
            if touch is None:
                nxt = decision.next_action_at
                if nxt is None:
                    break
                at = max(nxt, at + timedelta(seconds=1))
                continue
            out.touches[touch.channel] += 1
            out.touch_days.append((at, touch.channel))
            account = record(account, touch, at)
            pay_on = _respond(d, kind, touch, today, pay_on, rng)
            if d.kind == pop.DISPUTER and pay_on is not None:
                # The query holds chasing until it is settled (the dispute hold).
                invoice = replace(invoice, excluded_until=pay_on)
    if pay_on is not None and pay_on < end:
        out.paid_on = pay_on
    return out


def _respond(d: pop.Debtor, kind: pop.PayerType, touch: cad.PlannedTouch, today: date,
             pay_on: date | None, rng: random.Random) -> date | None:
    roll = rng.random()  # drawn for every touch, so the stream stays aligned
    lag = rng.randint(*kind.pay_lag)
    if d.kind == pop.DISPUTER:
        if pay_on is not None and today >= pay_on - timedelta(days=pop.DISPUTE_RESOLUTION[1]):
            return pay_on  # the query is already on its way
        resolved = today + timedelta(days=rng.randint(*pop.DISPUTE_RESOLUTION))
        new = pop.add_weekdays(resolved, lag)
        return new if pay_on is None or new < pay_on else pay_on
    before_due = today < d.due_date
    tone = "friendly" if touch.first_contact else touch.tone
    if roll >= pop.touch_response(kind, touch.channel, tone, before_due):
        return pay_on
    new = d.due_date if before_due else pop.add_weekdays(today, lag)
    new = pop.next_weekday(max(new, today))
    return new if pay_on is None or new < pay_on else pay_on


@dataclass(frozen=True)
class Figures:
    name: str
    debtors: int
    dso_days: float
    dbt_days: float
    mean_days_late: float  # of invoices paid within the horizon, count-weighted
    on_time_ratio: float
    collected: dict[int, float]  # days after due -> share of amount collected
    touches_per_debtor: float
    by_channel: dict[str, float]
    calls_per_debtor: float


def figures(name: str, outcomes: list[Outcome], horizon_days: int = HORIZON_DAYS) -> Figures:
    total = sum(o.debtor.amount_minor for o in outcomes) or 1
    dso = dbt = 0.0
    collected = {30: 0, 60: 0, 90: 0}
    late: list[int] = []
    on_time = 0
    channels: Counter = Counter()
    for o in outcomes:
        d, amount = o.debtor, o.debtor.amount_minor
        channels.update(o.touches)
        if o.paid_on is None:
            dso += amount * horizon_days
            dbt += amount * max(0, horizon_days - d.terms_days)
            continue
        days_late = (o.paid_on - d.due_date).days
        dso += amount * (o.paid_on - d.issue_date).days
        dbt += amount * max(0, days_late)
        late.append(days_late)
        on_time += days_late <= 0
        for n in collected:
            if days_late <= n:
                collected[n] += amount
    n = len(outcomes) or 1
    return Figures(
        name, len(outcomes), dso / total, dbt / total,
        sum(late) / len(late) if late else 0.0, on_time / n,
        {k: v / total for k, v in collected.items()},
        sum(channels.values()) / n,
        {ch: channels.get(ch, 0) / n for ch in cad.CHANNELS},
        channels.get("call", 0) / n)


def run(population: list[pop.Debtor], playbook: Playbook, seed: int,
        horizon_days: int = HORIZON_DAYS) -> Figures:
    return figures(playbook.name,
                   [simulate_debtor(d, playbook, seed, horizon_days) for d in population],
                   horizon_days)


def as_dict(f: Figures) -> dict:
    return {
        "playbook": f.name, "debtors": f.debtors, "dso_days": round(f.dso_days, 1),
        "days_beyond_terms": round(f.dbt_days, 1),
        "mean_days_late": round(f.mean_days_late, 1), "on_time_ratio": round(f.on_time_ratio, 3),
        "collected_ratio": {f"{k}d": round(v, 3) for k, v in f.collected.items()},
        "touches_per_debtor": round(f.touches_per_debtor, 2),
        "touches_by_channel": {k: round(v, 2) for k, v in f.by_channel.items()},
        "calls_per_debtor": round(f.calls_per_debtor, 2),
    }


def dso_floor(population: list[pop.Debtor], horizon_days: int = HORIZON_DAYS) -> float:
    """The DSO if every debtor who ever pays paid on the due date (non-payers still not):
    no playbook can do better, so it bounds the reduction any cadence can show."""
    total = sum(d.amount_minor for d in population) or 1
    return sum(d.amount_minor * (horizon_days if d.natural_pay is None else d.terms_days)
               for d in population) / total
