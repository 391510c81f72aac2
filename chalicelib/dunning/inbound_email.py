"""SES receiving: a receipt rule stores the raw MIME message in S3 and invokes this handler
(`dunning/jobs.ses_inbound`). Parse it with the stdlib, find the debtor from the
`reply+<token>@…` recipient, keep attachments (remittance advice) in S3 and land the reply
through `dunning/replies.receive` (once per SES message id)."""
from __future__ import annotations

import os
import re
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from chalicelib.dunning import replies, reply_address
from chalicelib.kernel import adapters

INBOUND_PREFIX = "inbound/"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    return text


def recipient_ids(msg: EmailMessage, recipients: list[str]) -> tuple[str, str, str] | None:
    headers = [msg.get_all(h) or [] for h in ("To", "Cc", "Delivered-To", "X-Original-To")]
    candidates = list(recipients) + [a for _, a in getaddresses([v for h in headers for v in h])]
    for address in candidates:
        ids = reply_address.resolve(address)
        if ids is not None:
            return ids
    return None


def receive_stored(bucket: str, key: str, message_id: str, recipients: list[str],
                   now: datetime) -> dict:
    s3 = adapters.aws("s3")
    raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    msg = parse(raw)
    ids = recipient_ids(msg, recipients)
    if ids is None:
        return {"ignored": "no reply address of ours"}
    kept = []
    for i, part in enumerate(msg.iter_attachments()):
        name = _SAFE.sub("_", part.get_filename() or f"attachment-{i}")[:100]
        akey = f"attachments/{ids[0]}/{message_id}/{i}-{name}"
        s3.put_object(Bucket=bucket, Key=akey, Body=part.get_payload(decode=True) or b"",
                      ContentType=part.get_content_type())
        kept.append({"filename": name, "content_type": part.get_content_type(),
                     "s3_key": akey, "bucket": bucket})
    return replies.receive(ids, channel="email", message_id=message_id,
                           sender=str(msg.get("From", "")), subject=str(msg.get("Subject", "")),
                           body=text_of(msg), now=now, attachments=kept)


def ses_event(event: dict, now: datetime) -> list[dict]:
    """The Lambda event of a receipt rule whose S3 action (before this Lambda action) stored
    the message at `inbound/<SES message id>` in RECOUP_INBOUND_BUCKET (no bucket: an error,
    never a silent drop)."""
    bucket = os.environ.get("RECOUP_INBOUND_BUCKET")
    if not bucket:
        raise RuntimeError("RECOUP_INBOUND_BUCKET is not configured")
    out = []
    for record in event.get("Records", []):
        ses = record["ses"]
        mail = ses["mail"]
        if (ses["receipt"].get("virusVerdict") or {}).get("status") == "FAIL":
            # the receipt rule scans (ScanEnabled): an infected message is not kept or read
            out.append({"ignored": "virus verdict FAIL", "message_id": mail["messageId"]})
            continue
        out.append(receive_stored(bucket, f"{INBOUND_PREFIX}{mail['messageId']}",
                                  mail["messageId"], ses["receipt"].get("recipients", []), now))
    return out
