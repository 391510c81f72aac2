"""Report API (JSON): a client's figures as of a day, and the agency overview."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.http.authorizer import bearer
from chalicelib.kernel.clock import utcnow
from chalicelib.http.edge import endpoint, query_params
from chalicelib.reporting import reports

bp = Blueprint(__name__)


@endpoint(bp, "/v1/clients/{client_id}/report",
          summary="A client's figures as of a day, with definitions and change since takeover",
          query={"as_of": "YYYY-MM-DD (default today)"}, authorizer=bearer)
def client_report(p, client_id):
    return reports.client_report(p, client_id, query_params(bp).get("as_of"),
                                  today=utcnow().date())


@endpoint(bp, "/v1/overview", summary="All clients side by side; each specialist's workload",
          authorizer=bearer)
def overview(p):
    return reports.overview(p)
