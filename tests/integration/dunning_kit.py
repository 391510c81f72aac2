"""Helpers for the dunning tests: a small book, the queue, the consumer, the outbox."""
from __future__ import annotations

import json
from datetime import datetime

from local import outbox


HEADER = ("debtor_ref,debtor_name,debtor_kind,contact_name,email,secondary_email,phone,"
          "timezone,country,invoice_number,issue_date,due_date,currency,amount,amount_paid")


def row(ref: str, number: str, due: str, amount: str = "100.00", *, paid: str = "0.00",
        kind: str = "business", email: str | None = None, secondary: str = "",
        phone: str = "", tz: str = "Europe/London", country: str = "GB",
        issued: str = "2026-09-01") -> str:
    email = f"ap@{ref.lower()}.example.com" if email is None else email
    return (f"{ref},{ref} Ltd,{kind},Pat {ref},{email},{secondary},{phone},{tz},{country},"
            f"{number},{issued},{due},GBP,{amount},{paid}")


def load_book(tenant, rows: list[str], now: datetime, settings: dict | None = None) -> None:
    from chalicelib.book import importer
    from chalicelib.store.models import ClientModel
    from local.resources import verify_sender

    client = ClientModel.get(tenant.agency_id, tenant.client_id)
    if settings:
        client.settings = {**(client.settings or {}), **settings}
        client.save()
    verify_sender(client.sender_email)
    report = importer.import_book(tenant.agency_id, tenant.client_id,
                                  ("\n".join([HEADER, *rows]) + "\n").encode(), actor="test",
                                  now=now)
    assert not report["errors"], report["errors"]


def debtor(tenant, ref: str):
    from chalicelib.store.keys import debtor_id_for
    from chalicelib.store.models import DebtorModel

    return DebtorModel.get(f"{tenant.agency_id}#{tenant.client_id}",
                           debtor_id_for(tenant.agency_id, tenant.client_id, ref),
                           consistent_read=True)


def queued() -> list[dict]:
    """Drain the dispatch queue: the message bodies the sweep put there."""
    from chalicelib.kernel import adapters as wiring
    from chalicelib.dunning.sweep import queue_url

    sqs, out = wiring.aws("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url(), ReceiptHandle=m["ReceiptHandle"])


def run_cadence(now: datetime) -> list[str]:
    """One timer tick and the consumer working the queue, as of `now`."""
    from chalicelib.dunning import dispatch, sweep

    sweep.sweep(now)
    return [dispatch.handle(json.dumps(body), now) for body in queued()]


def sent_emails(to: str | None = None) -> list[dict]:
    return [m for m in outbox.emails() if to is None or m["to"] == to]


def sent_sms(to: str | None = None) -> list[dict]:
    return [m for m in outbox.sms() if to is None or m["to"] == to]


def entries(tenant, ref: str, kind: str | None = None) -> list[dict]:
    from chalicelib.store import timeline

    d = debtor(tenant, ref)
    return timeline.list_entries(tenant.agency_id, tenant.client_id, d.debtor_id, limit=200,
                                 cursor=None, kind=kind)["items"]
