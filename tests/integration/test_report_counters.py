"""The report aggregate's counter items: a redelivered event counts once, a client stored in
the earlier JSON layout reads the same figures, and an event writes only small items."""
from __future__ import annotations

from datetime import date, datetime, timezone

from chalicelib.agency import clients
from chalicelib.book import importer
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import ClientIn
from chalicelib.kernel import events
from chalicelib.reporting import store as report_store
from chalicelib.reporting import subscribers
from chalicelib.reporting.figures import dumps
from chalicelib.reporting.models import ReportModel
from chalicelib.store.models import InvoiceModel

HEADER = ("debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
          "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid\n")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
BOOK = (HEADER + "R1,One Ltd,,a@one.example.com,,,Europe/London,GB,N1,,2026-09-01,2026-10-01,"
        "GBP,1200.00,200.00\nR2,Two Ltd,,b@two.example.com,,,Europe/London,GB,N2,,2026-10-15,"
        "2026-11-14,GBP,800.00,0.00\n").encode()


def _client(agency: str) -> str:
    admin = Principal(agency, "admin", "admin")
    cid = clients.create_client(admin, ClientIn(name="C", sender_email="a@c.example.com"),
                                now=T0)["id"]
    importer.import_book(agency, cid, BOOK, actor="t", now=T0)
    return cid


def test_a_redelivered_payment_or_touch_counts_once(aws):
    cid = _client("once")
    inv = next(i for i in InvoiceModel.by_client_number.query(f"once#{cid}") if i.number == "N2")
    payment = dict(agency_id="once", client_id=cid, debtor_id=inv.debtor_id, payment_id="p1",
                   allocations=[{"invoice_id": inv.invoice_id, "amount_minor": 30_000}],
                   source="transfer", at="2026-11-03T10:00:00Z")
    touch = dict(agency_id="once", client_id=cid, debtor_id=inv.debtor_id, channel="email",
                 step="friendly", at="2026-11-03T11:00:00Z")
    for _ in range(3):  # the stream delivers at least once
        subscribers.on_payment_applied(**payment)
        subscribers.on_touch_sent(**touch)
    state = report_store.load("once", cid, "GBP")
    assert state.agg.receivables_on(date(2026, 11, 3)) == 100_000 + 80_000 - 30_000
    assert state.head["activity"]["2026-11"]["touches"] == {"email": 1}


def test_a_client_stored_as_json_parts_reads_the_same_and_moves_to_counters(aws):
    cid = _client("legacy")
    ckey = f"legacy#{cid}"
    now = report_store.load("legacy", cid, "GBP")
    want = now.agg.figures(date(2026, 11, 20))
    # GIVEN the same aggregate stored the way it was before the counters
    data = now.agg.to_dict()
    opened, disputed = data.pop("open_by_due_day"), data.pop("disputed_by_due_day")
    conn = events.connection()
    for part in now.items:
        conn.dispatch("DeleteItem", {"TableName": ReportModel.Meta.table_name, "Key": {
            "client_key": {"S": ckey}, "part": {"S": "agg#" + part}}})
    ReportModel(ckey, "agg#head", body=dumps({**data, "activity": now.head["activity"],
                                              "recent": ["x"], "shards": {}}),
                updated_at="t").save()
    parts: dict[str, dict] = {}
    for due, by_debtor in opened.items():
        parts.setdefault(f"agg#open#{due[:7]}#0", {"open": {}, "disputed": {}})["open"][due] = by_debtor
    for due, by_debtor in disputed.items():
        parts.setdefault(f"agg#open#{due[:7]}#0", {"open": {}, "disputed": {}})[
            "disputed"][due] = by_debtor
    for part, body in parts.items():
        ReportModel(ckey, part, body=dumps(body), updated_at="t").save()
    # WHEN it is read, THEN the figures are the same and only counter items remain
    again = report_store.load("legacy", cid, "GBP")
    assert again.agg.figures(date(2026, 11, 20)) == want
    assert not [p for p in again.items if p.startswith("open#")]
    assert report_store.load("legacy", cid, "GBP").agg.figures(date(2026, 11, 20)) == want


def test_a_marker_batch_racing_its_twin_lands_once(aws):
    cid = _client("race")
    ckey = f"race#{cid}"

    def touch(delta, olds, news):
        delta.head["activity"]["2026-11"] = {"touches": {"sms": 1}}

    # the twin wrote its marker and counters between our check and our transaction
    assert report_store._apply_counters_once(ckey, "GBP", "batch#t1", touch, [False], T0)
    assert not report_store._apply_counters_once(ckey, "GBP", "batch#t1", touch, [False], T0)
    assert report_store.load("race", cid, "GBP").head["activity"]["2026-11"]["touches"] == {
        "sms": 1}


def _big_debtor_book(n: int) -> bytes:
    rows = [f"R1,One Ltd,,a@one.example.com,,,Europe/London,GB,N{k:04d},,2026-0{1 + k % 9}-01,"
            f"2026-{1 + k % 9:02d}-{10 + k % 15},GBP,{100 + k}.00,{k % 3 * 10}.00" for k in range(n)]
    rows.append("R2,Two Ltd,,b@two.example.com,,,Europe/London,GB,M1,,2026-10-15,2026-11-14,"
                "GBP,800.00,0.00")
    return (HEADER + "\n".join(rows) + "\n").encode()


def _transactions(monkeypatch, before=None) -> list:
    """Record every report transaction's outcome (None: went through); `before(n)` runs
    ahead of the n-th one (another writer getting there first)."""
    outcomes = []
    real = report_store._transact

    def recording(items):
        if before is not None:
            before(len(outcomes))
        outcomes.append(real(items))
        return outcomes[-1]

    monkeypatch.setattr(report_store, "_transact", recording)
    return outcomes


def _figures_agree(agency: str, cid: str) -> None:
    from chalicelib.reporting import kpis
    from chalicelib.reporting.rebuild import stored_facts

    agg = report_store.read(agency, cid, "GBP", consistent=True).agg
    facts = stored_facts(agency, cid, "GBP")
    for when in (date(2026, 11, 20), date(2027, 3, 1)):
        assert agg.figures(when) == kpis.figures_from_facts(facts, [], when, currency="GBP")
        owed: dict[str, int] = {}
        for f in facts:
            if f.due_date < when and f.status in ("open", "partially_paid") and f.balance_on(when) > 0:
                owed[f.debtor_id] = owed.get(f.debtor_id, 0) + f.balance_on(when)
        assert {d: o[0] for d, o in agg.overdue_by_debtor(when).items()} == owed


def test_a_debtor_across_several_transactions_of_one_batch_is_counted_once(aws, monkeypatch):
    """A debtor's 150 invoices need two transactions; the debtor's counter item is read once
    for the batch and the second transaction goes on from what the first wrote: no
    transaction is refused, and the figures are a recomputation's."""
    admin = Principal("span", "admin", "admin")
    cid = clients.create_client(admin, ClientIn(name="C", sender_email="a@c.example.com"),
                                now=T0)["id"]
    outcomes = _transactions(monkeypatch)
    importer.import_book("span", cid, _big_debtor_book(150), actor="t", now=T0)
    assert len(outcomes) >= 2 and outcomes == [None] * len(outcomes)
    _figures_agree("span", cid)


def test_another_writer_between_a_batchs_transactions_is_waited_out(aws, monkeypatch):
    """Another event moves the debtor's counter item between the batch's first and second
    transaction: the second is refused (its revision is stale), done again from a fresh
    read, and everything is counted once."""
    admin = Principal("spanrace", "admin", "admin")
    cid = clients.create_client(admin, ClientIn(name="C", sender_email="a@c.example.com"),
                                now=T0)["id"]
    ckey = f"spanrace#{cid}"
    debtor: dict[str, str] = {}

    def other_writer(n: int) -> None:
        if n != 1:
            return
        found = [it["part"]["S"] for it in report_store._query(ckey, "agg#d#", True)]
        debtor["part"] = max(found)  # the debtor the first transaction wrote
        events.connection().dispatch("UpdateItem", {
            "TableName": ReportModel.Meta.table_name,
            "Key": {"client_key": {"S": ckey}, "part": {"S": debtor["part"]}},
            "UpdateExpression": "ADD #v :one", "ExpressionAttributeNames": {"#v": "v"},
            "ExpressionAttributeValues": {":one": {"N": "1"}}})

    outcomes = _transactions(monkeypatch, before=other_writer)
    importer.import_book("spanrace", cid, _big_debtor_book(150), actor="t", now=T0)
    assert outcomes[0] is None and outcomes[1] is not None  # refused: stale revision
    assert outcomes[-1] is None
    _figures_agree("spanrace", cid)
