"""The local outbox page: emails and SMS the local stack "sent" (what moto's SES and SNS
accepted). Exists only on the local stage; everywhere else it is a 404."""
from __future__ import annotations

import html

from chalice import Blueprint, Response

from chalicelib.http.edge import endpoint
from chalicelib.kernel.naming import is_local_stage
from chalicelib.kernel.settings import get_settings

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
    rows = []
    for m in items:
        body = m.get("text", "")
        rows.append(
            f"<tr><td>{html.escape(m['channel'])}</td><td>{html.escape(m.get('to', ''))}</td>"
            f"<td>{html.escape(m.get('subject', ''))}</td>"
            f"<td><pre>{html.escape(body)}</pre></td>"
            f"<td>{html.escape(', '.join(m.get('attachments') or []))}</td></tr>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>Recoup outbox</title>"
            "<style>body{font-family:sans-serif}td{vertical-align:top;border-top:1px solid #ccc;"
            "padding:6px}pre{white-space:pre-wrap;max-width:700px;margin:0}</style></head><body>"
            f"<h1>Outbox (local stack)</h1><p>{len(items)} messages, newest first. "
            "<a href='/outbox.json'>JSON</a></p><table><tr><th>channel</th><th>to</th>"
            "<th>subject</th><th>text</th><th>attachments</th></tr>"
            + "".join(rows) + "</table></body></html>")
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html"})
