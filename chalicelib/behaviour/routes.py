"""Behaviour API: how a debtor pays and when its open invoices are expected to be paid; the
client's credit policy, a debtor's credit, credit alerts and holds."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.behaviour import credit, profiles
from chalicelib.book.debtors import load_debtor
from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import endpoint
from chalicelib.http.schemas import CreditAlertIn, CreditHoldIn, CreditPolicyIn, CreditTermsIn
from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)
D = "/v1/clients/{client_id}/debtors/{debtor_id}"


@endpoint(bp, D + "/behaviour", summary="How the debtor pays: profile in words and numbers, "
          "its behaviour segment and why, each open invoice's predicted pay date and risk of "
          "lateness with the facts that moved it", authorizer=bearer)
def debtor_behaviour(p, client_id, debtor_id):
    _, debtor = load_debtor(p, client_id, debtor_id)
    return profiles.view(debtor, utcnow())


# --------------------------------------------------------------------------- credit policy
C = "/v1/clients/{client_id}"


@endpoint(bp, C + "/credit-policy", summary="The client's credit policy: default limit and "
          "terms, limits and terms per segment, and the risk band of each behaviour segment",
          authorizer=bearer)
def get_credit_policy(p, client_id):
    return credit.get_policy(p, client_id)


@endpoint(bp, C + "/credit-policy", "PUT", body=CreditPolicyIn, authorizer=bearer,
          summary="Replace the client's credit policy (admins); limits in minor units with "
          "their currency (the client's by default), terms in days")
def put_credit_policy(p, data, client_id):
    return credit.set_policy(p, client_id, data, now=utcnow())


@endpoint(bp, D + "/credit", summary="The debtor's credit: effective limit and terms and "
          "where they come from, exposure, headroom, risk band, credit hold, its alerts",
          authorizer=bearer)
def get_debtor_credit(p, client_id, debtor_id):
    return credit.get_debtor_credit(p, client_id, debtor_id, now=utcnow())


@endpoint(bp, D + "/credit", "PUT", body=CreditTermsIn, authorizer=bearer,
          summary="Set this debtor's own credit limit and terms (null fields inherit the "
          "segment's or the client's); the debtor is evaluated at once")
def put_debtor_credit(p, data, client_id, debtor_id):
    return credit.set_override(p, client_id, debtor_id, data, now=utcnow())


@endpoint(bp, D + "/credit/hold", "POST", body=CreditHoldIn, authorizer=bearer,
          summary="Record a credit hold on the debtor (the client stops supplying on "
          "credit) or release it")
def post_credit_hold(p, data, client_id, debtor_id):
    return credit.set_hold(p, client_id, debtor_id, data, now=utcnow())


@endpoint(bp, C + "/credit-alerts", summary="The client's open credit alerts (over limit, "
          "risk band worse), oldest first, with the recommendation", authorizer=bearer)
def get_credit_alerts(p, client_id):
    return credit.list_alerts(p, client_id)


@endpoint(bp, C + "/credit-alerts/{alert_id}", "POST", body=CreditAlertIn, authorizer=bearer,
          summary="Acknowledge a credit alert (it stays listed until resolved) or resolve it")
def post_credit_alert(p, data, client_id, alert_id):
    return credit.act_on_alert(p, client_id, alert_id, data, now=utcnow())
