"""A client's KPI facts recomputed from the system of record (invoices and payments): the
check that a maintained aggregate is right, and the way to rebuild one. Reads the book."""
from __future__ import annotations

from chalicelib.reporting import kpis
from chalicelib.reporting.figures import fact_from_state
from chalicelib.book.invoices import state
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import DebtorModel, InvoiceModel, PaymentModel


def stored_facts(agency_id: str, client_id: str, currency: str) -> list[kpis.InvoiceFact]:
    """Every invoice of the client in its currency, with the Recoup payments allocated to it
    (payments table) and the money its book says was paid outside."""
    ckey = client_key(agency_id, client_id)
    pays: dict[str, list] = {}
    for d in DebtorModel.query(ckey):
        for pay in PaymentModel.query(debtor_key(agency_id, client_id, d.debtor_id)):
            if pay.kind != "payment":
                continue
            for a in pay.allocations or []:
                pays.setdefault(a["invoice_id"], []).append(
                    [pay.payment_id, pay.received_on[:10], int(a["amount_minor"]), pay.source])
    return [fact_from_state(state(inv), pays.get(inv.invoice_id, []))
            for inv in InvoiceModel.by_client_number.query(ckey)
            if inv.currency.upper() == currency.upper()]
