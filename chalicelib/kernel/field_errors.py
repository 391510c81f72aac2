"""The one domain error shape: which field is wrong, and why (the API answers 422 with it)."""
from __future__ import annotations


class FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
