"""The debtor timeline: append-only entries of every change, note and touch."""
from __future__ import annotations

import secrets
from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.kernel.clock import iso
from chalicelib.store import paging
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import TimelineModel


def entry(agency_id: str, client_id: str, debtor_id: str, kind: str, summary: str, *,
          actor: str, at: datetime, data: dict | None = None,
          entry_id: str | None = None) -> TimelineModel:
    """Build (not save) a timeline entry; entry_id may be deterministic for idempotent writers."""
    when = iso(at)
    return TimelineModel(
        debtor_key(agency_id, client_id, debtor_id),
        entry_id or f"{when}#{secrets.token_hex(4)}",
        kind=kind, actor=actor, summary=summary, data=data or {}, at=when,
    )


def record(agency_id: str, client_id: str, debtor_id: str, kind: str, summary: str, *,
           actor: str, at: datetime, data: dict | None = None,
           entry_id: str | None = None) -> dict:
    """Append one entry; a replay with the same deterministic entry_id is a no-op."""
    item = entry(agency_id, client_id, debtor_id, kind, summary, actor=actor, data=data,
                 at=at, entry_id=entry_id)
    try:
        item.save(condition=TimelineModel.entry_id.does_not_exist())
    except PutError as exc:
        if not _conditional_failure(exc):
            raise
    return render(item)


def debtor_acted(agency_id: str, client_id: str, debtor_id: str, action: str, summary: str,
                 details: dict, now: datetime) -> None:
    """The debtor did something on the hosted page: the timeline entry and the
    `debtor_action` event (which raises the specialist's task) in one transaction."""
    from chalicelib.kernel import events

    item = entry(agency_id, client_id, debtor_id, f"debtor_{action}", summary,
                 actor="debtor", data=details, at=now)
    event = events.stage("debtor_action", agency_id=agency_id, client_id=client_id,
                         debtor_id=debtor_id, action=action, details=details, at=iso(now))
    events.commit([(item, TimelineModel.entry_id.does_not_exist())], [event])


def _conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def render(m: TimelineModel) -> dict:
    return {"id": m.entry_id, "at": m.at, "kind": m.kind, "actor": m.actor,
            "summary": m.summary, "data": m.data}


def list_entries(agency_id: str, client_id: str, debtor_id: str, *, limit: int,
                 cursor: str | None, kind: str | None = None) -> dict:
    key = debtor_key(agency_id, client_id, debtor_id)
    kwargs = {"scan_index_forward": False}
    if kind:
        kwargs["filter_condition"] = TimelineModel.kind == kind
    return paging.page(TimelineModel.query, limit=limit, cursor=cursor, hash_attr="debtor_key",
                       hash_value=key, render=render, **kwargs)
