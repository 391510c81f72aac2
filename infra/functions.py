"""The Lambda functions Chalice will create, discovered from the app (so a new schedule,
queue consumer or webhook gets its alarm without anyone editing infra)."""
from __future__ import annotations

from chalice.utils import to_cfn_resource_name


def function_names() -> list[str]:
    """Chalice names: `api_handler` for the routes, then authorizers, event handlers and
    pure Lambdas, as `chalice package` names them."""
    from app import app

    names = ["api_handler"] if app.routes else []
    names += [a.name for a in app.builtin_auth_handlers]
    names += [e.name for e in app.event_sources]
    names += [f.name for f in app.pure_lambda_functions]
    return names


def function_logical_id(name: str) -> str:
    return "APIHandler" if name == "api_handler" else to_cfn_resource_name(name)
