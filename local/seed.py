"""Demo data for the local stack: an agency, its users, two clients with real-looking books."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from chalicelib.http.auth import Principal, mint_token
from chalicelib.kernel.clock import iso, utcnow
from chalicelib.http.schemas import ClientIn, InvoicePatch, UserIn
from chalicelib.agency import clients
from chalicelib.book import importer, invoices
from chalicelib.kernel.settings import get_settings
from chalicelib.store.keys import client_key
from chalicelib.store.models import AgencyModel, InvoiceModel, UserModel

BOOKS = Path(__file__).parent / "books"
AGENCY = "demo-agency"


def seed(progress=None, now: datetime | None = None) -> dict:
    at = now or utcnow()  # the local stack's edge: one reading of the clock
    now = iso(at)
    AgencyModel(AGENCY, name="Northgate Credit Control", created_at=now).save()
    UserModel(AGENCY, "u-admin", email="admin@northgate.example.com", name="Alex Admin",
              role="admin", created_at=now).save()
    admin = Principal(AGENCY, "u-admin", "admin")
    sam = clients.create_user(admin, UserIn(email="sam@northgate.example.com",
                                            name="Sam Specialist", role="specialist"), now=at)
    acme = clients.create_client(admin, ClientIn(
        name="Acme Supplies Ltd", brand_name="Acme Supplies", sender_email="accounts@acme.example.com",
        reply_to="ar@acme.example.com", timezone="Europe/London", country="GB", currency="GBP",
        specialist_ids=[sam["id"]], settings={"chasing": "active",
                                              "reply_domain": "replies.acme.example.com"}),
        now=at)  # replies reach Recoup: the outbox's "Reply as debtor" works
    # Northwind stays in preview (as every new client starts): its dry run is at
    # /w/clients/<id>/preview until an admin activates it.
    north = clients.create_client(admin, ClientIn(
        name="Northwind Traders", sender_email="credit@northwind.example.com",
        timezone="Europe/London", country="GB", currency="GBP", specialist_ids=[sam["id"]],
        settings={"reply_domain": "replies.northwind.example.com"}), now=at)
    viewer = clients.create_user(admin, UserIn(email="cfo@acme.example.com", name="Casey CFO",
                                               role="client_viewer", client_id=acme["id"]), now=at)
    reports = {}
    for client, book in ((acme, "acme_generic.csv"), (north, "northwind_xero.csv")):
        reports[client["name"]] = importer.import_book(
            AGENCY, client["id"], (BOOKS / book).read_bytes(), actor="u-admin", filename=book,
            progress=progress or (lambda *a: None), now=at)
    _demo_dispute(admin, acme["id"], at)
    _raise_demo_tasks([acme["id"], north["id"]], at)
    secret = get_settings().jwt_secret
    ttl = 30 * 24 * 3600
    return {
        "clients": {"acme": acme["id"], "northwind": north["id"]},
        "tokens": {
            "admin": mint_token(secret, admin, ttl),
            "specialist": mint_token(secret, Principal(AGENCY, sam["id"], "specialist"), ttl),
            "client_viewer": mint_token(secret, Principal(AGENCY, viewer["id"], "client_viewer",
                                                          acme["id"]), ttl),
        },
        "imports": {k: v["counts"] for k, v in reports.items()},
    }


def _demo_dispute(admin: Principal, client_id: str, now: datetime) -> None:
    """One dispute after onboarding, so the portal has something waiting on the client."""
    for inv in InvoiceModel.open_by_due.query(client_key(AGENCY, client_id), limit=1):
        invoices.update_invoice(admin, client_id, inv.debtor_id, inv.invoice_id,
                                InvoicePatch(status="disputed", reason="goods not received"), now=now)
def _raise_demo_tasks(client_ids: list[str], now: datetime, count: int = 5) -> None:
    """A queue for the demo specialist: call tasks for the most overdue accounts."""
    from chalicelib.kernel import events
    from chalicelib.store.models import InvoiceModel

    oldest = []
    for client_id in client_ids:
        for inv in InvoiceModel.open_by_due.query(f"{AGENCY}#{client_id}", limit=50):
            oldest.append((inv.due_date, client_id, inv.debtor_id))
    seen: set[str] = set()
    for due, client_id, debtor_id in sorted(oldest):
        if debtor_id in seen:
            continue
        seen.add(debtor_id)
        events.publish("call_task_needed", agency_id=AGENCY, client_id=client_id,
                       debtor_id=debtor_id, reason=f"oldest invoice due {due}: call before "
                       "the final notice", due_at=None, details={"source": "demo seed"},
                       at=iso(now))
        if len(seen) == count:
            return
