"""Workspace page: the outcomes lab's "what if" on a client's own book (current cadence vs
a proposed one, with the e-mail baseline and no reminders), before an agency chooses.
The page calls the same use case as POST /v1/clients/{c}/what-if."""
from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.agency import clients as agency_clients
from chalicelib.http.edge import validate
from chalicelib.http.schemas import WhatIfIn
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.workbench import pages as ws
from chalicelib.workbench import what_if as lab

bp = Blueprint(__name__)


def _what_if_page(c, client_id: str, form: dict, now):
    client = agency_clients.get_client(c.principal, client_id)
    data: dict = {"samples": form.get("samples") or 20}
    errors, status, result = [], 200, None
    try:
        if (form.get("cadence") or "").strip():
            try:
                data["cadence"] = json.loads(form["cadence"])
            except ValueError as exc:
                raise ValidationFailed.one("cadence", f"is not JSON: {exc}") from None
        result = lab.for_principal(c.principal, client_id, validate(WhatIfIn, data),
                                   now=now)
    except ValidationFailed as err:
        errors, status = err.fields, 422
    return ws._html("what_if.html", status, **ws._ctx(c, client=client, result=result,
                                                      form=form, errors=errors))


@bp.route("/w/clients/{client_id}/what-if", methods=["GET"])
@ws.page
def what_if_page(c, client_id):
    return _what_if_page(c, client_id, dict(bp.current_request.query_params or {}), utcnow())


@bp.route("/w/clients/{client_id}/what-if", methods=["POST"], content_types=ws.FORM)
@ws.page
def what_if_proposed(c, client_id):
    """Try a proposed cadence (POSTed: a cadence is too long for a URL)."""
    return _what_if_page(c, client_id, ws._form(c), utcnow())
