"""Import a client's debtor book: validate row by row, upsert debtors, contacts and
invoices idempotently, mark invoices that vanished from a full book as settled outside.

Re-importing the same file writes nothing; new items go in batch writes; changed items
are saved one by one under their version so a payment landing mid-import is not lost.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.kernel.clock import iso
from chalicelib.book.rows import BookFormatError, BookRow, ParsedBook, RowError, parse_book
from chalicelib.book.invoice_rules import OWED, status_for_balance
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import NotFound, ValidationFailed
from chalicelib.reporting.figures import adjust_paid_outside, paid_outside_delta
from chalicelib.kernel import events
from chalicelib.store import accounts, timeline
from chalicelib.book.invoices import index_fields, new_invoice, state
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


@dataclass
class Tally:
    invoices_created: int = 0
    invoices_updated: int = 0
    invoices_unchanged: int = 0
    settled_outside: int = 0
    debtors_created: int = 0
    debtors_updated: int = 0
    contacts_written: int = 0
    conflicts: int = 0
    errors: list[RowError] = field(default_factory=list)


def _noop(stage: str, done: int, total: int) -> None:
    return None


def import_book(agency_id: str, client_id: str, data: bytes, *, actor: str,
                filename: str | None = None, date_order: str | None = None,
                mode: str = "full", now: datetime,
                progress: Progress = _noop) -> dict:
    if mode not in ("full", "partial"):
        raise ValidationFailed.one("mode", "must be 'full' (the whole book) or 'partial'")
    if date_order is not None and date_order.upper() not in ("DMY", "MDY", "YMD"):
        raise ValidationFailed.one("date_order", "must be DMY, MDY or YMD")
    try:
        client = ClientModel.get(agency_id, client_id)
    except ClientModel.DoesNotExist:
        raise NotFound("client") from None
    try:
        book = parse_book(data, date_order=date_order.upper() if date_order else None,
                          default_currency=client.currency, default_country=client.country,
                          default_timezone=client.timezone)
    except BookFormatError as exc:
        raise ValidationFailed.one(getattr(exc, "field", "file"), str(exc)) from None
    import_id = now.strftime("%Y%m%dT%H%M%S") + new_id("-")
    tally = Tally(errors=list(book.errors))
    _apply(agency_id, client, book, import_id, actor, mode, now, tally, progress)
    report = _report(import_id, book, tally, mode)
    ImportModel(client_key(agency_id, client_id), import_id, filename=filename,
                file_hash=_hash(data), status="done", format=book.format,
                counts=report["counts"], errors=report["errors"][:MAX_STORED_ERRORS],
                created_at=iso(now), actor=actor).save()
    return report


def _hash(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _report(import_id: str, book: ParsedBook, t: Tally, mode: str) -> dict:
    errors = sorted(t.errors, key=lambda e: (e.row, e.field))
    return {
        "import_id": import_id, "format": book.format, "date_order": book.date_order,
        "mode": mode,
        "counts": {"lines_read": book.total_lines, "invoices_in_file": len(book.rows),
                   "rows_rejected": len({e.row for e in errors}),
                   "invoices_created": t.invoices_created, "invoices_updated": t.invoices_updated,
                   "invoices_unchanged": t.invoices_unchanged,
                   "settled_outside": t.settled_outside, "debtors_created": t.debtors_created,
                   "debtors_updated": t.debtors_updated, "contacts_written": t.contacts_written,
                   "conflicts": t.conflicts},
        "errors": [{"row": e.row, "field": e.field, "reason": e.reason, "value": e.value}
                   for e in errors],
    }


def _apply(agency_id: str, client: ClientModel, book: ParsedBook, import_id: str, actor: str,
           mode: str, now: datetime, t: Tally, progress: Progress) -> None:
    cid = client.client_id
    ckey = client_key(agency_id, cid)
    stamp = iso(now)
    progress("reading existing book", 0, 1)
    existing = {i.number.upper(): i for i in InvoiceModel.by_client_number.query(ckey)}
    debtors = {d.debtor_id: d for d in DebtorModel.query(ckey)}
    progress("reading existing book", 1, 1)

    by_debtor: dict[str, list[InvoiceModel]] = defaultdict(list)
    for inv in existing.values():
        by_debtor[inv.debtor_id].append(inv)

    new_invoices: list[InvoiceModel] = []
    changed_invoices: list[InvoiceModel] = []
    notes: list[TimelineModel] = []
    rows_by_debtor: dict[str, list[BookRow]] = defaultdict(list)
    seen_numbers: set[str] = set()
    befores: dict[str, dict] = {}  # invoice id -> state before this import changed it

    # A row rejected for a small fault (a bad email, say) must not make its invoice look
    # missing from the book and be settled outside.
    seen_numbers.update(n.upper() for n in book.rejected_invoice_numbers)
    for row in book.rows:
        did = debtor_id_for(agency_id, cid, row.debtor_ref)
        seen_numbers.add(row.invoice_number.upper())
        prior = existing.get(row.invoice_number.upper())
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
                              total_minor=row.total_minor, balance_minor=balance, now=stamp)
            inv.version = 1
            new_invoices.append(inv)
            by_debtor[did].append(inv)
            continue
        before = state(prior)
        summary = _update_invoice(prior, row, balance, stamp, now)
        if summary:
            befores[prior.invoice_id] = before
            changed_invoices.append(prior)
            notes.append(timeline.entry(agency_id, cid, did, "invoice_updated",
                                        f"Invoice {prior.number} updated by import: {summary}",
                                        actor=actor, at=now,
                                        data={"invoice_id": prior.invoice_id,
                                              "import_id": import_id}))
        else:
            t.invoices_unchanged += 1

    if mode == "full":
        for number, inv in existing.items():
            if number in seen_numbers or inv.status not in OWED or int(inv.balance_minor) <= 0:
                continue
            was = int(inv.balance_minor)
            befores[inv.invoice_id] = state(inv)
            inv.paid_outside = adjust_paid_outside(inv.paid_outside, was, now.date()) or None
            inv.balance_minor = 0
            inv.status = "settled_outside"
            index_fields(inv)
            inv.updated_at = stamp
            changed_invoices.append(inv)
            t.settled_outside += 1
            notes.append(timeline.entry(
                agency_id, cid, inv.debtor_id, "invoice_settled_outside",
                f"Invoice {inv.number} no longer in the client's book: treated as settled "
                f"outside Recoup ({format_money(was, inv.currency)} was owed)", actor=actor,
                at=now, data={"invoice_id": inv.invoice_id, "import_id": import_id,
                              "balance_was_minor": was}))

    new_debtors, changed_debtors, contacts = _debtors_and_contacts(
        agency_id, cid, client, rows_by_debtor, debtors, stamp, t)
    for d in new_debtors:
        notes.append(timeline.entry(agency_id, cid, d.debtor_id, "debtor_created",
                                    f"Account {d.account_ref} created by import", actor=actor,
                                    at=now, data={"import_id": import_id}))

    # Positions and next actions of every account the import touched.
    touched = {d.debtor_id for d in new_debtors} | {i.debtor_id for i in changed_invoices} | {
        i.debtor_id for i in new_invoices}
    for did in touched:
        d = debtors.get(did) or next(x for x in new_debtors if x.debtor_id == did)
        if accounts.recompute(d, now, by_debtor.get(did, []), client=client) and d not in new_debtors \
                and d not in changed_debtors:
            changed_debtors.append(d)

    total = len(new_invoices) + len(changed_invoices) + len(new_debtors) + len(changed_debtors)
    done = 0

    def tick(n: int, stage: str) -> None:
        nonlocal done
        done += n
        progress(stage, done, total)

    _batch_put(new_debtors, lambda n: tick(n, "writing debtors"))
    t.debtors_created += len(new_debtors)
    _batch_put(new_invoices, lambda n: tick(n, "writing invoices"))
    t.invoices_created += len(new_invoices)
    _batch_put(contacts, lambda n: None)
    t.contacts_written += len(contacts)
    saved: list[InvoiceModel] = []
    for inv in changed_invoices:
        if _save(inv):
            saved.append(inv)
            if inv.status != "settled_outside":
                t.invoices_updated += 1
        else:
            t.conflicts += 1
            t.errors.append(RowError(0, "invoice_number", f"invoice {inv.number} changed during "
                                     "the import; re-import to apply", inv.number))
        tick(1, "updating invoices")
    for d in changed_debtors:
        if _save(d):
            t.debtors_updated += 1
        else:
            t.conflicts += 1
        tick(1, "updating debtors")
    _batch_put(notes, lambda n: None)
    # One event for the whole import: subscribers (reports) apply it as one batch.
    events.publish("invoice_changed", agency_id=agency_id, client_id=cid,
                   batch_id=f"import:{import_id}", import_mode=mode, at=now,
                   changes=[{"debtor_id": i.debtor_id, "invoice_id": i.invoice_id,
                             "old": befores.get(i.invoice_id), "new": state(i)}
                            for i in new_invoices + saved])


def _update_invoice(inv: InvoiceModel, row: BookRow, balance: int, stamp: str,
                    now: datetime) -> str:
    """Bring an existing invoice in line with the book; return what changed, in words."""
    changes = []
    was_total, was_balance = int(inv.total_minor), int(inv.balance_minor)
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
    if changes:
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
                    "counts": m.counts, "created_at": m.created_at, "actor": m.actor,
                    "error_count": len(m.errors or [])})
    return out


def get_import(agency_id: str, client_id: str, import_id: str) -> dict:
    try:
        m = ImportModel.get(client_key(agency_id, client_id), import_id)
    except ImportModel.DoesNotExist:
        raise NotFound("import") from None
    return {"import_id": m.import_id, "filename": m.filename, "format": m.format,
            "counts": m.counts, "errors": m.errors, "created_at": m.created_at,
            "actor": m.actor}

