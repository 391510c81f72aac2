"""Call tasks: one open task per debtor, ranked per client and in each take-next queue (the
agency's, each specialist's), claimed by one specialist at a time."""
from __future__ import annotations

import heapq
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.http.auth import Principal
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.behaviour import profiles
from chalicelib.dunning import contact_window
from chalicelib.workbench import call_rules as calls
from chalicelib.kernel.errors import Conflict, NotFound
from chalicelib.http.access import load_client, require_staff
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel
from chalicelib.workbench.models import CallTaskModel, QueueEntryModel

log = logging.getLogger("recoup.tasks")
CLAIM_MINUTES = 15
ATTEMPT_MEMORY_DAYS = 14
MAX_CANDIDATES = 200  # a take-next never reads more than this many queue items
NEXT_PAGE = 10  # entries of a take-next queue read at first (more only if all are skipped)
ALL_CLIENTS = "*"  # the agency's queue (admins); a specialist's is "u#<user id>"
# One transaction moves a task in every queue it stands in (the slot, each queue's old entry
# and new one: 1 + 2 * (1 + 48) <= DynamoDB's 100 items); a client with more specialists
# keeps its tasks in the agency's queue only, and its specialists read it per client.
QUEUED_SPECIALISTS_MAX = 48


def parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


def task_id_of(slot: CallTaskModel) -> str:
    return f"{slot.debtor_id}.{int(slot.generation)}"


def split_task_id(task_id: str) -> tuple[str, int]:
    debtor_id, _, gen = task_id.rpartition(".")
    # "#" never occurs in a debtor id; the slot table's other items (call scripts) have it.
    if not debtor_id or not gen.isdigit() or "#" in debtor_id:
        raise NotFound("task")
    return debtor_id, int(gen)


# ------------------------------------------------------------------ priority and callability


def _facts(slot: CallTaskModel, debtor: DebtorModel, client: ClientModel,
           now: datetime, account: profiles.AccountFacts | None) -> calls.CallFacts:
    days = (now.date() - datetime.fromisoformat(debtor.oldest_due).date()).days \
        if debtor.oldest_due else 0
    days = max(0, days)
    prio = (client.settings or {}).get("priority", 3)
    base = dict(amount_overdue_minor=max(0, int(debtor.overdue_minor or 0)),
                currency=debtor.currency, days_overdue=days,
                client_priority=prio if prio in (1, 2, 3, 4, 5) else 3,
                callback_at=parse(slot.callback_at))
    if account is None:
        return calls.CallFacts(**base)
    # the queue's risk is the behaviour model's: expected overdue value of the account
    out = account.outlook(now.date(), broken_promises=max(int(slot.broken_promises or 0),
                                                          account.profile.promises_broken))
    return calls.CallFacts(**base, expected_overdue_minor_days=out.expected_overdue_minor_days,
                           owed_minor=out.owed_minor, p_late=out.p_late,
                           expected_days_late=out.expected_days_late, behaviour=out.reasons)


def rerank(slot: CallTaskModel, debtor: DebtorModel, client: ClientModel, now: datetime,
           account: profiles.AccountFacts | None = None) -> None:
    """Score as of when the task falls due, so a callback ranks first once it may be made."""
    due = parse(slot.due_at) or now
    pr = calls.priority(_facts(slot, debtor, client, max(now, due), account), max(now, due))
    slot.score, slot.why = pr.score, pr.reasons
    slot.rank = calls.rank_key(min(pr.score, calls.MAX_SCORE), due, slot.debtor_id)
    slot.queue_key = slot.client_key if slot.status == "open" else None
    if slot.status != "open":
        slot.rank = None


def policy_for(slot: CallTaskModel) -> contact_window.ContactPolicy:
    consumer = bool(slot.consumer)
    return contact_window.effective_policy(contact_window.default_policy(consumer), consumer)


def callable_from(slot: CallTaskModel, now: datetime) -> tuple[datetime, str]:
    """The first moment this debtor may be called (now if now), and why not earlier."""
    tz = slot.timezone or "UTC"
    start, why = now, "callable now"
    due = parse(slot.due_at)
    if due and due > start:
        start, why = due, f"due at {due:%Y-%m-%d %H:%M} UTC"
    attempts = [calls.CallAttempt(parse(a["at"]), bool(a["connected"]), bool(a.get("exempt")))
                for a in slot.attempts or []]
    perm = calls.may_call(attempts, start, consent_at=parse(slot.consent_at), tz=ZoneInfo(tz))
    if not perm.allowed and perm.next_allowed_at:
        start, why = perm.next_allowed_at.astimezone(now.tzinfo), perm.reason
    window_start = contact_window.next_allowed(start, tz, slot.country, policy_for(slot), "call")
    if window_start > start:
        local = window_start.astimezone(ZoneInfo(tz))
        start, why = window_start, (f"calling hours in {tz} open {local:%a %d %b %H:%M}"
                                    + ("" if why == "callable now" else f"; {why}"))
    return start, why


def render(slot: CallTaskModel, now: datetime) -> dict:
    when, why_not = callable_from(slot, now) if slot.status == "open" else (None, "")
    agency, client_id = slot.client_key.split("#", 1)
    return {"id": task_id_of(slot), "client_id": client_id, "debtor_id": slot.debtor_id,
            "debtor_name": slot.debtor_name, "status": slot.status, "score": int(slot.score),
            "why": list(slot.why or []), "reasons": slot.reasons or [], "due_at": slot.due_at,
            "callback_at": slot.callback_at, "claimed_by": slot.claimed_by,
            "claim_expires": slot.claim_expires, "timezone": slot.timezone,
            "callable_now": bool(when and when <= now),
            "callable_from": iso(when) if when else None, "not_callable_because":
                None if (when and when <= now) else why_not or None}


# ------------------------------------------------------------------------ take-next queues


def queues_of(client: ClientModel) -> list[str]:
    """The take-next queues the client's open tasks stand in: the agency's and each assigned
    specialist's (none beyond QUEUED_SPECIALISTS_MAX: they read that client per client)."""
    specialists = sorted(set(client.specialist_ids or []))
    if len(specialists) > QUEUED_SPECIALISTS_MAX:
        specialists = []
    return [ALL_CLIENTS, *(f"u#{s}" for s in specialists)]


def queue_of(p: Principal) -> str:
    """The caller's take-next queue: an admin's is the agency's, a specialist's their own."""
    return f"{p.agency_id}#{ALL_CLIENTS if p.is_admin else 'u#' + p.user_id}"


def _crowded(client: ClientModel) -> bool:
    return len(set(client.specialist_ids or [])) > QUEUED_SPECIALISTS_MAX


def _client_of(slot: CallTaskModel) -> str:
    return slot.client_key.split("#", 1)[1]


def _place(slot: CallTaskModel) -> str:
    """Across clients, best first: the rank, then the client (the per-client queues' merge)."""
    return f"{slot.rank}#{_client_of(slot)}"


def _entry(slot: CallTaskModel, queue: str, rank: str) -> QueueEntryModel:
    agency_id, client_id = slot.client_key.split("#", 1)
    return QueueEntryModel(f"{agency_id}#{queue}", f"{rank}#{client_id}", client_id=client_id,
                           debtor_id=slot.debtor_id)


def queue_entries(slot: CallTaskModel) -> list[QueueEntryModel]:
    """The entries of an open slot in the queues it records (`queued_for`)."""
    return [_entry(slot, q, slot.rank) for q in slot.queued_for or []]


def queued(slot: CallTaskModel) -> tuple[str | None, tuple[str, ...]]:
    """Where the slot as read stands in the take-next queues: (its rank, the queues)."""
    return (slot.rank if slot.queued_for else None, tuple(slot.queued_for or ()))


def save_slot(slot: CallTaskModel, before: tuple[str | None, tuple[str, ...]],
              queues: list[str] | None = None, condition=None) -> None:
    """Save the slot under its version and, in the same transaction, move its entries in
    the take-next queues from where it stood (`before`: `queued` of the slot as read) to its
    rank in `queues` (the client's `queues_of`; None: the queues it was in) while it is
    open, out of every queue once it is not. One PutItem when nothing moves. PutError or
    TransactWriteError when someone saved the slot first (the caller reads it again)."""
    rank_was, was = before
    if slot.status == "open" and slot.rank:
        now_in = sorted(set(was if queues is None else queues))
    else:
        now_in = []
    old = {(q, rank_was) for q in was} if rank_was else set()
    new = {(q, slot.rank) for q in now_in}
    slot.queued_for = now_in or None
    gone, added = sorted(old - new), sorted(new - old)
    if not gone and not added:
        slot.save(condition=condition)
        return
    with TransactWrite(connection=events.connection()) as tx:
        tx.save(slot, condition=condition)
        for q, rank in gone:
            tx.delete(_entry(slot, q, rank))
        for q, rank in added:
            tx.save(_entry(slot, q, rank))


# ------------------------------------------------------------------------- raising tasks


def _load_slot(ckey: str, debtor_id: str) -> CallTaskModel | None:
    try:
        return CallTaskModel.get(ckey, debtor_id, consistent_read=True)
    except CallTaskModel.DoesNotExist:
        return None


def raise_task(agency_id: str, client_id: str, debtor_id: str, reason: str, *,
               due_at: datetime | None = None, details: dict | None = None,
               source: str = "system", now: datetime,
               callback_at: datetime | None = None, consent_at: datetime | None = None,
               broken_promise: bool = False, dispute: bool = False) -> CallTaskModel | None:
    """Open the debtor's call task, or merge this reason into the open one (idempotent: the
    same reason from the same source for the same moment is kept once)."""
    ckey = client_key(agency_id, client_id)
    try:
        client = ClientModel.get(agency_id, client_id)
        debtor = DebtorModel.get(ckey, debtor_id)
    except (ClientModel.DoesNotExist, DebtorModel.DoesNotExist):
        log.warning("call task for unknown client/debtor %s/%s", client_id, debtor_id)
        return None
    if debtor.status in ("in_collections", "written_off"):
        return None
    due = due_at or now
    details = details or {}
    account = profiles.account_facts(debtor, now)  # behaviour: read once, ranked per try
    key = details.get("event_id") or f"{reason}|{source}|{iso(due)}"
    entry = {"reason": reason, "source": source, "at": iso(now), "due_at": iso(due),
             "details": details, "key": key}
    for attempt in range(5):
        if attempt:  # someone saved first: the client's specialists may have changed too
            client = ClientModel.get(agency_id, client_id)
        slot = _load_slot(ckey, debtor_id)
        fresh = slot is None
        if fresh:
            slot = CallTaskModel(ckey, debtor_id, created_at=iso(now), updated_at=iso(now))
        before = queued(slot)
        if broken_promise:
            if any(r.get("key") == key for r in slot.reasons or []) and slot.status == "open":
                return slot
            slot.broken_promises = int(slot.broken_promises or 0) + 1
        if dispute:
            slot.disputes = int(slot.disputes or 0) + 1
        if slot.status != "open":
            slot.status, slot.generation = "open", int(slot.generation or 0) + 1
            slot.reasons, slot.due_at, slot.callback_at = [], iso(due), None
            slot.claimed_by = slot.claim_expires = None
        elif any(r.get("key") == key for r in slot.reasons or []):
            return slot
        slot.reasons = [*(slot.reasons or []), entry]
        if parse(slot.due_at) is None or due < parse(slot.due_at):
            slot.due_at = iso(due)
        if callback_at:
            slot.callback_at, slot.due_at = iso(callback_at), iso(callback_at)
        if consent_at:
            slot.consent_at = iso(consent_at)
        slot.debtor_name, slot.consumer = debtor.name, int(debtor.kind == "consumer")
        slot.timezone = debtor.timezone or client.timezone
        slot.country = debtor.country or client.country
        slot.updated_at = iso(now)
        rerank(slot, debtor, client, now, account)
        try:
            save_slot(slot, before, queues_of(client),
                      condition=CallTaskModel.debtor_id.does_not_exist() if fresh else None)
            return slot
        except (PutError, TransactWriteError):
            continue  # someone else changed the slot meanwhile: merge again
    raise Conflict("call task kept changing; try again")


def _change_open_slot(agency_id: str, client_id: str, debtor_id: str, change,
                      now: datetime) -> bool:
    """Apply `change` to the debtor's open task and save it under its version (re-read and
    redone when someone saved first); False if no task is open. `change` returns the
    client's take-next queues when it knows them (None: the task stays in its own)."""
    ckey = client_key(agency_id, client_id)
    for _ in range(5):
        slot = _load_slot(ckey, debtor_id)
        if slot is None or slot.status != "open":
            return False
        before = queued(slot)
        queues = change(slot)
        slot.updated_at = iso(now)
        try:
            save_slot(slot, before, queues)
            return True
        except (PutError, TransactWriteError):
            continue
    return False


def refresh_rank(agency_id: str, client_id: str, debtor_id: str, now: datetime) -> bool:
    """Rank the debtor's open task again (money came in: the expected overdue value moved);
    True if one was open and saved. The account is read only when a task is open, once."""
    account: list = []

    def rank(slot) -> list[str]:
        if not account:
            client = ClientModel.get(agency_id, client_id)
            debtor = DebtorModel.get(client_key(agency_id, client_id), debtor_id,
                                     consistent_read=True)
            account.extend((client, debtor, profiles.account_facts(debtor, now)))
        client, debtor, facts = account
        rerank(slot, debtor, client, now, facts)
        return queues_of(client)

    try:
        return _change_open_slot(agency_id, client_id, debtor_id, rank, now)
    except (ClientModel.DoesNotExist, DebtorModel.DoesNotExist):
        return False


def rerank_open(now: datetime, agency_id: str | None = None) -> int:
    """The daily re-rank: every open task scored again as of `now` (an invoice a day more
    overdue, a prediction now past its date move the call up without any event); returns
    how many were saved. Reads the open tasks through the sparse queue index, client by
    client, and each task's account once; each task is also put in the take-next queues of
    the client's specialists as they are now (so the re-rank also repairs the queues)."""
    filt = ClientModel.archived == False  # noqa: E712 - PynamoDB condition
    clients = (ClientModel.query(agency_id, filter_condition=filt) if agency_id
               else ClientModel.scan(filt))
    n = 0
    for client in clients:
        ckey = client_key(client.agency_id, client.client_id)
        for slot in CallTaskModel.queue.query(ckey, attributes_to_get=["debtor_id"]):
            n += refresh_rank(client.agency_id, client.client_id, slot.debtor_id, now)
    return n


def requeue_client(agency_id: str, client_id: str, now: datetime) -> int:
    """Put the client's open tasks in the take-next queues of the specialists it has now
    (its specialists changed; or tasks saved before the queues existed: the backfill);
    returns how many tasks moved. Ranks are left as they are."""
    try:
        queues = queues_of(ClientModel.get(agency_id, client_id))
    except ClientModel.DoesNotExist:
        return 0
    n = 0
    for slot in CallTaskModel.queue.query(client_key(agency_id, client_id),
                                          attributes_to_get=["debtor_id", "queued_for"]):
        if set(slot.queued_for or []) != set(queues):
            n += _change_open_slot(agency_id, client_id, slot.debtor_id, lambda s: queues, now)
    return n


def requeue_open(now: datetime, agency_id: str | None = None) -> int:
    """The backfill (`python -m local.cli requeue-tasks`, once after deploying the queues):
    every client's open tasks put in the take-next queues; returns how many moved. Running
    it again moves nothing. The daily re-rank does the same as it goes."""
    clients = ClientModel.query(agency_id) if agency_id else ClientModel.scan()
    return sum(requeue_client(c.agency_id, c.client_id, now) for c in clients)


def close_task(agency_id: str, client_id: str, debtor_id: str, why: str,
               now: datetime) -> bool:
    """Close the debtor's open task (paid, escalated); True if one was open."""
    def close(slot) -> None:
        close_slot(slot)
        slot.reasons = [*(slot.reasons or []), {"reason": f"closed: {why}", "at": iso(now)}]
    return _change_open_slot(agency_id, client_id, debtor_id, close, now)


def close_slot(slot: CallTaskModel) -> None:
    """The slot no longer holds an open task: out of every queue, unclaimed."""
    slot.status, slot.queue_key, slot.rank = "closed", None, None
    slot.claimed_by = slot.claim_expires = None


# ------------------------------------------------------------------------ queue and claims


def _clients_of(p: Principal, client_id: str | None) -> list[ClientModel]:
    if client_id:
        return [load_client(p, client_id)]
    filt = ClientModel.archived == False  # noqa: E712 - PynamoDB condition
    if p.role == "specialist":
        filt &= ClientModel.specialist_ids.contains(p.user_id)
    return list(ClientModel.query(p.agency_id, filter_condition=filt,
                                  attributes_to_get=["client_id", "archived", "specialist_ids"]))


def _first_page(key: str, page: int) -> tuple[list[CallTaskModel], dict | None]:
    result = CallTaskModel.queue.query(key, limit=page)
    items = list(result)
    return items, result.last_evaluated_key


def _stream(key: str, first: tuple[list[CallTaskModel], dict | None], page: int):
    items, more = first
    yield from items
    if more:  # only read further when every task of the first page was skipped
        yield from CallTaskModel.queue.query(key, last_evaluated_key=more, page_size=page)


def _by_client(p: Principal, clients: list[ClientModel], page: int):
    """Open tasks of these clients, best first, from each client's own queue partition: one
    small page per client, read in parallel, further pages only when needed (one client's
    queue; the specialists of a client too crowded for their own queues)."""
    keys = [client_key(p.agency_id, c.client_id) for c in clients]
    if len(keys) <= 1:
        firsts = [_first_page(k, page) for k in keys]
    else:
        with ThreadPoolExecutor(max_workers=min(16, len(keys))) as pool:
            firsts = list(pool.map(lambda k: _first_page(k, page), keys))
    streams = [_stream(k, f, page) for k, f in zip(keys, firsts)]
    return heapq.merge(*streams, key=_place)


def _entries_page(key: str, size: int, start: dict | None):
    result = QueueEntryModel.query(key, limit=size, last_evaluated_key=start)
    return list(result), result.last_evaluated_key


def _from_queue(p: Principal, visible: set[str], first, page: int):
    """Open tasks of the visible clients in the caller's take-next queue, best first: each
    page of entries (one Query whatever the number of clients) and then that page's slots
    (one batch read); the next page only when every task of one was skipped. An entry of a
    client the caller no longer sees (unassigned, archived) is passed over unread, one whose
    task moved since (closed, ranked again) too: its new place is further on."""
    (entries, more), size = first, page
    while True:
        mine = [e for e in entries if e.client_id in visible]
        keys = [(client_key(p.agency_id, e.client_id), e.debtor_id) for e in mine]
        slots = {(s.client_key, s.debtor_id): s for s in CallTaskModel.batch_get(keys)} \
            if keys else {}
        for e, k in zip(mine, keys):
            slot = slots.get(k)
            if slot is not None and slot.status == "open" and slot.rank \
                    and _place(slot) == e.place:
                yield slot
        if not more:
            return
        size = max(size, min(size * 4, 100))
        entries, more = _entries_page(queue_of(p), size, more)


def _ranked(p: Principal, client_id: str | None, page: int):
    """Open tasks the caller may call, best first: one client's from its queue partition;
    across clients, from the caller's take-next queue, read while the caller's clients are
    listed (those decide what may be seen), so a take is the same few requests however many
    clients there are."""
    if client_id is not None:
        return _by_client(p, _clients_of(p, client_id), page)
    with ThreadPoolExecutor(max_workers=1) as pool:
        listing = pool.submit(_clients_of, p, None)
        first = _entries_page(queue_of(p), page, None)
        clients = listing.result()
    crowded = [c for c in clients if not p.is_admin and _crowded(c)]
    queued_clients = {c.client_id for c in clients} - {c.client_id for c in crowded}
    streams = [_from_queue(p, queued_clients, first, page)]
    if crowded:
        streams.append(_by_client(p, crowded, page))
    return heapq.merge(*streams, key=_place)


def list_queue(p: Principal, client_id: str | None = None, *, limit: int = 50,
               now: datetime) -> dict:
    require_staff(p)
    items = [render(s, now) for s in islice(_ranked(p, client_id, limit), limit)]
    return {"items": items, "next_cursor": None}


def _held_by_other(slot: CallTaskModel, user_id: str, now: datetime) -> bool:
    return bool(slot.claimed_by and slot.claimed_by != user_id
                and slot.claim_expires and parse(slot.claim_expires) > now)


def claim(slot: CallTaskModel, user_id: str, now: datetime) -> bool:
    """Claim with a conditional update: nobody else holds it (or their claim expired)."""
    free = (CallTaskModel.claimed_by.does_not_exist()
            | (CallTaskModel.claim_expires < iso(now))
            | (CallTaskModel.claimed_by == user_id))
    try:
        slot.update(actions=[CallTaskModel.claimed_by.set(user_id),
                             CallTaskModel.claim_expires.set(
                                 iso(now + timedelta(minutes=CLAIM_MINUTES))),
                             CallTaskModel.updated_at.set(iso(now))],
                    condition=(CallTaskModel.status == "open")
                    & (CallTaskModel.generation == int(slot.generation)) & free)
        return True
    except UpdateError:
        return False


def take_next(p: Principal, client_id: str | None = None, *,
              now: datetime) -> dict | None:
    """Claim the best task that may be called now; None if nothing is callable."""
    require_staff(p)
    page = 3 if client_id else NEXT_PAGE
    for slot in islice(_ranked(p, client_id, page), MAX_CANDIDATES):
        if _held_by_other(slot, p.user_id, now):
            continue
        when, _ = callable_from(slot, now)
        if when > now:
            continue
        if claim(slot, p.user_id, now):
            return render(slot, now)
    return None


def load_task(p: Principal, client_id: str, task_id: str) -> CallTaskModel:
    require_staff(p)
    load_client(p, client_id)
    debtor_id, gen = split_task_id(task_id)
    slot = _load_slot(client_key(p.agency_id, client_id), debtor_id)
    if slot is None or int(slot.generation) != gen:
        raise NotFound("task")
    return slot


def get_task(p: Principal, client_id: str, task_id: str, now: datetime) -> dict:
    return render(load_task(p, client_id, task_id), now)


def open_task_for(agency_id: str, client_id: str, debtor_id: str) -> CallTaskModel | None:
    slot = _load_slot(client_key(agency_id, client_id), debtor_id)
    return slot if slot is not None and slot.status == "open" else None


def release(p: Principal, client_id: str, task_id: str, now: datetime) -> dict:
    slot = load_task(p, client_id, task_id)
    if _held_by_other(slot, p.user_id, now) and not p.is_admin:
        raise Conflict("another specialist holds this task")
    try:
        slot.update(actions=[CallTaskModel.claimed_by.remove(),
                             CallTaskModel.claim_expires.remove()])
    except UpdateError:
        raise Conflict("task changed meanwhile; reload") from None
    return render(slot, now)
