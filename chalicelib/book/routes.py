"""Agency API (JSON): clients, users, debtors, contacts, invoices, timeline, imports."""
from __future__ import annotations

import base64

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import UPLOAD_MAX_BYTES, endpoint, error_response, query_params
from chalicelib.http.schemas import (
    ClientIn,
    ContactIn,
    ContactPatch,
    DebtorIn,
    DebtorPatch,
    InvoiceIn,
    InvoicePatch,
    NoteIn,
    UserIn,
    UserPatch,
)
from chalicelib.agency import clients
from chalicelib.book import debtors, importer, invoices, search
from chalicelib.http.access import load_client, require_staff
from chalicelib.store.paging import parse_limit

bp = Blueprint(__name__)
PAGE = {"limit": "page size, 1-200 (default 50)", "cursor": "next_cursor of the previous page"}
C = "/v1/clients/{client_id}"
D = C + "/debtors/{debtor_id}"


def _page() -> tuple[int, str | None]:
    q = query_params(bp)
    return parse_limit(q.get("limit")), q.get("cursor")


@endpoint(bp, "/v1/me", summary="The calling user", authorizer=bearer)
def me(p):
    return clients.me(p)


@endpoint(bp, "/v1/users", summary="List the agency's users (admin)", query=PAGE,
          authorizer=bearer)
def list_users(p):
    limit, cursor = _page()
    return clients.list_users(p, limit=limit, cursor=cursor)


@endpoint(bp, "/v1/users", "POST", summary="Create a user (admin)", body=UserIn, status=201,
          authorizer=bearer)
def create_user(p, data):
    return clients.create_user(p, data, now=utcnow())


@endpoint(bp, "/v1/users/{user_id}", "PATCH",
          summary="Deactivate or reactivate a user (admin)", body=UserPatch, authorizer=bearer)
def patch_user(p, data, user_id):
    return clients.update_user(p, user_id, data, now=utcnow())


@endpoint(bp, "/v1/search", summary="Find debtors across the clients you may work",
          query={"q": "2-100 characters: an invoice number (or its start), an account ref, "
                      "part of a name, an email or a phone number",
                 "limit": "1-200 (default 50)"}, authorizer=bearer)
def search_debtors(p):
    q = query_params(bp)
    return search.search(p, q.get("q"), limit=parse_limit(q.get("limit")))


@endpoint(bp, "/v1/clients", summary="List clients you may work", query=PAGE,
          authorizer=bearer)
def list_clients(p):
    limit, cursor = _page()
    return clients.list_clients(p, limit=limit, cursor=cursor)


@endpoint(bp, "/v1/clients", "POST", summary="Onboard a client business (admin)", body=ClientIn,
          status=201, authorizer=bearer)
def create_client(p, data):
    return clients.create_client(p, data, now=utcnow())


@endpoint(bp, C, summary="A client", authorizer=bearer)
def get_client(p, client_id):
    return clients.get_client(p, client_id)


# PATCH /v1/clients/{id} is workbench/cadence_routes.py: its cadences and templates are
# saved as the editor saves them (validated, versioned), so the route lives above them.


@endpoint(bp, C, "DELETE", summary="Archive a client (admin)", authorizer=bearer)
def archive_client(p, client_id):
    return clients.archive_client(p, client_id, now=utcnow())


@endpoint(bp, C + "/debtors", summary="List a client's debtors",
          query={**PAGE, "status": "active|on_hold|in_collections|written_off",
                 "overdue": "true: only accounts with an overdue balance"}, authorizer=bearer)
def list_debtors(p, client_id):
    limit, cursor = _page()
    q = query_params(bp)
    return debtors.list_debtors(p, client_id, limit=limit, cursor=cursor, status=q.get("status"),
                                overdue_only=q.get("overdue") == "true")


@endpoint(bp, C + "/debtors", "POST", summary="Add a debtor account", body=DebtorIn, status=201,
          authorizer=bearer)
def create_debtor(p, data, client_id):
    return debtors.create_debtor(p, client_id, data, now=utcnow())


@endpoint(bp, D, summary="A debtor account with its contacts", authorizer=bearer)
def get_debtor(p, client_id, debtor_id):
    return debtors.get_debtor(p, client_id, debtor_id)


@endpoint(bp, D, "PATCH", summary="Change a debtor account", body=DebtorPatch,
          authorizer=bearer)
def patch_debtor(p, data, client_id, debtor_id):
    return debtors.update_debtor(p, client_id, debtor_id, data, now=utcnow())


@endpoint(bp, D + "/contacts", summary="A debtor's contacts", authorizer=bearer)
def list_contacts(p, client_id, debtor_id):
    return debtors.list_contacts(p, client_id, debtor_id)


@endpoint(bp, D + "/contacts", "POST", summary="Add a contact", body=ContactIn, status=201,
          authorizer=bearer)
def add_contact(p, data, client_id, debtor_id):
    return debtors.add_contact(p, client_id, debtor_id, data, now=utcnow())


@endpoint(bp, D + "/contacts/{contact_id}", "PATCH", summary="Change a contact",
          body=ContactPatch, authorizer=bearer)
def patch_contact(p, data, client_id, debtor_id, contact_id):
    return debtors.update_contact(p, client_id, debtor_id, contact_id, data, now=utcnow())


@endpoint(bp, D + "/contacts/{contact_id}", "DELETE", summary="Remove a contact",
          authorizer=bearer)
def delete_contact(p, client_id, debtor_id, contact_id):
    return debtors.delete_contact(p, client_id, debtor_id, contact_id, now=utcnow())


@endpoint(bp, D + "/invoices", summary="A debtor's invoices", query=PAGE, authorizer=bearer)
def list_debtor_invoices(p, client_id, debtor_id):
    limit, cursor = _page()
    return invoices.list_debtor_invoices(p, client_id, debtor_id, limit=limit, cursor=cursor)


@endpoint(bp, D + "/invoices", "POST", summary="Add an invoice", body=InvoiceIn, status=201,
          authorizer=bearer)
def create_invoice(p, data, client_id, debtor_id):
    return invoices.create_invoice(p, client_id, debtor_id, data, now=utcnow())


@endpoint(bp, D + "/invoices/{invoice_id}", summary="An invoice", authorizer=bearer)
def get_invoice(p, client_id, debtor_id, invoice_id):
    return invoices.get_invoice(p, client_id, debtor_id, invoice_id)


@endpoint(bp, D + "/invoices/{invoice_id}", "PATCH",
          summary="Dispute, hold, write off or amend an invoice", body=InvoicePatch,
          authorizer=bearer)
def patch_invoice(p, data, client_id, debtor_id, invoice_id):
    return invoices.update_invoice(p, client_id, debtor_id, invoice_id, data, now=utcnow())


@endpoint(bp, C + "/invoices", summary="A client's invoices (open ones by due date)",
          query={**PAGE, "open": "true: open invoices only, oldest due first",
                 "due_before": "YYYY-MM-DD", "due_after": "YYYY-MM-DD"}, authorizer=bearer)
def list_client_invoices(p, client_id):
    limit, cursor = _page()
    q = query_params(bp)
    return invoices.list_client_invoices(p, client_id, limit=limit, cursor=cursor,
                                         open_only=q.get("open") == "true",
                                         due_before=q.get("due_before"),
                                         due_after=q.get("due_after"))


@endpoint(bp, D + "/timeline", summary="A debtor's timeline, newest first",
          query={**PAGE, "kind": "only entries of this kind"}, authorizer=bearer)
def get_timeline(p, client_id, debtor_id):
    limit, cursor = _page()
    return debtors.get_timeline(p, client_id, debtor_id, limit=limit, cursor=cursor,
                                kind=query_params(bp).get("kind"))


@endpoint(bp, D + "/notes", "POST", summary="Add a note to a debtor's timeline", body=NoteIn,
          status=201, authorizer=bearer)
def add_note(p, data, client_id, debtor_id):
    return debtors.add_note(p, client_id, debtor_id, data.text, now=utcnow())


@endpoint(bp, C + "/imports", "POST",
          summary="Import a debtor book (CSV body: generic, Xero, QuickBooks, Sage)",
          query={"date_order": "DMY|MDY|YMD when the file's dates are ambiguous",
                 "mode": "full (default: invoices missing from the file are settled outside) "
                         "or partial", "filename": "for the record"},
          status=201, authorizer=bearer, content_types=["text/csv", "application/octet-stream",
                                                         "text/plain"],
          max_body_bytes=UPLOAD_MAX_BYTES)
def import_book(p, client_id):
    require_staff(p)
    load_client(p, client_id)
    req = bp.current_request
    data = req.raw_body or b""
    if isinstance(data, str):
        data = data.encode()
    if req.headers.get("content-transfer-encoding") == "base64":
        data = base64.b64decode(data)
    if not data.strip():
        raise ValidationFailed.one("body", "the CSV file is empty")
    q = query_params(bp)
    try:
        return importer.import_book(p.agency_id, client_id, data, actor=p.user_id,
                                    filename=q.get("filename"), date_order=q.get("date_order"),
                                    mode=q.get("mode", "full"), now=utcnow())
    except importer.ImportInProgress as busy:  # one import per client: say when to retry
        response = error_response(busy)
        response.headers["Retry-After"] = str(busy.retry_after)
        return response


@endpoint(bp, C + "/imports", summary="Past imports of a client's book", authorizer=bearer)
def list_imports(p, client_id):
    load_client(p, client_id)
    return {"items": importer.list_imports(p.agency_id, client_id), "next_cursor": None}


@endpoint(bp, C + "/imports/{import_id}", summary="An import's report with row errors",
          authorizer=bearer)
def get_import(p, client_id, import_id):
    load_client(p, client_id)
    return importer.get_import(p.agency_id, client_id, import_id)
