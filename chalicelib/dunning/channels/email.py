"""Email through SES SendRawEmail: HTML + text alternatives and optional attachments."""
from __future__ import annotations

from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from botocore.exceptions import ClientError

from chalicelib.kernel import adapters as wiring
from chalicelib.dunning.channels import Message, Sent

# SES refuses these for good; anything else (throttling, 5xx) is worth a retry.
_PERMANENT = {"MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException",
              "ConfigurationSetDoesNotExistException", "AccountSendingPausedException"}


def ascii_address(address: str) -> str:
    """SES wants internationalised domains in punycode (cafés.example -> xn--cafs-dpa.example)."""
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}" if local else address
    except UnicodeError:
        return address


def mime(message: Message) -> bytes:
    root = MIMEMultipart("mixed")
    root["Subject"] = message.subject
    root["From"] = message.sender
    root["To"] = ascii_address(message.to)
    if message.reply_to:
        root["Reply-To"] = message.reply_to
    for name, value in message.headers.items():
        root[name] = value
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(message.text, "plain", "utf-8"))
    if message.html:
        body.attach(MIMEText(message.html, "html", "utf-8"))
    root.attach(body)
    for att in message.attachments:
        part = MIMEApplication(att.data, _subtype=att.content_type.split("/", 1)[-1])
        part.add_header("Content-Disposition", "attachment", filename=att.filename)
        root.attach(part)
    return root.as_bytes()


class SesEmail:
    def send(self, message: Message) -> Sent:
        try:
            out = wiring.aws("ses").send_raw_email(
                Source=ascii_address(message.sender), Destinations=[ascii_address(message.to)],
                RawMessage={"Data": mime(message)})
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            text = str(exc.response.get("Error", {}).get("Message", "")).lower()
            sender = code == "MailFromDomainNotVerifiedException" or (
                code == "MessageRejected" and "not verified" in text)
            return Sent(False, error=f"{code}: {exc}", permanent=code in _PERMANENT,
                        sender_fault=sender)
        return Sent(True, message_id=out["MessageId"])
