"""The OpenAPI 3.1 document, built from the registered routes so it cannot drift from them.
Request schemas come from the pydantic bodies (JSON Schema 2020-12, which 3.1 uses), success
schemas from each endpoint's `response`, and every refusal shares the one Error shape."""
from __future__ import annotations

import re

from chalice import Blueprint

from chalicelib.http.edge import REGISTRY, RouteSpec
from chalicelib.http.responses import RESPONSES

bp = Blueprint(__name__)

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "array", "items": {
            "type": "object", "required": ["field", "reason"], "properties": {
                "field": {"type": "string"}, "reason": {"type": "string"}}}}}}}}
REFUSALS = {
    "401": "no token, or a token that is not 'Bearer <valid token>'",
    "403": "your role may not do this",
    "404": "not found (or not yours)",
    "409": "a conflicting change or a duplicate; reload and retry",
    "413": "the body is larger than the stated limit",
    "415": "the body's media type is not one this operation takes",
    "422": "invalid input: fields name what and why",
    "429": "too many requests; retry after the Retry-After seconds",
}
ANY_OBJECT = {"type": "object"}


def _strip_null_defaults(node):
    """pydantic writes `default: null` for fields that may be omitted but not sent as null;
    the document says only what may be sent."""
    if isinstance(node, dict):
        if node.get("default", 0) is None and not _allows_null(node):
            node.pop("default")
        for v in node.values():
            _strip_null_defaults(v)
    elif isinstance(node, list):
        for v in node:
            _strip_null_defaults(v)
    return node


def _allows_null(node: dict) -> bool:
    t = node.get("type")
    return t == "null" or (isinstance(t, list) and "null" in t) or any(
        isinstance(s, dict) and s.get("type") == "null" for s in node.get("anyOf", []))


def _operation(spec: RouteSpec, schemas: dict) -> dict:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in re.findall(r"{(\w+)}", spec.path)]
    params += [{"name": n, "in": "query", "required": False, "description": d,
                "schema": {"type": "string"}} for n, d in spec.query.items()]
    body = spec.response or RESPONSES.get((spec.method, spec.path)) or ANY_OBJECT
    success = {media: {"schema": body if media == "application/json" else {"type": "string"}}
               for media in spec.produces}
    responses: dict = {str(spec.status): {"description": "success", "content": success}}
    for code, desc in spec.also.items():
        responses[str(code)] = {"description": desc}
    takes_body = spec.body is not None or bool(spec.consumes)
    for code, desc in REFUSALS.items():
        if (code == "401" and not spec.auth) or (code in ("413", "415") and not takes_body):
            continue
        responses[code] = {"description": desc, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
    op: dict = {"summary": spec.summary, "parameters": params, "responses": responses}
    if spec.auth:
        op["security"] = [{"bearer": []}]
    if spec.body is not None:
        name = spec.body.__name__
        schema = spec.body.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub, sub_schema in schema.pop("$defs", {}).items():
            schemas[sub] = _strip_null_defaults(sub_schema)
        schemas[name] = _strip_null_defaults(schema)
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{name}"}}}}
    elif spec.consumes:
        op["requestBody"] = {"required": True, "content": {
            media: {"schema": {"type": "string", "format": "binary"}} for media in spec.consumes}}
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
    """The document of every API route: their modules register them in REGISTRY when
    imported, which the app does only on their first call (http/lazy.py), so all now."""
    from chalicelib.http import lazy

    lazy.load_all()
    return document()
