"""Local stages only: mirror the stack's API Gateway responses in Chalice's local gateway
(chalice local and chalice.test.Client), so a refused token gets the same 401 body as in
AWS (chalicelib/http/authorizer.gateway_responses) instead of Chalice's own."""
from __future__ import annotations

from chalice import local as chalice_local

from chalicelib.http.authorizer import gateway_responses

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    real = chalice_local.LocalGatewayAuthorizer.authorize
    responses = gateway_responses()

    def authorize(self, raw_path, lambda_event, lambda_context):
        try:
            return real(self, raw_path, lambda_event, lambda_context)
        except chalice_local.NotAuthorizedError as exc:
            raise _refused(exc, responses["UNAUTHORIZED"]) from None
        except chalice_local.ForbiddenError as exc:
            raise _refused(exc, responses["ACCESS_DENIED"]) from None

    chalice_local.LocalGatewayAuthorizer.authorize = authorize
    _installed = True


def _refused(exc, response: dict) -> chalice_local.LocalGatewayException:
    err = chalice_local.NotAuthorizedError(
        {**(exc.headers or {}), **response["headers"]}, response["body"].encode())
    err.CODE = response["status"]
    return err
