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
