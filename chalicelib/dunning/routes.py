"""Chasing API (JSON): the dry run of a client's chasing and its activation; a specialist's
preview and send of a reminder or statement now."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.agency import clients
from chalicelib.dunning import manual
from chalicelib.dunning import preview as dry_run
from chalicelib.dunning import sender
from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import endpoint
from chalicelib.http.schemas import ChasingIn, PreviewIn, SendIn
from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)
C = "/v1/clients/{client_id}"
D = C + "/debtors/{debtor_id}"


@endpoint(bp, C + "/preview", "POST", body=PreviewIn, authorizer=bearer,
          summary="Dry run: every message the next days of chasing would send, rendered, "
                  "with counts per day and step (optionally for a proposed cadence)")
def preview(p, data, client_id):
    return dry_run.for_principal(p, client_id, data, now=utcnow())


@endpoint(bp, C + "/chasing", "POST", body=ChasingIn, authorizer=bearer,
          summary="Activate a client's chasing, or put it back in preview (admin)")
def chasing(p, data, client_id):
    return clients.set_chasing(p, client_id, data.mode, now=utcnow())


@endpoint(bp, C + "/sender/check", "POST", authorizer=bearer,
          summary="Ask SES about the client's sender now (requesting verification if it "
                  "never was); email steps are held until it is verified (admin)")
def check_sender(p, client_id):
    return sender.for_principal(p, client_id, now=utcnow())


@endpoint(bp, D + "/sends/preview", "POST",
          summary="Render a reminder or statement as it would be sent now, and say whether it "
                  "may be (opt-outs, contact window); nothing is sent",
          body=SendIn, authorizer=bearer)
def preview_send(p, data, client_id, debtor_id):
    return manual.preview(p, client_id, debtor_id, data, now=utcnow())


@endpoint(bp, D + "/sends", "POST",
          summary="Send a reminder or statement now (once per idempotency_key); 409 naming "
                  "why when opted out or outside the contact window without an allowed override",
          body=SendIn, authorizer=bearer)
def send(p, data, client_id, debtor_id):
    return manual.send(p, client_id, debtor_id, data, now=utcnow())
