"""Report API (JSON): a client's figures as of a day, and the agency overview."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.http.authorizer import bearer
from chalicelib.kernel.clock import utcnow
from chalicelib.http.edge import endpoint, query_params
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.kernel.exports import to_csv
from chalicelib.reporting import forecast, reports

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


@endpoint(bp, "/v1/clients/{client_id}/forecast",
          summary="A client's cash forecast: expected receipts per week for 13 weeks (predicted, "
                  "promised, plan), later, and past weeks' forecast against what was collected",
          query={"format": "json (default) or csv"}, produces=("application/json", "text/csv"),
          authorizer=bearer)
def client_forecast(p, client_id):
    fmt = query_params(bp).get("format", "json")
    if fmt not in ("json", "csv"):
        raise ValidationFailed.one("format", "must be json or csv")
    data = forecast.for_principal(p, client_id, utcnow())
    if fmt == "json":
        return data
    return Response(body=to_csv(*forecast.csv_rows(data)), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="forecast-{client_id}.csv"'})
