"""Request bodies of the agency API (pydantic): each bad field is named with a reason."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from chalicelib.kernel import validation
from chalicelib.kernel.money import is_currency


def _currency(v: str) -> str:
    if not is_currency(v):
        raise ValueError(f"{v!r} is not a supported ISO 4217 currency")
    return v.upper()


# Every free-text field has a stated maximum (422 naming the field), so no input can grow an
# item past DynamoDB's 400 KB or be mistaken for a conflict.
NAME_MAX, TEXT_MAX, REF_MAX, ID_MAX = 200, 5000, 200, 64
SETTINGS_MAX_BYTES, SETTINGS_MAX_DEPTH = 16_384, 8
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)

Email = Annotated[str, Field(max_length=254), AfterValidator(validation.check_email)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(validation.check_phone)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(validation.check_timezone)]
Country = Annotated[str, Field(max_length=8), AfterValidator(validation.check_country)]
Currency = Annotated[str, Field(max_length=8), AfterValidator(_currency)]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]  # notes, dispute details
Ref = Annotated[str, Field(max_length=REF_MAX)]  # references, reasons, segments
Id = Annotated[str, Field(min_length=1, max_length=ID_MAX)]
Channel = Literal["email", "sms", "call", "letter"]


def _depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _settings(v: dict) -> dict:
    if _depth(v) > SETTINGS_MAX_DEPTH:
        raise ValueError(f"is nested deeper than {SETTINGS_MAX_DEPTH} levels")
    size = len(json.dumps(v, separators=(",", ":")).encode())
    if size > SETTINGS_MAX_BYTES:
        raise ValueError(f"is {size} bytes of JSON; the maximum is {SETTINGS_MAX_BYTES}")
    return v


def _day(v: date) -> date:
    if not EARLIEST <= v <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return v


def _moment(v: datetime) -> datetime:
    utc = v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)
    if not EARLIEST <= utc.date() <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return v


Settings = Annotated[dict, AfterValidator(_settings)]
Day = Annotated[date, AfterValidator(_day)]
Moment = Annotated[datetime, AfterValidator(_moment)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class ClientIn(Body):
    name: Name
    brand_name: Name | None = None
    sender_email: Email
    reply_to: Email | None = None
    timezone: TimeZone = "Europe/London"
    country: Country = "GB"
    currency: Currency = "GBP"
    specialist_ids: Annotated[list[Id], Field(max_length=100)] = []
    settings: Settings = {}


class ClientPatch(Body):
    """Omit a field to leave it alone; only reply_to may be cleared with null."""

    name: Name = None
    brand_name: Name = None
    sender_email: Email = None
    reply_to: Email | None = None
    timezone: TimeZone = None
    country: Country = None
    currency: Currency = None
    specialist_ids: Annotated[list[Id], Field(max_length=100)] = None
    settings: Settings = None


class UserIn(Body):
    email: Email
    name: Name
    role: Literal["admin", "specialist", "client_viewer"]
    client_id: Id | None = None

    @model_validator(mode="after")
    def _viewer_has_client(self) -> UserIn:
        if self.role == "client_viewer" and not self.client_id:
            raise ValueError("client_id is required for a client viewer")
        return self


class UserPatch(Body):
    """active: false deactivates the user (their tokens stop working); true reactivates."""

    active: bool | None = None


class DebtorIn(Body):
    account_ref: Annotated[str, Field(min_length=1, max_length=64)]
    name: Name
    kind: Literal["business", "consumer"] = "business"
    notes: Text | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    country: Country | None = None
    segment: Annotated[str, Field(max_length=ID_MAX)] | None = None


class DebtorPatch(Body):
    """Omit a field to leave it alone; notes, timezone, country and segment clear with null."""

    name: Name = None
    kind: Literal["business", "consumer"] = None
    notes: Text | None = None
    timezone: TimeZone | None = None
    country: Country | None = None
    segment: Annotated[str, Field(max_length=ID_MAX)] | None = None
    # A segment set by hand is pinned (behaviour's recompute leaves it) unless this says
    # false; false alone unpins, and the next recompute puts the debtor where it pays.
    segment_pinned: bool = None
    status: Literal["active", "on_hold", "in_collections", "written_off"] = None


class ContactIn(Body):
    role: Literal["primary", "secondary"] = "primary"
    name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZone | None = None
    preferred_channel: Channel = "email"
    opted_out: list[Channel] = []
    notes: Text | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not self.email and not self.phone:
            raise ValueError("a contact needs an email or a phone")
        return self


class ContactPatch(Body):
    """Omit a field to leave it alone; name, email, phone, timezone and notes clear with null."""

    role: Literal["primary", "secondary"] = None
    name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZone | None = None
    preferred_channel: Channel = None
    opted_out: list[Channel] = None
    notes: Text | None = None


class InvoiceIn(Body):
    number: Annotated[str, Field(min_length=1, max_length=64)]
    reference: Ref | None = None
    issue_date: Day
    due_date: Day
    currency: Currency | None = None
    total_minor: Annotated[int, Field(gt=0, strict=True)]
    balance_minor: Annotated[int, Field(ge=0, strict=True)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceIn:
        if self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        if self.balance_minor is not None and self.balance_minor > self.total_minor:
            raise ValueError("balance_minor exceeds total_minor")
        return self


class InvoicePatch(Body):
    """Omit a field to leave it alone; reference and reason may be null."""

    reference: Ref | None = None
    due_date: Day = None
    status: Literal["open", "disputed", "on_hold", "in_collections", "written_off"] = None
    reason: Ref | None = None


class NoteIn(Body):
    text: Annotated[str, Field(min_length=1, max_length=5000)]


class PaymentIn(Body):
    """A payment received outside Stripe (bank transfer, cheque, cash)."""

    amount_minor: Annotated[int, Field(gt=0, strict=True)]
    currency: Currency
    received_on: Day
    method: Literal["transfer", "cheque", "cash", "card_offline", "other"] = "transfer"
    reference: Annotated[str, Field(min_length=1, max_length=120)]
    invoice_ids: Annotated[list[Id], Field(max_length=500)] | None = None


class PlanIn(Body):
    instalments: Annotated[int, Field(ge=1, le=60, strict=True)]
    first_due: Day
    interval: Literal["weekly", "fortnightly", "monthly"] = "monthly"
    total_minor: Annotated[int, Field(gt=0, strict=True)] | None = None
    grace_days: Annotated[int, Field(ge=0, le=30, strict=True)] = 0


class WaiverIn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]

# ------------------------------------------------------------------ specialist workbench

DisputeReason = Literal["pricing", "goods_not_received", "quality", "duplicate",
                        "already_paid", "other"]
Outcome = Literal["no_answer", "voicemail", "wrong_number", "promise_to_pay", "dispute",
                  "payment_plan_agreed", "paid_already", "callback_requested", "refuses_to_pay"]
_Date = date  # the field called `date` below shadows the type
Minor = Annotated[int, Field(gt=0, strict=True)]


class OutcomeIn(Body):
    """What happened on a call; the fields each outcome needs are checked by the call rules."""

    outcome: Outcome
    note: Annotated[str, Field(max_length=5000)] | None = None
    date: Day | None = None  # promise_to_pay
    amount_minor: Minor | None = None  # promise_to_pay, paid_already
    invoice_id: Id | None = None  # dispute
    reason: Ref | None = None  # dispute: a DisputeReason; refuses_to_pay: free text
    detail: Text | None = None  # dispute
    first_due: Day | None = None  # payment_plan_agreed
    instalments: Annotated[int, Field(ge=2, le=60, strict=True)] | None = None
    paid_on: Day | None = None  # paid_already
    reference: Ref | None = None
    at: Moment | None = None  # callback_requested (ISO 8601 with offset)
    contact_id: Id | None = None  # wrong_number

    @model_validator(mode="after")
    def _dispute_reason(self) -> OutcomeIn:
        if self.outcome == "dispute" and self.reason not in DisputeReason.__args__:
            raise ValueError("reason must be one of " + ", ".join(DisputeReason.__args__))
        return self


class DisputeIn(Body):
    invoice_id: Id
    reason: DisputeReason
    detail: Text | None = None


class ReplyConfirmIn(Body):
    """Confirm what a debtor's reply proposes; each field overrides what the reply said."""

    promise_date: Day | None = None  # a promise: the date (default: the date in the reply)
    amount_minor: Minor | None = None  # a promise: default the amount named, else what is due
    invoice_id: Id | None = None  # a dispute: default the oldest open invoice
    reason: DisputeReason | None = None  # a dispute: default "other"
    detail: Text | None = None  # a dispute: default the reply's text


class DisputePatch(Body):
    status: Literal["open", "waiting_on_client", "resolved_for_debtor",
                    "resolved_for_client"] | None = None
    owner: Id | None = None
    credit_minor: Minor | None = None  # resolved_for_debtor: default the invoice balance
    note: Annotated[str, Field(max_length=2000)] | None = None


class EscalationDecisionIn(Body):
    decision: Literal["approve", "decline"]
    note: Annotated[str, Field(max_length=2000)] | None = None


class EscalationProposeIn(Body):
    """A specialist proposes an account for collections; the client decides in its portal."""

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class CasePatch(Body):
    status: Literal["open", "letter_sent", "in_recovery", "recovered", "closed"] | None = None
    recovery_minor: Minor | None = None  # a recovery to add
    fee_minor: Minor | None = None  # a fee to add
    note: Annotated[str, Field(max_length=2000)] | None = None


class TaskIn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    due_at: Moment | None = None


class PreviewIn(Body):
    """The dry run: the next `days` of chasing, optionally with a proposed cadence."""

    days: Annotated[int, Field(ge=1, le=31)] = 14
    cadence: Settings | None = None  # a cadence as GET/PATCH settings.cadence takes it
    messages: Annotated[int, Field(ge=0, le=500)] = 100  # rendered messages returned
    debtor_id: Id | None = None


class WhatIfIn(Body):
    """The outcomes lab on the client's own book: its current cadence vs a proposed one
    (the product's default unless given), the Xero-style e-mails and no reminders."""

    cadence: Settings | None = None  # a cadence as GET/PATCH settings.cadence takes it
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 2026
    samples: Annotated[int, Field(ge=1, le=50)] = 20  # simulated copies of each invoice


class ChasingIn(Body):
    mode: Literal["preview", "active"]


class ObjectionIn(Body):
    objection: Annotated[str, Field(min_length=1, max_length=300)]
    answer: Annotated[str, Field(min_length=1, max_length=2000)]  # a template, like the script


class CallScriptIn(Body):
    """A new version of a client's call script; omit (or null) template or objections to
    use the product's own (so sending neither restores the default)."""

    template: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None
    objections: Annotated[list[ObjectionIn], Field(max_length=20)] | None = None
    note: Annotated[str, Field(max_length=500)] | None = None


# ------------------------------------------------------------- cadence and template editor

TemplateName = Annotated[str, Field(min_length=1, max_length=120)]


class CadenceSaveIn(Body):
    """A cadence for one slot ("client" or a named cadence's id), as settings.cadence takes
    it; null puts the client's own slot back on the product's default."""

    cadence: Settings | None
    note: Annotated[str, Field(max_length=500)] | None = None


class CadenceEffectIn(Body):
    """A proposed cadence's dry-run effect next to the current one (nothing is saved)."""

    cadence: Settings
    days: Annotated[int, Field(ge=1, le=31)] = 14


class TemplatePreviewIn(Body):
    """A template (as proposed in `text`, else as live) rendered for a real debtor."""

    name: TemplateName  # e.g. email/friendly.txt.j2
    text: Annotated[str, Field(max_length=8000)] | None = None
    debtor_id: Id | None = None


class TemplateSaveIn(Body):
    """The client's own version of a template; null text removes it (ours again)."""

    name: TemplateName
    text: Annotated[str, Field(min_length=1, max_length=8000)] | None
    note: Annotated[str, Field(max_length=500)] | None = None
    debtor_id: Id | None = None  # the debtor it is checked on (else the first)


class RestoreIn(Body):
    kind: Literal["cadence", "template"]
    name: TemplateName  # the cadence slot or the template name
    version: Annotated[int, Field(ge=1, le=1_000_000)]


class TrySendIn(Body):
    """Send me a test: a cadence step's message (channel, template, tone) or a template
    (name, optionally as proposed in text), rendered for a real debtor, to my own email."""

    channel: Channel = "email"
    template: Annotated[str, Field(min_length=1, max_length=200)] = "friendly"
    tone: Literal["friendly", "firm", "final"] = "friendly"
    name: TemplateName | None = None
    text: Annotated[str, Field(max_length=8000)] | None = None
    debtor_id: Id | None = None


# ------------------------------------------------------------------------- manual sends

class SendIn(Body):
    """A reminder or a statement a specialist sends now (dunning/manual.py). The same body
    previews (nothing is sent) and sends; a retried send with the same idempotency_key (or,
    without one, the same message on the same day) is sent once."""

    kind: Literal["reminder", "statement"] = "reminder"
    channel: Literal["email", "sms", "letter"] = "email"
    template: Annotated[str, Field(min_length=1, max_length=64,
                                   pattern=r"^[A-Za-z0-9_.+-]+$")] | None = None
    tone: Literal["friendly", "firm", "final"] | None = None
    override_window: bool = False  # business debtors only, when the client's settings allow
    idempotency_key: Annotated[str, Field(min_length=1, max_length=64,
                                          pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None


# -------------------------------------------------------------------------- credit policy

LimitMinor = Annotated[int, Field(ge=0, le=10 ** 15, strict=True)]
TermsDays = Annotated[int, Field(ge=0, le=365, strict=True)]


class CreditTermsIn(Body):
    """One level of a credit policy: a limit (minor units; its currency defaults to the
    client's) and payment terms in days. Omit or null a field to inherit it."""

    limit_minor: LimitMinor | None = None
    currency: Currency | None = None
    terms_days: TermsDays | None = None


class CreditPolicyIn(Body):
    """The client's credit policy: a default, and limits/terms per behaviour segment (or a
    client's own bucket); per-debtor overrides are set on the debtor."""

    default: CreditTermsIn | None = None
    segments: Annotated[dict[Annotated[str, Field(min_length=1, max_length=64)],
                             CreditTermsIn], Field(max_length=50)] = {}


class CreditAlertIn(Body):
    action: Literal["acknowledge", "resolve"]
    note: Annotated[str, Field(max_length=2000)] | None = None


class CreditHoldIn(Body):
    """Put the debtor on credit hold (the client stops supplying on credit) or release it."""

    hold: bool
    note: Annotated[str, Field(max_length=2000)] | None = None
