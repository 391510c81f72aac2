"""Claims: an external effect is recorded with a conditional put before it happens, so a
retry or a duplicate delivery finds the claim and does not do it again."""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.kernel.clock import iso
from chalicelib.store.models import ClaimModel


def take(key: str, now: datetime, data: dict | None = None,
         lease: timedelta | None = None) -> tuple[bool, ClaimModel]:
    """Claim `key`; (True, claim) for the winner, (False, existing claim) otherwise.

    A `failed` claim may be taken again: nothing left the building. With `lease`, a claim
    still `claimed` after that long is taken again too (its holder died mid-way); use it
    only where running the work twice is harmless (idempotent consumers), never for sends.
    """
    claim = ClaimModel(key, status="claimed", result=data or {}, created_at=iso(now))
    condition = ClaimModel.claim_key.does_not_exist() | (ClaimModel.status == "failed")
    if lease is not None:
        condition = condition | ((ClaimModel.status == "claimed")
                                 & (ClaimModel.created_at < iso(now - lease)))
    try:
        claim.save(condition=condition)
        return True, claim
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
    return False, ClaimModel.get(key, consistent_read=True)


def settle(claim: ClaimModel, status: str, now: datetime, **result) -> None:
    claim.status = status
    claim.result = {**(claim.result or {}), **result}
    claim.updated_at = iso(now)
    claim.save()


def once(key: str, now: datetime, data: dict | None = None) -> bool:
    """True the first time `key` is seen (a marker that is never retried)."""
    won, claim = take(key, now, data)
    if won:
        settle(claim, "done", now)
    return won


def lookup(key: str) -> ClaimModel | None:
    try:
        return ClaimModel.get(key, consistent_read=True)
    except ClaimModel.DoesNotExist:
        return None
