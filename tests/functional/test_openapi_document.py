"""The OpenAPI document says what the API does: 3.1, every refusal code, real success bodies."""
from __future__ import annotations

import schemathesis

BARE = {"type": "object"}


def test_the_document_is_openapi_31_and_documents_every_refusal(http):
    """GIVEN the served /openapi.json
    WHEN it is read
    THEN it is OpenAPI 3.1 that schemathesis accepts, every authenticated operation documents
    401/403/404/409/422/429, every operation with a body 413/415, and refusals share Error."""
    doc = http.http.get("/openapi.json").json_body
    assert doc["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(doc)  # raises on a definition it rejects
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            if op.get("security"):
                assert {"401", "403", "404", "409", "422", "429"} <= codes, (method, path)
            if "requestBody" in op:
                assert {"413", "415"} <= codes, (method, path)
            assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}


def test_the_import_has_a_csv_body_and_json_operations_have_real_success_schemas(http):
    """GIVEN the served /openapi.json
    WHEN the import operation and the JSON operations' success responses are read
    THEN the import takes a CSV body, and no /v1 JSON success response is a bare object."""
    doc = http.http.get("/openapi.json").json_body
    imp = doc["paths"]["/v1/clients/{client_id}/imports"]["post"]
    assert "text/csv" in imp["requestBody"]["content"]
    bare = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for code, resp in op["responses"].items():
                schema = (resp.get("content") or {}).get("application/json", {}).get("schema")
                if code.startswith("2") and path.startswith("/v1") and schema == BARE:
                    bare.append(f"{method.upper()} {path}")
    assert set(bare) <= KNOWN_GENERIC, sorted(set(bare) - KNOWN_GENERIC)


KNOWN_GENERIC = {
    # a file download (CSV, or the case file as JSON): its body is the file
    "GET /v1/clients/{client_id}/escalations/{escalation_id}/export",
}
