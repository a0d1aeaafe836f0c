"""Contract tests through the whole app: real firebase-admin verification over HTTP."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from backend.adapters.dev_tokens import make_dev_token
from backend.adapters.firebase_auth import EMULATOR_HOST_ENV, FirebaseTokenVerifier
from backend.db.tables import AuditLog, LedgerEntry
from backend.main import create_app
from backend.settings import Settings
from scripts.firebase_emulator import AuthEmulator
from tests.api.operations import ADJUST, ENROLL, ME
from tests.contract.tokens import (
    PASSWORD,
    SigningKey,
    id_token_claims,
    new_email,
    production_verifier,
)

pytestmark = pytest.mark.emulator


async def client_for(app: Any) -> httpx.AsyncClient:
    """An HTTP client of the app."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> httpx.Response:
    """Post an operation with a bearer token."""
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
async def emulator_api(
    database, clock, firebase_emulator: AuthEmulator, monkeypatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in local mode, verifying tokens against the real Auth emulator."""
    async with emulator_client(database, clock, firebase_emulator, monkeypatch) as client:
        yield client


@contextlib.asynccontextmanager
async def emulator_client(
    database, clock, firebase_emulator: AuthEmulator, monkeypatch, **verifier_options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app in local mode whose verifier asks the real Auth emulator."""
    monkeypatch.setenv(EMULATOR_HOST_ENV, firebase_emulator.host)
    verifier = FirebaseTokenVerifier(
        firebase_emulator.project_id,
        "local",
        emulator_host=firebase_emulator.host,
        **verifier_options,
    )
    app = create_app(
        Settings(mode="local", jobs_enabled=False),
        verifier=verifier,
        clock=clock,
        database=database,
    )
    try:
        async with await client_for(app) as client:
            yield client
    finally:
        verifier.close()


async def test_sign_up_token_enrols_and_reads_me(emulator_api, firebase_emulator):
    _, token = firebase_emulator.sign_up(new_email(), PASSWORD)
    enrolled = (
        await post(emulator_api, ENROLL, {"input": {"birthDate": "1991-02-03"}}, token)
    ).json()
    assert enrolled["data"]["enroll"]["errors"] == []
    me = (await post(emulator_api, ME, {}, token)).json()["data"]["me"]
    assert me["cardNumber"] == enrolled["data"]["enroll"]["member"]["cardNumber"]


async def test_role_claim_grants_staff_fields_until_revoked_or_disabled(
    emulator_api, firebase_emulator, database
):
    email = new_email()
    _, member_token = firebase_emulator.sign_up(email, PASSWORD)
    enrolled = (
        await post(emulator_api, ENROLL, {"input": {"birthDate": "1991-02-03"}}, member_token)
    ).json()
    member_id = enrolled["data"]["enroll"]["member"]["id"]
    staff_email = new_email()
    staff_uid, plain_token = firebase_emulator.sign_up(staff_email, PASSWORD)
    adjust = {
        "input": {
            "memberId": member_id,
            "points": 40,
            "reason": "Contract test",
            "idempotencyKey": "c-1",
        }
    }

    forbidden = (await post(emulator_api, ADJUST, adjust, plain_token)).json()
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    firebase_emulator.set_role(staff_uid, "marketing")
    staff_token = firebase_emulator.sign_in(staff_email, PASSWORD)
    granted = (await post(emulator_api, ADJUST, adjust, staff_token)).json()["data"]["adjustPoints"]
    assert granted["errors"] == [] and granted["member"]["points"]["balance"] == 40

    time.sleep(1.1)  # the emulator keeps revocation times in whole seconds
    firebase_emulator.revoke(staff_uid)
    second = {"input": {**adjust["input"], "idempotencyKey": "c-2"}}
    revoked = (await post(emulator_api, ADJUST, second, staff_token)).json()
    assert revoked["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"

    fresh = firebase_emulator.sign_in(staff_email, PASSWORD)
    firebase_emulator.disable(staff_uid)
    disabled = (await post(emulator_api, ADJUST, second, fresh)).json()
    assert disabled["errors"][0]["extensions"]["code"] == "USER_DISABLED"

    async with database.reader.connect() as conn:
        audits = (await conn.execute(select(func.count()).select_from(AuditLog))).scalar_one()
        entries = (await conn.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
    assert (audits, entries) == (1, 1)


@pytest.fixture
async def production_api(
    database, clock, cert_url, monkeypatch
) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """The app in production mode with real RS256 verification; records every SQL statement."""
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    verifier = production_verifier(cert_url)
    app = create_app(
        Settings(mode="production", jobs_enabled=False),
        verifier=verifier,
        clock=clock,
        database=database,
    )
    statements: list[str] = []

    def record(_conn, _cursor, statement, *args):
        statements.append(statement)

    for engine in database.engines:
        event.listen(engine, "before_cursor_execute", record)
    async with await client_for(app) as client:
        yield client, statements
    for engine in database.engines:
        event.remove(engine, "before_cursor_execute", record)
    verifier.close()


async def test_production_accepts_a_real_signed_token(production_api, google_key: SigningKey):
    client, _ = production_api
    token = google_key.sign(id_token_claims("prod-user"))
    body = (await post(client, ENROLL, {"input": {"birthDate": "1991-02-03"}}, token)).json()
    assert body["data"]["enroll"]["errors"] == []


@pytest.mark.parametrize(
    "bad",
    ["expired", "wrong_audience", "malformed", "alg_none", "other_key"],
)
async def test_production_refuses_bad_tokens_before_any_resolver_runs(
    production_api, google_key, bad
):
    client, statements = production_api
    now = int(time.time())
    tokens = {
        "expired": lambda: google_key.sign(
            id_token_claims("u", iat=now - 7200, auth_time=now - 7200, exp=now - 3600)
        ),
        "wrong_audience": lambda: google_key.sign(id_token_claims("u", aud="someone-else")),
        "malformed": lambda: "not.a.jwt",
        "alg_none": lambda: make_dev_token("u", project_id="rewards-prod-test"),
        "other_key": lambda: google_key.sign(id_token_claims("u"), kid="unknown-key"),
    }
    response = await post(client, ENROLL, {"input": {"birthDate": "1991-02-03"}}, tokens[bad]())
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] in {"TOKEN_EXPIRED", "INVALID_TOKEN"}
    assert statements == []


LOOKUP = """
query($card: String!) { member(cardNumber: $card, reason: "Contract test ticket") { cardNumber } }
"""


@pytest.fixture
async def cached_emulator_api(
    database, clock, firebase_emulator: AuthEmulator, monkeypatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in local mode against the real Auth emulator, with a 30 s revocation cache."""
    async with emulator_client(
        database, clock, firebase_emulator, monkeypatch, revocation_cache_seconds=30
    ) as client:
        yield client


async def test_a_revoked_staff_token_reads_until_the_cache_ends_and_never_writes(
    cached_emulator_api, firebase_emulator, database
):
    api = cached_emulator_api
    _, member_token = firebase_emulator.sign_up(new_email(), PASSWORD)
    enrolled = (
        await post(api, ENROLL, {"input": {"birthDate": "1991-02-03"}}, member_token)
    ).json()
    card = enrolled["data"]["enroll"]["member"]["cardNumber"]
    staff_email = new_email()
    staff_uid, _ = firebase_emulator.sign_up(staff_email, PASSWORD)
    firebase_emulator.set_role(staff_uid, "marketing")
    staff_token = firebase_emulator.sign_in(staff_email, PASSWORD)
    first = (await post(api, LOOKUP, {"card": card}, staff_token)).json()
    assert first["data"]["member"]["cardNumber"] == card

    time.sleep(1.1)  # the emulator keeps revocation times in whole seconds
    firebase_emulator.revoke(staff_uid)
    cached = (await post(api, LOOKUP, {"card": card}, staff_token)).json()
    assert cached["data"]["member"]["cardNumber"] == card  # within REVOCATION_CHECK_SECONDS
    adjust = {
        "input": {"memberReference": card, "points": 5, "reason": "Contract", "idempotencyKey": "c"}
    }
    refused = (await post(api, ADJUST, adjust, staff_token)).json()
    assert refused["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"  # writes always ask
    after = (await post(api, LOOKUP, {"card": card}, staff_token)).json()
    assert (
        after["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    )  # the refusal ended the cache

    async with database.reader.connect() as conn:
        actions = (await conn.execute(select(AuditLog.action).order_by(AuditLog.id))).scalars()
        assert list(actions) == ["read_member", "read_member"]
        entries = (await conn.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
    assert entries == 0
