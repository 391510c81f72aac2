"""Workbench API: the call queue, outcomes, promises, disputes, debtors' replies,
escalations (the timers are in jobs.py)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import NotFound
from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import endpoint, query_params
from chalicelib.http.schemas import (
    CallScriptIn,
    CasePatch,
    DisputeIn,
    DisputePatch,
    EscalationDecisionIn,
    EscalationProposeIn,
    OutcomeIn,
    ReplyConfirmIn,
    TaskIn,
    WhatIfIn,
)
from chalicelib.workbench import call_scripts, disputes, escalations, outcomes, promises, tasks
from chalicelib.workbench import reply_proposals
from chalicelib.workbench import what_if as lab
from chalicelib.http.access import require_admin, require_staff
from chalicelib.book.debtors import load_debtor
from chalicelib.store.paging import parse_limit

bp = Blueprint(__name__)
C = "/v1/clients/{client_id}"
D = C + "/debtors/{debtor_id}"
T = C + "/tasks/{task_id}"


@endpoint(bp, C + "/what-if", "POST", body=WhatIfIn, authorizer=bearer,
          summary="What if: the client's current cadence vs a proposed one on its own book, "
                  "simulated through the planner (DSO, collected in 30/60/90 days, touches)")
def what_if(p, data, client_id):
    return lab.for_principal(p, client_id, data, now=utcnow())
E = C + "/escalations/{escalation_id}"


@endpoint(bp, "/v1/tasks", summary="My call queue across the clients I work, best first",
          query={"limit": "1-200 (default 50)"}, authorizer=bearer)
def my_queue(p):
    return tasks.list_queue(p, limit=parse_limit(query_params(bp).get("limit")), now=utcnow())


@endpoint(bp, "/v1/tasks/next", "POST", summary="Claim the best task callable now (any client)",
          also={204: "nothing is callable now"}, authorizer=bearer)
def take_next_any(p):
    return _next(tasks.take_next(p, now=utcnow()))


def _next(task: dict | None):
    if task is None:
        return Response(body="", status_code=204)
    return task


@endpoint(bp, C + "/tasks", summary="A client's call queue, best first",
          query={"limit": "1-200 (default 50)"}, authorizer=bearer)
def client_queue(p, client_id):
    return tasks.list_queue(p, client_id, limit=parse_limit(query_params(bp).get("limit")), now=utcnow())


@endpoint(bp, C + "/tasks/next", "POST", summary="Claim the client's best task callable now",
          also={204: "nothing is callable now"}, authorizer=bearer)
def take_next(p, client_id):
    return _next(tasks.take_next(p, client_id, now=utcnow()))


@endpoint(bp, T, summary="A call task with why it ranks where it does and its call script",
          authorizer=bearer)
def get_task(p, client_id, task_id):
    return call_scripts.get_task(p, client_id, task_id, now=utcnow())


@endpoint(bp, C + "/call-scripts", summary="The client's call scripts, one per call situation",
          authorizer=bearer)
def list_call_scripts(p, client_id):
    return call_scripts.list_scripts(p, client_id)


@endpoint(bp, C + "/call-scripts/{situation}",
          summary="A call script: the live one and every version, newest first",
          authorizer=bearer)
def get_call_script(p, client_id, situation):
    return call_scripts.get_script(p, client_id, situation)


@endpoint(bp, C + "/call-scripts/{situation}", "PUT",
          summary="Save a new version of a call script (admin); a broken template is refused",
          body=CallScriptIn, authorizer=bearer)
def save_call_script(p, data, client_id, situation):
    return call_scripts.save_script(p, client_id, situation, data, now=utcnow())


@endpoint(bp, T + "/outcome", "POST", summary="Log a call's outcome", body=OutcomeIn,
          authorizer=bearer)
def log_outcome(p, data, client_id, task_id):
    return outcomes.log_outcome(p, client_id, task_id, data, now=utcnow())


@endpoint(bp, T + "/release", "POST", summary="Give a claimed task back to the queue",
          authorizer=bearer)
def release(p, client_id, task_id):
    return tasks.release(p, client_id, task_id, now=utcnow())


@endpoint(bp, D + "/tasks", "POST", summary="Raise a call task for a debtor by hand",
          body=TaskIn, status=201, authorizer=bearer)
def raise_task(p, data, client_id, debtor_id):
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    slot = tasks.raise_task(p.agency_id, client_id, debtor_id, data.reason, due_at=data.due_at,
                            source=p.user_id, now=(now := utcnow()))
    if slot is None:
        raise NotFound("open account")
    return tasks.render(slot, now)


@endpoint(bp, D + "/promises", summary="A debtor's promises to pay", authorizer=bearer)
def list_promises(p, client_id, debtor_id):
    load_debtor(p, client_id, debtor_id)
    return {"items": promises.list_promises(p.agency_id, client_id, debtor_id),
            "next_cursor": None}


@endpoint(bp, D + "/replies/waiting",
          summary="The debtor's reply chasing waits on, with what confirming it would do",
          also={204: "no reply waits"}, authorizer=bearer)
def waiting_reply(p, client_id, debtor_id):
    found = reply_proposals.pending(p, client_id, debtor_id)
    return Response(body="", status_code=204) if found is None else found


@endpoint(bp, D + "/replies/{reply_id}/confirm", "POST",
          summary="Confirm a reply's proposal: make the promise or open the dispute; handled",
          body=ReplyConfirmIn, authorizer=bearer)
def confirm_reply(p, data, client_id, debtor_id, reply_id):
    return reply_proposals.confirm(p, client_id, debtor_id, reply_id, data, now=utcnow())


@endpoint(bp, D + "/replies/{reply_id}/handled", "POST",
          summary="Mark the debtor's reply handled: chasing resumes", authorizer=bearer)
def reply_handled(p, client_id, debtor_id, reply_id):
    return reply_proposals.mark_handled(p, client_id, debtor_id, reply_id, now=utcnow())


@endpoint(bp, D + "/disputes", summary="A debtor's disputes", authorizer=bearer)
def list_disputes(p, client_id, debtor_id):
    return disputes.list_disputes(p, client_id, debtor_id)


@endpoint(bp, D + "/disputes", "POST", summary="Open a dispute on an invoice", body=DisputeIn,
          status=201, authorizer=bearer)
def open_dispute(p, data, client_id, debtor_id):
    require_staff(p)
    load_debtor(p, client_id, debtor_id)
    return disputes.open_dispute(p.agency_id, client_id, debtor_id, data.invoice_id,
                                 data.reason, owner=p.user_id, detail=data.detail, now=utcnow())


@endpoint(bp, D + "/disputes/{dispute_id}", "PATCH",
          summary="Reassign or resolve a dispute (for the debtor: credit note)",
          body=DisputePatch, authorizer=bearer)
def patch_dispute(p, data, client_id, debtor_id, dispute_id):
    return disputes.update_dispute(p, client_id, debtor_id, dispute_id, data, now=utcnow())


@endpoint(bp, C + "/escalations", summary="Accounts proposed for or sent to collections",
          query={"status": "proposed|approved|declined"}, authorizer=bearer)
def list_escalations(p, client_id):
    return escalations.list_escalations(p, client_id, query_params(bp).get("status"))


@endpoint(bp, D + "/escalation", "POST",
          summary="Propose the account for collections (the client decides in its portal)",
          body=EscalationProposeIn, status=201, authorizer=bearer)
def propose_escalation(p, data, client_id, debtor_id):
    return escalations.propose_by_staff(p, client_id, debtor_id, data.reason, now=utcnow())


@endpoint(bp, C + "/escalations/evaluate", "POST",
          summary="Apply the client's escalation rules now (admin)", authorizer=bearer)
def evaluate(p, client_id):
    require_admin(p)
    escalations.load_client(p, client_id)
    return {"items": escalations.evaluate_client(p.agency_id, client_id, now=utcnow()), "next_cursor": None}


@endpoint(bp, E, summary="An escalation with its letter and case", authorizer=bearer)
def get_escalation(p, client_id, escalation_id):
    return escalations.get_escalation(p, client_id, escalation_id)


@endpoint(bp, E + "/decision", "POST", summary="Approve or decline on the client's behalf (admin)",
          body=EscalationDecisionIn, authorizer=bearer)
def decide(p, data, client_id, escalation_id):
    return escalations.decide_as_admin(p, client_id, escalation_id, data, now=utcnow())


@endpoint(bp, E + "/case", "PATCH", summary="Record a collections case's progress (admin)",
          body=CasePatch, authorizer=bearer)
def patch_case(p, data, client_id, escalation_id):
    return escalations.update_case(p, client_id, escalation_id, data, now=utcnow())


@endpoint(bp, E + "/export", summary="The case file as CSV or JSON",
          query={"format": "csv (default) or json"}, produces=("text/csv", "application/json"),
          authorizer=bearer)
def export_case(p, client_id, escalation_id):
    fmt = query_params(bp).get("format", "csv")
    body, ctype = escalations.export(p, client_id, escalation_id, fmt)
    return Response(body=body, status_code=200, headers={
        "Content-Type": ctype,
        "Content-Disposition": f'attachment; filename="case-{escalation_id}.{fmt}"'})


@endpoint(bp, "/v1/portal/escalations", summary="Escalations awaiting your decision (client viewer)",
          authorizer=bearer)
def portal_escalations(p):
    return escalations.portal_list(p)


@endpoint(bp, "/v1/portal/escalations/{escalation_id}/decision", "POST",
          summary="Approve or decline sending an account to collections (client viewer)",
          body=EscalationDecisionIn, authorizer=bearer)
def portal_decide(p, data, escalation_id):
    return escalations.decide_as_client(p, escalation_id, data, now=utcnow())

