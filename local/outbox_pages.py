"""The local outbox page: emails and SMS the local stack "sent" (what moto's SES and SNS
accepted), each email with a "Reply as debtor" form that sends the reply the way SES
receiving would (local/outbox.reply_as_debtor). Exists only on the local stage; everywhere
else it is a 404."""
from __future__ import annotations

from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.http import pages as edge
from chalicelib.http.edge import endpoint
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import Forbidden
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
    q = outbox_query()
    debtor_path = q.get("debtor", "")
    return templating.page("outbox.html", items=items, csrf=_csrf, msg=q.get("msg"),
                           debtor_path=debtor_path if debtor_path.startswith("/w/clients/")
                           else None)


def outbox_query() -> dict:
    return dict(bp.current_request.query_params or {})


def _csrf(message_id: str) -> str:
    """The reply form's token: bound to the message, keyed with the stack's link secret."""
    return edge.csrf_token(get_settings().link_secret, "outbox-reply", message_id)


@endpoint(bp, "/outbox/reply", "POST", summary="Local stack only: reply to a sent email as "
          "its debtor (the outbox page's form; received as SES receiving would)",
          content_types=edge.FORM, status=303, produces=("text/html",))
def reply_as_debtor():
    if not is_local_stage(get_settings().stage):
        return _not_found()
    from local import outbox

    form = edge.form(bp.current_request)
    message_id = form.get("message_id", "")
    if not edge.csrf_ok(form.get("csrf"), _csrf(message_id)):
        raise Forbidden("the form expired; reload the outbox")
    text = (form.get("text") or "").strip()
    if not text:
        return edge.redirect("/outbox?" + urlencode({"msg": "Write the debtor's reply first."}))
    landed = outbox.reply_as_debtor(message_id, text[:4000], utcnow())
    if "ignored" in landed:
        return edge.redirect("/outbox?" + urlencode({"msg": f"Not received: {landed['ignored']}"}))
    label = str(landed.get("label", "")).replace("_", " ")
    path = f"/w/clients/{landed['client_id']}/debtors/{landed['debtor_id']}"
    return edge.redirect("/outbox?" + urlencode({
        "msg": f"Reply received and read as {label}" + (
            "; chasing waits for a specialist." if landed.get("paused") else "."),
        "debtor": path}))
