"""Importing a book fails closed: concurrent imports of one client are serialised, an
interrupted import converges on a re-run, a malformed file settles nothing it could not
read, and a book row in a currency the client does not bill in is refused."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.book import importer
from chalicelib.reporting import reports
from chalicelib.reporting import store as report_store
from chalicelib.store.keys import client_key
from chalicelib.store.models import (
    ClientModel,
    DebtorModel,
    InvoiceModel,
    TimelineModel,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
HEADER = ("debtor_ref,debtor_name,email,invoice_number,issue_date,due_date,currency,amount,"
          "amount_paid\n")


def twenty_invoices() -> tuple[bytes, int]:
    """18 accounts, 20 invoices (two accounts owe two); and the open total in pence."""
    lines, open_total = [], 0
    for n in range(20):
        ref = f"D{min(n, 17):02d}"
        amount, paid = 1000_00 + n * 1234, (n % 3) * 100_00
        open_total += amount - paid
        lines.append(f"{ref},Debtor {ref} Ltd,ar@{ref.lower()}.example.com,INV-{n:03d},"
                     f"2026-10-{1 + n:02d},2026-11-{1 + n:02d},GBP,{amount / 100:.2f},"
                     f"{paid / 100:.2f}")
    return (HEADER + "\n".join(lines) + "\n").encode(), open_total


def _import(agency_id: str, client_id: str, data: bytes, **kw):
    return importer.import_book(agency_id, client_id, data, actor="t", now=NOW, **kw)


def _client(agency_id: str, client_id: str) -> ClientModel:
    return ClientModel.get(agency_id, client_id)


def _figures(agency_id: str, client_id: str) -> dict:
    return reports.build(_client(agency_id, client_id), NOW.date())["figures"]


def _timeline(agency_id: str, client_id: str) -> list[TimelineModel]:
    ckey = client_key(agency_id, client_id)
    out = []
    for d in DebtorModel.query(ckey):
        out.extend(TimelineModel.query(f"{ckey}#{d.debtor_id}"))
    return out


def _invoices(agency_id: str, client_id: str) -> dict[str, InvoiceModel]:
    return {i.number: i for i in InvoiceModel.by_client_number.query(
        client_key(agency_id, client_id))}


def _records(agency_id: str, client_id: str) -> list[dict]:
    return importer.list_imports(agency_id, client_id)


# --- concurrency ------------------------------------------------------------------------

def test_ten_simultaneous_imports_of_one_book_count_it_once(tenants, atomic_writes):
    """GIVEN a new client and its 20-invoice book (18 accounts)
    WHEN ten imports of that book start at the same moment
    THEN each either lands or is refused with a 409 saying when to retry, never a 500;
    and the client ends with the book once: receivables and the takeover baseline are the
    book's open total, 18 timeline entries, one import that created the invoices."""
    a, _ = tenants
    data, open_total = twenty_invoices()
    start = threading.Barrier(10)
    outcomes: list = []

    def run() -> None:
        start.wait()
        try:
            outcomes.append(_import(a.agency_id, a.client_id, data))
        except importer.ImportInProgress as busy:
            outcomes.append(busy)
        except Exception as exc:  # noqa: BLE001 - any other failure is the bug
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    landed = [o for o in outcomes if isinstance(o, dict)]
    busy = [o for o in outcomes if isinstance(o, importer.ImportInProgress)]
    assert len(landed) + len(busy) == 10, [o for o in outcomes if isinstance(o, Exception)
                                           and not isinstance(o, importer.ImportInProgress)]
    assert landed and busy  # they really did collide
    assert all(b.status == 409 and 1 <= b.retry_after <= 30 for b in busy)
    assert sum(r["counts"]["invoices_created"] for r in landed) == 20
    assert len(_invoices(a.agency_id, a.client_id)) == 20
    assert _figures(a.agency_id, a.client_id)["receivables_minor"] == open_total
    baseline = report_store.get_item(a.agency_id, a.client_id, "baseline")
    assert baseline["receivables_minor"] == open_total
    assert len(_timeline(a.agency_id, a.client_id)) == 18
    # and the refused ones, retried, change nothing
    for _ in busy:
        again = _import(a.agency_id, a.client_id, data)
        assert again["counts"]["invoices_unchanged"] == 20
    assert _figures(a.agency_id, a.client_id)["receivables_minor"] == open_total
    assert len(_timeline(a.agency_id, a.client_id)) == 18


def test_an_import_while_another_runs_is_a_409_with_retry_after(tenants, http, monkeypatch):
    """GIVEN an import of a client's book holding the client's import lease
    WHEN the API is asked to import into the same client
    THEN it answers 409 with a Retry-After header and imports nothing; another client is
    not blocked; once the lease is released the import goes through."""
    from chalicelib.kernel import claims
    from tests.conftest import bearer

    a, b = tenants
    data, _ = twenty_invoices()
    # the lease was taken 14 min 50 s before the request: it has 10 s left
    monkeypatch.setenv("RECOUP_DEMO_NOW", NOW.isoformat())
    taken = NOW - timedelta(seconds=importer.LEASE_SECONDS - 10)
    won, lease = claims.lease(importer._lease_key(a.agency_id, a.client_id), taken,
                              importer.LEASE_SECONDS)
    assert won
    r = http.http.post(f"/v1/clients/{a.client_id}/imports", body=data,
                  headers={**bearer(a.admin), "Content-Type": "text/csv"})
    assert r.status_code == 409
    assert r.headers["Retry-After"] == "10"
    assert json.loads(r.body)["error"]["code"] == "import_in_progress"
    assert _invoices(a.agency_id, a.client_id) == {}
    other = http.http.post(f"/v1/clients/{b.client_id}/imports", body=data,
                      headers={**bearer(b.admin), "Content-Type": "text/csv"})
    assert other.status_code == 201, other.body
    claims.release(lease, datetime.now(timezone.utc))
    r = http.http.post(f"/v1/clients/{a.client_id}/imports", body=data,
                  headers={**bearer(a.admin), "Content-Type": "text/csv"})
    assert r.status_code == 201 and json.loads(r.body)["counts"]["invoices_created"] == 20


def test_a_lease_left_by_a_crashed_import_expires(tenants):
    """GIVEN an import that died without releasing the client's lease
    WHEN another import comes after the lease's expiry
    THEN it runs (a dead import blocks the client for the lease time at most)."""
    from chalicelib.kernel import claims

    a, _ = tenants
    data, _ = twenty_invoices()
    claims.lease(importer._lease_key(a.agency_id, a.client_id), NOW, importer.LEASE_SECONDS)
    with pytest.raises(importer.ImportInProgress):
        _import(a.agency_id, a.client_id, data)
    later = NOW + timedelta(seconds=importer.LEASE_SECONDS + 1)
    report = importer.import_book(a.agency_id, a.client_id, data, actor="t", now=later)
    assert report["counts"]["invoices_created"] == 20


# --- interruption -------------------------------------------------------------------------

def _comparable(figures: dict) -> dict:
    """Report figures without the per-tenant debtor ids."""
    out = {k: v for k, v in figures.items() if k != "top_overdue_debtors"}
    out["top_overdue"] = [(t["overdue_minor"], t["oldest_due_date"])
                          for t in figures["top_overdue_debtors"]]
    return out


def _die_after_invoice_writes(monkeypatch) -> None:
    real = importer._batch_put

    def batch_put(items, on_progress, chunk=500):
        real(items, on_progress, chunk)
        if items and isinstance(items[0], InvoiceModel):
            raise RuntimeError("the import dies right after its invoices are written")

    monkeypatch.setattr(importer, "_batch_put", batch_put)


def test_an_import_that_died_after_writing_invoices_converges_when_re_run(tenants, monkeypatch):
    """GIVEN one client whose first import died right after its invoices were written, and
    another client given the same book in one clean import
    WHEN the same file is imported again into the first client
    THEN both clients read the same report figures and takeover baseline, the same number
    of timeline entries, and one finished import record with the same counts."""
    a, b = tenants
    data, open_total = twenty_invoices()
    _die_after_invoice_writes(monkeypatch)
    with pytest.raises(RuntimeError):
        _import(a.agency_id, a.client_id, data)
    monkeypatch.undo()
    assert len(_invoices(a.agency_id, a.client_id)) == 20  # written, but never reported

    resumed = _import(a.agency_id, a.client_id, data)
    clean = _import(b.agency_id, b.client_id, data)

    assert _figures(a.agency_id, a.client_id)["receivables_minor"] == open_total
    assert _comparable(_figures(a.agency_id, a.client_id)) == _comparable(
        _figures(b.agency_id, b.client_id))
    base_a = report_store.get_item(a.agency_id, a.client_id, "baseline")
    base_b = report_store.get_item(b.agency_id, b.client_id, "baseline")
    assert base_a["receivables_minor"] == base_b["receivables_minor"] == open_total
    assert len(_timeline(a.agency_id, a.client_id)) == len(_timeline(b.agency_id, b.client_id))
    assert resumed["counts"] == clean["counts"]
    (record,) = _records(a.agency_id, a.client_id)
    (clean_record,) = _records(b.agency_id, b.client_id)
    assert record["status"] == clean_record["status"] == "done"
    assert record["counts"] == clean_record["counts"]
    assert record["import_id"] == resumed["import_id"]


def test_an_interrupted_update_that_settles_invoices_converges_when_re_run(tenants, monkeypatch):
    """GIVEN two clients with the same book, and a new full book in which one invoice is
    paid and one has gone; the first client's import of it dies after the invoice writes
    WHEN that file is imported again there, and cleanly into the second client
    THEN both read the same figures, timeline entry count and import counts."""
    a, b = tenants
    data, _ = twenty_invoices()
    for t in (a, b):
        _import(t.agency_id, t.client_id, data)
    lines = data.decode().splitlines()
    cells = lines[1].split(",")
    paid = ",".join(cells[:-1] + [cells[7]])  # INV-000 now fully paid
    newer = "\n".join([lines[0], paid] + lines[3:]) + "\n"  # INV-001 gone from the book
    later = NOW + timedelta(days=1)

    real_save = importer._save

    def save(item):  # the invoice changes are saved, then the import dies
        if isinstance(item, DebtorModel):
            raise RuntimeError("the import dies after saving its invoice changes")
        return real_save(item)

    monkeypatch.setattr(importer, "_save", save)
    with pytest.raises(RuntimeError):
        importer.import_book(a.agency_id, a.client_id, newer.encode(), actor="t", now=later)
    monkeypatch.undo()
    resumed = importer.import_book(a.agency_id, a.client_id, newer.encode(), actor="t",
                                   now=later + timedelta(minutes=5))
    clean = importer.import_book(b.agency_id, b.client_id, newer.encode(), actor="t", now=later)

    assert resumed["counts"]["settled_outside"] == 1 and resumed["counts"]["invoices_updated"] == 1
    assert resumed["counts"] == clean["counts"]
    fa = reports.build(_client(a.agency_id, a.client_id), later.date())["figures"]
    fb = reports.build(_client(b.agency_id, b.client_id), later.date())["figures"]
    assert _comparable(fa) == _comparable(fb)
    assert len(_timeline(a.agency_id, a.client_id)) == len(_timeline(b.agency_id, b.client_id))
    assert [r["counts"] for r in _records(a.agency_id, a.client_id)] == [
        r["counts"] for r in _records(b.agency_id, b.client_id)]


# --- a malformed file ---------------------------------------------------------------------

def test_a_full_book_with_an_unclosed_quote_settles_nothing(tenants):
    """GIVEN a client whose 20-invoice book was imported
    WHEN the next full book has an unclosed quote on one line that swallows the three lines
    after it (and one invoice really has gone from the book)
    THEN every broken line is reported with its row, field and reason, no invoice is
    settled outside (the report says how many were held back and why), the swallowed
    invoices are still owed and chased, and the report's receivables do not move."""
    a, _ = tenants
    data, open_total = twenty_invoices()
    _import(a.agency_id, a.client_id, data)
    lines = data.decode().splitlines()
    broken = list(lines)
    broken[5] = broken[5].replace("Debtor", '"Debtor', 1)  # line 6: quote never closed
    broken[9] = broken[9].replace(",GBP,", ',"GBP",', 1)  # line 10: the next quote
    del broken[15]  # INV-014 has really gone
    report = _import(a.agency_id, a.client_id, ("\n".join(broken) + "\n").encode())

    by_row = {e["row"]: e for e in report["errors"]}
    assert by_row[6]["field"] == "debtor_name" and "quote opened on line 6" in by_row[6]["reason"]
    assert [by_row[n]["field"] for n in (7, 8, 9, 10)] == ["row"] * 4
    assert any(e["field"] == "file" and "NOT settled outside" in e["reason"]
               for e in report["errors"])
    assert report["counts"]["settled_outside"] == 0
    assert report["counts"]["settle_withheld"] >= 1
    invs = _invoices(a.agency_id, a.client_id)
    assert all(i.status != "settled_outside" for i in invs.values())
    for n in (4, 5, 6, 7, 8, 14):
        assert int(invs[f"INV-{n:03d}"].balance_minor) > 0
    assert _figures(a.agency_id, a.client_id)["receivables_minor"] == open_total


def test_a_partial_book_with_an_unclosed_quote_lands_the_lines_it_could_read(tenants):
    """GIVEN a new client WHEN a partial book with an unclosed quote is imported THEN the
    clean lines land, the broken ones are reported line by line, nothing else happens."""
    a, _ = tenants
    data, _ = twenty_invoices()
    lines = data.decode().splitlines()
    lines[3] = lines[3].replace("Debtor", '"Debtor', 1)
    report = _import(a.agency_id, a.client_id, ("\n".join(lines) + "\n").encode(),
                     mode="partial")
    rows = sorted({e["row"] for e in report["errors"]})
    assert rows == list(range(4, 22))  # to the end of the file: all reported
    assert report["counts"]["invoices_created"] == 2


# --- currencies -----------------------------------------------------------------------------

def _euro_rows(data: bytes) -> bytes:
    lines = data.decode().splitlines()
    lines[2] = lines[2].replace(",GBP,", ",EUR,")
    return ("\n".join(lines) + "\n").encode()


def test_a_row_in_another_currency_is_refused_by_name_not_dropped(tenants):
    """GIVEN a GBP client WHEN its book has one invoice in EUR
    THEN that row is refused with a currency error naming both currencies, the invoice is
    neither imported nor settled, and the other 19 land."""
    a, _ = tenants
    data, _ = twenty_invoices()
    report = _import(a.agency_id, a.client_id, _euro_rows(data))
    (err,) = report["errors"]
    assert (err["row"], err["field"], err["value"]) == (3, "currency", "EUR")
    assert "EUR" in err["reason"] and "GBP" in err["reason"]
    assert report["counts"]["invoices_created"] == 19
    assert "INV-001" not in _invoices(a.agency_id, a.client_id)


def test_a_currency_the_client_accepts_is_imported(tenants):
    """GIVEN a GBP client whose settings accept EUR WHEN its book has an EUR invoice THEN
    it lands in EUR with no error."""
    a, _ = tenants
    client = _client(a.agency_id, a.client_id)
    client.settings = {**(client.settings or {}), "accepted_currencies": ["EUR"]}
    client.save()
    data, _ = twenty_invoices()
    report = _import(a.agency_id, a.client_id, _euro_rows(data))
    assert report["errors"] == [] and report["counts"]["invoices_created"] == 20
    assert _invoices(a.agency_id, a.client_id)["INV-001"].currency == "EUR"
    # AND the report keeps it apart: the GBP figures leave it out, and it is listed in EUR
    _, open_total = twenty_invoices()
    euro = 1000_00 + 1234 - 100_00  # INV-001, part paid, overdue since 2 Nov
    built = reports.build(_client(a.agency_id, a.client_id), NOW.date())
    assert built["figures"]["receivables_minor"] == open_total - euro
    assert built["other_currencies"] == [{"currency": "EUR", "receivables_minor": euro,
                                          "overdue_minor": euro, "accounts": 1,
                                          "accounts_overdue": 1}]


def test_a_different_file_after_an_interrupted_import_still_reports_everything(tenants,
                                                                               monkeypatch):
    """GIVEN a client whose first import died right after its invoices were written
    WHEN a corrected file (one invoice more) is imported instead of re-running the first
    THEN the dead import is listed as interrupted, the new one as done, and the report
    counts every invoice the client now has, exactly as a clean import of that file would."""
    a, b = tenants
    data, open_total = twenty_invoices()
    _die_after_invoice_writes(monkeypatch)
    with pytest.raises(RuntimeError):
        _import(a.agency_id, a.client_id, data)
    monkeypatch.undo()
    extra = "D99,Late Ltd,ar@late.example.com,INV-099,2026-10-01,2026-11-01,GBP,50.00,0\n"
    corrected = data + extra.encode()
    later = NOW + timedelta(minutes=1)
    for t in (a, b):
        importer.import_book(t.agency_id, t.client_id, corrected, actor="t", now=later)

    assert [r["status"] for r in _records(a.agency_id, a.client_id)] == ["done", "interrupted"]
    assert _figures(a.agency_id, a.client_id)["receivables_minor"] == open_total + 5000
    assert _comparable(_figures(a.agency_id, a.client_id)) == _comparable(
        _figures(b.agency_id, b.client_id))
    assert report_store.get_item(a.agency_id, a.client_id, "baseline")[
        "receivables_minor"] == open_total + 5000
    assert len(_timeline(a.agency_id, a.client_id)) == len(_timeline(b.agency_id, b.client_id))
