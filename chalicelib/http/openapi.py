"""The OpenAPI document, built from the registered routes so it cannot drift from them."""
from __future__ import annotations

import re

from chalice import Blueprint

from chalicelib.http.edge import REGISTRY, RouteSpec

bp = Blueprint(__name__)

ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"},
    "fields": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "reason": {"type": "string"}}}}}}}}


def _operation(spec: RouteSpec, schemas: dict) -> dict:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in re.findall(r"{(\w+)}", spec.path)]
    params += [{"name": n, "in": "query", "required": False, "description": d,
                "schema": {"type": "string"}} for n, d in spec.query.items()]
    op: dict = {"summary": spec.summary, "parameters": params, "responses": {
        str(spec.status): {"description": "success",
                           "content": {"application/json": {"schema": {"type": "object"}}}},
        **{code: {"description": desc, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
           for code, desc in (("401", "no or bad token"), ("403", "role not allowed"),
                              ("404", "not found (or not yours)"),
                              ("422", "invalid input: fields name what and why"))}}}
    if spec.auth:
        op["security"] = [{"bearer": []}]
    if spec.body is not None:
        name = spec.body.__name__
        schema = spec.body.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub, sub_schema in schema.pop("$defs", {}).items():
            schemas[sub] = sub_schema
        schemas[name] = schema
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{name}"}}}}
    elif spec.method == "POST" and spec.path.endswith("/imports"):
        op["requestBody"] = {"required": True, "content": {"text/csv": {
            "schema": {"type": "string", "format": "binary"}}}}
    return op


def document() -> dict:
    schemas: dict = {"Error": ERROR}
    paths: dict = {}
    for spec in REGISTRY:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Recoup agency API", "version": "1.0.0",
                 "description": "Accounts-receivable platform for credit-control agencies. "
                                "Money is integer minor units with an ISO 4217 currency."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


@bp.route("/openapi.json", methods=["GET"])
def openapi():
    return document()
