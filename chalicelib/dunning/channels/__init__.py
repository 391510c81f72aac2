"""Outbound channels behind one small port: `send(message) -> Sent`.

Adapters: email (SES SendRawEmail), sms (SNS Publish). Call tasks and letters are not
sent by a provider; the dispatcher records them. Tests may swap an adapter with `use()`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Message:
    channel: str  # email | sms
    to: str
    text: str
    subject: str = ""
    html: str = ""
    sender: str = ""
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    ok: bool
    message_id: str | None = None
    error: str | None = None
    # True when retrying cannot help (number opted out, address rejected): the touch must
    # go elsewhere rather than wait.
    permanent: bool = False
    # True when the provider refused the client's sender identity (not verified): the
    # touch waits for the sender; the debtor's address is not at fault.
    sender_fault: bool = False


class Channel(Protocol):
    def send(self, message: Message) -> Sent: ...


_overrides: dict[str, Channel] = {}


def use(channel: str, adapter: Channel | None) -> None:
    """Replace (or, with None, restore) the adapter of a channel."""
    if adapter is None:
        _overrides.pop(channel, None)
    else:
        _overrides[channel] = adapter


def adapter(channel: str) -> Channel:
    if channel in _overrides:
        return _overrides[channel]
    if channel == "email":
        from chalicelib.dunning.channels.email import SesEmail

        return SesEmail()
    if channel == "sms":
        from chalicelib.dunning.channels.sms import SnsSms

        return SnsSms()
    raise ValueError(f"no provider sends {channel}")


def send(message: Message) -> Sent:
    return adapter(message.channel).send(message)
