"""How a debtor pays: the behaviour profile and the behaviour segment, from facts passed in.

Pure rules (no store, no clock): the use case (`behaviour/profiles.py`) reads the invoices,
the timeline and the promises and hands them over as the dataclasses below.

Lateness is counted in days from the due date to the day the invoice was paid (negative:
early). A settlement known only between two imports counts when the bounds are at most
`MAX_BOUND_DAYS` apart (its middle day); wider bounds say too little and are left out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

MAX_BOUND_DAYS = 14
ON_TIME_DAYS = 2          # "pays on time": typically within 2 days either side of due
TREND_RECENT = 3          # the trend compares the latest 3 invoices with the 6 before
TREND_EARLIER = 6
TREND_DAYS = 5            # a move of 5 days or more is "getting later / earlier"
ANSWER_DAYS = 7           # a payment, reply or page action within 7 days answers a touch

SEGMENTS = ("prompt", "slow_but_steady", "erratic", "at_risk", "new")
SEGMENT_LABELS = {"prompt": "prompt", "slow_but_steady": "slow but steady",
                  "erratic": "erratic", "at_risk": "at risk", "new": "new"}
# Segment thresholds (documented in docs/ARCHITECTURE.md "Behaviour").
NEW_BELOW = 3             # fewer paid invoices with a known day than this: new
PROMPT_TYPICAL_DAYS = 3   # prompt: typically no more than 3 days late ...
PROMPT_LATE_SHARE = 0.25  # ... and at most a quarter of invoices late
ERRATIC_SPREAD_DAYS = 15  # erratic: lateness varies by 15 days or more (standard deviation)
AT_RISK_BROKEN = 2        # at risk: 2 broken promises, ...
AT_RISK_TYPICAL_DAYS = 45  # ... or typically 45+ days late, ...
AT_RISK_OVERDUE_DAYS = 45  # ... or an invoice now overdue beyond both 45 days and their habit
AT_RISK_MARGIN_DAYS = 14


@dataclass(frozen=True)
class Paid:
    """One settled invoice. ``paid`` is None when the day is not known closely enough."""

    issue: date
    due: date
    paid: date | None
    total_minor: int
    disputed: bool = False
    in_parts: bool = False

    @property
    def lateness(self) -> int | None:
        return None if self.paid is None else (self.paid - self.due).days

    @property
    def terms(self) -> int:
        return (self.due - self.issue).days


def paid_day(paid_on: date | None, earliest: date | None, latest: date | None) -> date | None:
    """The day to count: the stated day, else the middle of bounds at most
    MAX_BOUND_DAYS apart, else None."""
    if paid_on is not None:
        return paid_on
    if earliest is None or latest is None or (latest - earliest).days > MAX_BOUND_DAYS:
        return None
    return earliest + timedelta(days=(latest - earliest).days // 2)


@dataclass(frozen=True)
class PromiseFact:
    made_on: date
    due: date
    status: str  # open | kept | broken


@dataclass(frozen=True)
class Touch:
    at: datetime
    channel: str  # email | sms | call | letter


@dataclass(frozen=True)
class Answer:
    at: datetime
    kind: str  # payment | reply | page | call


@dataclass(frozen=True)
class ChannelStats:
    channel: str
    touches: int
    answered: int

    @property
    def rate(self) -> float:
        return self.answered / self.touches if self.touches else 0.0


@dataclass(frozen=True)
class Profile:
    paid_count: int                    # settled invoices with a known paid day
    settled_count: int
    lateness: tuple[int, ...]          # days late of those, oldest issue first
    amounts: tuple[int, ...]           # their totals (minor units), same order
    terms: tuple[int, ...]             # their terms in days, same order
    issued: tuple[date, ...]           # their issue days, same order
    mean_days_late: float | None
    weighted_days_late: float | None   # weighted by amount
    typical_days_late: float | None    # the median: what "usually" means
    spread_days: float | None          # standard deviation
    trend_days: float | None           # latest 3 minus the 6 before (None below 4 invoices)
    share_late: float | None
    in_parts: int = 0                  # invoices paid in parts (settled or still open)
    invoices_seen: int = 0
    promises_made: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    disputes_raised: int = 0
    open_disputes: int = 0
    channels: tuple[ChannelStats, ...] = ()

    @property
    def trend(self) -> str | None:
        if self.trend_days is None:
            return None
        if self.trend_days >= TREND_DAYS:
            return "later"
        if self.trend_days <= -TREND_DAYS:
            return "earlier"
        return "steady"

    @property
    def partial_share(self) -> float:
        return self.in_parts / self.invoices_seen if self.invoices_seen else 0.0

    @property
    def promise_kept_rate(self) -> float | None:
        judged = self.promises_kept + self.promises_broken
        return self.promises_kept / judged if judged else None

    @property
    def best_channel(self) -> ChannelStats | None:
        answered = [c for c in self.channels if c.answered]
        return max(answered, key=lambda c: (c.rate, c.touches)) if answered else None


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return float(s[n // 2]) if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _sd(xs: Sequence[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def channel_answers(touches: Iterable[Touch], answers: Iterable[Answer],
                    days: int = ANSWER_DAYS) -> tuple[ChannelStats, ...]:
    """Which channel gets answers: each answer (a payment, a reply, an action on the payment
    page, a call that reached them) is credited to the latest touch sent before it, if that
    touch is at most `days` old; a touch is answered at most once."""
    ts = sorted(touches, key=lambda t: t.at)
    answered: set[int] = set()
    for a in sorted(answers, key=lambda a: a.at):
        before = [i for i, t in enumerate(ts) if t.at <= a.at]
        if before and a.at - ts[before[-1]].at <= timedelta(days=days):
            answered.add(before[-1])
    out: dict[str, list[int]] = {}
    for i, t in enumerate(ts):
        c = out.setdefault(t.channel, [0, 0])
        c[0] += 1
        c[1] += i in answered
    return tuple(ChannelStats(ch, n, k) for ch, (n, k) in sorted(out.items()))


def profile(paid: Iterable[Paid], *, open_in_parts: int = 0, open_invoices: int = 0,
            promises: Iterable[PromiseFact] = (), disputes_raised: int = 0,
            open_disputes: int = 0, touches: Iterable[Touch] = (),
            answers: Iterable[Answer] = ()) -> Profile:
    settled = sorted(paid, key=lambda p: (p.issue, p.due))
    known = [p for p in settled if p.lateness is not None]
    late = [float(p.lateness) for p in known]  # type: ignore[arg-type]
    amounts = [max(1, p.total_minor) for p in known]
    trend = None
    if len(late) >= TREND_RECENT + 1:
        recent = late[-TREND_RECENT:]
        earlier = late[-(TREND_RECENT + TREND_EARLIER):-TREND_RECENT]
        trend = _mean(recent) - _mean(earlier)
    ps = list(promises)
    return Profile(
        paid_count=len(known), settled_count=len(settled),
        lateness=tuple(int(x) for x in late), amounts=tuple(amounts),
        terms=tuple(p.terms for p in known), issued=tuple(p.issue for p in known),
        mean_days_late=_mean(late) if late else None,
        weighted_days_late=(sum(x * a for x, a in zip(late, amounts)) / sum(amounts)
                            if late else None),
        typical_days_late=_median(late) if late else None,
        spread_days=_sd(late) if late else None,
        trend_days=trend,
        share_late=sum(1 for x in late if x > 0) / len(late) if late else None,
        in_parts=sum(1 for p in settled if p.in_parts) + open_in_parts,
        invoices_seen=len(settled) + open_invoices,
        promises_made=len(ps), promises_kept=sum(1 for p in ps if p.status == "kept"),
        promises_broken=sum(1 for p in ps if p.status == "broken"),
        disputes_raised=disputes_raised, open_disputes=open_disputes,
        channels=channel_answers(touches, answers))


# ------------------------------------------------------------------------------ in words


def _days(n: float) -> str:
    k = int(round(abs(n)))
    return f"{k} day{'s' if k != 1 else ''}"


def usually(typical: float | None) -> str:
    if typical is None:
        return "no paid invoices on record yet"
    if abs(typical) <= ON_TIME_DAYS:
        return "usually pays on time"
    return f"usually pays {_days(typical)} {'late' if typical > 0 else 'early'}"


_CHANNEL_WORDS = {"email": ("email", "emails"), "sms": ("SMS", "texts"),
                  "call": ("calls", "calls"), "letter": ("letters", "letters")}


def words(p: Profile) -> list[str]:
    """The profile as a specialist reads it, most telling first."""
    head = usually(p.typical_days_late)
    if p.trend in ("later", "earlier"):
        head += f"; getting {p.trend}"
    out = [head]
    if p.paid_count:
        n_late = sum(1 for x in p.lateness if x > 0)
        out.append(f"paid {n_late} of {p.paid_count} invoice{'s' if p.paid_count != 1 else ''} "
                   f"late" + (f", varying by ±{_days(p.spread_days or 0)}"
                              if p.paid_count >= 2 else ""))
        if p.weighted_days_late is not None and abs(p.weighted_days_late - (p.mean_days_late or 0)) >= 5:
            out.append(f"larger invoices: {_days(p.weighted_days_late)} "
                       f"{'late' if p.weighted_days_late > 0 else 'early'} on average by amount")
    if p.in_parts:
        out.append(f"pays in parts ({p.in_parts} of {p.invoices_seen} invoices)")
    if p.promises_made:
        judged = p.promises_kept + p.promises_broken
        out.append(f"kept {p.promises_kept} of {judged} promise{'s' if judged != 1 else ''}"
                   if judged else f"{p.promises_made} promise{'s' if p.promises_made != 1 else ''} open")
    if p.disputes_raised:
        out.append(f"raised {p.disputes_raised} dispute{'s' if p.disputes_raised != 1 else ''}"
                   + (f" ({p.open_disputes} open)" if p.open_disputes else ""))
    best = p.best_channel
    if best is not None:
        one, many = _CHANNEL_WORDS.get(best.channel, (best.channel, best.channel))
        out.append(f"answers {one} best ({best.answered} of {best.touches} {many} answered "
                   f"within {ANSWER_DAYS} days)")
    elif any(c.touches for c in p.channels):
        out.append(f"no answer within {ANSWER_DAYS} days to any of "
                   f"{sum(c.touches for c in p.channels)} reminders")
    return out


# ------------------------------------------------------------------------------ segments


@dataclass(frozen=True)
class Segment:
    name: str
    reason: str

    @property
    def label(self) -> str:
        return SEGMENT_LABELS.get(self.name, self.name.replace("_", " "))


def segment_for(p: Profile, *, oldest_overdue_days: int | None = None) -> Segment:
    """The behaviour segment and why, first rule that holds: at risk, new, prompt, erratic,
    slow but steady."""
    typical = p.typical_days_late
    spread = p.spread_days or 0.0
    if p.promises_broken >= AT_RISK_BROKEN:
        return Segment("at_risk", f"{p.promises_broken} broken promises")
    if typical is not None and p.paid_count >= NEW_BELOW and typical >= AT_RISK_TYPICAL_DAYS:
        return Segment("at_risk", usually(typical))
    if oldest_overdue_days is not None and oldest_overdue_days > AT_RISK_OVERDUE_DAYS:
        habit = (typical or 0) + 2 * spread + AT_RISK_MARGIN_DAYS if p.paid_count else 0
        if oldest_overdue_days > habit:
            return Segment("at_risk", f"an invoice is {oldest_overdue_days} days overdue"
                           + (f", well past their habit ({usually(typical)})"
                              if p.paid_count else ""))
    if p.paid_count < NEW_BELOW:
        return Segment("new", "no paid invoices on record yet" if not p.paid_count else
                       f"only {p.paid_count} paid invoice{'s' if p.paid_count != 1 else ''} "
                       "on record")
    share = p.share_late or 0.0
    if typical is not None and typical <= PROMPT_TYPICAL_DAYS and share <= PROMPT_LATE_SHARE:
        n_late = sum(1 for x in p.lateness if x > 0)
        return Segment("prompt", f"{usually(typical)}; {n_late} of {p.paid_count} late")
    if spread >= ERRATIC_SPREAD_DAYS:
        return Segment("erratic", f"{usually(typical)}, but varying by ±{_days(spread)}")
    return Segment("slow_but_steady", f"{usually(typical)}, within ±{_days(spread)}")


@dataclass(frozen=True)
class SegmentMove:
    """What the recompute does with the debtor's stored segment."""

    segment: str | None      # the segment to store (None: leave it)
    reason: str
    changed: bool
    summary: str = ""


def move(current: str | None, pinned: bool, computed: Segment) -> SegmentMove:
    """A pinned segment stays (the specialist chose it), and so does a segment someone typed
    that is not a behaviour segment (a client's own bucket, e.g. "vip"); otherwise the
    computed one is stored, and a change is worth a timeline entry."""
    if pinned or (current is not None and current not in SEGMENTS):
        return SegmentMove(None, computed.reason, False)
    if current == computed.name:
        return SegmentMove(computed.name, computed.reason, False)
    was = SEGMENT_LABELS.get(current or "", current or "none")
    return SegmentMove(computed.name, computed.reason, True,
                       f"Segment {was} → {computed.label}: {computed.reason}")
