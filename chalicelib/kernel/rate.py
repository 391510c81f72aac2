"""Per-minute rate counters (the `rate_counters` table, expired by its TTL), shared by the
debtor links and page sign-in. Counting never takes a page down: a failed write counts 0."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.store.models import RateCounterModel


def hit(scope: str, subject: str, now: datetime, *, prefix: str = "public") -> int:
    """Count one hit for `subject` in `now`'s minute; the count so far in that minute.
    The subject is hashed: no token, address or user id is stored in clear."""
    window = now.strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:24]
    key = f"{prefix}#{scope}#{digest}#{window}"
    expires = now.replace(second=0, microsecond=0) + timedelta(minutes=2)
    item = RateCounterModel(key)
    try:
        item.update(actions=[RateCounterModel.hits.add(1),
                             RateCounterModel.expires_at.set(expires.astimezone(UTC))])
    except (UpdateError, PutError):
        return 0
    return int(item.hits)


def retry_after(now: datetime) -> int:
    """Seconds until the current minute window closes (for a Retry-After header)."""
    return max(1, 60 - now.second)
