"""Take-next across every client a person works (issue 12): one take-next queue per agency
(admins) and per specialist, kept with each task, gives the same task the per-client walk
gave (each client's queue read and merged by rank), only from the clients the caller may
see, never another agency's, and never the same task to two people."""
from __future__ import annotations

import heapq
from datetime import timedelta

import pytest

from tests.conftest import FIXED_NOW, at_once

NOW = FIXED_NOW  # Wednesday 10:00 UTC: calling hours in London, night in Sydney


@pytest.fixture
def agency(aws):
    return _agency("agQ")


class Agency:
    def __init__(self, agency_id: str) -> None:
        from chalicelib.http.auth import Principal
        from chalicelib.store.models import AgencyModel, UserModel

        self.agency_id = agency_id
        AgencyModel(agency_id, name=f"Agency {agency_id}", created_at="2026-11-01T00:00:00Z").save()
        UserModel(agency_id, "boss", email=f"boss@{agency_id}.example.com", name="Boss",
                  role="admin", created_at="2026-11-01T00:00:00Z").save()
        self.admin = Principal(agency_id, "boss", "admin")
        self.clients: list[str] = []

    def specialist(self, name: str):
        from chalicelib.agency import clients
        from chalicelib.http.auth import Principal
        from chalicelib.http.schemas import UserIn

        u = clients.create_user(self.admin, UserIn(email=f"{name}@{self.agency_id}.example.com",
                                                   name=name, role="specialist"), now=NOW)
        return Principal(self.agency_id, u["id"], "specialist")

    def client(self, name: str, specialists=(), priority: int = 3) -> str:
        from chalicelib.agency import clients
        from chalicelib.http.schemas import ClientIn

        cid = clients.create_client(self.admin, ClientIn(
            name=name, sender_email=f"ar@{name.lower()}.example.com",
            specialist_ids=[s.user_id for s in specialists],
            settings={"chasing": "active", "priority": priority}), now=NOW)["id"]
        self.clients.append(cid)
        return cid

    def task(self, client_id: str, ref: str, *, due_hours: int = 0, sydney: bool = False,
             kind: str = "business") -> str:
        from chalicelib.book import debtors
        from chalicelib.http.schemas import DebtorIn
        from chalicelib.workbench import tasks

        d = debtors.create_debtor(self.admin, client_id, DebtorIn(
            account_ref=ref, name=f"{ref} Ltd", kind=kind,
            timezone="Australia/Sydney" if sydney else "Europe/London",
            country="AU" if sydney else "GB"), now=NOW)
        tasks.raise_task(self.agency_id, client_id, d["id"], "final notice unanswered",
                         due_at=NOW - timedelta(hours=due_hours), now=NOW)
        return d["id"]


def _agency(agency_id: str) -> Agency:
    return Agency(agency_id)


def _per_client_walk(agency_id: str, client_ids) -> list[tuple[str, str]]:
    """The order take-next used before the queues: each client's own queue partition (the
    sparse `queue` index), merged by rank, ties in the order the clients are listed."""
    from chalicelib.store.keys import client_key
    from chalicelib.workbench.models import CallTaskModel

    streams = [list(CallTaskModel.queue.query(client_key(agency_id, c)))
               for c in sorted(client_ids)]
    return [(s.client_key.split("#", 1)[1], s.debtor_id)
            for s in heapq.merge(*streams, key=lambda s: s.rank)]


def _entries(queue: str) -> int:
    from chalicelib.workbench.models import QueueEntryModel

    return sum(1 for _ in QueueEntryModel.query(queue))


def _ids(items) -> list[tuple[str, str]]:
    return [(t["client_id"], t["debtor_id"]) for t in items]


def _book(agency: Agency, specialists=()) -> None:
    """Eight clients of different priorities, three tasks each falling due at different
    hours, some in Sydney's night."""
    for i in range(8):
        cid = agency.client(f"Client{i}", specialists, priority=1 + i % 5)
        for j in range(3):
            agency.task(cid, f"C{i}D{j}", due_hours=j * 2 if i % 2 else 0, sydney=(i + j) % 4 == 0)


def test_take_next_across_many_clients_takes_what_the_per_client_walk_would(agency):
    from chalicelib.http.auth import Principal
    from chalicelib.workbench import tasks

    # GIVEN eight clients' open tasks, ranked by each client's priority and due time
    _book(agency)
    walk = _per_client_walk(agency.agency_id, agency.clients)
    assert len(walk) == 24
    # WHEN the admin lists the call queue across all clients
    queue = tasks.list_queue(agency.admin, limit=100, now=NOW)["items"]
    # THEN it is the per-client walk's order, task for task
    assert _ids(queue) == walk
    # AND taking next, one admin after another, claims the callable tasks in that order,
    # skipping the Sydney debtors asleep at this hour
    callable_now = [(t["client_id"], t["debtor_id"]) for t in queue if t["callable_now"]]
    assert 0 < len(callable_now) < len(walk)
    taken = []
    for n in range(len(callable_now) + 1):
        got = tasks.take_next(Principal(agency.agency_id, f"admin-{n}", "admin"), now=NOW)
        taken.append(got and (got["client_id"], got["debtor_id"]))
    assert taken == [*callable_now, None]


def test_the_queue_follows_a_task_as_it_is_ranked_again_and_closed(agency):
    from chalicelib.workbench import tasks

    # GIVEN two clients' tasks, the second client's ranked first (a P1 client)
    minor = agency.client("Minor", priority=3)
    top = agency.client("Top", priority=1)
    d_minor = agency.task(minor, "MINOR1")
    d_top = agency.task(top, "TOP1")
    assert _ids(tasks.list_queue(agency.admin, now=NOW)["items"]) == [(top, d_top),
                                                                      (minor, d_minor)]
    # WHEN the top client becomes a P5 client and its task is ranked again
    from chalicelib.store.models import ClientModel

    c = ClientModel.get(agency.agency_id, top)
    c.settings = {**c.settings, "priority": 5}
    c.save()
    assert tasks.refresh_rank(agency.agency_id, top, d_top, NOW)
    # THEN the queue across clients shows it below the other, where the per-client walk
    # puts it, and only there (its old place is gone, not merely passed over)
    items = tasks.list_queue(agency.admin, now=NOW)["items"]
    assert _ids(items) == _per_client_walk(agency.agency_id, [minor, top]) == [
        (minor, d_minor), (top, d_top)]
    assert _entries(f"{agency.agency_id}#*") == 2
    # AND once a task is closed (the account paid) it leaves the queue across clients
    assert tasks.close_task(agency.agency_id, minor, d_minor, "account paid", NOW)
    assert _ids(tasks.list_queue(agency.admin, now=NOW)["items"]) == [(top, d_top)]
    assert _entries(f"{agency.agency_id}#*") == 1
    got = tasks.take_next(agency.admin, now=NOW)
    assert (got["client_id"], got["debtor_id"]) == (top, d_top)


def test_a_specialist_takes_only_from_their_clients_and_no_agency_sees_another(aws):
    from chalicelib.workbench import tasks

    # GIVEN an agency where Sam works two of four clients and Oz the other two, and a second
    # agency with its own (better ranked) tasks
    a, b = _agency("agQ"), _agency("agR")
    sam, oz = a.specialist("sam"), a.specialist("oz")
    mine = [a.client("Mine1", [sam], priority=2), a.client("Mine2", [sam], priority=1)]
    theirs = [a.client("Theirs1", [oz], priority=5), a.client("Theirs2", [oz], priority=4)]
    for cid in mine + theirs:
        a.task(cid, f"{cid[-4:]}A")
        a.task(cid, f"{cid[-4:]}B", due_hours=3)
    other = b.client("Elsewhere", [b.specialist("eve")], priority=5)
    b.task(other, "ELSE1", due_hours=48)
    # WHEN Sam lists the queue and takes next
    listed = tasks.list_queue(sam, limit=100, now=NOW)["items"]
    got = tasks.take_next(sam, now=NOW)
    # THEN only his clients' tasks are there, in the per-client walk's order
    assert _ids(listed) == _per_client_walk(a.agency_id, mine)
    assert got["client_id"] in mine and (got["client_id"], got["debtor_id"]) == _ids(listed)[0]
    # AND Oz's are Oz's, the admin sees all four clients, and nobody sees the other agency
    assert {t["client_id"] for t in tasks.list_queue(oz, limit=100, now=NOW)["items"]} == \
        set(theirs)
    assert _ids(tasks.list_queue(a.admin, limit=100, now=NOW)["items"]) == \
        _per_client_walk(a.agency_id, mine + theirs)
    assert _ids(tasks.list_queue(b.admin, limit=100, now=NOW)["items"]) == \
        _per_client_walk(b.agency_id, [other])


def test_an_unassigned_or_archived_client_is_not_seen_before_its_queue_catches_up(aws):
    from chalicelib.agency import clients
    from chalicelib.store.models import ClientModel
    from chalicelib.workbench import tasks

    # GIVEN Sam's two clients with a task each
    a = _agency("agQ")
    sam = a.specialist("sam")
    kept, taken_away = a.client("Kept", [sam]), a.client("TakenAway", [sam], priority=1)
    a.task(kept, "KEPT1")
    a.task(taken_away, "AWAY1")
    # WHEN one is taken from him before the queues hear of it (the change's event is still
    # on its way), and the admin archives the other
    c = ClientModel.get(a.agency_id, taken_away)
    c.specialist_ids = []
    c.save()
    clients.archive_client(a.admin, kept, now=NOW)
    # THEN Sam sees neither client's task across his clients, nor does the admin the archived one
    assert tasks.take_next(sam, now=NOW) is None
    assert tasks.list_queue(sam, now=NOW)["items"] == []
    assert [t["client_id"] for t in tasks.list_queue(a.admin, now=NOW)["items"]] == [taken_away]


def test_a_client_given_to_another_specialist_moves_its_tasks_to_their_queue(aws):
    from chalicelib.agency import clients
    from chalicelib.http.schemas import ClientPatch
    from chalicelib.workbench import tasks

    # GIVEN a client worked by Sam, with an open task
    a = _agency("agQ")
    sam, oz = a.specialist("sam"), a.specialist("oz")
    cid = a.client("Moving", [sam])
    debtor_id = a.task(cid, "MOVE1")
    assert tasks.take_next(sam, now=NOW)["debtor_id"] == debtor_id
    assert tasks.take_next(oz, now=NOW) is None
    # WHEN the admin gives the client to Oz instead
    clients.update_client(a.admin, cid, ClientPatch(specialist_ids=[oz.user_id]),
                          now=NOW + timedelta(minutes=1))
    # THEN Oz's take-next across his clients finds the task (Sam's claim lapses in time)
    later = NOW + timedelta(minutes=20)
    got = tasks.take_next(oz, now=later)
    assert (got["client_id"], got["debtor_id"]) == (cid, debtor_id)
    assert got["claimed_by"] == oz.user_id
    # AND Sam no longer sees it, nor is it kept in his queue to be passed over
    assert tasks.list_queue(sam, now=later)["items"] == []
    assert _entries(f"{a.agency_id}#u#{sam.user_id}") == 0


def test_a_logged_call_leaves_the_queue_and_its_retry_takes_its_place(agency):
    from chalicelib.http.schemas import OutcomeIn
    from chalicelib.workbench import outcomes, tasks

    # GIVEN a specialist's two clients with a task each
    sam = agency.specialist("sam")
    first, second = agency.client("First", [sam], priority=1), agency.client("Second", [sam])
    agency.task(first, "FIRST1")
    agency.task(second, "SECOND1")
    got = tasks.take_next(sam, now=NOW)
    assert got["client_id"] == first
    # WHEN the call is not answered
    outcomes.log_outcome(sam, first, got["id"], OutcomeIn(outcome="no_answer"), now=NOW)
    # THEN the next take is the other client's task, and the retry waits in the queue for
    # its day, as a new task
    nxt = tasks.take_next(sam, now=NOW)
    assert nxt["client_id"] == second
    queue = tasks.list_queue(sam, now=NOW)["items"]
    assert _ids(queue) == _per_client_walk(agency.agency_id, [first, second])
    assert {t["client_id"]: t["callable_now"] for t in queue} == {first: False, second: True}
    retry = next(t for t in queue if t["client_id"] == first)
    assert retry["id"] != got["id"] and retry["due_at"] > got["due_at"]
    assert _entries(f"{agency.agency_id}#u#{sam.user_id}") == 2


def test_clients_with_many_specialists_are_in_their_queues_or_read_per_client(agency):
    from chalicelib.store.models import ClientModel
    from chalicelib.workbench import tasks

    # GIVEN Sam on three clients: one with 48 specialists (as many as one transaction can
    # move a task for), one with 49 (more than that), and one of his own
    sam = agency.specialist("sam")
    crowd = [sam, *(agency.specialist(f"s{i}") for i in range(48))]
    full = agency.client("Full", crowd[:48], priority=2)
    crowded = agency.client("Crowded", crowd, priority=3)
    own = agency.client("Own", [sam], priority=4)
    for cid in (full, crowded, own):
        agency.task(cid, f"{cid[-4:]}A")
        agency.task(cid, f"{cid[-4:]}B", due_hours=5)
    # WHEN both crowded clients' tasks are ranked again (the full one's each move in 49
    # queues at once)
    for cid, priority in ((full, 5), (crowded, 1)):
        c = ClientModel.get(agency.agency_id, cid)
        c.settings = {**c.settings, "priority": priority}
        c.save()
        for t in tasks.list_queue(sam, cid, now=NOW)["items"]:
            assert tasks.refresh_rank(agency.agency_id, cid, t["debtor_id"], NOW)
    # THEN Sam's queue across clients holds all three clients' tasks in the per-client
    # walk's order, and so does another specialist's of the two crowded clients
    walk = _per_client_walk(agency.agency_id, [full, crowded, own])
    assert _ids(tasks.list_queue(sam, limit=100, now=NOW)["items"]) == walk
    assert _ids(tasks.list_queue(crowd[-1], limit=100, now=NOW)["items"]) == \
        _per_client_walk(agency.agency_id, [crowded])
    assert _ids(tasks.list_queue(crowd[1], limit=100, now=NOW)["items"]) == \
        _per_client_walk(agency.agency_id, [full, crowded])
    got = tasks.take_next(sam, now=NOW)
    assert (got["client_id"], got["debtor_id"]) == walk[0]


def test_two_takers_across_clients_never_get_the_same_task(agency, atomic_writes):
    from chalicelib.http.auth import Principal
    from chalicelib.workbench import tasks

    # GIVEN three callable tasks spread over three clients
    for i in range(3):
        agency.task(agency.client(f"Race{i}", priority=3 + i % 3), f"RACE{i}")
    callers = [Principal(agency.agency_id, f"caller-{i}", "admin") for i in range(6)]

    def take(p):
        t = tasks.take_next(p, now=NOW)
        return t and (t["client_id"], t["debtor_id"], t["claimed_by"])

    # WHEN six people take next at the same moment
    got = at_once(take, callers)
    # THEN three got a task each, three different tasks, and the others got nothing
    assert len(got) == len(callers)
    claimed = [g for g in got if g]
    assert len(claimed) == 3
    assert len({(c, d) for c, d, _ in claimed}) == 3 and len({w for *_, w in claimed}) == 3


def test_tasks_saved_before_the_queues_existed_are_backfilled_once(agency, capsys):
    from chalicelib.store.keys import client_key
    from chalicelib.workbench import tasks
    from chalicelib.workbench.models import CallTaskModel, QueueEntryModel

    # GIVEN open tasks saved the way they were before the take-next queues (no entries)
    spec = agency.specialist("sam")
    cids = [agency.client(f"Old{i}", [spec], priority=2 + i) for i in range(2)]
    for cid in cids:
        agency.task(cid, f"{cid[-4:]}X")
    for entry in QueueEntryModel.scan():
        entry.delete()
    for cid in cids:
        for slot in CallTaskModel.queue.query(client_key(agency.agency_id, cid)):
            slot.queued_for = None
            slot.save()
    assert tasks.take_next(spec, now=NOW) is None  # invisible across clients until queued
    # WHEN the operator runs the backfill
    from local import cli

    assert cli.main(["requeue-tasks", "--agency", agency.agency_id]) == 0
    assert '"requeued": 2' in capsys.readouterr().out
    # THEN the specialist and the admin find them, in the per-client walk's order
    walk = _per_client_walk(agency.agency_id, cids)
    assert _ids(tasks.list_queue(spec, now=NOW)["items"]) == walk
    assert _ids(tasks.list_queue(agency.admin, now=NOW)["items"]) == walk
    # AND running it again moves nothing
    assert tasks.requeue_open(NOW) == 0
