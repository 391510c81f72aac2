"""Import a client's debtor book: validate row by row, upsert debtors, contacts and
invoices idempotently, mark invoices that vanished from a full book as settled outside.

Re-importing the same file writes nothing; new items go in batch writes; changed items
are saved one by one under their version so a payment landing mid-import is not lost.

Failing closed:
- one import per client at a time: a lease in the claims table (ImportInProgress, a 409
  with Retry-After, for the others; a crashed holder's lease expires);
- the import record is written first as a journal (status ``applying``) with the planned
  counts, then the timeline entries (ids fixed by import and subject), then the data; a
  re-run of the same file after a crash finishes that import under the same id and instant;
- the report is sent every invoice of the client as it now stands, so whatever a dead
  import wrote is counted, once (the report counts each invoice version once);
- a full book with lines the parser could not read settles nothing outside.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from pynamodb.exceptions import PutError

from chalicelib.kernel.clock import iso
from chalicelib.book.rows import BookFormatError, BookRow, ParsedBook, RowError, parse_book
from chalicelib.book.invoice_rules import OWED, status_for_balance
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.book.invoice_rules import (adjust_paid_outside, bounded, last_seen_owed,
                                            paid_outside_delta, stated)
from chalicelib.kernel import claims, events
from chalicelib.store import accounts, timeline
from chalicelib.book.invoices import index_fields, new_invoice, record_settlement, state
from chalicelib.store.keys import client_key, debtor_id_for, debtor_key, new_id
from chalicelib.store.models import (
    ClientModel,
    ContactModel,
    DebtorModel,
    ImportModel,
    InvoiceModel,
    TimelineModel,
)

Progress = Callable[[str, int, int], None]
MAX_STORED_ERRORS = 2000
# One import per client at a time. The lease outlives any API import (Lambda stops at 15
# minutes); a crashed holder that could not release it blocks the client that long at most.
LEASE_SECONDS = 15 * 60
RETRY_AFTER_SECONDS = 30


class ImportInProgress(Conflict):
    """Another import of the same client's book is running: 409, retry after `retry_after`."""

    code = "import_in_progress"

    def __init__(self, retry_after: int, running: str | None = None) -> None:
        super().__init__("another import of this client's book is running"
                         + (f" (import {running})" if running else "")
                         + f"; retry in {retry_after} seconds")
        self.retry_after = retry_after


EVENT_PART = 2000  # at most this many invoice changes per invoice_changed event of an import
EVENT_PART_BYTES = 300_000  # and at most about this much JSON (an outbox item holds 400 KB)
PLANNED = ("invoices_created", "invoices_updated", "invoices_unchanged", "settled_outside",
           "settle_withheld", "debtors_created", "debtors_updated", "contacts_written")


@dataclass
class Tally:
    invoices_created: int = 0
    invoices_updated: int = 0
    invoices_unchanged: int = 0
    settled_outside: int = 0
    settle_withheld: int = 0  # would have been settled, but lines of the file were unreadable
    debtors_created: int = 0
    debtors_updated: int = 0
    contacts_written: int = 0
    conflicts: int = 0
    conflicts_updated: int = 0
    conflicts_settled: int = 0
    conflicts_debtors: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass
class _Plan:
    new_debtors: list[DebtorModel] = field(default_factory=list)
    changed_debtors: list[DebtorModel] = field(default_factory=list)
    new_invoices: list[InvoiceModel] = field(default_factory=list)
    changed_invoices: list[InvoiceModel] = field(default_factory=list)
    contacts: list[ContactModel] = field(default_factory=list)
    notes: list[TimelineModel] = field(default_factory=list)
    befores: dict[str, dict] = field(default_factory=dict)
    existing: dict[str, InvoiceModel] = field(default_factory=dict)


def _noop(stage: str, done: int, total: int) -> None:
    return None


def _lease_key(agency_id: str, client_id: str) -> str:
    return f"{agency_id}#import-book#{client_id}"


def _seconds_left(lease, now: datetime) -> int:
    try:
        until = datetime.fromisoformat((lease.expires_at or "").replace("Z", "+00:00"))
    except ValueError:
        return RETRY_AFTER_SECONDS
    return int((until - now).total_seconds())


def import_book(agency_id: str, client_id: str, data: bytes, *, actor: str,
                filename: str | None = None, date_order: str | None = None,
                mode: str = "full", now: datetime,
                progress: Progress = _noop) -> dict:
    """Import a book under the client's import lease. A re-run of the same file after an
    import died part-way finishes that import (same id, same instant, same counts), so the
    result is exactly that of an import that never failed."""
    if mode not in ("full", "partial"):
        raise ValidationFailed.one("mode", "must be 'full' (the whole book) or 'partial'")
    if date_order is not None and date_order.upper() not in ("DMY", "MDY", "YMD"):
        raise ValidationFailed.one("date_order", "must be DMY, MDY or YMD")
    try:
        client = ClientModel.get(agency_id, client_id)
    except ClientModel.DoesNotExist:
        raise NotFound("client") from None
    progress("reading the file", 0, 1)
    try:
        book = parse_book(data, date_order=date_order.upper() if date_order else None,
                          default_currency=client.currency, default_country=client.country,
                          default_timezone=None)  # unstated: the planner resolves it
    except BookFormatError as exc:
        raise ValidationFailed.one(getattr(exc, "field", "file"), str(exc)) from None
    progress("reading the file", 1, 1)
    file_hash = _hash(data)
    won, lease = claims.lease(_lease_key(agency_id, client_id), now, LEASE_SECONDS,
                              {"file_hash": file_hash, "actor": actor})
    if not won:
        left = _seconds_left(lease, now)
        raise ImportInProgress(max(1, min(RETRY_AFTER_SECONDS, left)),
                               (lease.result or {}).get("import_id"))
    try:
        report = _run(agency_id, client, book, file_hash, actor=actor, filename=filename,
                      mode=mode, now=now, progress=progress)
    except BaseException:
        claims.release(lease, now, "failed")
        raise
    claims.release(lease, now, import_id=report["import_id"])
    return report


def _interrupted(ckey: str) -> ImportModel | None:
    """The journal of an import that died part-way, if any (under the lease nobody else can
    be running it). Each run resumes or closes the journal it finds, so there is at most
    one, among the newest records (ids are timestamped; one second may hold several)."""
    for m in ImportModel.query(ckey, scan_index_forward=False, limit=10, consistent_read=True):
        if m.status == "applying":
            return m
    return None


def _run(agency_id: str, client: ClientModel, book: ParsedBook, file_hash: str, *,
         actor: str, filename: str | None, mode: str, now: datetime,
         progress: Progress) -> dict:
    ckey = client_key(agency_id, client.client_id)
    journal = _interrupted(ckey)
    resume = journal is not None and journal.file_hash == file_hash and (
        journal.mode or "full") == mode and journal.format == book.format
    if journal is not None and not resume:
        journal.status = "interrupted"  # another file replaces it; its history stays
        journal.save()
    if resume:
        import_id = journal.import_id
        at = datetime.fromisoformat(journal.created_at.replace("Z", "+00:00"))
    else:
        import_id = now.strftime("%Y%m%dT%H%M%S") + new_id("-")
        at = now
    tally = Tally(errors=list(book.errors))
    progress("reading existing book", 0, 1)
    plan = _plan(agency_id, client, book, import_id, actor, mode, at, tally)
    progress("reading existing book", 1, 1)
    planned = dict(journal.counts) if resume else _report(import_id, book, tally, mode)["counts"]
    if not resume and _writes(plan):  # the journal: what it is about to do, kept if it dies
        ImportModel(ckey, import_id, filename=filename, file_hash=file_hash, status="applying",
                    format=book.format, mode=mode, counts=planned,
                    errors=_report(import_id, book, tally, mode)["errors"][:MAX_STORED_ERRORS],
                    created_at=iso(at), actor=actor).save()
    saved = _write(plan, tally, agency_id, client.client_id, actor, at, progress)
    # Every invoice of the client as it now stands, in one batch: the report counts each
    # version once, so invoices a dead import wrote but never reported are counted now
    # and the rest are no-ops.
    batch = f"import:{import_id}" + (f":resumed:{iso(now)}" if resume else "")
    if journal is None:  # no import died before this one: only what this one wrote
        written = {i.invoice_id for i in plan.new_invoices} | {
            i.invoice_id for i in plan.changed_invoices}
        saved = [i for i in saved if i.invoice_id in written]
    # A debtor's changes side by side: each part then names few debtors, so the consumers
    # (report counters per debtor, behaviour's recompute per debtor) touch each debtor in
    # one part, not in every part.
    saved.sort(key=lambda i: (i.debtor_id, i.invoice_id))
    changes = [{"debtor_id": i.debtor_id, "invoice_id": i.invoice_id,
                "old": plan.befores.get(i.invoice_id), "new": state(i)} for i in saved]
    # Events are outbox items (DynamoDB's 400 KB item limit): the batch goes in parts, each
    # its own idempotent batch; the last carries the import mode (a full book's baseline).
    parts = _parts(changes)
    # each part is delivered to its consumers (report counters, behaviour) before the next
    progress("updating reports", 0, len(parts))
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        events.publish("invoice_changed", agency_id=agency_id, client_id=client.client_id,
                       batch_id=batch if len(parts) == 1 else f"{batch}#part{n}",
                       import_mode=mode if last else None, at=at, changes=part,
                       event_id=f"{agency_id}#ev#{batch}#part{n}")
        progress("updating reports", n + 1, len(parts))
    progress("recording the import", 0, 1)
    report = _report(import_id, book, tally, mode)
    if resume:  # the counts are those planned by the run that died, less this run's conflicts
        for name in PLANNED:
            report["counts"][name] = int(planned.get(name, 0))
        report["counts"]["invoices_updated"] -= tally.conflicts_updated
        report["counts"]["settled_outside"] -= tally.conflicts_settled
        report["counts"]["debtors_updated"] -= tally.conflicts_debtors
    ImportModel(ckey, import_id, filename=filename if not resume else journal.filename,
                file_hash=file_hash, status="done", format=book.format, mode=mode,
                counts=report["counts"], errors=report["errors"][:MAX_STORED_ERRORS],
                created_at=iso(at), actor=actor if not resume else journal.actor,
                resumed_at=iso(now) if resume else None).save()
    progress("recording the import", 1, 1)
    return report


def _parts(changes: list[dict]) -> list[list[dict]]:
    """The changes in as few events as fit an outbox item: each part is applied to the
    report aggregate in one go, so fewer parts mean fewer aggregate rewrites."""
    import json

    parts: list[list[dict]] = [[]]
    size = 0
    for change in changes:
        n = len(json.dumps(change, separators=(",", ":"), default=str)) + 8
        if parts[-1] and (len(parts[-1]) >= EVENT_PART or size + n > EVENT_PART_BYTES):
            parts.append([])
            size = 0
        parts[-1].append(change)
        size += n
    return parts


def _hash(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _report(import_id: str, book: ParsedBook, t: Tally, mode: str) -> dict:
    errors = sorted(t.errors, key=lambda e: (e.row, e.field))
    return {
        "import_id": import_id, "format": book.format, "date_order": book.date_order,
        "mode": mode,
        "counts": {"lines_read": book.total_lines, "invoices_in_file": len(book.rows),
                   "rows_rejected": len({e.row for e in errors if e.row}),
                   "invoices_created": t.invoices_created, "invoices_updated": t.invoices_updated,
                   "invoices_unchanged": t.invoices_unchanged,
                   "settled_outside": t.settled_outside, "settle_withheld": t.settle_withheld,
                   "debtors_created": t.debtors_created,
                   "debtors_updated": t.debtors_updated, "contacts_written": t.contacts_written,
                   "conflicts": t.conflicts},
        "errors": [{"row": e.row, "field": e.field, "reason": e.reason, "value": e.value}
                   for e in errors],
    }


def _note(agency_id: str, cid: str, debtor_id: str, kind: str, summary: str, *, actor: str,
          at: datetime, import_id: str, subject: str, data: dict) -> TimelineModel:
    """A timeline entry with an id fixed by (import, kind, subject): a resumed import
    rewrites the same entry instead of adding a second one."""
    digest = hashlib.sha1(f"{import_id}\x1f{kind}\x1f{subject}".encode()).hexdigest()[:8]
    return timeline.entry(agency_id, cid, debtor_id, kind, summary, actor=actor, at=at,
                          data={**data, "import_id": import_id},
                          entry_id=f"{iso(at)}#{digest}")


def _plan(agency_id: str, client: ClientModel, book: ParsedBook, import_id: str, actor: str,
          mode: str, now: datetime, t: Tally) -> _Plan:
    cid = client.client_id
    ckey = client_key(agency_id, cid)
    stamp = iso(now)
    p = _Plan()
    existing = {i.number.upper(): i for i in InvoiceModel.by_client_number.query(ckey)}
    p.existing = existing
    debtors = {d.debtor_id: d for d in DebtorModel.query(ckey)}
    accepted = {client.currency.upper(), *(
        str(c).upper() for c in (client.settings or {}).get("accepted_currencies") or [])}

    by_debtor: dict[str, list[InvoiceModel]] = defaultdict(list)
    for inv in existing.values():
        by_debtor[inv.debtor_id].append(inv)
    last_full = _last_full_import(ckey)

    rows_by_debtor: dict[str, list[BookRow]] = defaultdict(list)
    seen_numbers: set[str] = set()

    # A row rejected for a small fault (a bad email, say) must not make its invoice look
    # missing from the book and be settled outside.
    seen_numbers.update(n.upper() for n in book.rejected_invoice_numbers)
    for row in book.rows:
        did = debtor_id_for(agency_id, cid, row.debtor_ref)
        seen_numbers.add(row.invoice_number.upper())
        prior = existing.get(row.invoice_number.upper())
        if row.currency.upper() not in accepted:
            t.errors.append(RowError(
                row.row, "currency", f"invoice is in {row.currency} but {client.name} is billed "
                f"in {client.currency}; add {row.currency} to the client's accepted currencies "
                "to import it", row.currency))
            continue
        if prior is not None and prior.debtor_id != did:
            owner = debtors.get(prior.debtor_id)
            t.errors.append(RowError(row.row, "invoice_number", "invoice number already belongs "
                                     f"to account {owner.account_ref if owner else '?'}",
                                     row.invoice_number))
            continue
        debtor = debtors.get(did)
        if debtor is not None and debtor.currency != row.currency:
            t.errors.append(RowError(row.row, "currency", f"account {row.debtor_ref} is billed "
                                     f"in {debtor.currency}, not {row.currency}", row.currency))
            continue
        rows_by_debtor[did].append(row)
        balance = row.balance_minor
        if prior is None:
            inv = new_invoice(agency_id, cid, did, number=row.invoice_number,
                              reference=row.reference, issue_date=row.issue_date,
                              due_date=row.due_date, currency=row.currency,
                              total_minor=row.total_minor, balance_minor=balance, now=stamp,
                              paid_on=row.paid_date)
            inv.disputed_in_book = row.disputed
            inv.book_seen_open_on = now.date().isoformat() if balance > 0 else None
            inv.version = 1
            p.new_invoices.append(inv)
            by_debtor[did].append(inv)
            continue
        before = state(prior)
        summary = _update_invoice(prior, row, balance, stamp, now, last_full)
        if summary:
            p.befores[prior.invoice_id] = before
            p.changed_invoices.append(prior)
            t.invoices_updated += 1
            p.notes.append(_note(agency_id, cid, did, "invoice_updated",
                                 f"Invoice {prior.number} updated by import: {summary}",
                                 actor=actor, at=now, import_id=import_id,
                                 subject=prior.invoice_id,
                                 data={"invoice_id": prior.invoice_id}))
        else:
            t.invoices_unchanged += 1

    if mode == "full":
        missing = [inv for number, inv in existing.items()
                   if number not in seen_numbers and inv.status in OWED
                   and int(inv.balance_minor) > 0]
        if missing and book.unreadable_lines:
            # Lines we could not read may hold these very invoices: settle nothing.
            t.settle_withheld = len(missing)
            lines = sorted(book.unreadable_lines)
            shown = ", ".join(str(n) for n in lines[:10]) + (" …" if len(lines) > 10 else "")
            t.errors.append(RowError(
                0, "file", f"{len(missing)} invoice(s) missing from this full book were "
                f"NOT settled outside because line(s) {shown} could not be read; fix those "
                "lines and import the file again"))
            missing = []
        for inv in missing:
            was = int(inv.balance_minor)
            p.befores[inv.invoice_id] = state(inv)
            inv.paid_outside = adjust_paid_outside(inv.paid_outside, was, now.date()) or None
            inv.balance_minor = 0
            inv.status = "settled_outside"
            record_settlement(inv, bounded("gone_from_book", _seen_owed(inv, last_full),
                                           now.date()))
            index_fields(inv)
            inv.updated_at = stamp
            p.changed_invoices.append(inv)
            t.settled_outside += 1
            p.notes.append(_note(
                agency_id, cid, inv.debtor_id, "invoice_settled_outside",
                f"Invoice {inv.number} no longer in the client's book: treated as settled "
                f"outside Recoup ({format_money(was, inv.currency)} was owed)", actor=actor,
                at=now, import_id=import_id, subject=inv.invoice_id,
                data={"invoice_id": inv.invoice_id, "balance_was_minor": was}))

    new_debtors, changed_debtors, contacts = _debtors_and_contacts(
        agency_id, cid, client, rows_by_debtor, debtors, stamp, t)
    for d in new_debtors:
        p.notes.append(_note(agency_id, cid, d.debtor_id, "debtor_created",
                             f"Account {d.account_ref} created by import", actor=actor,
                             at=now, import_id=import_id, subject=d.debtor_id, data={}))

    # Positions and next actions of every account the import touched.
    touched = {d.debtor_id for d in new_debtors} | {
        i.debtor_id for i in p.changed_invoices} | {i.debtor_id for i in p.new_invoices}
    for did in touched:
        d = debtors.get(did) or next(x for x in new_debtors if x.debtor_id == did)
        if accounts.recompute(d, now, by_debtor.get(did, []), client=client) and d not in new_debtors \
                and d not in changed_debtors:
            changed_debtors.append(d)
    p.new_debtors, p.changed_debtors, p.contacts = new_debtors, changed_debtors, contacts
    t.invoices_created = len(p.new_invoices)
    t.debtors_created = len(new_debtors)
    t.debtors_updated = len(changed_debtors)
    t.contacts_written = len(contacts)
    return p


def _writes(p: _Plan) -> int:
    return (len(p.notes) + len(p.new_debtors) + len(p.new_invoices) + len(p.contacts)
            + len(p.changed_invoices) + len(p.changed_debtors))


def _write(p: _Plan, t: Tally, agency_id: str, cid: str, actor: str, now: datetime,
           progress: Progress) -> list[InvoiceModel]:
    """Apply the plan (timeline first: a resumed import finds its entries already there);
    return every invoice of the client as stored now, except those another writer moved."""
    total = _writes(p)
    done = 0

    def tick(n: int, stage: str) -> None:
        nonlocal done
        done += n
        progress(stage, done, total)

    progress("writing timeline", 0, total)
    _batch_put(p.notes, lambda n: tick(n, "writing timeline"))
    _batch_put(p.new_debtors, lambda n: tick(n, "writing debtors"))
    _batch_put(p.new_invoices, lambda n: tick(n, "writing invoices"))
    _batch_put(p.contacts, lambda n: tick(n, "writing contacts"))
    lost: set[str] = set()
    late: list[TimelineModel] = []
    for inv in p.changed_invoices:
        if not _save(inv):
            lost.add(inv.invoice_id)
            t.conflicts += 1
            if inv.status == "settled_outside":
                t.settled_outside -= 1
                t.conflicts_settled += 1
            else:
                t.invoices_updated -= 1
                t.conflicts_updated += 1
            t.errors.append(RowError(0, "invoice_number", f"invoice {inv.number} changed during "
                                     "the import; re-import to apply", inv.number))
            late.append(timeline.entry(
                agency_id, cid, inv.debtor_id, "invoice_import_conflict",
                f"Invoice {inv.number}: the import's change above was NOT applied (the invoice "
                "changed meanwhile); import the book again to apply it", actor=actor, at=now,
                data={"invoice_id": inv.invoice_id}))
        tick(1, "updating invoices")
    for d in p.changed_debtors:
        if not _save(d):
            t.debtors_updated -= 1
            t.conflicts_debtors += 1
            t.conflicts += 1
        tick(1, "updating debtors")
    _batch_put(late, lambda n: None)
    changed = {i.invoice_id for i in p.changed_invoices}
    return p.new_invoices + [i for i in p.changed_invoices if i.invoice_id not in lost] + [
        i for i in p.existing.values() if i.invoice_id not in changed]


def _last_full_import(ckey: str) -> date | None:
    """The day of the client's latest finished full-book import (before this one)."""
    for m in ImportModel.query(ckey, scan_index_forward=False, consistent_read=True):
        if m.status == "done" and (m.mode or "full") == "full":
            return date.fromisoformat(m.created_at[:10])
    return None


def _seen_owed(inv: InvoiceModel, last_full: date | None) -> date:
    return last_seen_owed(date.fromisoformat(inv.created_at[:10]),
                          date.fromisoformat(inv.book_seen_open_on)
                          if inv.book_seen_open_on else None, last_full)


def _settlement_change(inv: InvoiceModel, row: BookRow, balance: int, was_owed: bool,
                       now: datetime, last_full: date | None) -> str | None:
    """Record when a settled row was paid; the change in words, or None."""
    if inv.status == "written_off":
        return None
    if balance > 0:
        target = None  # owed (again): it has no paid day
    elif row.paid_date is not None:
        target = stated("book", row.paid_date)
    elif was_owed:  # paid in the book since the last import that saw it owed
        target = bounded("book", _seen_owed(inv, last_full), now.date())
    else:
        return None  # already settled and the book says nothing new about when
    if not record_settlement(inv, target):
        return None
    if target is None:
        return "no longer paid"
    if target.paid_on is not None:
        return f"paid on {target.paid_on.isoformat()}"
    return f"paid between {target.earliest.isoformat()} and {target.latest.isoformat()}"


def _update_invoice(inv: InvoiceModel, row: BookRow, balance: int, stamp: str,
                    now: datetime, last_full: date | None = None) -> str:
    """Bring an existing invoice in line with the book; return what changed, in words."""
    changes = []
    was_total, was_balance = int(inv.total_minor), int(inv.balance_minor)
    was_owed = inv.status in OWED and was_balance > 0
    if int(inv.total_minor) != row.total_minor:
        changes.append(f"total {format_money(int(inv.total_minor), inv.currency)} → "
                       f"{format_money(row.total_minor, row.currency)}")
        inv.total_minor = row.total_minor
    if int(inv.balance_minor) != balance and inv.status != "written_off":
        changes.append(f"balance {format_money(int(inv.balance_minor), inv.currency)} → "
                       f"{format_money(balance, row.currency)}")
        inv.balance_minor = balance
    if inv.due_date != row.due_date.isoformat():
        changes.append(f"due {inv.due_date} → {row.due_date.isoformat()}")
        inv.due_date = row.due_date.isoformat()
    if inv.issue_date != row.issue_date.isoformat():
        changes.append(f"issued {inv.issue_date} → {row.issue_date.isoformat()}")
        inv.issue_date = row.issue_date.isoformat()
    if (inv.reference or None) != (row.reference or None):
        changes.append("reference")
        inv.reference = row.reference
    if inv.status == "settled_outside" and balance > 0:
        inv.status = "open"  # back in the book: owed again
    if row.disputed is not None and bool(inv.disputed_in_book) != row.disputed:
        changes.append("disputed in the client's book" if row.disputed
                       else "no longer disputed in the client's book")
        inv.disputed_in_book = row.disputed
    paid = _settlement_change(inv, row, balance, was_owed, now, last_full)
    if paid:
        changes.append(paid)
    if changes:
        if balance > 0:
            inv.book_seen_open_on = now.date().isoformat()
        paid = paid_outside_delta(was_total, was_balance, int(inv.total_minor),
                                  int(inv.balance_minor))
        if paid:  # the client's book records money received (or taken back) meanwhile
            inv.paid_outside = adjust_paid_outside(inv.paid_outside, paid, now.date()) or None
        inv.status = status_for_balance(int(inv.total_minor), int(inv.balance_minor),
                                        inv.status)
        index_fields(inv)
        inv.updated_at = stamp
    return "; ".join(changes)


def _debtors_and_contacts(agency_id: str, cid: str, client: ClientModel,
                          rows_by_debtor: dict[str, list[BookRow]],
                          debtors: dict[str, DebtorModel], stamp: str, t: Tally):
    new_debtors: list[DebtorModel] = []
    changed: list[DebtorModel] = []
    wanted: list[ContactModel] = []
    ckey = client_key(agency_id, cid)
    for did, rows in rows_by_debtor.items():
        last = rows[-1]
        d = debtors.get(did)
        fields = {"name": last.debtor_name, "kind": last.debtor_kind,
                  "timezone": last.timezone or None, "country": last.country or None}
        if d is None:
            d = DebtorModel(ckey, did, account_ref=last.debtor_ref, currency=last.currency,
                            created_at=stamp, updated_at=stamp, **fields)
            d.version = 1
            debtors[did] = d
            new_debtors.append(d)
        elif any(getattr(d, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(d, k, v)
            d.updated_at = stamp
            changed.append(d)
        dkey = debtor_key(agency_id, cid, did)
        if last.email or last.phone:
            wanted.append(ContactModel(dkey, "imp-primary", role="primary",
                                       name=last.contact_name, email=last.email,
                                       phone=last.phone, timezone=last.timezone,
                                       preferred_channel="email" if last.email else "sms",
                                       created_at=stamp, updated_at=stamp))
        if last.secondary_email:
            wanted.append(ContactModel(dkey, "imp-secondary", role="secondary",
                                       email=last.secondary_email, timezone=last.timezone,
                                       created_at=stamp, updated_at=stamp))
    contacts = _changed_contacts(wanted)
    return new_debtors, changed, contacts


def _changed_contacts(wanted: list[ContactModel]) -> list[ContactModel]:
    """Only contacts whose imported details differ; opt-outs and notes are kept."""
    if not wanted:
        return []
    keys = [(c.debtor_key, c.contact_id) for c in wanted]
    have = {(c.debtor_key, c.contact_id): c for c in ContactModel.batch_get(keys)}
    out = []
    for c in wanted:
        old = have.get((c.debtor_key, c.contact_id))
        if old is None:
            c.version = 1
            out.append(c)
            continue
        same = all(getattr(old, k) == getattr(c, k)
                   for k in ("name", "email", "phone", "timezone", "role"))
        if not same:
            for k in ("name", "email", "phone", "timezone", "role"):
                setattr(old, k, getattr(c, k))
            old.updated_at = c.updated_at
            out.append(old)
    return out


def _batch_put(items: list, on_progress: Callable[[int], None], chunk: int = 500) -> None:
    if not items:
        return
    model = type(items[0])
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        with model.batch_write() as batch:
            for item in part:
                batch.save(item)
        on_progress(len(part))


def _save(item) -> bool:
    try:
        item.save()
        return True
    except PutError:
        return False


def list_imports(agency_id: str, client_id: str) -> list[dict]:
    out = []
    for m in ImportModel.query(client_key(agency_id, client_id), scan_index_forward=False):
        out.append({"import_id": m.import_id, "filename": m.filename, "format": m.format,
                    "status": m.status, "mode": m.mode, "resumed_at": m.resumed_at,
                    "counts": m.counts, "created_at": m.created_at, "actor": m.actor,
                    "error_count": len(m.errors or [])})
    return out


def get_import(agency_id: str, client_id: str, import_id: str) -> dict:
    try:
        m = ImportModel.get(client_key(agency_id, client_id), import_id)
    except ImportModel.DoesNotExist:
        raise NotFound("import") from None
    return {"import_id": m.import_id, "filename": m.filename, "format": m.format,
            "status": m.status, "mode": m.mode, "resumed_at": m.resumed_at,
            "counts": m.counts, "errors": m.errors, "created_at": m.created_at,
            "actor": m.actor}

