"""The cash forecast as pages: for the client's viewer at /portal/clients/{id}/forecast and
for agency staff at /w/clients/{id}/forecast, each with its CSV (`….csv`). One use case
(`reporting.forecast`, shown by `client_portal.forecast`) serves both; the surfaces differ
only in who may ask (the portal's tenancy, the workspace's staff check)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.http import pages as edge
from chalicelib.kernel import templating
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.exports import to_csv
from chalicelib.reporting import client_portal, forecast, portal_pages
from chalicelib.reporting.playbook_pages import staff_page

bp = Blueprint(__name__)
W = "/w/clients/{client_id}/forecast"
PORTAL = portal_pages.P + "/forecast"


def _csv(data: dict) -> Response:
    header, rows = forecast.csv_rows(data)
    headers = edge.headers("csv", content_type="text/csv; charset=utf-8")
    headers["Content-Disposition"] = 'attachment; filename="cash-forecast.csv"'
    return Response(body=to_csv(header, rows), status_code=200, headers=headers)


# ------------------------------------------------------------------ the client's viewer


@portal_pages.page(PORTAL, on=bp)
def portal_forecast(pg: portal_pages.PortalPage, client_id: str):
    """Expected receipts per week for 13 weeks, and past weeks against what came in."""
    return pg.html("forecast.html", **client_portal.forecast(
        pg.p, client_id, now=utcnow(), csv_href=f"/portal/clients/{client_id}/forecast.csv"))


@portal_pages.page(PORTAL + ".csv", on=bp)
def portal_forecast_csv(pg: portal_pages.PortalPage, client_id: str):
    """The same forecast as CSV (the API's `?format=csv`)."""
    return _csv(forecast.for_principal(pg.p, client_id, utcnow()))


# ---------------------------------------------------------------------- agency staff (/w)


@bp.route(W, methods=["GET"])
@staff_page
def agency_forecast(p, csrf, client_id):
    ctx = client_portal.forecast(p, client_id, now=utcnow(),
                                 csv_href=f"/w/clients/{client_id}/forecast.csv")
    nonce = edge.new_nonce()
    body = templating.render("client_portal/forecast.html", nonce=nonce, staff=True,
                             signed_in=False, csrf=csrf, **ctx)
    return edge.html(body, 200, nonce)


@bp.route(W + ".csv", methods=["GET"])
@staff_page
def agency_forecast_csv(p, csrf, client_id):
    return _csv(forecast.for_principal(p, client_id, utcnow()))
