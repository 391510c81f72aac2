"""Dunning API: a specialist previews and sends a reminder or a statement now."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.dunning import manual
from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import endpoint
from chalicelib.http.schemas import SendIn
from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)
D = "/v1/clients/{client_id}/debtors/{debtor_id}"


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
