"""A workbench demo for the browser tests, in its own process: moto's threaded server plus
Chalice's local server on free ports, seeded with one tenant and three call tasks.

Own process because PynamoDB caches its connections per model: an endpoint set here would
leak into the moto-mocked tests sharing a pytest worker. Prints one `READY {json}` line,
then serves until stdin closes."""
from __future__ import annotations

import json
import os
import sys
import threading

from tests.conftest import FIXED_NOW, make_tenant  # sets the test stage; import first


def main() -> None:
    from chalice.config import Config
    from chalice.local import create_local_server

    from local.stack import LocalAWS, free_port, provision

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    os.environ["RECOUP_DEMO_NOW"] = FIXED_NOW.isoformat()
    aws = LocalAWS().start()
    provision()
    t = make_tenant("agW")
    from local.resources import verify_senders

    verify_senders(t.agency_id)  # SES (moto) sends only from a verified sender: manual sends

    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ContactIn, DebtorIn, InvoiceIn
    from chalicelib.book import debtors, invoices
    from chalicelib.kernel import events

    admin = Principal(t.agency_id, f"{t.agency_id}-admin", "admin")
    ids = {}
    for ref, name, amount, tz, country in (("CAM", "Camden Cafe", 480_000, "Europe/London", "GB"),
                                           ("BRI", "Brixton Bikes", 95_000, "Europe/London", "GB"),
                                           ("SYD", "Harbour Pty", 900_000, "Australia/Sydney",
                                            "AU")):
        d = debtors.create_debtor(admin, t.client_id, DebtorIn(
            account_ref=ref, name=name, timezone=tz, country=country), now=FIXED_NOW)
        debtors.add_contact(admin, t.client_id, d["id"], ContactIn(
            name=f"{name} accounts", phone="+442079460000", email=f"ap@{ref.lower()}.example.com"), now=FIXED_NOW)
        invoices.create_invoice(admin, t.client_id, d["id"], InvoiceIn(
            number=f"{ref}-1", issue_date="2026-08-31", due_date="2026-09-30",
            total_minor=amount), now=FIXED_NOW)
        events.publish("call_task_needed", agency_id=t.agency_id, client_id=t.client_id,
                       debtor_id=d["id"], reason="final notice unanswered", due_at=FIXED_NOW,
                       details={}, at=FIXED_NOW)
        ids[ref] = d["id"]
    # one more account with no call task (the debtor-work walk records a payment and
    # escalates it, leaving the three above as the workbench tests expect them)
    d = debtors.create_debtor(admin, t.client_id, DebtorIn(
        account_ref="LEE", name="Leeds Looms", timezone="Europe/London", country="GB"),
        now=FIXED_NOW)
    debtors.add_contact(admin, t.client_id, d["id"], ContactIn(
        name="Leeds Looms accounts", phone="+441134960000", email="ap@lee.example.com"),
        now=FIXED_NOW)
    invoices.create_invoice(admin, t.client_id, d["id"], InvoiceIn(
        number="LEE-1042", issue_date="2026-08-31", due_date="2026-09-30",
        total_minor=320_000), now=FIXED_NOW)
    ids["LEE"] = d["id"]
    # the credit walk: a client bucket with a £1,000 limit and one account in it owing more
    from chalicelib.behaviour import credit
    from chalicelib.http.schemas import CreditPolicyIn

    credit.set_policy(admin, t.client_id, CreditPolicyIn.model_validate(
        {"segments": {"trade_counter": {"limit_minor": 100_000, "terms_days": 14}}}),
        now=FIXED_NOW)
    d = debtors.create_debtor(admin, t.client_id, DebtorIn(
        account_ref="MER", name="Mersey Mills", timezone="Europe/London", country="GB",
        segment="trade_counter"), now=FIXED_NOW)
    invoices.create_invoice(admin, t.client_id, d["id"], InvoiceIn(
        number="MER-7", issue_date="2026-10-15", due_date="2026-11-14",
        total_minor=150_000), now=FIXED_NOW)
    ids["MER"] = d["id"]
    port = free_port()
    server = create_local_server(__import__("app").app, Config(chalice_stage="local"),
                                 "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY " + json.dumps({"base": f"http://127.0.0.1:{port}", "specialist": t.specialist,
                      "viewer": t.viewer,
                      "other_agency": make_tenant("agX").admin, "client_id": t.client_id,
                      "debtors": ids}), flush=True)
    sys.stdin.read()  # the fixture closes stdin when the session ends
    server.shutdown()
    aws.stop()


if __name__ == "__main__":
    main()
