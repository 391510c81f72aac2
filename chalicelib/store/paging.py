"""Cursor pagination over PynamoDB queries; a cursor only works inside its own partition."""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from chalicelib.kernel.errors import ValidationFailed

MAX_LIMIT = 200


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, hash_attr: str, hash_value: str) -> dict | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        ok = key[hash_attr]["S"] == hash_value
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise ValidationFailed.one("cursor", "not a cursor from this listing")
    return key


def parse_limit(value: str | None, default: int = 50) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise ValidationFailed.one("limit", "must be a whole number") from None
    if not 1 <= n <= MAX_LIMIT:
        raise ValidationFailed.one("limit", f"must be between 1 and {MAX_LIMIT}")
    return n


def page(query: Callable[..., Any], *, limit: int, cursor: str | None, hash_attr: str,
         hash_value: str, render: Callable[[Any], dict], **kwargs: Any) -> dict:
    """Run one page of a query and render it as {"items": [...], "next_cursor": ...}."""
    start = decode_cursor(cursor, hash_attr, hash_value)
    result = query(hash_value, limit=limit, last_evaluated_key=start, **kwargs)
    items = [render(m) for m in result]
    return {"items": items, "next_cursor": encode_cursor(result.last_evaluated_key)}
