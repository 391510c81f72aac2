"""Finding a debtor who calls in: one search across every client the caller may work
(a specialist: their assigned clients; an admin: all of the agency's), by invoice number,
account ref, name, email or phone.

Reads per client, cheapest first:
- invoice number: the `by_client_number` index (a key condition, `begins_with` the query, so
  "INV-10" finds INV-100..INV-109), upper-cased too, as imports keep numbers as given;
- account ref: a GetItem, the debtor id being deterministic (`keys.debtor_id_for`);
- name: the client's debtor partition, one paged Query (at most NAME_SCAN_LIMIT debtors);
- email / phone (only when the query looks like one: an "@", or 6+ digits): contacts live
  in each debtor's partition, so one Query per debtor, for at most CONTACT_SCAN_LIMIT
  debtors of the client. Beyond either bound the answer says `truncated` and names the
  clients not fully searched; an index of contacts by client would lift it.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from chalicelib.agency import clients as agency_clients
from chalicelib.http.access import require_staff
from chalicelib.http.auth import Principal
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.store.keys import client_key, debtor_id_for, debtor_key
from chalicelib.store.models import ContactModel, DebtorModel, InvoiceModel

Q_MIN, Q_MAX = 2, 100
MAX_RESULTS = 50
NAME_SCAN_LIMIT = 2000     # debtors read per client for a name match
CONTACT_SCAN_LIMIT = 300   # debtors whose contacts are read per client (email, phone)
INVOICE_HITS = 20          # invoices read per client from the number index
# how a match ranks: an exact invoice number or account ref first, a name last
RANK = {"invoice": 0, "account_ref": 1, "invoice_prefix": 2, "email": 3, "phone": 4,
        "name": 5}


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def _phone_key(text: str) -> str:
    """The national part of a number: "020 7946 0000" and "+44 20 7946 0000" both end in
    "2079460000" (a leading trunk 0 dropped)."""
    return _digits(text).lstrip("0")


def _kind_of(q: str) -> tuple[bool, bool]:
    """(looks like an email, looks like a phone number)."""
    return "@" in q, len(_digits(q)) >= 6 and not re.search(r"[A-Za-z]", q)


def _clients(p: Principal) -> list[dict]:
    """The clients the caller may work (the same listing as GET /v1/clients)."""
    out, cursor = [], None
    while True:
        page = agency_clients.list_clients(p, limit=200, cursor=cursor)
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def _row(client: dict, d: DebtorModel, kind: str, matched: str) -> dict:
    return {"client_id": client["id"], "client_name": client["name"],
            "debtor_id": d.debtor_id, "name": d.name, "account_ref": d.account_ref,
            "status": d.status, "currency": d.currency,
            "balance_minor": int(d.balance_minor), "overdue_minor": int(d.overdue_minor),
            "open_invoices": int(d.open_invoices), "match": kind, "matched": matched}


def _by_invoice(ckey: str, q: str) -> list[InvoiceModel]:
    seen: dict[str, InvoiceModel] = {}
    for variant in dict.fromkeys((q, q.upper())):
        for inv in InvoiceModel.by_client_number.query(
                ckey, InvoiceModel.number.startswith(variant), limit=INVOICE_HITS):
            seen.setdefault(inv.invoice_id, inv)
    return list(seen.values())


def _contacts_of(agency_id: str, client_id: str, debtor_id: str) -> list[ContactModel]:
    return list(ContactModel.query(debtor_key(agency_id, client_id, debtor_id)))


def _contact_match(c: ContactModel, q: str, email: bool, phone: bool) -> str | None:
    if email and c.email and q.casefold() in c.email.casefold():
        return c.email
    if phone and c.phone:
        want = _phone_key(q)
        if len(want) >= 6 and _phone_key(c.phone).endswith(want):
            return c.phone
    return None


def _search_client(p: Principal, client: dict, q: str) -> tuple[list[dict], bool]:
    """(hits, searched only part of the client's debtors)."""
    ckey = client_key(p.agency_id, client["id"])
    book: dict[str, DebtorModel] = {}
    query = DebtorModel.query(ckey, limit=NAME_SCAN_LIMIT)
    for d in query:
        book[d.debtor_id] = d
    partial = query.last_evaluated_key is not None
    hits: dict[str, tuple[str, str]] = {}  # debtor id -> (rank key, what matched)

    def hit(debtor_id: str, kind: str, matched: str) -> None:
        if debtor_id not in hits or RANK[kind] < RANK[hits[debtor_id][0]]:
            hits[debtor_id] = (kind, matched)

    for inv in _by_invoice(ckey, q):
        exact = inv.number.casefold() == q.casefold()
        hit(inv.debtor_id, "invoice" if exact else "invoice_prefix", f"invoice {inv.number}")
    ref_id = debtor_id_for(p.agency_id, client["id"], q)
    if ref_id not in book:
        try:
            book[ref_id] = DebtorModel.get(ckey, ref_id)
        except DebtorModel.DoesNotExist:
            pass
    if ref_id in book:
        hit(ref_id, "account_ref", f"account {book[ref_id].account_ref}")
    folded = q.casefold()
    for d in book.values():
        if folded in (d.name or "").casefold():
            hit(d.debtor_id, "name", d.name)
    email, phone = _kind_of(q)
    if email or phone:
        ids = list(book)[:CONTACT_SCAN_LIMIT]
        partial = partial or len(book) > CONTACT_SCAN_LIMIT
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = pool.map(lambda i: (i, _contacts_of(p.agency_id, client["id"], i)), ids)
            for debtor_id, contacts in found:
                for c in contacts:
                    matched = _contact_match(c, q, email, phone)
                    if matched:
                        hit(debtor_id, "email" if email else "phone", matched)
                        break
    rows = []
    for debtor_id, (kind, matched) in hits.items():
        d = book.get(debtor_id)
        if d is None:  # an invoice of a debtor beyond the name bound
            try:
                d = book[debtor_id] = DebtorModel.get(ckey, debtor_id)
            except DebtorModel.DoesNotExist:
                continue
        rows.append({**_row(client, d, kind.removesuffix("_prefix"), matched),
                     "rank": RANK[kind]})
    return rows, partial


def search(p: Principal, q: str | None, *, limit: int = MAX_RESULTS) -> dict:
    """Debtors of the caller's clients matching `q`, best matches first (invoice number,
    account ref, email, phone, then name), at most `limit`."""
    require_staff(p)
    q = (q or "").strip()
    if len(q) < Q_MIN:
        raise ValidationFailed.one("q", f"must be at least {Q_MIN} characters")
    if len(q) > Q_MAX:
        raise ValidationFailed.one("q", f"must be at most {Q_MAX} characters")
    rows, partial_in = [], []
    for client in _clients(p):
        found, partial = _search_client(p, client, q)
        rows += found
        if partial:
            partial_in.append(client["name"])
    rows.sort(key=lambda r: (r.pop("rank"), r["name"].casefold(), r["client_name"]))
    return {"q": q, "items": rows[:limit], "truncated": bool(partial_in) or len(rows) > limit,
            "partial_clients": partial_in, "next_cursor": None}
