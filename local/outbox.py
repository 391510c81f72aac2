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


def reply_as_debtor(message_id: str, text: str, now) -> dict:
    """Reply to a sent email as its recipient would: the reply goes the way SES receiving
    sends it (the MIME stored at inbound/<id> in the inbound bucket, then the ses_inbound
    handler's own code, dunning/inbound_email.ses_event), so it lands through the one
    receive use case. Returns what landed, with the account it reached (or why not)."""
    import os
    import secrets
    from email.message import EmailMessage

    from chalicelib.dunning import inbound_email, reply_address
    from chalicelib.kernel import adapters

    sent = next((m for m in emails() if m["message_id"] == message_id), None)
    if sent is None:
        return {"ignored": "no such sent email"}
    to = sent["reply_to"] or sent["from"]
    ids = reply_address.resolve(to)
    if ids is None:
        return {"ignored": f"{to} is not a reply address of ours: set the client's "
                           "settings.reply_domain to receive replies"}
    msg = EmailMessage()
    msg["From"], msg["To"] = sent["to"], to
    msg["Subject"] = "Re: " + sent["subject"]
    msg["In-Reply-To"] = f"<{message_id}>"
    quoted = "\n".join("> " + line for line in (sent["text"] or "").splitlines())
    msg.set_content(f"{text}\n\nOn {now:%a %d %b %Y}, {sent['from']} wrote:\n{quoted}\n")
    inbound_id = f"local-{secrets.token_hex(8)}"
    bucket = os.environ["RECOUP_INBOUND_BUCKET"]
    adapters.aws("s3").put_object(Bucket=bucket, Key=f"{inbound_email.INBOUND_PREFIX}{inbound_id}",
                                  Body=msg.as_bytes())
    event = {"Records": [{"eventSource": "aws:ses", "ses": {
        "mail": {"messageId": inbound_id, "destination": [to]},
        "receipt": {"recipients": [to], "action": {"type": "Lambda"}}}}]}
    [landed] = inbound_email.ses_event(event, now)
    agency_id, client_id, debtor_id = ids
    return {**landed, "client_id": client_id, "debtor_id": debtor_id}
