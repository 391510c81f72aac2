"""The agency home: every client on one screen, read from what each capability keeps.

Money and DSO come from the agency overview (reports.overview: the maintained summaries)
and each client's baseline (stored once at its first full import); queue size, promises
due and disputed invoices from the workbench's and the book's sparse indexes; the last
import from the import history. Nothing here computes a figure a report computes."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from chalicelib.book import importer
from chalicelib.http.auth import Principal
from chalicelib.kernel.clock import iso
from chalicelib.reporting import reports
from chalicelib.reporting import store as report_store
from chalicelib.store.keys import client_key
from chalicelib.workbench.models import CallTaskModel, PromiseModel
from chalicelib.workbench.promises import GRACE_DAYS, SHARDS

QUEUE_CAP = 200
# ?sort= keys of the home table (largest first for figures, A-Z for the name)
SORTS = ("name", "receivables", "overdue", "dso", "dso_change", "queue", "promises_due",
         "disputed", "last_import")


def _count(query) -> int:
    return sum(1 for _ in query)


def _promises_due(agency_id: str, today: date) -> dict[str, int]:
    """Open promises whose date has come (today or earlier), per client: the promise-check
    index holds open promises only, sorted by deadline (the date + GRACE_DAYS + 1 day), so
    only those with a deadline up to today's are read, not every open promise."""
    out: dict[str, int] = {}
    prefix = f"{agency_id}#"
    upto = datetime.combine(today + timedelta(days=GRACE_DAYS + 2), time(0), tzinfo=timezone.utc)
    for shard in range(SHARDS):
        for m in PromiseModel.promise_check.query(
                f"pc#{shard:02d}", PromiseModel.check_sort < iso(upto),
                filter_condition=PromiseModel.debtor_key.startswith(prefix)):
            if m.status == "open" and m.promised_for <= today.isoformat():
                client_id = m.debtor_key.split("#")[1]
                out[client_id] = out.get(client_id, 0) + 1
    return out


def _sort_value(row: dict, key: str) -> Any:
    value = {"name": row["name"].lower(), "receivables": row.get("receivables_minor"),
             "overdue": row.get("overdue_minor"), "dso": row.get("dso_countback"),
             "dso_change": row.get("dso_change"), "queue": row["queue_size"],
             "promises_due": row["promises_due"], "disputed": row["disputed_invoices"],
             "last_import": (row.get("last_import") or {}).get("created_at")}[key]
    return value


def home(p: Principal, *, today: date, sort: str | None = None,
         descending: bool | None = None) -> dict:
    """The clients the caller may work (an admin: all; a specialist: theirs), one row each,
    sorted by `sort` (figures largest first, names A-Z unless `descending` says otherwise;
    rows without the figure last), and the specialists' load."""
    view = reports.overview(p)  # refuses client viewers
    due = _promises_due(p.agency_id, today)
    rows = []
    for row in view["clients"]:
        cid = row["client_id"]
        ckey = client_key(p.agency_id, cid)
        baseline = report_store.get_item(p.agency_id, cid, "baseline") or {}
        dso, base_dso = row.get("dso_countback"), baseline.get("dso_countback")
        imports = importer.list_imports(p.agency_id, cid)
        # the queue counted up to QUEUE_CAP (shown as "200+"): a bounded read per client
        queue_size = _count(CallTaskModel.queue.query(ckey, attributes_to_get=["rank"],
                                                      limit=QUEUE_CAP))
        rows.append({
            **row,
            "dso_baseline": base_dso, "baseline_as_of": baseline.get("as_of"),
            "dso_change": (round(float(dso) - float(base_dso), 1)
                           if dso is not None and base_dso is not None else None),
            "queue_size": queue_size,
            "queue_capped": queue_size >= QUEUE_CAP,
            "promises_due": due.get(cid, 0),
            "disputed_invoices": sum(1 for w in report_store.waiting(p.agency_id, cid)
                                     if w["status"] == "disputed"),
            "last_import": imports[0] if imports else None,
        })
    key = sort if sort in SORTS else "name"
    present = [r for r in rows if _sort_value(r, key) is not None]
    missing = [r for r in rows if _sort_value(r, key) is None]
    if descending is None:
        descending = key != "name"
    present.sort(key=lambda r: _sort_value(r, key), reverse=descending)
    queue_by_client = {r["client_id"]: r["queue_size"] for r in rows}
    people = []
    for who in view["specialists"]:
        mine = [r for r in rows if who["user_id"] in r["specialist_ids"]]
        people.append({**who, "queue": sum(queue_by_client[r["client_id"]] for r in mine),
                       "client_names": [r["name"] for r in mine]})
    return {"clients": present + missing, "specialists": people, "sort": key,
            "descending": descending, "definitions": view["definitions"]}
