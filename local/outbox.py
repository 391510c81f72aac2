"""The local outbox: what moto's SES and SNS accepted, for people watching the local stack
(and tests). Only for the local and test stages; moto is never imported elsewhere."""
from __future__ import annotations

import email
from email import policy

from chalicelib.kernel.settings import get_settings

_ACCOUNT = "123456789012"


def _backend(service: str):
    from chalicelib.kernel.naming import is_local_stage

    if not is_local_stage(get_settings().stage):
        raise RuntimeError("the outbox exists only on the local stack")
    from moto.backends import get_backend

    return get_backend(service)[_ACCOUNT][get_settings().region]


def _parts(raw: str | bytes) -> dict:
    msg = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(),
                                   policy=policy.default)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    attachments = [p.get_filename() for p in msg.iter_attachments()]
    return {"subject": str(msg["Subject"] or ""), "from": str(msg["From"] or ""),
            "to": str(msg["To"] or ""), "reply_to": str(msg["Reply-To"] or ""),
            "text": text.get_content() if text else "", "html": html.get_content() if html else "",
            "attachments": attachments, "headers": {k: str(v) for k, v in msg.items()},
            "attachment_data": {p.get_filename(): p.get_content()
                                for p in msg.iter_attachments()}}


def emails() -> list[dict]:
    out = []
    for m in _backend("ses").sent_messages:
        raw = getattr(m, "raw_data", None)
        if raw is None:
            continue
        out.append({"message_id": m.id, "channel": "email", **_parts(raw)})
    return out


def sms() -> list[dict]:
    return [{"message_id": mid, "channel": "sms", "to": phone, "text": text}
            for mid, (phone, text) in _backend("sns").sms_messages.items()]
