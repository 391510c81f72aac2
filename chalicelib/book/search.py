"""Finding a debtor who calls in: one search across every client the caller may work
(a specialist: their assigned clients; an admin: all of the agency's), by invoice number,
account ref, name, email or phone.

Reads per client, cheapest first:
- invoice number: the `by_client_number` index (a key condition, `begins_with` the query, so
  "INV-10" finds INV-100..INV-109), upper-cased too, as imports keep numbers as given;
- account ref: a GetItem, the debtor id being deterministic (`keys.debtor_id_for`);
- name: the client's debtor partition, one paged Query (at most NAME_SCAN_LIMIT debtors;
  beyond it the answer says `truncated` and names the clients not fully searched);
- email (the query has an "@"): the `contacts_by_email` index, `begins_with` the case-folded
  query, so a whole address or its start ("olly@oak") finds the contact in one Query;
- phone (6+ digits, no letters): the `contacts_by_phone` index, whose range key is the
  number's national digits reversed, so `begins_with` the query's reversed digits is a
  suffix match ("020 7946 0000" finds "+44 20 7946 0000") in one Query.
Invoice, account, email and phone lookups are exact however large the book; only a name
match is bounded.
"""
from __future__ import annotations

import re
from chalicelib.agency import clients as agency_clients
from chalicelib.http.access import require_staff
from chalicelib.http.auth import Principal
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.store.keys import client_key, debtor_id_for
from chalicelib.store.models import ContactModel, DebtorModel, InvoiceModel, phone_lookup_key

Q_MIN, Q_MAX = 2, 100
MAX_RESULTS = 50
NAME_SCAN_LIMIT = 2000     # debtors read per client for a name match
CONTACT_HITS = 20          # contacts read per client from the email or phone index
INVOICE_HITS = 20          # invoices read per client from the number index
# how a match ranks: an exact invoice number or account ref first, a name last
RANK = {"invoice": 0, "account_ref": 1, "invoice_prefix": 2, "email": 3, "phone": 4,
        "name": 5}


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


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


def _by_contact(ckey: str, q: str, email: bool) -> list[tuple[str, str]]:
    """(debtor id, what matched) for the client's contacts whose email starts with `q`, or
    whose phone number ends with `q`'s digits: one Query of the matching index."""
    if email:
        found = ContactModel.by_email.query(
            ckey, ContactModel.email_key.startswith(q.strip().casefold()), limit=CONTACT_HITS)
        return [(c.debtor_key.rsplit("#", 1)[1], c.email or c.email_key) for c in found]
    want = phone_lookup_key(q)
    if len(want) < 6:
        return []
    found = ContactModel.by_phone.query(ckey, ContactModel.phone_key.startswith(want),
                                        limit=CONTACT_HITS)
    return [(c.debtor_key.rsplit("#", 1)[1], c.phone or c.phone_key[::-1]) for c in found]


def _search_client(p: Principal, client: dict, q: str) -> tuple[list[dict], bool]:
    """(hits, searched only part of the client's debtors)."""
    ckey = client_key(p.agency_id, client["id"])
    book: dict[str, DebtorModel] = {}
    query = DebtorModel.query(ckey, limit=NAME_SCAN_LIMIT)
    for d in query:
        book[d.debtor_id] = d
    # only a name match is bounded: an email or phone query is answered from its index
    partial = query.last_evaluated_key is not None and not any(_kind_of(q))
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
        for debtor_id, matched in _by_contact(ckey, q, email):
            hit(debtor_id, "email" if email else "phone", matched)
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
