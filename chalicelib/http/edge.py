"""The HTTP edge: parse and authorise, call a service, turn domain errors into one error
shape, and record every API route for the OpenAPI document."""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib.http.auth import Principal
from chalicelib.kernel.field_errors import FieldError
from chalicelib.kernel.errors import FieldProblem, RecoupError, ValidationFailed

log = logging.getLogger("recoup.http")


@dataclass
class RouteSpec:
    path: str
    method: str
    summary: str
    body: type[BaseModel] | None
    query: dict[str, str] = field(default_factory=dict)
    status: int = 200
    auth: bool = True


REGISTRY: list[RouteSpec] = []


def error_response(err: RecoupError) -> Response:
    return Response(body=err.to_dict(), status_code=err.status,
                    headers={"Content-Type": "application/json"})


def pydantic_problems(exc: ValidationError) -> list[FieldProblem]:
    out = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "body"
        msg = e["msg"].removeprefix("Value error, ")
        out.append(FieldProblem(loc, msg))
    return out


def parse_body(bp: Blueprint, model: type[BaseModel]) -> BaseModel:
    req = bp.current_request
    raw = req.raw_body or b""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise ValidationFailed.one("body", "is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationFailed.one("body", "must be a JSON object")
    # Tenancy comes from the token only: a body naming a tenant is refused outright.
    for forbidden in ("agency_id", "agency"):
        if forbidden in data:
            raise ValidationFailed.one(forbidden, "is taken from your token and may not be sent")
    return validate(model, data)


def validate(model: type[BaseModel], data: dict) -> BaseModel:
    """The model, or ValidationFailed naming every bad field (JSON bodies and page forms)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc)
        raise ValidationFailed("; ".join(f"{p.field}: {p.reason}" for p in problems),
                               problems) from None


def principal_of(bp: Blueprint) -> Principal:
    ctx = (bp.current_request.context or {}).get("authorizer") or {}
    return Principal.from_context(ctx)


def endpoint(bp: Blueprint, path: str, method: str = "GET", *, summary: str,
             body: type[BaseModel] | None = None, query: dict[str, str] | None = None,
             status: int = 200, authorizer: Any = None,
             content_types: list[str] | None = None) -> Callable:
    """Register a JSON API route: the view gets (principal, [body], **path params)."""
    REGISTRY.append(RouteSpec(path, method, summary, body, query or {}, status,
                              auth=authorizer is not None))

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def handler(**params: Any) -> Any:
            try:
                args: list[Any] = [principal_of(bp)] if authorizer is not None else []
                if body is not None:
                    args.append(parse_body(bp, body))
                result = view(*args, **params)
            except RecoupError as err:
                return error_response(err)
            except FieldError as err:  # a domain rule refused the input
                return error_response(ValidationFailed.one(err.field, err.reason))
            if isinstance(result, Response):
                return result
            return Response(body=result, status_code=status,
                            headers={"Content-Type": "application/json"})

        kwargs: dict[str, Any] = {"methods": [method]}
        if authorizer is not None:
            kwargs["authorizer"] = authorizer
        if content_types:
            kwargs["content_types"] = content_types
        bp.route(path, **kwargs)(handler)
        return handler

    return wrap


def query_params(bp: Blueprint) -> dict[str, str]:
    return dict(bp.current_request.query_params or {})
