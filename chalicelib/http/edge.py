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
from chalicelib.kernel.errors import (
    FieldProblem,
    PayloadTooLarge,
    RecoupError,
    UnsupportedMediaType,
    ValidationFailed,
)

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
    response: dict | None = None  # JSON schema of the success body
    produces: tuple[str, ...] = ("application/json",)
    also: dict[int, str] = field(default_factory=dict)  # other success statuses (e.g. 204)
    consumes: tuple[str, ...] = ()  # non-JSON request bodies (the CSV import)


REGISTRY: list[RouteSpec] = []
JSON_BODY_MAX_BYTES = 1_000_000  # fields have their own, smaller limits (422 naming them)
# A book upload through the API; API Gateway's 10 MB and Lambda's 6 MB payload are the hard
# ceilings in AWS. `local.cli import-book` streams larger books.
UPLOAD_MAX_BYTES = 4_000_000


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
    if len(raw) > JSON_BODY_MAX_BYTES:
        raise PayloadTooLarge("the request body", JSON_BODY_MAX_BYTES)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:  # also bytes that are not UTF-8
        raise ValidationFailed.one("body", "is not valid JSON") from None
    except RecursionError:
        raise ValidationFailed.one("body", "is nested too deeply") from None
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
    except RecursionError:
        raise ValidationFailed.one("body", "is nested too deeply") from None
    except ValidationError as exc:
        problems = pydantic_problems(exc)
        raise ValidationFailed("; ".join(f"{p.field}: {p.reason}" for p in problems),
                               problems) from None


def check_media_type(bp: Blueprint, accepted: tuple[str, ...]) -> None:
    """415 in the one error shape (Chalice's own 415 has another); no header means JSON."""
    header = (bp.current_request.headers or {}).get("content-type") or "application/json"
    media = header.split(";", 1)[0].strip().lower()
    if media not in accepted:
        raise UnsupportedMediaType(f"send the body as {' or '.join(accepted)}, not {media}")


def principal_of(bp: Blueprint) -> Principal:
    ctx = (bp.current_request.context or {}).get("authorizer") or {}
    return Principal.from_context(ctx)


def endpoint(bp: Blueprint, path: str, method: str = "GET", *, summary: str,
             body: type[BaseModel] | None = None, query: dict[str, str] | None = None,
             status: int = 200, authorizer: Any = None,
             content_types: list[str] | None = None, response: dict | None = None,
             produces: tuple[str, ...] = ("application/json",),
             also: dict[int, str] | None = None,
             max_body_bytes: int | None = None) -> Callable:
    """Register a JSON API route: the view gets (principal, [body], **path params).
    `response` is the success body's JSON schema for the OpenAPI document."""
    REGISTRY.append(RouteSpec(path, method, summary, body, query or {}, status,
                              auth=authorizer is not None, response=response,
                              produces=produces, also=also or {},
                              consumes=tuple(content_types or ())))

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def handler(**params: Any) -> Any:
            try:
                args: list[Any] = [principal_of(bp)] if authorizer is not None else []
                if content_types:
                    check_media_type(bp, tuple(content_types))
                if max_body_bytes is not None and len(
                        bp.current_request.raw_body or b"") > max_body_bytes:
                    raise PayloadTooLarge("the uploaded file", max_body_bytes)
                if body is not None:
                    check_media_type(bp, ("application/json",))
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
        # Every media type reaches the view, which answers 415 in our shape (above).
        kwargs["content_types"] = ["*/*"]
        bp.route(path, **kwargs)(handler)
        return handler

    return wrap


def query_params(bp: Blueprint) -> dict[str, str]:
    return dict(bp.current_request.query_params or {})
