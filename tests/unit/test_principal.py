"""Verified claims become a principal only when the uid can be stored and compared."""

from __future__ import annotations

import pytest

from backend.adapters.firebase_auth import _principal
from backend.rewards.ports import AuthenticationError, Role


def test_a_clean_uid_and_known_role_make_a_principal():
    principal = _principal({"uid": "u" * 128, "role": "support", "email": "s@example.com"})
    assert (principal.uid, principal.role, principal.email) == (
        "u" * 128,
        Role.SUPPORT,
        "s@example.com",
    )


@pytest.mark.parametrize("uid", ["a\x00b", "a\ud800", "u" * 129, "", "\u202eabc", None, 7])
def test_a_uid_that_could_not_be_stored_is_an_invalid_token(uid):
    with pytest.raises(AuthenticationError) as refused:
        _principal({"uid": uid})
    assert refused.value.code == "INVALID_TOKEN"
