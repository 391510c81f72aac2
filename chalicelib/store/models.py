"""PynamoDB models: the tables of the system of record (one source of truth for infra too).

Every hash key starts with the agency id, so one tenant's items can never be read with
another tenant's key. Items that change carry a VersionAttribute (optimistic locking).
"""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    TTLAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import (AllProjection, GlobalSecondaryIndex, IncludeProjection,
                               KeysOnlyProjection)
from pynamodb.models import Model

from chalicelib.kernel.settings import region, table_prefix




def _meta(name: str) -> type:
    return type("Meta", (), {"table_name": f"{table_prefix()}{name}", "region": region(),
                             "billing_mode": "PAY_PER_REQUEST"})


def _index_meta(name: str, projection) -> type:
    return type("Meta", (), {"index_name": name, "projection": projection,
                             "billing_mode": "PAY_PER_REQUEST"})


class AgencyModel(Model):
    Meta = _meta("agencies")
    agency_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    version = VersionAttribute()


class UserModel(Model):
    Meta = _meta("users")
    agency_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()  # admin | specialist | client_viewer
    client_id = UnicodeAttribute(null=True)  # for client viewers
    active = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()
    version = VersionAttribute()


class ClientModel(Model):
    Meta = _meta("clients")
    agency_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    brand_name = UnicodeAttribute()
    sender_email = UnicodeAttribute()
    reply_to = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute()
    country = UnicodeAttribute()
    currency = UnicodeAttribute()
    specialist_ids = ListAttribute(of=UnicodeAttribute, default=list)
    settings = JSONAttribute(default=dict)  # brand voice, cadence, policies (validated in services)
    # The sender address's SES identity (dunning.sender): verified | pending | failed |
    # unverified; email steps are held until it is verified.
    sender_status = UnicodeAttribute(null=True)
    sender_checked_at = UnicodeAttribute(null=True)
    archived = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


class NextActionIndex(GlobalSecondaryIndex):
    """Sparse, sharded index of accounts by next-action time: the dunning sweep reads only
    the due ones (keys only), never the book."""

    Meta = _index_meta("next_action", KeysOnlyProjection())
    na_shard = UnicodeAttribute(hash_key=True)
    na_sort = UnicodeAttribute(range_key=True)


class DebtorModel(Model):
    """A debtor account of a client; carries the account's dunning position."""

    Meta = _meta("debtors")
    client_key = UnicodeAttribute(hash_key=True)  # agency#client
    debtor_id = UnicodeAttribute(range_key=True)
    account_ref = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute(default="business")  # business | consumer
    notes = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    timezone = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    balance_minor = NumberAttribute(default=0)
    overdue_minor = NumberAttribute(default=0)
    credit_minor = NumberAttribute(default=0)
    open_invoices = NumberAttribute(default=0)
    oldest_due = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")  # active | on_hold | in_collections | written_off
    cadence_id = UnicodeAttribute(null=True)
    segment = UnicodeAttribute(null=True)
    # Behaviour (chalicelib/behaviour): why the debtor is in its segment, and whether a
    # specialist pinned it (the recompute then leaves the segment alone).
    segment_reason = UnicodeAttribute(null=True)
    segment_pinned = BooleanAttribute(null=True)
    paused_until = UnicodeAttribute(null=True)
    stopped_reason = UnicodeAttribute(null=True)
    # A debtor's reply a specialist has not handled yet: the cadence waits (dunning/replies).
    reply_waiting = UnicodeAttribute(null=True)
    next_action_at = UnicodeAttribute(null=True)
    # Dunning memory kept small: per-invoice touch keys of still-chaseable invoices only
    # (trimmed on every touch), and when the account was last touched (min gap).
    touch_keys = UnicodeSetAttribute(default=set)
    last_touch_at = UnicodeAttribute(null=True)
    chased_from = UnicodeAttribute(null=True)  # local date of the first touch (dunning)
    na_shard = UnicodeAttribute(null=True)
    na_sort = UnicodeAttribute(null=True)
    next_action = NextActionIndex()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()


def phone_lookup_key(phone: str) -> str:
    """A number's national digits, last digit first (a leading trunk 0 dropped): the phone
    index's range key, so `begins_with` a query's reversed digits is a suffix match
    ("020 7946 0000" finds "+44 20 7946 0000")."""
    return "".join(ch for ch in phone if ch.isdigit()).lstrip("0")[::-1]


class ContactEmailIndex(GlobalSecondaryIndex):
    """A client's contacts by email (case-folded): the debtor search finds a caller by
    their address in one Query however large the book."""

    Meta = _index_meta("contacts_by_email", IncludeProjection(["email", "phone"]))
    lookup_client = UnicodeAttribute(hash_key=True)  # agency#client
    email_key = UnicodeAttribute(range_key=True)


class ContactPhoneIndex(GlobalSecondaryIndex):
    """A client's contacts by phone number, digits reversed (see `phone_lookup_key`)."""

    Meta = _index_meta("contacts_by_phone", IncludeProjection(["email", "phone"]))
    lookup_client = UnicodeAttribute(hash_key=True)
    phone_key = UnicodeAttribute(range_key=True)


class ContactModel(Model):
    """One way to reach a debtor. The lookup keys (`lookup_client`, `email_key`,
    `phone_key`) are derived from the contact on every write (`serialize`, which save,
    batch writes and transactions all call), so the search indexes never drift from it."""

    Meta = _meta("contacts")
    debtor_key = UnicodeAttribute(hash_key=True)  # agency#client#debtor
    contact_id = UnicodeAttribute(range_key=True)
    role = UnicodeAttribute(default="primary")  # primary | secondary
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)  # E.164
    timezone = UnicodeAttribute(null=True)
    preferred_channel = UnicodeAttribute(default="email")
    opted_out = UnicodeSetAttribute(default=set)  # channels: email, sms, call, letter
    suppressed = UnicodeSetAttribute(default=set)  # channels that bounced or complained
    notes = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    lookup_client = UnicodeAttribute(null=True)
    email_key = UnicodeAttribute(null=True)
    phone_key = UnicodeAttribute(null=True)
    by_email = ContactEmailIndex()
    by_phone = ContactPhoneIndex()

    def serialize(self, null_check: bool = True):
        self.lookup_client = self.debtor_key.rsplit("#", 1)[0] if self.debtor_key else None
        self.email_key = self.email.strip().casefold() if self.email else None
        self.phone_key = phone_lookup_key(self.phone) or None if self.phone else None
        return super().serialize(null_check=null_check)


class ClientInvoiceIndex(GlobalSecondaryIndex):
    """All invoices of a client by number: import reconciliation and lookups."""

    Meta = _index_meta("by_client_number", AllProjection())
    client_key = UnicodeAttribute(hash_key=True)
    number = UnicodeAttribute(range_key=True)


class OpenByDueIndex(GlobalSecondaryIndex):
    """Sparse: only open invoices carry open_key; ordered by due date."""

    Meta = _index_meta("open_by_due", AllProjection())
    open_key = UnicodeAttribute(hash_key=True)
    due_sort = UnicodeAttribute(range_key=True)


class InvoiceModel(Model):
    Meta = _meta("invoices")
    debtor_key = UnicodeAttribute(hash_key=True)  # agency#client#debtor
    invoice_id = UnicodeAttribute(range_key=True)
    client_key = UnicodeAttribute()
    debtor_id = UnicodeAttribute()
    number = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    issue_date = UnicodeAttribute()
    due_date = UnicodeAttribute()
    currency = UnicodeAttribute()
    total_minor = NumberAttribute()
    balance_minor = NumberAttribute()
    status = UnicodeAttribute()
    paid_outside = JSONAttribute(null=True)  # [[ISO day, minor]]: paid per the client's book
    open_key = UnicodeAttribute(null=True)
    due_sort = UnicodeAttribute(null=True)
    dispute = JSONAttribute(null=True)
    # Settlement history (book/invoice_rules.Settlement): the day it was paid when a source
    # states it (the client's book, a payment through Recoup), else the days it was paid
    # between (inclusive: the last import that saw it owed, the one that saw it paid or gone).
    paid_on = UnicodeAttribute(null=True)
    paid_earliest = UnicodeAttribute(null=True)
    paid_latest = UnicodeAttribute(null=True)
    settled_source = UnicodeAttribute(null=True)  # recoup | book | gone_from_book
    book_seen_open_on = UnicodeAttribute(null=True)  # last import that wrote it still owed
    disputed_in_book = BooleanAttribute(null=True)  # the client's book: was it disputed
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    by_client_number = ClientInvoiceIndex()
    open_by_due = OpenByDueIndex()
    version = VersionAttribute()


class TimelineModel(Model):
    """Append-only: entries are created with a does-not-exist condition and never updated."""

    Meta = _meta("timeline")
    debtor_key = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)  # ISO instant#random: newest first by sort key
    kind = UnicodeAttribute()
    actor = UnicodeAttribute()
    summary = UnicodeAttribute()
    data = JSONAttribute(default=dict)
    at = UnicodeAttribute()


class PaymentModel(Model):
    Meta = _meta("payments")
    debtor_key = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="payment")  # payment | refund | chargeback | charge
    source = UnicodeAttribute()  # link | transfer | cheque | plan | import | other
    amount_minor = NumberAttribute()
    currency = UnicodeAttribute()
    received_on = UnicodeAttribute()
    allocations = JSONAttribute(default=list)
    external_ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class ClaimModel(Model):
    """Idempotency ledger: an external effect (send, charge, event) is claimed here first
    with a conditional put keyed deterministically."""

    Meta = _meta("claims")
    claim_key = UnicodeAttribute(hash_key=True)  # starts with agency id (see dunning docs)
    status = UnicodeAttribute()  # claimed | done | failed | unknown
    result = JSONAttribute(default=dict)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    # Leases only (claims.lease): who holds it and until when (ISO instant, UTC).
    holder = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)


class ImportModel(Model):
    Meta = _meta("imports")
    client_key = UnicodeAttribute(hash_key=True)
    import_id = UnicodeAttribute(range_key=True)
    filename = UnicodeAttribute(null=True)
    file_hash = UnicodeAttribute()
    status = UnicodeAttribute()  # applying (journal of a running import) | done | interrupted
    mode = UnicodeAttribute(null=True)  # full | partial
    resumed_at = UnicodeAttribute(null=True)  # a re-run finished this interrupted import
    format = UnicodeAttribute(null=True)
    counts = JSONAttribute(default=dict)
    errors = JSONAttribute(default=list)
    created_at = UnicodeAttribute()
    actor = UnicodeAttribute()


class OutboxPendingIndex(GlobalSecondaryIndex):
    """Sparse: only events not yet delivered to every consumer (the local pump's worklist;
    in AWS the table's stream delivers, and this index finds stragglers)."""

    Meta = _index_meta("outbox_pending", KeysOnlyProjection())
    pending_shard = UnicodeAttribute(hash_key=True)
    pending_sort = UnicodeAttribute(range_key=True)


class OutboxModel(Model):
    """Events stored with the change that caused them (kernel/events.py): written in the
    change's own transaction where the change is one, delivered at least once to
    idempotent consumers, each consumer's effect claimed once per event."""

    Meta = _meta("outbox")
    event_id = UnicodeAttribute(hash_key=True)  # agency#ev#…
    name = UnicodeAttribute()
    payload = JSONAttribute()
    at = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | delivered | failed
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    pending_shard = UnicodeAttribute(null=True)
    pending_sort = UnicodeAttribute(null=True)
    outbox_pending = OutboxPendingIndex()
    expires = TTLAttribute(null=True)
    created_at = UnicodeAttribute()


class RateCounterModel(Model):
    """One counter per (agency or 'public') subject and minute window; TTL removes it."""

    Meta = _meta("rate_counters")
    counter_key = UnicodeAttribute(hash_key=True)  # scope#subject-hash#window
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()
