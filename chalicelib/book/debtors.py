"""Debtor accounts of a client and their contacts."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.http.auth import Principal
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.http.schemas import ContactIn, ContactPatch, DebtorIn, DebtorPatch
from chalicelib.store import accounts, timeline
from chalicelib.http.access import load_client, require_staff
from chalicelib.store import paging
from chalicelib.store.keys import client_key, debtor_id_for, debtor_key, new_id
from chalicelib.store.models import ClientModel, ContactModel, DebtorModel


def render(d: DebtorModel) -> dict:
    return {"id": d.debtor_id, "account_ref": d.account_ref, "name": d.name, "kind": d.kind,
            "notes": d.notes, "currency": d.currency, "timezone": d.timezone,
            "country": d.country, "segment": d.segment,
            "segment_pinned": bool(d.segment_pinned), "segment_reason": d.segment_reason,
            "status": d.status,
            "balance_minor": int(d.balance_minor), "overdue_minor": int(d.overdue_minor),
            "credit_minor": int(d.credit_minor or 0), "open_invoices": int(d.open_invoices),
            "oldest_due": d.oldest_due, "paused_until": d.paused_until,
            "next_action_at": d.next_action_at, "version": d.version}


def render_contact(c: ContactModel) -> dict:
    return {"id": c.contact_id, "role": c.role, "name": c.name, "email": c.email,
            "phone": c.phone, "timezone": c.timezone, "preferred_channel": c.preferred_channel,
            "opted_out": sorted(c.opted_out or []), "notes": c.notes}


def load_debtor(p: Principal, client_id: str, debtor_id: str) -> tuple[ClientModel, DebtorModel]:
    client = load_client(p, client_id)
    try:
        return client, DebtorModel.get(client_key(p.agency_id, client_id), debtor_id)
    except DebtorModel.DoesNotExist:
        raise NotFound("debtor") from None


def create_debtor(p: Principal, client_id: str, data: DebtorIn, *, now: datetime) -> dict:
    require_staff(p)
    client = load_client(p, client_id)
    did = debtor_id_for(p.agency_id, client_id, data.account_ref)
    stamp = iso(now)
    d = DebtorModel(client_key(p.agency_id, client_id), did, account_ref=data.account_ref,
                    name=data.name, kind=data.kind, notes=data.notes,
                    currency=data.currency or client.currency, timezone=data.timezone,
                    country=data.country, segment=data.segment, created_at=stamp, updated_at=stamp,
                    segment_pinned=True if data.segment else None)
    try:
        d.save(condition=DebtorModel.debtor_id.does_not_exist())
    except PutError:
        raise Conflict(f"a debtor with account_ref {data.account_ref!r} exists") from None
    timeline.record(p.agency_id, client_id, did, "debtor_created", f"Account {d.account_ref} created",
                    actor=p.user_id, at=now)
    return render(d)


def list_debtors(p: Principal, client_id: str, *, limit: int, cursor: str | None,
                 status: str | None = None, overdue_only: bool = False) -> dict:
    load_client(p, client_id)
    filt = None
    if status:
        filt = DebtorModel.status == status
    if overdue_only:
        cond = DebtorModel.overdue_minor > 0
        filt = cond if filt is None else filt & cond
    kwargs = {"filter_condition": filt} if filt is not None else {}
    return paging.page(DebtorModel.query, limit=limit, cursor=cursor, hash_attr="client_key",
                       hash_value=client_key(p.agency_id, client_id), render=render, **kwargs)


def get_debtor(p: Principal, client_id: str, debtor_id: str) -> dict:
    _, d = load_debtor(p, client_id, debtor_id)
    out = render(d)
    out["contacts"] = [render_contact(c) for c in
                       ContactModel.query(debtor_key(p.agency_id, client_id, debtor_id))]
    return out


def update_debtor(p: Principal, client_id: str, debtor_id: str, patch: DebtorPatch, *,
                  now: datetime) -> dict:
    require_staff(p)
    _, d = load_debtor(p, client_id, debtor_id)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("segment") is not None:  # chosen by hand: behaviour leaves it alone
        changes.setdefault("segment_pinned", True)
        changes.setdefault("segment_reason", "set by hand")
    if "segment" in changes and changes["segment"] is None:  # cleared: behaviour decides
        changes.update(segment_pinned=None, segment_reason=None)
    if changes.get("segment_pinned") is False:
        changes["segment_pinned"] = None

    def change(debtor) -> None:
        for k, v in changes.items():
            setattr(debtor, k, v)

    was = d.segment
    try:
        d = accounts.save_account(d, now, change)
    except PutError as exc:
        raise Conflict("debtor changed meanwhile; reload and retry") from exc
    if "segment" in changes and d.segment != was:  # the credit policy re-bands the debtor
        events.publish("segment_changed", agency_id=p.agency_id, client_id=client_id,
                       debtor_id=debtor_id, old=was, new=d.segment,
                       pinned=bool(d.segment_pinned), by=p.user_id, at=iso(now),
                       event_id=f"{p.agency_id}#ev#segment-{debtor_id}-v{d.version}")
    if changes:
        timeline.record(p.agency_id, client_id, debtor_id, "debtor_updated",
                        "Account details changed: " + ", ".join(sorted(changes)),
                        actor=p.user_id, data={"changes": {k: str(v) for k, v in changes.items()}}, at=now)
    return render(d)


def add_contact(p: Principal, client_id: str, debtor_id: str, data: ContactIn, *,
                now: datetime) -> dict:
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    stamp = iso(now)
    c = ContactModel(debtor_key(p.agency_id, client_id, debtor_id), new_id("k"), role=data.role,
                     name=data.name, email=data.email, phone=data.phone, timezone=data.timezone,
                     preferred_channel=data.preferred_channel, opted_out=set(data.opted_out),
                     notes=data.notes, created_at=stamp, updated_at=stamp)
    c.save(condition=ContactModel.contact_id.does_not_exist())
    timeline.record(p.agency_id, client_id, debtor_id, "contact_added",
                    f"Contact {data.name or data.email or data.phone} added", actor=p.user_id,
                    at=now)
    return render_contact(c)


def list_contacts(p: Principal, client_id: str, debtor_id: str) -> dict:
    load_debtor(p, client_id, debtor_id)
    key = debtor_key(p.agency_id, client_id, debtor_id)
    return {"items": [render_contact(c) for c in ContactModel.query(key)], "next_cursor": None}


def _load_contact(p: Principal, client_id: str, debtor_id: str, contact_id: str) -> ContactModel:
    load_debtor(p, client_id, debtor_id)
    try:
        return ContactModel.get(debtor_key(p.agency_id, client_id, debtor_id), contact_id)
    except ContactModel.DoesNotExist:
        raise NotFound("contact") from None


def update_contact(p: Principal, client_id: str, debtor_id: str, contact_id: str,
                   patch: ContactPatch, *, now: datetime) -> dict:
    require_staff(p)
    c = _load_contact(p, client_id, debtor_id, contact_id)
    changes = patch.model_dump(exclude_unset=True)
    for k, v in changes.items():
        setattr(c, k, set(v) if k == "opted_out" else v)
    if not c.email and not c.phone:
        raise ValidationFailed.one("email", "a contact needs an email or a phone")
    c.updated_at = iso(now)
    try:
        c.save()
    except PutError as exc:
        raise Conflict("contact changed meanwhile; reload and retry") from exc
    timeline.record(p.agency_id, client_id, debtor_id, "contact_updated",
                    "Contact changed: " + ", ".join(sorted(changes)), actor=p.user_id,
                    at=now)
    return render_contact(c)


def delete_contact(p: Principal, client_id: str, debtor_id: str, contact_id: str, *,
                   now: datetime) -> dict:
    require_staff(p)
    c = _load_contact(p, client_id, debtor_id, contact_id)
    c.delete()
    timeline.record(p.agency_id, client_id, debtor_id, "contact_removed",
                    f"Contact {c.name or c.email or c.phone} removed", actor=p.user_id,
                    data=render_contact(c), at=now)
    return {"id": contact_id, "deleted": True}


def add_note(p: Principal, client_id: str, debtor_id: str, text: str, *, now: datetime) -> dict:
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    return timeline.record(p.agency_id, client_id, debtor_id, "note", text, actor=p.user_id,
                           at=now)


def get_timeline(p: Principal, client_id: str, debtor_id: str, *, limit: int,
                 cursor: str | None, kind: str | None) -> dict:
    load_debtor(p, client_id, debtor_id)
    return timeline.list_entries(p.agency_id, client_id, debtor_id, limit=limit, cursor=cursor,
                                 kind=kind)
