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


def lease(key: str, now: datetime, seconds: int, data: dict | None = None
          ) -> tuple[bool, ClaimModel]:
    """Hold `key` exclusively until now + seconds (one writer at a time, e.g. one import per
    client). (True, lease) for the winner; (False, current lease) while someone else holds
    it. A released, failed or expired lease may be taken: a crashed holder blocks no one
    for longer than `seconds`."""
    import secrets
    from datetime import timedelta

    claim = ClaimModel(key, status="leased", result=data or {}, created_at=iso(now),
                       holder=secrets.token_hex(8),
                       expires_at=iso(now + timedelta(seconds=seconds)))
    try:
        claim.save(condition=ClaimModel.claim_key.does_not_exist()
                   | ClaimModel.status.is_in("released", "failed")
                   | (ClaimModel.expires_at < iso(now)))
        return True, claim
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
    return False, ClaimModel.get(key, consistent_read=True)


def release(claim: ClaimModel, now: datetime, status: str = "released", **result) -> bool:
    """Give a lease back (status released, or failed after an error); False if it had
    expired and someone else holds it now (their lease is left alone)."""
    claim.status = status
    claim.result = {**(claim.result or {}), **result}
    claim.updated_at = iso(now)
    try:
        claim.save(condition=ClaimModel.holder == claim.holder)
        return True
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
    return False
