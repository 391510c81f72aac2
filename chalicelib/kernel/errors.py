"""Domain and service errors; the HTTP edge turns them into status codes with one shape."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str
    reason: str

    def to_dict(self) -> dict:
        return {"field": self.field, "reason": self.reason}


class RecoupError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []

    def to_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = [f.to_dict() for f in self.fields]
        return {"error": body}


class ValidationFailed(RecoupError):
    status = 422
    code = "validation_failed"

    @classmethod
    def one(cls, field: str, reason: str) -> ValidationFailed:
        return cls(f"{field}: {reason}", [FieldProblem(field, reason)])


class Unauthorised(RecoupError):
    status = 401
    code = "unauthorised"


class Forbidden(RecoupError):
    status = 403
    code = "forbidden"


class NotFound(RecoupError):
    status = 404
    code = "not_found"

    def __init__(self, what: str = "resource") -> None:
        super().__init__(f"{what} not found")


class Conflict(RecoupError):
    status = 409
    code = "conflict"


class PayloadTooLarge(RecoupError):
    status = 413
    code = "payload_too_large"

    def __init__(self, what: str, limit_bytes: int) -> None:
        mb = limit_bytes / 1_000_000
        limit = f"{mb:g} MB" if limit_bytes >= 1_000_000 else f"{limit_bytes // 1000} KB"
        super().__init__(f"{what} is larger than the {limit} limit ({limit_bytes} bytes)",
                         [FieldProblem("body", f"larger than {limit_bytes} bytes")])
        self.limit_bytes = limit_bytes


class UnsupportedMediaType(RecoupError):
    status = 415
    code = "unsupported_media_type"
