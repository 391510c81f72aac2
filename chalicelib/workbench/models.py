"""Workbench tables: call tasks (one slot per debtor), promises, disputes and collection cases."""
from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models import _index_meta, _meta


class QueueIndex(GlobalSecondaryIndex):
    """Sparse: only open tasks carry queue_key (agency#client); rank sorts best first."""

    Meta = _index_meta("queue", AllProjection())
    queue_key = UnicodeAttribute(hash_key=True)
    rank = UnicodeAttribute(range_key=True)


class CallTaskModel(Model):
    """The call slot of one debtor: at most one open task, its reasons merged; the item stays
    after the task closes so the call attempts (caps) and generation survive."""

    Meta = _meta("call_tasks")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    debtor_id = UnicodeAttribute(range_key=True)
    generation = NumberAttribute(default=0)  # task id = debtor_id.generation
    status = UnicodeAttribute(default="closed")  # open | closed
    queue_key = UnicodeAttribute(null=True)
    rank = UnicodeAttribute(null=True)
    queue = QueueIndex()
    # the take-next queues holding this open task at `rank` (QueueEntryModel, written in the
    # same transaction as the slot): "*" (the agency's admins) and "u#<specialist>"
    queued_for = ListAttribute(of=UnicodeAttribute, null=True)
    score = NumberAttribute(default=0)
    why = ListAttribute(of=UnicodeAttribute, default=list)  # priority reasons, readable
    reasons = JSONAttribute(default=list)  # [{reason, source, at, details}] merged
    due_at = UnicodeAttribute(null=True)
    callback_at = UnicodeAttribute(null=True)
    consent_at = UnicodeAttribute(null=True)
    claimed_by = UnicodeAttribute(null=True)
    claim_expires = UnicodeAttribute(null=True)
    attempts = JSONAttribute(default=list)  # [{at, connected, exempt}] last 14 days
    debtor_name = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    consumer = NumberAttribute(default=0)
    broken_promises = NumberAttribute(default=0)
    disputes = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class QueueEntryModel(Model):
    """One open call task in one take-next queue: the agency's (admins: every client) or one
    specialist's (the clients assigned to them), best first whatever the number of clients.
    Kept by workbench/tasks.py in the same transaction as the task's slot (its rank, status
    and the client's specialists), so a queue is one Query; the slots it names are then read
    in one batch, and the client list decides what the reader may still see."""

    Meta = _meta("call_queue")
    queue_of = UnicodeAttribute(hash_key=True)  # agency#* | agency#u#<user id>
    # rank#client_id: the task's rank (best first), then the client, the order in which the
    # per-client queues were merged (ids have no character below "#")
    place = UnicodeAttribute(range_key=True)
    client_id = UnicodeAttribute()
    debtor_id = UnicodeAttribute()


class PromiseCheckIndex(GlobalSecondaryIndex):
    """Sparse, sharded: open promises by the moment they turn broken (the timer reads due ones)."""

    Meta = _index_meta("promise_check", AllProjection())
    check_shard = UnicodeAttribute(hash_key=True)
    check_sort = UnicodeAttribute(range_key=True)


class PromiseModel(Model):
    Meta = _meta("promises")
    debtor_key = UnicodeAttribute(hash_key=True)  # agency#client#debtor
    promise_id = UnicodeAttribute(range_key=True)
    amount_minor = NumberAttribute()
    currency = UnicodeAttribute()
    promised_for = UnicodeAttribute()  # date
    deadline = UnicodeAttribute()  # instant: date + grace
    status = UnicodeAttribute(default="open")  # open | kept | broken
    paid_minor = NumberAttribute(default=0)
    payment_ids = ListAttribute(of=UnicodeAttribute, default=list)
    check_shard = UnicodeAttribute(null=True)
    check_sort = UnicodeAttribute(null=True)
    promise_check = PromiseCheckIndex()
    taken_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class DisputeModel(Model):
    Meta = _meta("disputes")
    debtor_key = UnicodeAttribute(hash_key=True)
    dispute_id = UnicodeAttribute(range_key=True)
    invoice_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    reason = UnicodeAttribute()  # pricing | goods_not_received | quality | duplicate | ...
    detail = UnicodeAttribute(null=True)
    owner = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    credit_minor = NumberAttribute(default=0)
    history = JSONAttribute(default=list)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class EscalationModel(Model):
    """A proposal to send an account to collections and, once approved, the case."""

    Meta = _meta("escalations")
    client_key = UnicodeAttribute(hash_key=True)
    escalation_id = UnicodeAttribute(range_key=True)
    debtor_id = UnicodeAttribute()
    debtor_name = UnicodeAttribute()
    status = UnicodeAttribute(default="proposed")  # proposed | declined | approved | closed
    rules = ListAttribute(of=UnicodeAttribute, default=list)  # why it was proposed
    amount_minor = NumberAttribute(default=0)
    currency = UnicodeAttribute()
    decided_by = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    decision_note = UnicodeAttribute(null=True)
    letter = JSONAttribute(null=True)  # {html, interest_minor, compensation_minor, total_minor}
    case = JSONAttribute(null=True)  # {status, recoveries_minor, fees_minor, events: [...]}
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class CallScriptModel(Model):
    """One version of a client's call script for one situation: its own item type in the
    call_tasks table (range key ``script#{situation}#{version:06d}``, never a debtor id, which
    is hex), so the versions of a situation are one Query, newest first. Not a table of its
    own: not listed in WORKBENCH_MODELS."""

    Meta = _meta("call_tasks")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    script_key = UnicodeAttribute(range_key=True, attr_name="debtor_id")
    situation = UnicodeAttribute()
    number = NumberAttribute()  # 1, 2, ...: the latest is live
    template = UnicodeAttribute(null=True)  # None: the product's default script
    objections = JSONAttribute(null=True)  # [{objection, answer}]; None: the defaults
    note = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()


class SettingsVersionModel(Model):
    """One saved version of a client's cadence or message template (the editor's history):
    like CallScriptModel, its own item type in the call_tasks table, range key
    ``{kind}#{quoted name}#{number:06d}`` (kind ``cadence`` or ``template``; the name is
    URL-quoted so no name is a prefix of another's), numbered by workbench/versions.py.
    The live value stays in client.settings (what the planner and messages read)."""

    Meta = _meta("call_tasks")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    version_key = UnicodeAttribute(range_key=True, attr_name="debtor_id")
    kind = UnicodeAttribute()  # cadence | template
    name = UnicodeAttribute()  # cadence slot ("client" or a named id) or template name
    number = NumberAttribute()
    body = JSONAttribute(null=True)  # the cadence dict / {"text": ...}; None: ours (default)
    note = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()


WORKBENCH_MODELS: tuple[type[Model], ...] = (CallTaskModel, QueueEntryModel, PromiseModel,
                                             DisputeModel, EscalationModel)
