"""The local outbox page: emails and SMS the local stack "sent" (what moto's SES and SNS
accepted). Exists only on the local stage; everywhere else it is a 404."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.http.edge import endpoint
from chalicelib.kernel.naming import is_local_stage
from chalicelib.kernel.settings import get_settings
from local import templating

bp = Blueprint(__name__)


def _messages() -> list[dict] | None:
    if not is_local_stage(get_settings().stage):
        return None
    from local import outbox

    items = [{k: v for k, v in m.items() if k != "attachment_data"} for m in outbox.emails()]
    return list(reversed(items + outbox.sms()))


def _not_found() -> Response:
    return Response(body={"error": {"code": "not_found", "message": "not found"}},
                    status_code=404, headers={"Content-Type": "application/json"})


@endpoint(bp, "/outbox.json", summary="Local stack only: messages the dunning workers sent")
def outbox_json():
    items = _messages()
    return _not_found() if items is None else {"items": items, "count": len(items)}


@endpoint(bp, "/outbox", summary="Local stack only: the outbox as an HTML page",
          produces=("text/html",))
def outbox_page():
    items = _messages()
    if items is None:
        return _not_found()
    return templating.page("outbox.html", items=items)
