"""The handover playbook as pages: for agency staff at /w/clients/{id}/playbook and for the
client's viewer at /portal/clients/{id}/playbook, each as printable HTML and as a PDF
(`….pdf`). One use case (`reporting.playbook`) serves both; the surfaces differ only in who
may ask (the workspace's staff check, the portal's tenancy)."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.http import pages as edge
from chalicelib.kernel import templating
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import Forbidden, RecoupError, Unauthorised
from chalicelib.reporting import playbook, portal_pages
from chalicelib.workbench import pages as workspace

bp = Blueprint(__name__)
W = "/w/clients/{client_id}/playbook"
PORTAL = portal_pages.P + "/playbook"


def _html(book: dict, *, home: str, pdf_href: str, csrf: str = "") -> Response:
    nonce = edge.new_nonce()
    body = templating.render("playbook/playbook.html", nonce=nonce, book=book, home=home,
                             pdf_href=pdf_href, csrf=csrf)
    return edge.html(body, 200, nonce)


def _pdf(book: dict) -> Response:
    headers = edge.headers("pdf", content_type="application/pdf")
    name = re.sub(r"[^A-Za-z0-9]+", "-", book["client"]["brand_name"]).strip("-").lower()
    headers["Content-Disposition"] = f'attachment; filename="{name or "client"}-playbook.pdf"'
    # kernel.pdf writes 7-bit ASCII: a text body, so no binary media type is needed (API
    # Gateway and Chalice would otherwise refuse a browser whose Accept names none).
    return Response(body=playbook.pdf_bytes(book).decode("ascii"), status_code=200,
                    headers=headers)


# ---------------------------------------------------------------------- agency staff (/w)


def staff_page(view: Callable) -> Callable:
    """The workspace's sign-in (header or its session cookie), staff only; errors are the
    workspace's error page."""
    @functools.wraps(view)
    def handler(**params: Any) -> Any:
        req = bp.current_request
        try:
            c = edge.caller(req, workspace.COOKIE, utcnow(), surface=workspace.SURFACE)
        except Unauthorised:
            back = edge.safe_next(workspace.SIGN_IN, edge.request_path(req))
            return edge.redirect("/w/login" + (f"?{urlencode({'next': back})}" if back else ""))
        csrf = edge.session_csrf(c, workspace.SURFACE) if c.session else ""

        def run():
            if c.principal.role == "client_viewer":
                raise Forbidden("the workspace is for agency staff")
            return view(c.principal, csrf, **params)

        def error(err: RecoupError) -> Response:
            nonce = edge.new_nonce()
            resp = edge.html(templating.render("workspace/error.html", nonce=nonce,
                                               p=c.principal, error=err, csrf=csrf),
                             err.status, nonce)
            resp.headers.update(edge.error_extra(err))
            return resp
        return edge.run(run, error)
    return handler


@bp.route(W, methods=["GET"])
@staff_page
def agency_playbook(p, csrf, client_id):
    book = playbook.for_agency(p, client_id, now=utcnow())
    return _html(book, home="/w/clients", pdf_href=f"/w/clients/{client_id}/playbook.pdf",
                 csrf=csrf)


@bp.route(W + ".pdf", methods=["GET"])
@staff_page
def agency_playbook_pdf(p, csrf, client_id):
    return _pdf(playbook.for_agency(p, client_id, now=utcnow()))


# ------------------------------------------------------------------ the client's viewer


@portal_pages.page(PORTAL, on=bp)
def portal_playbook(pg: portal_pages.PortalPage, client_id: str):
    book = playbook.for_viewer(pg.p, client_id, now=utcnow())
    return _html(book, home=f"/portal/clients/{client_id}",
                 pdf_href=f"/portal/clients/{client_id}/playbook.pdf", csrf=pg.csrf)


@portal_pages.page(PORTAL + ".pdf", on=bp)
def portal_playbook_pdf(pg: portal_pages.PortalPage, client_id: str):
    return _pdf(playbook.for_viewer(pg.p, client_id, now=utcnow()))
