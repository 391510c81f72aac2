"""Request bodies of the agency API (pydantic): each bad field is named with a reason."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from chalicelib.kernel import validation
from chalicelib.kernel.money import is_currency


def _currency(v: str) -> str:
    if not is_currency(v):
        raise ValueError(f"{v!r} is not a supported ISO 4217 currency")
    return v.upper()


Email = Annotated[str, AfterValidator(validation.check_email)]
Phone = Annotated[str, AfterValidator(validation.check_phone)]
TimeZone = Annotated[str, AfterValidator(validation.check_timezone)]
Country = Annotated[str, AfterValidator(validation.check_country)]
Currency = Annotated[str, AfterValidator(_currency)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Channel = Literal["email", "sms", "call", "letter"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClientIn(Body):
    name: Name
    brand_name: Name | None = None
    sender_email: Email
    reply_to: Email | None = None
    timezone: TimeZone = "Europe/London"
    country: Country = "GB"
    currency: Currency = "GBP"
    specialist_ids: list[str] = []
    settings: dict = {}


class ClientPatch(Body):
    name: Name | None = None
    brand_name: Name | None = None
    sender_email: Email | None = None
    reply_to: Email | None = None
    timezone: TimeZone | None = None
    country: Country | None = None
    currency: Currency | None = None
    specialist_ids: list[str] | None = None
    settings: dict | None = None


class UserIn(Body):
    email: Email
    name: Name
    role: Literal["admin", "specialist", "client_viewer"]
    client_id: str | None = None

    @model_validator(mode="after")
    def _viewer_has_client(self) -> UserIn:
        if self.role == "client_viewer" and not self.client_id:
            raise ValueError("client_id is required for a client viewer")
        return self


class DebtorIn(Body):
    account_ref: Annotated[str, Field(min_length=1, max_length=64)]
    name: Name
    kind: Literal["business", "consumer"] = "business"
    notes: str | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    country: Country | None = None
    segment: str | None = None


class DebtorPatch(Body):
    name: Name | None = None
    kind: Literal["business", "consumer"] | None = None
    notes: str | None = None
    timezone: TimeZone | None = None
    country: Country | None = None
    segment: str | None = None
    status: Literal["active", "on_hold", "in_collections", "written_off"] | None = None


class ContactIn(Body):
    role: Literal["primary", "secondary"] = "primary"
    name: str | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZone | None = None
    preferred_channel: Channel = "email"
    opted_out: list[Channel] = []
    notes: str | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not self.email and not self.phone:
            raise ValueError("a contact needs an email or a phone")
        return self


class ContactPatch(Body):
    role: Literal["primary", "secondary"] | None = None
    name: str | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZone | None = None
    preferred_channel: Channel | None = None
    opted_out: list[Channel] | None = None
    notes: str | None = None


class InvoiceIn(Body):
    number: Annotated[str, Field(min_length=1, max_length=64)]
    reference: str | None = None
    issue_date: date
    due_date: date
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
    reference: str | None = None
    due_date: date | None = None
    status: Literal["open", "disputed", "on_hold", "in_collections", "written_off"] | None = None
    reason: str | None = None


class NoteIn(Body):
    text: Annotated[str, Field(min_length=1, max_length=5000)]


class PaymentIn(Body):
    """A payment received outside Stripe (bank transfer, cheque, cash)."""

    amount_minor: Annotated[int, Field(gt=0, strict=True)]
    currency: Currency
    received_on: date
    method: Literal["transfer", "cheque", "cash", "card_offline", "other"] = "transfer"
    reference: Annotated[str, Field(min_length=1, max_length=120)]
    invoice_ids: list[str] | None = None


class PlanIn(Body):
    instalments: Annotated[int, Field(ge=1, le=60, strict=True)]
    first_due: date
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
    date: _Date | None = None  # promise_to_pay
    amount_minor: Minor | None = None  # promise_to_pay, paid_already
    invoice_id: str | None = None  # dispute
    reason: str | None = None  # dispute: a DisputeReason; refuses_to_pay: free text
    detail: str | None = None  # dispute
    first_due: _Date | None = None  # payment_plan_agreed
    instalments: Annotated[int, Field(ge=2, le=60, strict=True)] | None = None
    paid_on: _Date | None = None  # paid_already
    reference: str | None = None
    at: datetime | None = None  # callback_requested (ISO 8601 with offset)
    contact_id: str | None = None  # wrong_number

    @model_validator(mode="after")
    def _dispute_reason(self) -> OutcomeIn:
        if self.outcome == "dispute" and self.reason not in DisputeReason.__args__:
            raise ValueError("reason must be one of " + ", ".join(DisputeReason.__args__))
        return self


class DisputeIn(Body):
    invoice_id: Annotated[str, Field(min_length=1)]
    reason: DisputeReason
    detail: str | None = None


class DisputePatch(Body):
    status: Literal["open", "waiting_on_client", "resolved_for_debtor",
                    "resolved_for_client"] | None = None
    owner: str | None = None
    credit_minor: Minor | None = None  # resolved_for_debtor: default the invoice balance
    note: Annotated[str, Field(max_length=2000)] | None = None


class EscalationDecisionIn(Body):
    decision: Literal["approve", "decline"]
    note: Annotated[str, Field(max_length=2000)] | None = None


class CasePatch(Body):
    status: Literal["open", "letter_sent", "in_recovery", "recovered", "closed"] | None = None
    recovery_minor: Minor | None = None  # a recovery to add
    fee_minor: Minor | None = None  # a fee to add
    note: Annotated[str, Field(max_length=2000)] | None = None


class TaskIn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    due_at: datetime | None = None
