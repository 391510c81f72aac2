"""Who may touch which client: agency admins everything, specialists their assigned
clients, client viewers their own client's reports only. Misses look like 404s."""
from __future__ import annotations

from chalicelib.http.auth import Principal
from chalicelib.kernel.errors import Forbidden, NotFound, Unauthorised
from chalicelib.store.models import ClientModel, UserModel


def require_active(p: Principal) -> Principal:
    """A deactivated user's token (and page session) stops working. A token whose user has
    no record (minted by a script or a test) is judged by its signature alone."""
    try:
        u = UserModel.get(p.agency_id, p.user_id, attributes_to_get=["active"])
    except UserModel.DoesNotExist:
        return p
    if u.active is False:
        raise Unauthorised("this user has been deactivated")
    return p


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden("agency admin role required")


def require_staff(p: Principal) -> None:
    if p.role not in ("admin", "specialist"):
        raise Forbidden("agency staff role required")


def load_client(p: Principal, client_id: str, *, for_reports: bool = False) -> ClientModel:
    """The client, if the caller may see it; NotFound for other tenants' ids."""
    if p.role == "client_viewer":
        if not for_reports:
            raise Forbidden("client viewers may only read reports")
        if p.client_id != client_id:
            raise NotFound("client")
    try:
        client = ClientModel.get(p.agency_id, client_id)
    except ClientModel.DoesNotExist:
        raise NotFound("client") from None
    if client.archived:
        raise NotFound("client")
    if p.role == "specialist" and p.user_id not in (client.specialist_ids or []):
        raise Forbidden("client is not assigned to you")
    return client
