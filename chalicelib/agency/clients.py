"""Client businesses of an agency, and the agency's users."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.http.auth import Principal
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import Conflict, NotFound, ValidationFailed
from chalicelib.http.schemas import ClientIn, ClientPatch, UserIn, UserPatch
from chalicelib.http.access import load_client, require_admin
from chalicelib.store import paging
from chalicelib.store.keys import new_id
from chalicelib.store.models import AgencyModel, ClientModel, UserModel

PREVIEW, ACTIVE = "preview", "active"  # settings["chasing"]; dunning.planner reads it


def render(c: ClientModel) -> dict:
    return {"id": c.client_id, "name": c.name, "brand_name": c.brand_name,
            "sender_email": c.sender_email, "reply_to": c.reply_to, "timezone": c.timezone,
            "country": c.country, "currency": c.currency,
            "specialist_ids": list(c.specialist_ids or []), "settings": c.settings or {},
            "sender_status": c.sender_status or "unknown",
            "sender_checked_at": c.sender_checked_at,
            "created_at": c.created_at, "updated_at": c.updated_at, "version": c.version}


def _check_specialists(agency_id: str, ids: list[str]) -> None:
    for uid in ids:
        try:
            u = UserModel.get(agency_id, uid)
        except UserModel.DoesNotExist:
            raise ValidationFailed.one("specialist_ids", f"no user {uid} in your agency") from None
        if u.role not in ("specialist", "admin"):
            raise ValidationFailed.one("specialist_ids", f"user {uid} is not agency staff")
        if u.active is False:
            raise ValidationFailed.one("specialist_ids", f"user {uid} is deactivated")


def create_client(p: Principal, data: ClientIn, *, now: datetime) -> dict:
    require_admin(p)
    _check_specialists(p.agency_id, data.specialist_ids)
    stamp = iso(now)
    # A new client starts in preview: the dry run shows what would be sent until an admin
    # activates it (set_chasing).
    settings = {"chasing": PREVIEW, **(data.settings or {})}
    _check_mode(settings["chasing"])
    # The first message to a taken-over debtor introduces the agency on the client's behalf
    # (brand.agency_name), unless the agency works white-label (brand.white_label: true).
    brand = dict(settings.get("brand") or {})
    if not brand.get("white_label") and not brand.get("agency_name"):
        try:
            brand["agency_name"] = AgencyModel.get(p.agency_id).name
        except AgencyModel.DoesNotExist:
            pass
    if brand:
        settings["brand"] = brand
    c = ClientModel(p.agency_id, new_id("c"), name=data.name,
                    brand_name=data.brand_name or data.name, sender_email=data.sender_email,
                    reply_to=data.reply_to, timezone=data.timezone, country=data.country,
                    currency=data.currency, specialist_ids=data.specialist_ids,
                    settings=settings, created_at=stamp, updated_at=stamp)
    c.save(condition=ClientModel.client_id.does_not_exist())
    # chasing asks SES to verify the sender (dunning.sender) and holds email until it is
    events.publish("client_changed", agency_id=c.agency_id, client_id=c.client_id,
                   at=stamp, fields=["created", "sender_email"], by=p.user_id,
                   event_id=f"{c.agency_id}#ev#client-{c.client_id}-created")
    return render(c)


def list_clients(p: Principal, *, limit: int, cursor: str | None) -> dict:
    if p.role == "client_viewer":
        return {"items": [render(load_client(p, p.client_id or "", for_reports=True))],
                "next_cursor": None}
    filt = ClientModel.archived == False  # noqa: E712 - PynamoDB condition, not a bool test
    if p.role == "specialist":
        filt &= ClientModel.specialist_ids.contains(p.user_id)
    return paging.page(ClientModel.query, limit=limit, cursor=cursor, hash_attr="agency_id",
                       hash_value=p.agency_id, render=render, filter_condition=filt)


def get_client(p: Principal, client_id: str) -> dict:
    return render(load_client(p, client_id))


def update_client(p: Principal, client_id: str, patch: ClientPatch, *, now: datetime) -> dict:
    require_admin(p)
    c = load_client(p, client_id)
    changes = patch.model_dump(exclude_unset=True)
    if "specialist_ids" in changes:
        _check_specialists(p.agency_id, changes["specialist_ids"])
    if "chasing" in (changes.get("settings") or {}):
        _check_mode(changes["settings"]["chasing"])
    return render(_save(p, c, changes, now))


def _check_mode(mode) -> None:
    if mode not in (PREVIEW, ACTIVE):
        raise ValidationFailed.one("settings.chasing", "must be 'preview' or 'active'")


def _save(p: Principal, c: ClientModel, changes: dict, now: datetime) -> ClientModel:
    """Apply `changes` (settings merged key by key), save under the client's version and
    announce what changed (chasing re-plans the client's accounts when it bears on them)."""
    changed: list[str] = []
    for k, v in changes.items():
        if k == "settings":
            old = c.settings or {}
            changed += [f"settings.{key}" for key, val in v.items() if old.get(key) != val]
            v = {**old, **v}
        elif getattr(c, k) != v:
            changed.append(k)
        setattr(c, k, v)
    c.updated_at = iso(now)
    try:
        c.save()
    except PutError as exc:
        raise Conflict("client changed meanwhile; reload and retry") from exc
    if changed:
        events.publish("client_changed", agency_id=c.agency_id, client_id=c.client_id,
                       at=iso(now), fields=changed, by=p.user_id,
                       event_id=f"{c.agency_id}#ev#client-{c.client_id}-{c.version}")
    return c


def set_chasing(p: Principal, client_id: str, mode: str, *, now: datetime) -> dict:
    """Activate a client (its accounts are chased from now) or put it back in preview."""
    require_admin(p)
    _check_mode(mode)
    c = load_client(p, client_id)
    if (c.settings or {}).get("chasing", ACTIVE) == mode:
        return render(c)
    return render(_save(p, c, {"settings": {
        "chasing": mode, "chasing_changed": {"to": mode, "by": p.user_id, "at": iso(now)}}},
        now))


def archive_client(p: Principal, client_id: str, *, now: datetime) -> dict:
    require_admin(p)
    c = load_client(p, client_id)
    c.archived = True
    c.updated_at = iso(now)
    c.save()
    return {"id": client_id, "archived": True}


def render_user(u: UserModel) -> dict:
    return {"id": u.user_id, "email": u.email, "name": u.name, "role": u.role,
            "client_id": u.client_id, "active": u.active}


def create_user(p: Principal, data: UserIn, *, now: datetime) -> dict:
    require_admin(p)
    if data.client_id:
        try:
            ClientModel.get(p.agency_id, data.client_id)
        except ClientModel.DoesNotExist:
            raise ValidationFailed.one("client_id", "no such client in your agency") from None
    u = UserModel(p.agency_id, new_id("u"), email=data.email, name=data.name, role=data.role,
                  client_id=data.client_id, created_at=iso(now))
    u.save(condition=UserModel.user_id.does_not_exist())
    return render_user(u)


def update_user(p: Principal, user_id: str, patch: UserPatch, *, now: datetime) -> dict:
    """Deactivate a user (their tokens and page sessions stop working at the next request:
    http.access.require_active) or reactivate them. An admin cannot deactivate themself."""
    require_admin(p)
    try:
        u = UserModel.get(p.agency_id, user_id)
    except UserModel.DoesNotExist:
        raise NotFound("user") from None
    if patch.active is False and user_id == p.user_id:
        raise ValidationFailed.one("active", "you cannot deactivate yourself")
    if patch.active is not None and bool(u.active) != patch.active:
        u.active = patch.active
        try:
            u.save()
        except PutError as exc:
            raise Conflict("user changed meanwhile; reload and retry") from exc
    return render_user(u)


def list_users(p: Principal, *, limit: int, cursor: str | None) -> dict:
    require_admin(p)
    return paging.page(UserModel.query, limit=limit, cursor=cursor, hash_attr="agency_id",
                       hash_value=p.agency_id, render=render_user)


def me(p: Principal) -> dict:
    try:
        return render_user(UserModel.get(p.agency_id, p.user_id))
    except UserModel.DoesNotExist:
        raise NotFound("user") from None


def record_sender_status(c: ClientModel, status: str, now: datetime) -> bool:
    """Store the sender identity's state as chasing found it; True if it changed (then
    announced, so held accounts are re-planned once it is verified)."""
    changed = c.sender_status != status
    c.sender_status, c.sender_checked_at = status, iso(now)
    for _ in range(3):
        try:
            c.save()
            break
        except PutError:
            c.refresh(consistent_read=True)
            changed = c.sender_status != status
            c.sender_status, c.sender_checked_at = status, iso(now)
    if changed:
        events.publish("client_changed", agency_id=c.agency_id, client_id=c.client_id,
                       at=iso(now), fields=["sender_status"], by="dunning",
                       event_id=f"{c.agency_id}#ev#sender-{c.client_id}-{c.version}")
    return changed
