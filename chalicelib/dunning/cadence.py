"""Cadences (dunning playbooks) and the rule that picks an account's next touch."""
from __future__ import annotations

from chalicelib.kernel.field_errors import FieldError

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from chalicelib.dunning import contact_window as cw
from chalicelib.dunning.contact_window import ContactPolicy
from chalicelib.book.invoice_rules import STATUSES

CHANNELS = ("email", "sms", "call", "letter")
TONES = ("friendly", "firm", "final")
_TONE_RANK = {tone: rank for rank, tone in enumerate(TONES)}
# When a debtor has opted out of a step's channel. Email first: cheapest and least
# intrusive. A letter comes last: it costs postage and takes days, but it is better than
# leaving a debt unchased when every other channel is closed.
FALLBACK_ORDER = ("email", "sms", "call", "letter")

INVOICE_STATUSES = frozenset(STATUSES)
CHASEABLE_STATUSES = frozenset({"open", "part_paid"})
STOP_REASONS = frozenset({
    "opted_out_all", "in_collections", "written_off", "on_hold", "payment_plan",
})

# Touch keys are built as "<invoice>|<step>#<k>@..." so step keys must not contain the
# separators; that keeps every key unambiguous without escaping.
_STEP_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}$")
_MAX_STEPS = 30
_MAX_REPEATS = 52
_OFFSET_RANGE = (-365, 1095)


class CadenceError(FieldError):
    """A cadence that cannot be used; `field` names the offending field (e.g. steps[2].tone)."""


class FactError(ValueError):
    """Account or invoice facts that make no sense (a bug upstream, not user input)."""


@dataclass(frozen=True)
class Step:
    key: str  # stable id; touch keys embed it, so renaming a step re-sends it
    offset_days: int  # from the due date; negative = before due
    channel: str
    template: str
    tone: str
    repeat_every_days: int | None = None
    repeat_limit: int | None = None  # repeats after the first send

    def day_offsets(self) -> tuple[int, ...]:
        if not self.repeat_every_days:
            return (self.offset_days,)
        every, repeats = self.repeat_every_days, self.repeat_limit or 0
        return tuple(self.offset_days + k * every for k in range(repeats + 1))


@dataclass(frozen=True)
class Cadence:
    id: str
    name: str
    steps: tuple[Step, ...]
    # Least whole local days between two touches to one account. Staggered invoices would
    # otherwise reach steps on different days and produce a message every day.
    min_gap_days: int = 0

    def __post_init__(self) -> None:
        steps = tuple(self.steps) if isinstance(self.steps, (list, tuple)) else self.steps
        _validate(self.id, self.name, steps, self.min_gap_days)
        object.__setattr__(self, "steps", tuple(sorted(steps, key=lambda s: s.offset_days)))


@dataclass(frozen=True)
class Occurrence:
    step: Step
    index: int  # the step's position in the cadence: later = firmer
    k: int  # 0 = the step itself, 1.. = its repeats
    day_offset: int

    @property
    def key(self) -> str:
        return f"{self.step.key}#{self.k}"


def occurrences(cadence: Cadence) -> tuple[Occurrence, ...]:
    """Every send the cadence makes for one invoice, in day order."""
    return tuple(
        Occurrence(step, index, k, day)
        for index, step in enumerate(cadence.steps)
        for k, day in enumerate(step.day_offsets())
    )


# ---------------------------------------------------------------------------- validation

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, field_name: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise CadenceError(field_name, "must be non-empty text")
    if len(value) > limit:
        raise CadenceError(field_name, f"must be at most {limit} characters")


def _validate_step(step: Any, where: str) -> None:
    if not isinstance(step, Step):
        raise CadenceError(where, "must be a step")
    if not isinstance(step.key, str) or not _STEP_KEY.match(step.key):
        raise CadenceError(f"{where}.key", "1-40 letters, digits or _ . + - (e.g. 'due+7')")
    low, high = _OFFSET_RANGE
    if not _is_int(step.offset_days) or not low <= step.offset_days <= high:
        raise CadenceError(f"{where}.offset_days", f"must be a whole number from {low} to {high}")
    if step.channel not in CHANNELS:
        raise CadenceError(f"{where}.channel", f"must be one of {', '.join(CHANNELS)}")
    _text(step.template, f"{where}.template", 200)
    if step.tone not in _TONE_RANK:
        raise CadenceError(f"{where}.tone", f"must be one of {', '.join(TONES)}")
    every, limit = step.repeat_every_days, step.repeat_limit
    if every is None and limit is not None:
        raise CadenceError(f"{where}.repeat_every_days", "needed when repeat_limit is set")
    if every is not None:
        if not _is_int(every) or not 1 <= every <= 365:
            raise CadenceError(f"{where}.repeat_every_days", "must be a whole number from 1 to 365")
        if limit is None:
            raise CadenceError(f"{where}.repeat_limit", "a repeating step needs a limit")
        if not _is_int(limit) or not 1 <= limit <= _MAX_REPEATS:
            raise CadenceError(
                f"{where}.repeat_limit", f"must be a whole number from 1 to {_MAX_REPEATS}"
            )


def _validate(cid: Any, name: Any, steps: Any, min_gap_days: Any) -> None:
    # Indices in messages are the caller's own order, so an API client can find the step.
    _text(cid, "id", 64)
    _text(name, "name", 120)
    if not _is_int(min_gap_days) or not 0 <= min_gap_days <= 30:
        raise CadenceError("min_gap_days", "must be a whole number from 0 to 30")
    if not isinstance(steps, tuple):
        raise CadenceError("steps", "must be a list of steps")
    if not steps:
        raise CadenceError("steps", "at least one step is needed")
    if len(steps) > _MAX_STEPS:
        raise CadenceError("steps", f"at most {_MAX_STEPS} steps")
    seen_keys: dict[str, int] = {}
    seen_days: dict[int, int] = {}
    for i, step in enumerate(steps):
        _validate_step(step, f"steps[{i}]")
        if step.key in seen_keys:
            raise CadenceError(f"steps[{i}].key", f"duplicate of steps[{seen_keys[step.key]}].key")
        seen_keys[step.key] = i
        if step.offset_days in seen_days:
            # One message per account per run: two steps on one day would mean one is
            # never sent, silently. Say so instead.
            raise CadenceError(
                f"steps[{i}].offset_days",
                f"day {step.offset_days} already has steps[{seen_days[step.offset_days]}]",
            )
        seen_days[step.offset_days] = i
    order = sorted(range(len(steps)), key=lambda i: steps[i].offset_days)
    for pos, i in enumerate(order):
        step = steps[i]
        if step.offset_days < 0 and step.tone != "friendly":
            raise CadenceError(f"steps[{i}].tone", "must be friendly before the due date")
        if pos == 0:
            continue
        prev_i = order[pos - 1]
        prev = steps[prev_i]
        if _TONE_RANK[step.tone] < _TONE_RANK[prev.tone]:
            raise CadenceError(
                f"steps[{i}].tone", f"softer than the earlier steps[{prev_i}] ({prev.tone})"
            )
        # Repeats that ran into the next step would interleave tones (final, firm, final):
        # repeats fill the gap before the next step, no further.
        if prev.day_offsets()[-1] >= step.offset_days:
            raise CadenceError(
                f"steps[{prev_i}].repeat_limit",
                f"repeats reach day {prev.day_offsets()[-1]}, not before the next step on day "
                f"{step.offset_days}",
            )


def validate_cadence(cadence: Cadence) -> None:
    """Raise CadenceError if the cadence is unusable (construction already does this)."""
    _validate(cadence.id, cadence.name, cadence.steps, cadence.min_gap_days)


# ------------------------------------------------------------------------- serialisation

_STEP_FIELDS = ("key", "offset_days", "channel", "template", "tone")
_STEP_OPTIONAL = ("repeat_every_days", "repeat_limit")


def to_dict(cadence: Cadence) -> dict[str, Any]:
    return {
        "id": cadence.id,
        "name": cadence.name,
        "min_gap_days": cadence.min_gap_days,
        "steps": [
            {name: getattr(step, name) for name in _STEP_FIELDS + _STEP_OPTIONAL}
            for step in cadence.steps
        ],
    }


def _fields(data: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        raise CadenceError(where or "cadence", "must be an object")
    prefix = f"{where}." if where else ""
    for name in data:
        if name not in required and name not in optional:
            raise CadenceError(f"{prefix}{name}", "unknown field")
    for name in required:
        if name not in data:
            raise CadenceError(f"{prefix}{name}", "required")


def from_dict(data: Any) -> Cadence:
    """Build a validated Cadence from a plain dict (API body or stored item)."""
    _fields(data, "", ("id", "name", "steps"), ("min_gap_days",))
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list):
        raise CadenceError("steps", "must be a list of steps")
    steps = []
    for i, raw in enumerate(raw_steps):
        _fields(raw, f"steps[{i}]", _STEP_FIELDS, _STEP_OPTIONAL)
        steps.append(Step(**{name: raw.get(name) for name in _STEP_FIELDS + _STEP_OPTIONAL}))
    return Cadence(
        id=data["id"], name=data["name"], steps=tuple(steps),
        min_gap_days=data.get("min_gap_days", 0),
    )


def copy_cadence(cadence: Cadence, new_id: str, name: str) -> Cadence:
    return Cadence(id=new_id, name=name, steps=cadence.steps, min_gap_days=cadence.min_gap_days)


DEFAULT_CADENCE = Cadence(
    id="default",
    name="Standard reminders",
    steps=(
        Step("due-3", -3, "email", "reminder_upcoming", "friendly"),
        Step("due", 0, "email", "reminder_due_today", "friendly"),
        Step("due+3", 3, "sms", "sms_overdue_nudge", "friendly"),
        Step("due+7", 7, "email", "overdue_firm", "firm"),
        Step("due+14", 14, "sms", "sms_overdue_firm", "firm"),
        Step("due+21", 21, "call", "call_overdue", "firm"),
        Step("due+30", 30, "email", "final_notice", "final", repeat_every_days=7, repeat_limit=2),
    ),
    min_gap_days=2,
)


# --------------------------------------------------------------------------------- facts

@dataclass(frozen=True)
class InvoiceFact:
    invoice_id: str
    due_date: date
    balance_minor: int
    currency: str
    status: str = "open"
    excluded_until: date | None = None  # chasing resumes on this local date
    # Local date the invoice reached us. One that arrives already overdue after the
    # account's first touch starts its own steps that day (it was never mentioned before),
    # instead of catching up to the latest step the account's clock has reached.
    seen_on: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.invoice_id, str) or not self.invoice_id:
            raise FactError("invoice_id must be non-empty text")
        # datetime is a date subclass; a datetime here would be a time-zone bug upstream.
        for name in ("due_date", "excluded_until", "seen_on"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                raise FactError(f"{name} must be a date")
        if not _is_int(self.balance_minor):
            raise FactError("balance_minor must be an int (minor units)")
        if self.status not in INVOICE_STATUSES:
            raise FactError(f"unknown invoice status {self.status!r}")

    @property
    def chaseable(self) -> bool:
        return self.status in CHASEABLE_STATUSES and self.balance_minor > 0


@dataclass(frozen=True)
class AccountFact:
    tz: str  # the debtor contact's zone, else the client's
    country: str | None = None  # ISO 3166-1, optionally "-<subdivision>" ("GB-SCT")
    consumer: bool = False
    paused_until: date | None = None  # chasing resumes on this local date
    stopped_reason: str | None = None  # any value stops: unknown reasons fail safe
    # Per-invoice keys already claimed ("<invoice_id>|<step>#<k>"): the union of the
    # `covers` of every touch claimed for this account, whether or not the send finished.
    sent_keys: frozenset[str] = frozenset()
    channels_allowed: frozenset[str] = frozenset(CHANNELS)
    last_touch_at: datetime | None = None  # for Cadence.min_gap_days
    # Local date of the first touch ever (a taken-over book): invoices already due then
    # run the cadence from that day, so steps follow real touches at the normal spacing.
    chased_from: date | None = None
    # Below this balance (minor units) no final-tone step is sent: a small debt gets
    # reminders, never a final notice.
    final_min_minor: int = 0
    # Below this balance no call task is raised (the call step is skipped): a person's time
    # goes to debts worth a call.
    call_min_minor: int = 0
    # Whether an account's first touch is a first-contact statement (the planner turns it
    # on unless the client's settings say first_contact: false).
    first_contact: bool = False

    @property
    def never_touched(self) -> bool:
        return (self.first_contact and self.last_touch_at is None and not self.sent_keys
                and self.chased_from is None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sent_keys", frozenset(self.sent_keys))
        object.__setattr__(self, "channels_allowed", frozenset(self.channels_allowed))
        unknown = self.channels_allowed - set(CHANNELS)
        if unknown:
            raise FactError(f"unknown channels {sorted(unknown)}")
        if self.last_touch_at is not None:
            cw.require_aware(self.last_touch_at, "last_touch_at")


# ------------------------------------------------------------------------------ decision

@dataclass(frozen=True)
class PlannedTouch:
    step: Step  # the firmest step due among the listed invoices: sets channel/tone/template
    occurrence: int
    occurrence_key: str  # f"{step.key}#{occurrence}"
    channel: str  # after opt-out fallback
    tone: str
    template: str
    invoice_ids: tuple[str, ...]  # every invoice due a touch now, oldest due date first
    covers: tuple[str, ...]  # per-invoice keys this touch discharges: add to sent_keys
    passed: tuple[str, ...]  # earlier unsent occurrences superseded by catch-up (for the timeline)
    claim_key: str  # deterministic for these facts: the conditional-write key
    # The first touch of an account: introduces the agency and states every open invoice
    # (invoice_ids is then all of them; covers only those due a touch).
    first_contact: bool = False

    @property
    def fallback(self) -> bool:
        return self.channel != self.step.channel


@dataclass(frozen=True)
class Decision:
    touch: PlannedTouch | None
    # When to look at the account next, in UTC, assuming `touch` (if any) is carried out;
    # None when nothing will ever be due again on these facts.
    next_action_at: datetime | None
    reason: str  # due | outside_window | min_gap | paused | waiting | cadence_complete |
    #              nothing_chaseable | no_channel | stopped:<reason>


def invoice_touch_key(invoice_id: str, occurrence_key: str) -> str:
    return f"{invoice_id}|{occurrence_key}"


def resolve_channel(wanted: str, allowed: frozenset[str]) -> str | None:
    if wanted in allowed:
        return wanted
    return next((ch for ch in FALLBACK_ORDER if ch in allowed), None)


@dataclass(frozen=True)
class _Due:
    invoice: InvoiceFact
    occurrence: Occurrence
    passed: tuple[str, ...]


def _effective_due(inv: InvoiceFact, anchor: date | None) -> date:
    if anchor is None:
        return inv.due_date
    if inv.seen_on is not None and inv.seen_on > anchor:
        return max(inv.due_date, inv.seen_on)
    return max(inv.due_date, anchor)


def _due_on(
    occs: tuple[Occurrence, ...], account: AccountFact, live: list[InvoiceFact], day: date,
    sent: frozenset[str], anchor: date | None = None,
) -> list[_Due]:
    """Invoices owed a touch on local `day`: each one's latest due occurrence, if unsent."""
    if account.paused_until is not None and day < account.paused_until:
        return []
    due = []
    for inv in live:
        if inv.excluded_until is not None and day < inv.excluded_until:
            continue
        due_date = _effective_due(inv, anchor)
        reached = [o for o in occs if due_date + timedelta(days=o.day_offset) <= day]
        if not reached:
            continue
        latest = reached[-1]
        if invoice_touch_key(inv.invoice_id, latest.key) in sent:
            continue  # the latest is done; earlier ones are behind it, so nothing is owed
        skipped: list[str] = []
        for occ in reached[:-1]:
            key = invoice_touch_key(inv.invoice_id, occ.key)
            # Only those since the last real send, so each skip is reported once.
            skipped = [] if key in sent else skipped + [key]
        due.append(_Due(inv, latest, tuple(skipped)))
    return due


def _firmest(due: list[_Due]) -> Occurrence:
    return max((d.occurrence for d in due), key=lambda o: (o.index, o.k))


def _gap_start(
    cadence: Cadence, account: AccountFact, last_touch: datetime | None
) -> datetime | None:
    if not cadence.min_gap_days or last_touch is None:
        return None
    day = cw.local_date(last_touch, account.tz) + timedelta(days=cadence.min_gap_days)
    return cw.local_instant(day, time(0), account.tz)


def _next_action(
    cadence: Cadence, occs: tuple[Occurrence, ...], account: AccountFact,
    live: list[InvoiceFact], today: date, sent: frozenset[str], now: datetime,
    last_touch: datetime | None, policy: ContactPolicy, anchor: date | None = None,
) -> datetime | None:
    # What is owed can only change on an occurrence date or when a pause or exclusion
    # ends, and once owed it stays owed until a touch is made: so the first such date that
    # owes something is the answer, and after the last one nothing new can fall due.
    days = {_effective_due(inv, anchor) + timedelta(days=o.day_offset)
            for inv in live for o in occs}
    days |= {inv.excluded_until for inv in live if inv.excluded_until is not None}
    if account.paused_until is not None:
        days.add(account.paused_until)
    for day in sorted(d for d in days if d >= today):
        due = _due_on(occs, account, live, day, sent, anchor)
        if not due:
            continue
        channel = resolve_channel(_firmest(due).step.channel, account.channels_allowed)
        if channel is None:
            return None
        start = max(now, cw.local_instant(day, time(0), account.tz))
        gap = _gap_start(cadence, account, last_touch)
        if gap is not None:
            start = max(start, gap)
        return cw.next_allowed(start, account.tz, account.country, policy, channel)
    return None


def _claim_key(occ: Occurrence, covers: tuple[str, ...]) -> str:
    # Same facts -> same key, so a retried dispatch hits its own claim. The digest binds
    # the key to exactly which invoice occurrences the message discharges.
    digest = hashlib.sha256("\n".join(covers).encode()).hexdigest()[:16]
    return f"{occ.key}@{digest}"


def decide(
    cadence: Cadence, account: AccountFact, invoices: Iterable[InvoiceFact], now_utc: datetime,
    policy: ContactPolicy,
) -> Decision:
    """What to send to this account now, if anything, and when to look again.

    Per invoice, only the latest occurrence due by today (debtor's local date) counts;
    earlier unsent ones are passed, so an outage yields one message, not a burst. All
    invoices owed a touch go in one message, whose step is the firmest among them.
    """
    cw.require_aware(now_utc, "now_utc")
    policy = cw.effective_policy(policy, account.consumer)
    if account.stopped_reason is not None:
        return Decision(None, None, f"stopped:{account.stopped_reason}")
    invoices = tuple(invoices)
    ids = [inv.invoice_id for inv in invoices]
    if len(set(ids)) != len(ids):
        raise FactError("duplicate invoice_id: touch keys would collide")
    live = [inv for inv in invoices if inv.chaseable]
    if not live:
        return Decision(None, None, "nothing_chaseable")
    if not account.channels_allowed:
        # Opted out of everything without a stop recorded: nothing lawful left to send.
        return Decision(None, None, "no_channel")
    occs = occurrences(cadence)
    owed = sum(inv.balance_minor for inv in live)
    if owed < account.final_min_minor:
        occs = tuple(o for o in occs if o.step.tone != "final")
    if owed < account.call_min_minor:
        occs = tuple(o for o in occs if o.step.channel != "call")
    today = cw.local_date(now_utc, account.tz)
    sent = account.sent_keys
    first = account.never_touched
    due = _due_on(occs, account, live, today, sent, account.chased_from)
    if not due:
        nxt = _next_action(cadence, occs, account, live, today, sent, now_utc,
                           account.last_touch_at, policy, account.chased_from)
        paused = account.paused_until is not None and today < account.paused_until
        if nxt is None:
            return Decision(None, None, "cadence_complete")
        return Decision(None, nxt, "paused" if paused else "waiting")

    firmest = _firmest(due)
    channel = resolve_channel(firmest.step.channel, account.channels_allowed)
    if channel is None:
        return Decision(None, None, "no_channel")
    gap = _gap_start(cadence, account, account.last_touch_at)
    if gap is not None and now_utc < gap:
        when = cw.next_allowed(gap, account.tz, account.country, policy, channel)
        return Decision(None, when, "min_gap")
    if not cw.is_allowed(now_utc, account.tz, account.country, policy, channel):
        when = cw.next_allowed(now_utc, account.tz, account.country, policy, channel)
        return Decision(None, when, "outside_window")

    anchor = account.chased_from
    if first:
        # The first touch of a taken-over book: whatever step the invoices' age calls for,
        # it is a statement, and the cadence starts today (the steps reached by an invoice
        # due today are what it discharges), so later steps follow real touches.
        anchor = today
        due = _due_on(occs, account, live, today, sent, anchor)
    due.sort(key=lambda d: (d.invoice.due_date, d.invoice.invoice_id))
    covers = tuple(invoice_touch_key(d.invoice.invoice_id, d.occurrence.key) for d in due)
    if first and not due:
        firmest = occs[0]  # a cadence starting after the due date: nothing discharged yet
    if first:
        channel = resolve_channel(_firmest(due).step.channel if due else firmest.step.channel,
                                  account.channels_allowed) or channel
        firmest = _firmest(due) if due else firmest
    touch = PlannedTouch(
        step=firmest.step,
        occurrence=firmest.k,
        occurrence_key="first-contact" if first else firmest.key,
        channel=channel,
        tone="friendly" if first else firmest.step.tone,
        template="first_contact" if first else firmest.step.template,
        invoice_ids=tuple(i.invoice_id for i in sorted(live, key=lambda i: (i.due_date,
                                                                             i.invoice_id)))
        if first else tuple(d.invoice.invoice_id for d in due),
        covers=covers,
        passed=tuple(key for d in due for key in d.passed),
        claim_key=_claim_key(firmest, tuple(sorted(covers)))
        if not first else f"first-contact@{_claim_key(firmest, tuple(sorted(covers)))}",
        first_contact=first,
    )
    nxt = _next_action(cadence, occs, account, live, today, sent | set(covers), now_utc,
                       now_utc, policy, anchor)
    return Decision(touch, nxt, "due")


__all__ = [
    "CHANNELS", "TONES", "FALLBACK_ORDER", "DEFAULT_CADENCE", "AccountFact", "Cadence",
    "CadenceError", "Decision", "FactError", "InvoiceFact", "Occurrence", "PlannedTouch",
    "Step", "copy_cadence", "decide", "from_dict", "invoice_touch_key", "occurrences",
    "resolve_channel", "to_dict", "validate_cadence",
]
