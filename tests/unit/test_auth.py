"""Bearer tokens: who is calling is read from a signed, unexpired token and nothing else."""
from __future__ import annotations

import pytest

from chalicelib.http.auth import Principal, mint_token, verify_token
from chalicelib.kernel.errors import Unauthorised

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_minted_token_names_its_agency_user_and_role():
    fresh = mint_token(SECRET, Principal("ag1", "u1", "specialist"))
    assert verify_token(SECRET, fresh) == Principal("ag1", "u1", "specialist")


def test_expired_forged_and_foreign_tokens_are_refused():
    expired = mint_token(SECRET, Principal("ag1", "u1", "admin"), ttl_seconds=10, now=1_000)
    with pytest.raises(Unauthorised):
        verify_token(SECRET, expired)
    other_key = mint_token("another-secret-entirely-also-long-enough", Principal("ag1", "u1",
                                                                                 "admin"))
    with pytest.raises(Unauthorised):
        verify_token(SECRET, other_key)


def test_a_client_viewer_token_must_name_its_client():
    import jwt

    bad = jwt.encode({"iss": "recoup", "sub": "u", "agency": "ag", "role": "client_viewer",
                      "exp": 4_000_000_000}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorised):
        verify_token(SECRET, bad)
    none_alg = jwt.encode({"iss": "recoup", "sub": "u", "agency": "ag", "role": "admin",
                           "exp": 4_000_000_000}, None, algorithm="none")
    with pytest.raises(Unauthorised):
        verify_token(SECRET, none_alg)
