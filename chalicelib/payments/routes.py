"""Agency API for money: payments received outside Stripe, payment plans, charges, links."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow
from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import endpoint
from chalicelib.http.schemas import PaymentIn, PlanIn, WaiverIn
from chalicelib.payments import charges, ledger as payments, links, plans
from chalicelib.http.access import require_staff
from chalicelib.book.debtors import load_debtor

bp = Blueprint(__name__)
D = "/v1/clients/{client_id}/debtors/{debtor_id}"


@endpoint(bp, D + "/payments", "POST", summary="Record a payment received outside Stripe",
          body=PaymentIn, status=201, authorizer=bearer)
def record_payment(p, data, client_id, debtor_id):
    return payments.record_received(p, client_id, debtor_id, data, now=utcnow())


@endpoint(bp, D + "/payments", summary="A debtor's payments, refunds, chargebacks and charges",
          authorizer=bearer)
def list_payments(p, client_id, debtor_id):
    load_debtor(p, client_id, debtor_id)
    return {"items": payments.list_payments(p.agency_id, client_id, debtor_id),
            "next_cursor": None}


@endpoint(bp, D + "/plans", "POST", summary="Set up a payment plan (specialist)", body=PlanIn,
          status=201, authorizer=bearer)
def create_plan(p, data, client_id, debtor_id):
    require_staff(p)
    client, debtor = load_debtor(p, client_id, debtor_id)
    out = plans.create_plan(p.agency_id, client, debtor, instalments=data.instalments,
                            first_due=data.first_due, interval=data.interval,
                            source="specialist", actor=p.user_id, now=utcnow(),
                            total_minor=data.total_minor)
    if data.grace_days:
        out = plans.set_grace(p.agency_id, client_id, debtor_id, out["id"], data.grace_days)
    return out


@endpoint(bp, D + "/plans", summary="A debtor's payment plans", authorizer=bearer)
def list_plans(p, client_id, debtor_id):
    load_debtor(p, client_id, debtor_id)
    return {"items": plans.list_plans(p.agency_id, client_id, debtor_id), "next_cursor": None}


@endpoint(bp, D + "/plans/{plan_id}/approve", "POST",
          summary="Approve a plan a debtor proposed", authorizer=bearer)
def approve_plan(p, client_id, debtor_id, plan_id):
    require_staff(p)
    _, debtor = load_debtor(p, client_id, debtor_id)
    return plans.approve_plan(p.agency_id, client_id, debtor, plan_id, actor=p.user_id,
                              now=utcnow())


@endpoint(bp, D + "/plans/{plan_id}/decline", "POST",
          summary="Decline a plan a debtor proposed (chasing goes on)", authorizer=bearer)
def decline_plan(p, client_id, debtor_id, plan_id):
    require_staff(p)
    _, debtor = load_debtor(p, client_id, debtor_id)
    return plans.decline_plan(p.agency_id, client_id, debtor, plan_id, actor=p.user_id,
                              now=utcnow())


@endpoint(bp, D + "/charges", summary="Late charges on a debtor's invoices", authorizer=bearer)
def list_charges(p, client_id, debtor_id):
    load_debtor(p, client_id, debtor_id)
    return {"items": charges.list_charges(p.agency_id, client_id, debtor_id),
            "next_cursor": None}


@endpoint(bp, D + "/charges/{charge_id}/waive", "POST", summary="Waive a charge",
          body=WaiverIn, authorizer=bearer)
def waive_charge(p, data, client_id, debtor_id, charge_id):
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    return charges.waive(p.agency_id, client_id, debtor_id, charge_id, reason=data.reason,
                         actor=p.user_id, now=utcnow())


@endpoint(bp, D + "/link", "POST", summary="A fresh signed payment-page link for the debtor",
          status=201, authorizer=bearer)
def new_link(p, client_id, debtor_id):
    return {"url": links.issue(p, client_id, debtor_id, utcnow())}


@endpoint(bp, D + "/link/revoke-all", "POST",
          summary="Revoke every link sent to the debtor so far", authorizer=bearer)
def revoke_links(p, client_id, debtor_id):
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    links.revoke_all(p.agency_id, client_id, debtor_id, utcnow())
    return {"revoked": True}
