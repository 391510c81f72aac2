"""The event catalogue: every fact one capability announces to others, as a typed record.

Each event names its tenant (agency, client, usually debtor) and carries `at`, the instant
the fact happened (ISO 8601 UTC, passed in by the publisher: never read from a clock here).
`events.publish(name, **fields)` builds the class below and refuses unknown or missing
fields, so a publisher and its consumers cannot drift apart silently. Payloads are stored
as JSON in the outbox, so fields hold only JSON values (str, int, bool, list, dict, None).

Who publishes and who consumes each event is listed in docs/ARCHITECTURE.md; a test pairs
every subscription with a publisher in production code, and every publisher with a
consumer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    name: ClassVar[str] = ""
    agency_id: str
    client_id: str
    at: str


@dataclass(frozen=True)
class InvoiceChanged(Event):
    """An invoice was added, edited, disputed or settled; or, for an import, a batch
    (`batch_id`, `import_mode`, `changes=[{debtor_id, invoice_id, old, new}]`). old/new are
    book.invoices.state(inv) after the save."""

    name: ClassVar[str] = "invoice_changed"
    debtor_id: str | None = None
    invoice_id: str | None = None
    old: dict | None = None
    new: dict | None = None
    batch_id: str | None = None
    import_mode: str | None = None
    changes: list | None = None


@dataclass(frozen=True)
class PromiseRecorded(Event):
    """A promise to pay was made (old None), kept or broken: new = {promised_on, due_date,
    amount_minor, kept}, kept None while open."""

    name: ClassVar[str] = "promise_recorded"
    debtor_id: str = ""
    promise_id: str = ""
    old: dict | None = None
    new: dict | None = None


@dataclass(frozen=True)
class EscalationChanged(Event):
    name: ClassVar[str] = "escalation_changed"
    debtor_id: str = ""
    escalation_id: str = ""
    status: str = ""  # requested | approved | recovered | closed
    recovered_minor: int = 0


@dataclass(frozen=True)
class PaymentApplied(Event):
    name: ClassVar[str] = "payment_applied"
    debtor_id: str = ""
    payment_id: str = ""
    amount_minor: int = 0
    currency: str = ""
    allocations: list = field(default_factory=list)  # [{invoice_id, applied_minor, …}]
    source: str = ""
    credit_minor: int = 0


@dataclass(frozen=True)
class PaymentReversed(Event):
    name: ClassVar[str] = "payment_reversed"
    debtor_id: str = ""
    payment_id: str = ""
    amount_minor: int = 0
    currency: str = ""
    reversal_id: str | None = None
    allocations: list = field(default_factory=list)


@dataclass(frozen=True)
class DebtorAction(Event):
    """The debtor did something on the hosted page: plan_proposed | promise | dispute |
    question | opt_out | statement."""

    name: ClassVar[str] = "debtor_action"
    debtor_id: str = ""
    action: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CallTaskNeeded(Event):
    """Somebody should phone this debtor: a call step, a bounce with no channel left, a
    refund or chargeback, a broken plan, an SMS reply."""

    name: ClassVar[str] = "call_task_needed"
    debtor_id: str = ""
    reason: str = ""
    due_at: str | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TouchSent(Event):
    name: ClassVar[str] = "touch_sent"
    debtor_id: str = ""
    channel: str = ""
    step: str = ""


@dataclass(frozen=True)
class SegmentChanged(Event):
    """A debtor's behaviour segment changed: recomputed from its behaviour (`by` "system")
    or set by a person through the debtor API (`by` the user, `pinned` True); or, after an
    import, many debtors' at once (`moves=[{debtor_id, old, new}]`, `debtor_id` empty)."""

    name: ClassVar[str] = "segment_changed"
    debtor_id: str = ""
    old: str | None = None
    new: str | None = None
    pinned: bool = False
    by: str = ""
    moves: list | None = None


@dataclass(frozen=True)
class ClientChanged(Event):
    """A client's details or settings changed (agency.clients): chasing re-plans its
    accounts when what changed bears on when they are chased (cadence, windows, mode)."""
    name: ClassVar[str] = "client_changed"
    fields: list = field(default_factory=list)  # top-level fields and settings.<key> changed
    by: str = ""


CATALOGUE: dict[str, type[Event]] = {cls.name: cls for cls in (
    InvoiceChanged, PromiseRecorded, EscalationChanged, PaymentApplied, PaymentReversed,
    DebtorAction, CallTaskNeeded, TouchSent, ClientChanged, SegmentChanged)}


def build(name: str, payload: dict[str, Any]) -> Event:
    """The typed event for `name`; ValueError naming what is wrong."""
    cls = CATALOGUE.get(name)
    if cls is None:
        raise ValueError(f"unknown event {name!r}; add it to the catalogue")
    try:
        return cls(**payload)
    except TypeError as exc:
        raise ValueError(f"event {name}: {exc}") from None
