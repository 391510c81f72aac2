"""Behaviour API: how a debtor pays and when its open invoices are expected to be paid."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.behaviour import profiles
from chalicelib.book.debtors import load_debtor
from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import endpoint
from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)
D = "/v1/clients/{client_id}/debtors/{debtor_id}"


@endpoint(bp, D + "/behaviour", summary="How the debtor pays: profile in words and numbers, "
          "its behaviour segment and why, each open invoice's predicted pay date and risk of "
          "lateness with the facts that moved it", authorizer=bearer)
def debtor_behaviour(p, client_id, debtor_id):
    _, debtor = load_debtor(p, client_id, debtor_id)
    return profiles.view(debtor, utcnow())
