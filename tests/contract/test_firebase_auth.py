"""Contract tests: FirebaseTokenVerifier against the real Auth emulator and real RS256 tokens."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.auth import jwt
from google.auth.credentials import AnonymousCredentials

from backend.adapters.dev_tokens import make_dev_token
from backend.adapters.firebase_auth import EMULATOR_HOST_ENV, FirebaseTokenVerifier
from backend.rewards.ports import AuthenticationError, Role
from scripts.firebase_emulator import AuthEmulator, free_port
from tests.contract.tokens import (
    PASSWORD,
    PROD_PROJECT,
    SigningKey,
    id_token_claims,
    make_signing_key,
    new_email,
    production_verifier,
)

pytestmark = pytest.mark.emulator


async def refused(call: Any) -> str:
    """Await a verifier call that must fail and return its error code."""
    with pytest.raises(AuthenticationError) as caught:
        await call
    assert caught.value.message  # always something a client can show
    return caught.value.code


# --- local mode, against the real emulator -------------------------------------------------


@pytest.fixture
def local_verifier(
    firebase_emulator: AuthEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FirebaseTokenVerifier]:
    """A local-mode verifier pointed at the session's emulator."""
    # The verifier switches firebase-admin to emulator mode process-wide; monkeypatch undoes it.
    monkeypatch.setenv(EMULATOR_HOST_ENV, firebase_emulator.host)
    verifier = FirebaseTokenVerifier(
        firebase_emulator.project_id, "local", emulator_host=firebase_emulator.host
    )
    yield verifier
    verifier.close()


async def test_emulator_sign_up_token_is_a_member(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    email = new_email()
    uid, token = firebase_emulator.sign_up(email, PASSWORD)

    principal = await local_verifier.verify(token)

    assert (principal.uid, principal.role, principal.email) == (uid, Role.MEMBER, email)
    assert principal.claims["firebase"]["sign_in_provider"] == "password"
    assert local_verifier.check_revoked is True
    await local_verifier.ensure_active(principal, token)  # a fresh, active user passes


async def test_role_claim_arrives_with_the_next_sign_in(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    email = new_email()
    uid, first_token = firebase_emulator.sign_up(email, PASSWORD)

    firebase_emulator.set_role(uid, "marketing")
    second_token = firebase_emulator.sign_in(email, PASSWORD)

    assert (await local_verifier.verify(first_token)).role is Role.MEMBER
    principal = await local_verifier.verify(second_token)
    assert (principal.uid, principal.role) == (uid, Role.MARKETING)
    assert principal.role.is_staff


async def test_unknown_role_claim_is_refused(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    email = new_email()
    uid, _ = firebase_emulator.sign_up(email, PASSWORD)
    firebase_emulator.set_role(uid, "superuser")

    token = firebase_emulator.sign_in(email, PASSWORD)

    assert await refused(local_verifier.verify(token)) == "FORBIDDEN_ROLE"


async def test_revoked_token_fails_the_active_check(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    email = new_email()
    uid, token = firebase_emulator.sign_up(email, PASSWORD)
    principal = await local_verifier.verify(token)
    await local_verifier.ensure_active(principal, token)
    # Revocation is stored in whole seconds and compared with `iat`: revoke in a later second.
    time.sleep(1.1)

    firebase_emulator.revoke(uid)

    assert await refused(local_verifier.ensure_active(principal, token)) == "TOKEN_REVOKED"
    assert (await local_verifier.verify(token)).uid == uid  # verify alone stays offline
    fresh = firebase_emulator.sign_in(email, PASSWORD)
    await local_verifier.ensure_active(await local_verifier.verify(fresh), fresh)


async def test_disabled_user_fails_the_active_check(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    uid, token = firebase_emulator.sign_up(new_email(), PASSWORD)
    principal = await local_verifier.verify(token)

    firebase_emulator.disable(uid)

    assert await refused(local_verifier.ensure_active(principal, token)) == "USER_DISABLED"


async def test_deleted_user_fails_the_active_check(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    uid, token = firebase_emulator.sign_up(new_email(), PASSWORD)
    principal = await local_verifier.verify(token)

    firebase_emulator.delete(uid)

    assert await refused(local_verifier.ensure_active(principal, token)) == "USER_NOT_FOUND"


async def test_active_check_refuses_a_token_of_another_user(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    _, token_a = firebase_emulator.sign_up(new_email(), PASSWORD)
    _, token_b = firebase_emulator.sign_up(new_email(), PASSWORD)
    principal_a = await local_verifier.verify(token_a)

    assert await refused(local_verifier.ensure_active(principal_a, token_b)) == "INVALID_TOKEN"


def _decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a token, without verification (for format comparisons)."""
    header: dict[str, Any] = jwt.decode_header(token)  # type: ignore[no-untyped-call]
    payload: dict[str, Any] = jwt.decode(token, verify=False)  # type: ignore[no-untyped-call]
    return header, payload


@pytest.mark.parametrize("with_email", [False, True], ids=["no-email", "email"])
async def test_dev_token_has_the_emulator_format(
    firebase_emulator: AuthEmulator, with_email: bool
) -> None:
    email = new_email() if with_email else None
    if email:
        uid, _ = firebase_emulator.sign_up(email, PASSWORD)
    else:
        uid = f"dev-{uuid.uuid4().hex[:8]}"
    emulator_token = firebase_emulator.sign_in_with_custom_token(uid, {"role": "marketing"})

    dev_token = make_dev_token(
        uid, role="marketing", project_id=firebase_emulator.project_id, email=email
    )

    emulator_header, emulator_claims = _decode_unverified(emulator_token)
    dev_header, dev_claims = _decode_unverified(dev_token)
    assert dev_header == emulator_header == {"alg": "none", "typ": "JWT"}
    assert list(dev_claims) == list(emulator_claims)  # same claims, in the same order
    for claim in ("aud", "iss", "sub", "user_id", "role", "firebase", "email"):
        assert dev_claims.get(claim) == emulator_claims.get(claim), claim
    assert emulator_claims["exp"] - emulator_claims["iat"] == 3600
    assert dev_token.endswith(".") and emulator_token.endswith(".")  # empty signature segment


async def test_dev_token_is_accepted_in_local_mode(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    token = make_dev_token(
        "dev-marketer",
        role="marketing",
        project_id=firebase_emulator.project_id,
        email="marketer@example.com",
    )

    principal = await local_verifier.verify(token)

    assert (principal.uid, principal.role, principal.email) == (
        "dev-marketer",
        Role.MARKETING,
        "marketer@example.com",
    )
    assert principal.claims["firebase"]["sign_in_provider"] == "custom"


async def test_dev_token_of_a_user_unknown_to_the_emulator_fails_the_active_check(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    token = make_dev_token(f"ghost-{uuid.uuid4().hex[:8]}", project_id=firebase_emulator.project_id)
    principal = await local_verifier.verify(token)

    assert await refused(local_verifier.ensure_active(principal, token)) == "USER_NOT_FOUND"


async def test_expired_dev_token_is_refused(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    eight_days_ago = time.time() - 8 * 24 * 3600
    token = make_dev_token("dev-1", project_id=firebase_emulator.project_id, now=eight_days_ago)

    assert await refused(local_verifier.verify(token)) == "TOKEN_EXPIRED"


async def test_dev_token_expiring_a_minute_ago_is_refused(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    token = make_dev_token(
        "dev-1", project_id=firebase_emulator.project_id, ttl_seconds=3600, now=time.time() - 3660
    )

    assert await refused(local_verifier.verify(token)) == "TOKEN_EXPIRED"


async def test_dev_token_issued_in_the_future_is_refused(
    firebase_emulator: AuthEmulator, local_verifier: FirebaseTokenVerifier
) -> None:
    token = make_dev_token("dev-1", project_id=firebase_emulator.project_id, now=time.time() + 600)

    assert await refused(local_verifier.verify(token)) == "INVALID_TOKEN"


async def test_dev_token_for_another_project_is_refused(
    local_verifier: FirebaseTokenVerifier,
) -> None:
    token = make_dev_token("dev-1", project_id="demo-someone-else")

    assert await refused(local_verifier.verify(token)) == "INVALID_TOKEN"


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "e30.e30.", "x" * 9000])
async def test_malformed_token_is_refused_in_local_mode(
    local_verifier: FirebaseTokenVerifier, token: str
) -> None:
    assert await refused(local_verifier.verify(token)) == "INVALID_TOKEN"


async def test_local_mode_without_emulator_host_skips_the_active_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    verifier = FirebaseTokenVerifier("demo-rewards", "local")
    try:
        token = make_dev_token("nobody-anywhere", project_id="demo-rewards")
        principal = await verifier.verify(token)

        await verifier.ensure_active(principal, token)  # no emulator to ask: must not fail

        assert verifier.check_revoked is False
        assert principal.uid == "nobody-anywhere"
        assert os.environ[EMULATOR_HOST_ENV] == "127.0.0.1:9099"
    finally:
        verifier.close()


def test_cert_url_is_refused_in_local_mode() -> None:
    with pytest.raises(ValueError, match="production"):
        FirebaseTokenVerifier("demo-rewards", "local", cert_url="http://127.0.0.1:1/certs")


# --- production mode: real RS256 tokens, certificates served locally ----------------------


@pytest.fixture
def prod_verifier(
    cert_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FirebaseTokenVerifier]:
    """A production-mode verifier, with no emulator variable in the environment."""
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    verifier = production_verifier(cert_url)
    yield verifier
    verifier.close()


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, Role.MEMBER), ("marketing", Role.MARKETING), ("integration", Role.INTEGRATION)],
)
async def test_production_accepts_a_valid_rs256_token(
    prod_verifier: FirebaseTokenVerifier, google_key: SigningKey, role: str | None, expected: Role
) -> None:
    token = google_key.sign(id_token_claims("user-1", role=role))

    principal = await prod_verifier.verify(token)

    assert (principal.uid, principal.role, principal.email) == (
        "user-1",
        expected,
        "user-1@example.com",
    )
    assert principal.claims["iss"] == f"https://securetoken.google.com/{PROD_PROJECT}"


async def test_production_refuses_an_expired_token(
    prod_verifier: FirebaseTokenVerifier, google_key: SigningKey
) -> None:
    now = int(time.time())
    token = google_key.sign(id_token_claims("user-1", iat=now - 7200, exp=now - 3600))

    assert await refused(prod_verifier.verify(token)) == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-project"},
        {"iss": "https://securetoken.google.com/another-project"},
        {"iat": lambda: int(time.time()) + 600},  # now as the test runs, not as it is collected
        {"sub": None},
    ],
    ids=["wrong-audience", "wrong-issuer", "issued-in-the-future", "no-subject"],
)
async def test_production_refuses_wrong_claims(
    prod_verifier: FirebaseTokenVerifier, google_key: SigningKey, overrides: dict[str, Any]
) -> None:
    claims = {name: value() if callable(value) else value for name, value in overrides.items()}
    token = google_key.sign(id_token_claims("user-1", **claims))

    assert await refused(prod_verifier.verify(token)) == "INVALID_TOKEN"


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "e30.e30.e30", "x" * 9000])
async def test_production_refuses_malformed_tokens(
    prod_verifier: FirebaseTokenVerifier, token: str
) -> None:
    assert await refused(prod_verifier.verify(token)) == "INVALID_TOKEN"


async def test_production_refuses_unsigned_dev_tokens(prod_verifier: FirebaseTokenVerifier) -> None:
    token = make_dev_token("user-1", role="admin", project_id=PROD_PROJECT)

    assert await refused(prod_verifier.verify(token)) == "INVALID_TOKEN"


async def test_production_refuses_a_token_signed_by_another_key(
    prod_verifier: FirebaseTokenVerifier, google_key: SigningKey
) -> None:
    impostor = make_signing_key(google_key.kid)  # same key id, different key
    stranger = make_signing_key("unknown-key")

    forged = impostor.sign(id_token_claims("user-1"))
    unknown_kid = stranger.sign(id_token_claims("user-1"))

    assert await refused(prod_verifier.verify(forged)) == "INVALID_TOKEN"
    assert await refused(prod_verifier.verify(unknown_kid)) == "INVALID_TOKEN"


async def test_production_refuses_an_unknown_role(
    prod_verifier: FirebaseTokenVerifier, google_key: SigningKey
) -> None:
    token = google_key.sign(id_token_claims("user-1", role="root"))

    assert await refused(prod_verifier.verify(token)) == "FORBIDDEN_ROLE"


async def test_production_reports_unreachable_certificates_as_unavailable(
    google_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    verifier = production_verifier(f"http://127.0.0.1:{free_port()}/certs")  # nothing listens
    try:
        token = google_key.sign(id_token_claims("user-1"))

        assert await refused(verifier.verify(token)) == "AUTH_UNAVAILABLE"
    finally:
        verifier.close()


@pytest.mark.parametrize("emulator_host", [None, "127.0.0.1:9099"])
def test_production_refuses_to_start_in_emulator_mode(
    monkeypatch: pytest.MonkeyPatch, emulator_host: str | None
) -> None:
    if emulator_host is None:
        monkeypatch.setenv(EMULATOR_HOST_ENV, "127.0.0.1:9099")
    else:
        monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)

    with pytest.raises(RuntimeError, match=EMULATOR_HOST_ENV):
        FirebaseTokenVerifier(
            PROD_PROJECT,
            "production",
            emulator_host,
            credential=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        )


async def test_production_fails_closed_if_emulator_mode_appears_later(
    prod_verifier: FirebaseTokenVerifier, google_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    valid = google_key.sign(id_token_claims("user-1"))
    assert (await prod_verifier.verify(valid)).uid == "user-1"

    monkeypatch.setenv(EMULATOR_HOST_ENV, "127.0.0.1:9099")

    unsigned = make_dev_token("user-1", role="admin", project_id=PROD_PROJECT)
    assert await refused(prod_verifier.verify(unsigned)) == "AUTH_UNAVAILABLE"
    assert await refused(prod_verifier.verify(valid)) == "AUTH_UNAVAILABLE"


async def test_production_remembers_a_verified_token_until_it_expires(
    cert_url: str, google_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    now = [time.time()]
    verifier = FirebaseTokenVerifier(
        PROD_PROJECT,
        "production",
        credential=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        cert_url=cert_url,
        check_revoked=False,
        wall_clock=lambda: now[0],
    )
    checks: list[str] = []
    real_check = verifier._client.verify_id_token

    def counted(token: str, **kwargs: Any) -> dict[str, Any]:
        checks.append(token)
        return real_check(token, **kwargs)

    monkeypatch.setattr(verifier._client, "verify_id_token", counted)
    try:
        token = google_key.sign(id_token_claims("user-1", exp=int(now[0]) + 600))
        other = google_key.sign(id_token_claims("user-2"))
        first = await verifier.verify(token)
        again = await verifier.verify(token)
        assert (first.uid, again.uid, len(checks)) == ("user-1", "user-1", 1)
        assert (await verifier.verify(other)).uid == "user-2" and len(checks) == 2
        now[0] += 601  # past the token's exp: checked by firebase-admin again
        assert (await verifier.verify(token)).uid == "user-1" and len(checks) == 3
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert await refused(verifier.verify(forged)) == "INVALID_TOKEN"  # another key: checked
        assert await refused(verifier.verify(forged)) == "INVALID_TOKEN"  # refusals never kept
        assert len(checks) == 5
    finally:
        verifier.close()
