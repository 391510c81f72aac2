"""Call tasks for specialists: who may be called now, who first, and what each outcome leads to.

Pure rules: the clock (``now``) and the debtor's time zone are passed in; nothing is stored.
"""
from __future__ import annotations

from chalicelib.kernel.field_errors import FieldError

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Iterable, Mapping, NamedTuple

from chalicelib.kernel.money import exponent

# ------------------------------------------------------------------------------ contact caps


@dataclass(frozen=True)
class CallAttempt:
    """One call placed about one debt.

    ``connected``: the debtor was reached and spoken to (a telephone conversation).
    ``exempt``: the call does not count toward the caps (12 CFR 1006.14(b)(3)): it was placed
    with the debtor's prior consent given within the last 7 days (a requested callback), or
    it never connected to the dialled number (busy, network failure). Voicemail and
    unanswered rings DO count.
    """

    at: datetime
    connected: bool
    exempt: bool = False


@dataclass(frozen=True)
class CallCaps:
    """Reg F 1006.14(b)(2), also the B2B default: periods are consecutive calendar days in
    the debtor's time zone, the day of a conversation (or of consent) being the first."""

    max_attempts: int = 7
    window_days: int = 7
    days_after_conversation: int = 7
    consent_days: int = 7


DEFAULT_CAPS = CallCaps()


class CallPermission(NamedTuple):
    allowed: bool
    next_allowed_at: datetime | None
    reason: str


def _local(moment: datetime, tz: tzinfo | None) -> date:
    if tz is None:
        return moment.date()
    if moment.tzinfo is None:
        raise ValueError("give aware datetimes when a time zone is given")
    return moment.astimezone(tz).date()


def may_call(attempts: Iterable[CallAttempt], now: datetime, *, consent_at: datetime | None = None,
             caps: CallCaps = DEFAULT_CAPS, tz: tzinfo | None = None) -> CallPermission:
    """May this debt's debtor be called now?

    Refused when the calls counted in the ``window_days`` calendar days ending today already
    reach ``max_attempts``, or when a conversation took place in the ``days_after_conversation``
    days starting with its own day (any conversation counts, even on an exempt call).
    Allowed regardless when the debtor gave consent (``consent_at``, e.g. asked for a
    callback) within ``consent_days`` days starting that day. When refused,
    ``next_allowed_at`` is the local midnight from which both rules pass, assuming no more
    calls; quiet hours are applied by the scheduler, not here.
    """
    tz = tz or now.tzinfo
    today = _local(now, tz)
    if consent_at is not None:
        consent_day = _local(consent_at, tz)
        if consent_day <= today < consent_day + timedelta(days=caps.consent_days):
            return CallPermission(True, None, f"the debtor asked for this call on {consent_day}: "
                                  "calls with consent are not capped (1006.14(b)(3))")
    past = [(a, _local(a.at, tz)) for a in attempts]
    past = [(a, day) for a, day in past if day <= today]
    counted = sorted(day for a, day in past if not a.exempt)
    in_window = [day for day in counted if day > today - timedelta(days=caps.window_days)]
    blocks: list[tuple[date, str]] = []
    if len(in_window) >= caps.max_attempts:
        # The attempts that must drop out of the window: the oldest len - max + 1 of them.
        last_to_drop = in_window[len(in_window) - caps.max_attempts]
        until = last_to_drop + timedelta(days=caps.window_days)
        blocks.append((until, f"{len(in_window)} call attempts in the {caps.window_days} days to "
                              f"{today} (cap {caps.max_attempts}); next call from {until}"))
    conversations = [day for a, day in past if a.connected]
    if conversations:
        until = max(conversations) + timedelta(days=caps.days_after_conversation)
        if today < until:
            blocks.append((until, f"spoke to the debtor on {max(conversations)}; no calls for "
                                  f"{caps.days_after_conversation} days, next call from {until}"))
    if not blocks:
        return CallPermission(True, None, f"{len(in_window)} of {caps.max_attempts} call attempts "
                                          f"in the {caps.window_days} days to {today}")
    until = max(day for day, _ in blocks)
    return CallPermission(False, datetime.combine(until, time(0), tzinfo=tz),
                          "; ".join(text for _, text in blocks))


# ------------------------------------------------------------------------------ priority

# The queue ranks by expected overdue value: Σ owed × P(paid late) × expected days late, from
# the behaviour model (behaviour.predict_rules.outlook). Points are logarithmic so the
# score stays small and readable: 10 points per doubling of the value in major units × days.
# A due callback outranks everything (a value of 2^100 would be needed to reach it).
CALLBACK_DUE_POINTS = 1000
VALUE_POINTS_PER_DOUBLING = 10
CLIENT_POINTS_PER_STEP = 5                               # P1 20, P2 15, P3 10, P4 5, P5 0

MAX_SCORE = 999_999  # rank_key pads the score to 6 digits
_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "AUD": "A$", "CAD": "C$"}


@dataclass(frozen=True)
class CallFacts:
    """What the queue knows about one call task. ``client_priority`` 1 is the agency's most
    important client, 5 the least. ``expected_overdue_minor_days`` (with ``owed_minor``,
    ``p_late`` and ``expected_days_late``) comes from the behaviour model; without it the
    value is what is overdue × the days it is overdue. ``behaviour`` lists the facts that
    moved the prediction (they explain the value, and score nothing by themselves)."""

    amount_overdue_minor: int
    currency: str
    days_overdue: int
    client_priority: int = 3
    callback_at: datetime | None = None
    expected_overdue_minor_days: int | None = None
    owed_minor: int = 0
    p_late: float = 0.0
    expected_days_late: float = 0.0
    behaviour: tuple[str, ...] = ()


@dataclass(frozen=True)
class Priority:
    score: int
    reasons: list[str]
    parts: dict[str, int] = field(default_factory=dict)


def money_text(minor: int, currency: str) -> str:
    """£12,340 or £12,340.50; currencies without a symbol here read 12,340.50 SEK."""
    exp = exponent(currency)
    major, rest = divmod(minor, 10**exp)
    text = f"{major:,}" + (f".{rest:0{exp}d}" if rest else "")
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def _same_kind(moment: datetime, now: datetime) -> datetime:
    if (moment.tzinfo is None) != (now.tzinfo is None):
        raise ValueError("callback_at and now must both be aware or both naive")
    return moment


def _clock(moment: datetime, now: datetime) -> str:
    local = moment.astimezone(now.tzinfo) if now.tzinfo else moment
    return local.strftime("%H:%M") if local.date() == now.date() else local.strftime("%Y-%m-%d %H:%M")


def _count(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int")
    return value


def _plural(n: float, word: str) -> str:
    k = int(round(n))
    return f"{k} {word}{'s' if k != 1 else ''}"


def value_points(value_minor_days: int, currency: str) -> int:
    """10 points per doubling of the expected overdue value (major units × days)."""
    major_days = max(0, value_minor_days) / 10 ** exponent(currency)
    return int(round(VALUE_POINTS_PER_DOUBLING * math.log2(1 + major_days)))


def priority(facts: CallFacts, now: datetime) -> Priority:
    """Score a call task (higher first) and say why, in the order the points were added."""
    _count("amount_overdue_minor", facts.amount_overdue_minor)
    if facts.client_priority not in (1, 2, 3, 4, 5):
        raise ValueError("client_priority is 1..5")
    if not 0.0 <= facts.p_late <= 1.0:
        raise ValueError("p_late is a probability")
    candidates: list[tuple[str, int, str]] = []
    if facts.callback_at is not None and _same_kind(facts.callback_at, now) <= now:
        candidates.append(("callback", CALLBACK_DUE_POINTS,
                           f"callback requested for {_clock(facts.callback_at, now)}"))
    if facts.expected_overdue_minor_days is None:
        days = max(0, facts.days_overdue)
        value = facts.amount_overdue_minor * days
        text = (f"{money_text(facts.amount_overdue_minor, facts.currency)} overdue × "
                f"{_plural(days, 'day')}")
    else:
        value = _count("expected_overdue_minor_days", facts.expected_overdue_minor_days)
        text = (f"{money_text(facts.owed_minor, facts.currency)} owed: "
                f"{facts.p_late:.0%} likely paid late, "
                f"{_plural(facts.expected_days_late, 'day')} late expected")
    candidates.append(("value", value_points(value, facts.currency), text))
    candidates.append(("client", (5 - facts.client_priority) * CLIENT_POINTS_PER_STEP,
                       f"P{facts.client_priority} client"))
    # Only what scored is given as a reason (the behaviour facts explain the value's), so
    # the reasons always explain the score.
    parts = {name: points for name, points, _ in candidates if points > 0}
    reasons = []
    for name, points, text in candidates:
        if points > 0:
            reasons.append(text)
            if name == "value" and facts.expected_overdue_minor_days is not None:
                if facts.amount_overdue_minor:
                    reasons.append(f"{money_text(facts.amount_overdue_minor, facts.currency)} overdue")
                if facts.days_overdue > 0:
                    reasons.append(f"{_plural(facts.days_overdue, 'day')} past due")
                reasons.extend(facts.behaviour)
    return Priority(sum(parts.values()), reasons, parts)


def rank_key(score: int, due_at: datetime, task_id: str) -> str:
    """Sort key for a DynamoDB index: ascending order = highest score first, then earliest
    due, then task id. Naive ``due_at`` is taken as UTC."""
    if not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
        raise ValueError(f"score must be an int in 0..{MAX_SCORE}")
    utc = due_at.replace(tzinfo=timezone.utc) if due_at.tzinfo is None else due_at.astimezone(timezone.utc)
    return f"{MAX_SCORE - score:06d}#{utc:%Y%m%dT%H%M%S.%fZ}#{task_id}"


# ------------------------------------------------------------------------------ outcomes

OUTCOMES: tuple[str, ...] = (
    "no_answer", "voicemail", "wrong_number", "promise_to_pay", "dispute",
    "payment_plan_agreed", "paid_already", "callback_requested", "refuses_to_pay",
)
# Outcomes where the debtor was spoken to: a conversation for the contact caps.
CONVERSATIONS = frozenset(OUTCOMES) - {"no_answer", "voicemail", "wrong_number"}
NEXT_ACTION_KINDS: tuple[str, ...] = (
    "new_task_at", "pause_until", "resume_cadence", "hold_invoice", "flag_reconciliation",
    "escalation_review",
)


class OutcomeError(FieldError):
    """Invalid input: which field, and why."""


@dataclass(frozen=True)
class OutcomePolicy:
    no_answer_retry_business_days: int = 1
    voicemail_retry_business_days: int = 2
    promise_grace_days: int = 3          # chasing resumes at the start of promise date + this
    max_promise_days: int | None = 30    # further out than this, agree a plan instead
    plan_grace_days: int = 3
    max_plan_start_days: int = 30
    reconciliation_business_days: int = 2
    max_callback_days: int = 14
    holidays: frozenset[date] = frozenset()


DEFAULT_POLICY = OutcomePolicy()


@dataclass(frozen=True)
class NextAction:
    """What the account does next. ``flags`` are side effects for the caller to carry out
    (record_promise, create_plan, open_dispute, flag_contact, callback); ``data`` carries
    the validated details."""

    kind: str
    at: datetime | None
    note: str
    flags: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


def attempt_for(outcome: str, at: datetime, *, consented: bool = False) -> CallAttempt:
    """The attempt to record for the caps after a call with this outcome."""
    if outcome not in OUTCOMES:
        raise OutcomeError("outcome", f"unknown outcome {outcome!r}")
    return CallAttempt(at=at, connected=outcome in CONVERSATIONS, exempt=consented)


def add_business_days(moment: datetime, days: int, holidays: Iterable[date] = ()) -> datetime:
    """Move forward whole business days (Mon-Fri, not a holiday), keeping the time of day."""
    skip = set(holidays)
    out = moment
    while days > 0:
        out += timedelta(days=1)
        if out.weekday() < 5 and out.date() not in skip:
            days -= 1
    return out


def _get(details: Mapping[str, Any], name: str, required: bool) -> Any:
    value = details.get(name)
    if value is None or value == "":
        if required:
            raise OutcomeError(name, "is required")
        return None
    return value


def _date(details: Mapping[str, Any], name: str, required: bool = True) -> date | None:
    value = _get(details, name, required)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise OutcomeError(name, "must be a date (YYYY-MM-DD)") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise OutcomeError(name, "must be a date (YYYY-MM-DD)")
    return value


def _required_date(details: Mapping[str, Any], name: str) -> date:
    value = _date(details, name)
    if value is None:  # pragma: no cover - _date raises first
        raise OutcomeError(name, "is required")
    return value


def _moment(details: Mapping[str, Any], name: str, now: datetime) -> datetime:
    value = _get(details, name, True)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise OutcomeError(name, "must be a date and time (ISO 8601)") from None
    if not isinstance(value, datetime):
        raise OutcomeError(name, "must be a date and time (ISO 8601)")
    if (value.tzinfo is None) != (now.tzinfo is None):
        raise OutcomeError(name, "needs a time zone" if now.tzinfo else "must not carry a time zone")
    return value


def _int(details: Mapping[str, Any], name: str, minimum: int, required: bool = True) -> int | None:
    value = _get(details, name, required)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise OutcomeError(name, "must be a whole number" + (" of minor units" if "minor" in name else ""))
    if value < minimum:
        raise OutcomeError(name, f"must be at least {minimum}")
    return value


def _text(details: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    value = _get(details, name, required)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise OutcomeError(name, "must be text")
    return value.strip()


def _midnight(day: date, now: datetime) -> datetime:
    return datetime.combine(day, time(0), tzinfo=now.tzinfo)


def _not_past(name: str, day: date, today: date, limit_days: int | None) -> None:
    if day < today:
        raise OutcomeError(name, "is in the past")
    if limit_days is not None and day > today + timedelta(days=limit_days):
        raise OutcomeError(name, f"is more than {limit_days} days ahead")


def next_action_for(outcome: str, details: Mapping[str, Any] | None, now: datetime,
                    policy: OutcomePolicy = DEFAULT_POLICY) -> NextAction:
    """Validate an outcome's details and say what happens next.

    no_answer -> call again in 1 business day; voicemail -> in 2 business days;
    wrong_number (contact_id) -> flag the contact, resume the cadence on other channels now;
    promise_to_pay (date, amount_minor) -> pause until the start of date + grace days;
    dispute (invoice_id, reason) -> hold that invoice until resolved, the rest continues;
    payment_plan_agreed (first_due, instalments) -> pause until first_due + grace days;
    paid_already (optional paid_on, amount_minor, reference) -> reconcile, paused meanwhile;
    callback_requested (at) -> a new call task at that time, made with consent;
    refuses_to_pay (optional reason) -> escalation review.
    """
    d: Mapping[str, Any] = details or {}
    today = now.date()
    if outcome == "no_answer":
        n = policy.no_answer_retry_business_days
        return NextAction("new_task_at", add_business_days(now, n, policy.holidays),
                          f"no answer: call again in {n} business day{'s' if n != 1 else ''}")
    if outcome == "voicemail":
        n = policy.voicemail_retry_business_days
        return NextAction("new_task_at", add_business_days(now, n, policy.holidays),
                          f"voicemail left: call again in {n} business day{'s' if n != 1 else ''}")
    if outcome == "wrong_number":
        contact = _text(d, "contact_id")
        return NextAction("resume_cadence", now,
                          f"wrong number for contact {contact}: flagged; the cadence carries on "
                          "by other contacts and channels", ("flag_contact",), {"contact_id": contact})
    if outcome == "promise_to_pay":
        day = _required_date(d, "date")
        _not_past("date", day, today, policy.max_promise_days)
        amount = _int(d, "amount_minor", 1)
        resume = day + timedelta(days=policy.promise_grace_days)
        return NextAction("pause_until", _midnight(resume, now),
                          f"promise to pay by {day}: chasing paused until {resume}",
                          ("record_promise",), {"date": day, "amount_minor": amount})
    if outcome == "dispute":
        invoice, reason = _text(d, "invoice_id"), _text(d, "reason")
        return NextAction("hold_invoice", None,
                          f"invoice {invoice} disputed ({reason}): not chased until the dispute "
                          "is resolved; the rest of the account continues",
                          ("open_dispute",), {"invoice_id": invoice, "reason": reason})
    if outcome == "payment_plan_agreed":
        first = _required_date(d, "first_due")
        _not_past("first_due", first, today, policy.max_plan_start_days)
        instalments = _int(d, "instalments", 2)
        resume = first + timedelta(days=policy.plan_grace_days)
        return NextAction("pause_until", _midnight(resume, now),
                          f"payment plan of {instalments} instalments from {first}: chasing "
                          f"paused until {resume}", ("create_plan",),
                          {"first_due": first, "instalments": instalments})
    if outcome == "paid_already":
        paid_on = _date(d, "paid_on", required=False)
        if paid_on is not None and paid_on > today:
            raise OutcomeError("paid_on", "is in the future")
        amount = _int(d, "amount_minor", 1, required=False)
        reference = _text(d, "reference", required=False)
        n = policy.reconciliation_business_days
        return NextAction("flag_reconciliation", add_business_days(now, n, policy.holidays),
                          f"debtor says already paid: check the ledger; chasing paused for {n} "
                          "business days", (),
                          {"paid_on": paid_on, "amount_minor": amount, "reference": reference})
    if outcome == "callback_requested":
        at = _moment(d, "at", now)
        if at <= now:
            raise OutcomeError("at", "is not in the future")
        if at > now + timedelta(days=policy.max_callback_days):
            raise OutcomeError("at", f"is more than {policy.max_callback_days} days ahead")
        return NextAction("new_task_at", at, f"debtor asked to be called back at {at:%Y-%m-%d %H:%M}",
                          ("callback",), {"at": at, "consent_at": now})
    if outcome == "refuses_to_pay":
        reason = _text(d, "reason", required=False)
        return NextAction("escalation_review", None,
                          "debtor refuses to pay" + (f" ({reason})" if reason else "")
                          + ": review for escalation", (), {"reason": reason})
    raise OutcomeError("outcome", f"unknown outcome {outcome!r}")


# ---------------------------------------------------------------------------- call scripts

# The call situations a script is written for, most pressing first: when a task carries
# reasons of several situations, the first one listed wins.
SITUATIONS: tuple[str, ...] = ("dispute_follow_up", "final_call", "broken_promise", "follow_up",
                               "first_call")
SITUATION_TITLES = {
    "first_call": "First call: reminders unanswered",
    "broken_promise": "Broken promise",
    "dispute_follow_up": "Dispute follow-up",
    "final_call": "Final call before escalation",
    "follow_up": "Follow-up: the debtor was in touch",
}
# call_task_needed reasons (dunning dispatch and feedback, replies, payments, promises,
# outcomes) and the situation each one calls for.
REASON_SITUATIONS = {
    "cadence_step": "first_call",             # a call step of the cadence (after emails/SMS)
    "touch_outcome_unknown": "first_call",    # a reminder that may not have gone out
    "email_bounced": "first_call", "email_complained": "first_call",
    "sms_opted_out": "first_call",            # no written channel left
    "refund": "first_call",
    "promise broken": "broken_promise", "plan_broken": "broken_promise",
    "reply_dispute": "dispute_follow_up", "chargeback": "dispute_follow_up",
    "reply": "follow_up", "sms_reply": "follow_up", "reply_promise": "follow_up",
    "reply_paid": "follow_up", "callback requested": "follow_up",
}
DEBTOR_ACTION_SITUATIONS = {"dispute": "dispute_follow_up"}  # other page actions: follow_up
FINAL_TONES = frozenset({"final"})


@dataclass(frozen=True)
class ScriptFacts:
    """What the script choice looks at besides the task's reasons."""

    last_promise_broken: bool = False
    escalation_proposed: bool = False


def _situation_of(reason: Mapping[str, Any]) -> tuple[str, str]:
    text = str(reason.get("reason") or "")
    details = reason.get("details") or {}
    if text == "cadence_step" and (details.get("tone") in FINAL_TONES
                                   or "final" in str(details.get("template") or "")):
        return "final_call", "the cadence's final call step"
    if text in REASON_SITUATIONS:
        return REASON_SITUATIONS[text], text.replace("_", " ")
    if text.startswith("retry after "):
        return "first_call", text  # not spoken to yet
    action = details.get("action")
    if action:
        return DEBTOR_ACTION_SITUATIONS.get(action, "follow_up"), text
    return "follow_up", text or "raised by hand"


def script_situation(reasons: Iterable[Mapping[str, Any]],
                     facts: ScriptFacts = ScriptFacts()) -> tuple[str, str]:
    """Which call script fits an open task, and why (readable).

    Each reason maps to a situation (``REASON_SITUATIONS``; a debtor's dispute on the page is
    a dispute follow-up, other page actions and unknown reasons a follow-up; a final cadence
    step is the final call). A proposed escalation makes it the final call, a broken last
    promise the broken-promise call. The most pressing situation (``SITUATIONS`` order) wins:
    a dispute is talked through before anything is demanded.
    """
    found: dict[str, str] = {}
    for r in reasons:
        if str(r.get("reason") or "").startswith("closed: "):
            continue
        situation, why = _situation_of(r)
        found.setdefault(situation, why)
    if facts.escalation_proposed:
        found.setdefault("final_call", "the account is proposed for collections")
    if facts.last_promise_broken:
        found.setdefault("broken_promise", "the last promise to pay was broken")
    for situation in SITUATIONS:
        if situation in found:
            return situation, f"{SITUATION_TITLES[situation]} script, because: {found[situation]}"
    return "first_call", f"{SITUATION_TITLES['first_call']} script, because: no reason recorded"


@dataclass(frozen=True)
class Objection:
    """A likely objection and a suggested answer (the answer is a template over the script's
    facts, e.g. ``{{ overdue_total }}``)."""

    objection: str
    answer: str


_ALREADY_PAID = Objection(
    "We've already paid.",
    "Thank you - could you give me the date, the amount and the reference? I will check it "
    "against {{ oldest.number if oldest else 'the invoices' }} today and stop the reminders "
    "while I do.")
_NO_INVOICE = Objection(
    "We never received the invoice.",
    "I can send it again right now to {{ contact_name or 'you' }} with a link to pay online: "
    "{{ link }}. Can we agree a date once you have it?")
_CASH_FLOW = Objection(
    "We can't pay it all right now.",
    "I understand. Could you pay part of {{ overdue_total }} today, or shall we agree a plan "
    "of instalments? I can set that up on this call.")
_CALL_BACK = Objection(
    "Call me back later.",
    "Of course - what time suits you? I'll note it and call you then (your time).")

OBJECTIONS: dict[str, tuple[Objection, ...]] = {
    "first_call": (_NO_INVOICE, _ALREADY_PAID, _CASH_FLOW, Objection(
        "The person who pays invoices isn't here.",
        "Who should I speak to, and when are they back? I'll call them directly."), _CALL_BACK),
    "broken_promise": (Objection(
        "The payment is on its way.",
        "Thank you. When was it sent, how much, and with what reference? If it hasn't "
        "reached us in two working days I'll call you again."), Objection(
        "Something came up.",
        "I understand. What can you pay, and by when? A date you can keep matters more than "
        "an early one."), _CASH_FLOW, _ALREADY_PAID),
    "dispute_follow_up": (Objection(
        "We're still not happy with the goods or service.",
        "I've noted it against {{ dispute.invoice_number if dispute else 'the invoice' }}. "
        "What would settle it - a credit, a replacement, a call from {{ brand.display_name }}?"),
        Objection("Why are you chasing us while it's in dispute?",
                  "We aren't chasing the disputed invoice while it is open. I'm calling about "
                  "the rest of the account, which isn't in dispute."), Objection(
        "We'll pay when it's sorted.",
        "That's fair for the disputed invoice. Can we agree a date for the undisputed "
        "amount?"), _ALREADY_PAID),
    "final_call": (Objection(
        "You can't pass this to collections.",
        "It hasn't gone yet - that is why I'm calling. A payment of {{ overdue_total }}, or an "
        "agreed plan, today stops it."), Objection(
        "We need more time.",
        "I can offer a short plan if the first payment is made this week. Otherwise the "
        "account goes to {{ brand.display_name }} for a decision on collections."),
        _ALREADY_PAID, Objection(
        "We dispute the debt.",
        "Tell me which invoice and why; I will open a dispute and that invoice will not be "
        "escalated while it is looked at.")),
    "follow_up": (_CALL_BACK, _ALREADY_PAID, _CASH_FLOW, _NO_INVOICE),
}


def objections_for(situation: str) -> tuple[Objection, ...]:
    if situation not in SITUATION_TITLES:
        raise ValueError(f"unknown call situation {situation!r}")
    return OBJECTIONS[situation]
