"""The client's sender identity: is its address (or its domain) verified in SES?

Email steps are held while it is not — never switched silently to another channel — and
the admin sees the state on the client (API, Clients page) and in the overview. Onboarding
asks SES to verify the address (SES then emails its owner a link); an hourly check, the
"check now" action and a send that SES refuses for the sender all record what SES says.
When it becomes verified the client's accounts are re-planned (client_changed)."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.agency import clients as agency_clients
from chalicelib.http.access import load_client, require_admin
from chalicelib.kernel import adapters as wiring
from chalicelib.store.models import ClientModel

VERIFIED, PENDING, FAILED, UNVERIFIED = "verified", "pending", "failed", "unverified"
_SES = {"Success": VERIFIED, "Pending": PENDING, "NotStarted": PENDING,
        "Failed": FAILED, "TemporaryFailure": FAILED}
# A not-yet-verified sender is looked up again at most this often by dispatch.
RECHECK = timedelta(minutes=10)


def identities(address: str) -> list[str]:
    return [address, address.rsplit("@", 1)[-1].lower()]


def lookup(address: str) -> str:
    """What SES says of the address or its domain (either verified is enough)."""
    names = identities(address)
    attrs = wiring.aws("ses").get_identity_verification_attributes(
        Identities=names)["VerificationAttributes"]
    found = [_SES.get(attrs[n].get("VerificationStatus"), PENDING) for n in names if n in attrs]
    for status in (VERIFIED, PENDING, FAILED):
        if status in found:
            return status
    return UNVERIFIED


def request(address: str) -> None:
    """Ask SES to verify the address: it emails the owner a confirmation link."""
    wiring.aws("ses").verify_email_identity(EmailAddress=address)


def check(client: ClientModel, now: datetime, *, ask: bool = False) -> str:
    """Look the sender up (asking SES to verify it first when `ask` and it is unknown to
    SES), record the state on the client and return it."""
    status = lookup(client.sender_email)
    if status == UNVERIFIED and ask:
        request(client.sender_email)
        status = lookup(client.sender_email)
    agency_clients.record_sender_status(client, status, now)
    return status


def refused(client: ClientModel, now: datetime) -> None:
    """SES refused to send from this sender: it is failed until a check finds it verified."""
    agency_clients.record_sender_status(client, FAILED, now)


def ready(client: ClientModel, now: datetime) -> bool:
    """May email go from this client now? Verified senders cost nothing; others are looked
    up again when the last look is older than RECHECK."""
    if client.sender_status == VERIFIED:
        return True
    last = client.sender_checked_at
    if last is None or now - datetime.fromisoformat(last.replace("Z", "+00:00")) >= RECHECK:
        return check(client, now) == VERIFIED
    return False


def check_unverified(now: datetime) -> int:
    """The hourly look at every client whose sender is not verified yet."""
    n = 0
    for c in ClientModel.scan(ClientModel.sender_status != VERIFIED):
        if not c.archived:
            check(c, now)
            n += 1
    return n


def for_principal(p, client_id: str, *, now: datetime) -> dict:
    """"Check now" (admin): ask SES again (requesting verification if it never was)."""
    require_admin(p)
    client = load_client(p, client_id)
    check(client, now, ask=True)
    return agency_clients.render(client)
