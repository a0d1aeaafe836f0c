"""Firebase ID-token verification behind the TokenVerifier port, done by firebase-admin."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal, TypeGuard

import firebase_admin
from firebase_admin import auth, credentials, exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import DefaultCredentialsError

from backend.rewards.members.rules import UID
from backend.rewards.ports import AuthenticationError, Principal, Role
from backend.rewards.text import is_clean
from backend.settings import ConfigError, Settings

logger = logging.getLogger(__name__)

Mode = Literal["local", "production"]

EMULATOR_HOST_ENV = "FIREBASE_AUTH_EMULATOR_HOST"
DEFAULT_EMULATOR_HOST = "127.0.0.1:9099"
# Tolerates a server clock slightly behind Google's, which would otherwise refuse fresh tokens.
CLOCK_SKEW_SECONDS = 10
# Real ID tokens are about 1 KB (custom claims are capped at 1000 bytes); refuse junk early.
MAX_TOKEN_LENGTH = 8192
# The SDK's default HTTP timeout is 120 s: far too long to hold a request waiting on Auth.
HTTP_TIMEOUT_SECONDS = 10
# Tokens whose last active check is remembered; beyond this the oldest are forgotten.
MAX_REMEMBERED_CHECKS = 10_000

TOKEN_EXPIRED = "TOKEN_EXPIRED"
TOKEN_REVOKED = "TOKEN_REVOKED"
USER_DISABLED = "USER_DISABLED"
USER_NOT_FOUND = "USER_NOT_FOUND"
INVALID_TOKEN = "INVALID_TOKEN"
FORBIDDEN_ROLE = "FORBIDDEN_ROLE"
AUTH_UNAVAILABLE = "AUTH_UNAVAILABLE"

MESSAGES = {
    TOKEN_EXPIRED: "The sign-in token has expired; get a fresh ID token and retry.",
    TOKEN_REVOKED: "The sign-in token was revoked; sign in again.",
    USER_DISABLED: "This account is disabled.",
    USER_NOT_FOUND: "This account no longer exists.",
    INVALID_TOKEN: "The sign-in token is not a valid Firebase ID token for this service.",
    FORBIDDEN_ROLE: "The sign-in token carries a role this service does not know.",
    AUTH_UNAVAILABLE: "Sign-in could not be checked right now; retry shortly.",
}

# Most specific first: the expired and revoked errors subclass InvalidIdTokenError.
_ERROR_CODES: tuple[tuple[type[Exception], str], ...] = (
    (auth.ExpiredIdTokenError, TOKEN_EXPIRED),
    (auth.RevokedIdTokenError, TOKEN_REVOKED),
    (auth.UserDisabledError, USER_DISABLED),
    (auth.UserNotFoundError, USER_NOT_FOUND),
    (auth.InvalidIdTokenError, INVALID_TOKEN),
    (auth.CertificateFetchError, AUTH_UNAVAILABLE),
    (ValueError, INVALID_TOKEN),
    (exceptions.FirebaseError, AUTH_UNAVAILABLE),
)


def refuse(code: str) -> AuthenticationError:
    """Build the AuthenticationError for a code, with a message safe to show a caller."""
    return AuthenticationError(code, MESSAGES[code])


def _code_for(error: Exception) -> str | None:
    """Return the error code for a firebase-admin failure, or None if it is not one."""
    for error_type, code in _ERROR_CODES:
        if isinstance(error, error_type):
            return code
    return None


class FirebaseTokenVerifier:
    """Checks Firebase ID tokens with firebase-admin; emulator-format tokens only in local mode."""

    def __init__(
        self,
        project_id: str,
        mode: Mode,
        emulator_host: str | None = None,
        app_name: str | None = None,
        *,
        check_revoked: bool | None = None,
        credential: credentials.Base | Credentials | None = None,
        cert_url: str | None = None,
        clock_skew_seconds: int = CLOCK_SKEW_SECONDS,
        revocation_cache_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if mode not in ("local", "production"):
            raise ValueError(f"mode must be 'local' or 'production', not {mode!r}")
        self.project_id = project_id
        self.mode: Mode = mode
        self.clock_skew_seconds = clock_skew_seconds
        self.revocation_cache_seconds = revocation_cache_seconds
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        # sha256(token) -> (its `exp`, its principal): production tokens verified before.
        self._verified: dict[bytes, tuple[float, Principal]] = {}
        # sha256(uid, token) -> monotonic time until which its last successful check stands.
        self._active_until: dict[bytes, float] = {}
        self._checking: dict[bytes, asyncio.Future[None]] = {}
        if mode == "production":
            _refuse_emulator_in_production(emulator_host)
        else:
            if cert_url is not None:
                raise ValueError("cert_url only applies in production mode")
            _enable_emulator_mode(emulator_host)
        # Revocation asks the Auth server; locally that exists only if an emulator was named.
        self.check_revoked = (
            check_revoked
            if check_revoked is not None
            else (mode == "production" or bool(emulator_host))
        )
        self._app = firebase_admin.initialize_app(
            _default_credential(mode) if credential is None else credential,
            options={"projectId": project_id, "httpTimeout": HTTP_TIMEOUT_SECONDS},
            name=app_name or f"rewards-auth-{mode}-{uuid.uuid4().hex}",
        )
        # Built now, while the emulator variable is settled: the client binds its endpoints here.
        self._client = auth.Client(self._app)
        if cert_url is not None:
            self._client._token_verifier.id_token_verifier.cert_url = cert_url

    @property
    def app(self) -> firebase_admin.App:
        """The firebase-admin app this verifier owns (never the default app)."""
        return self._app

    async def verify(self, token: str) -> Principal:
        """Return the principal of a valid ID token or raise AuthenticationError.

        In production a verified token's principal is remembered until the token expires: its
        signature and claims cannot change, so checking them again would only cost a thread hop
        and an RS256 verification per request. Revocation is `ensure_active`'s job either way.
        """
        if self.mode == "local":
            # Emulator-format tokens are checked without I/O: no need to pay for a thread.
            return _principal(self._decode(token, check_revoked=False))
        self._refuse_if_emulated()
        key = hashlib.sha256(token.encode()).digest()
        expires, principal = self._verified.get(key, (0.0, None))
        if principal is not None and expires > self._wall_clock():
            return principal
        # May fetch Google's public certificates over HTTP.
        claims = await asyncio.to_thread(self._decode, token, False)
        principal = _principal(claims)
        self._verified.pop(key, None)  # re-inserted last: the dict stays in insertion order
        self._verified[key] = (float(claims["exp"]), principal)
        while len(self._verified) > MAX_REMEMBERED_CHECKS:
            del self._verified[next(iter(self._verified))]
        return principal

    async def ensure_active(
        self, principal: Principal, token: str, *, allow_cached: bool = False
    ) -> None:
        """Raise AuthenticationError if the token was revoked or its user disabled or deleted.

        With `allow_cached`, a success for the same token within `revocation_cache_seconds`
        stands, and concurrent checks of one token share a single call to Firebase.
        """
        if not self.check_revoked:
            return
        key = hashlib.sha256(f"{principal.uid}\0{token}".encode()).digest()
        if not allow_cached or self.revocation_cache_seconds <= 0:
            await self._check_active(key, principal, token)
            return
        if self._active_until.get(key, 0.0) > self._monotonic():
            return
        running = self._checking.get(key)
        if running is None:
            running = asyncio.ensure_future(self._check_active(key, principal, token))
            self._checking[key] = running
            running.add_done_callback(lambda done: self._checked(key, done))
        await asyncio.shield(running)  # one caller giving up must not cancel the others' check

    def _checked(self, key: bytes, done: asyncio.Future[None]) -> None:
        """Let the next caller start a new check; mark the outcome retrieved (waiters may be gone)."""
        self._checking.pop(key, None)
        if not done.cancelled():
            done.exception()

    async def _check_active(self, key: bytes, principal: Principal, token: str) -> None:
        """Ask Firebase about the token; remember a success, forget the token on a refusal."""
        try:
            claims = await asyncio.to_thread(self._decode, token, True)
            if claims.get("uid") != principal.uid:
                raise refuse(INVALID_TOKEN)
        except BaseException:
            self._active_until.pop(key, None)
            raise
        self._active_until.pop(key, None)  # re-inserted last: the dict stays in expiry order
        self._active_until[key] = self._monotonic() + self.revocation_cache_seconds
        while len(self._active_until) > MAX_REMEMBERED_CHECKS:
            del self._active_until[next(iter(self._active_until))]

    def close(self) -> None:
        """Delete this verifier's firebase-admin app."""
        firebase_admin.delete_app(self._app)

    def _decode(self, token: str, check_revoked: bool) -> dict[str, Any]:
        """Verify the token with firebase-admin and return its claims, mapping every failure."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise refuse(INVALID_TOKEN)
        self._refuse_if_emulated()
        try:
            claims: dict[str, Any] = self._client.verify_id_token(
                token, check_revoked=check_revoked, clock_skew_seconds=self.clock_skew_seconds
            )
        except Exception as error:
            code = _code_for(error)
            if code is None:
                raise
            logger.debug("ID token refused (%s): %s", code, error)
            raise refuse(code) from error
        if self.mode == "local":
            self._check_times(claims)
        return claims

    def _refuse_if_emulated(self) -> None:
        """Set after start-up, the emulator variable makes firebase-admin accept unsigned tokens."""
        if self.mode == "production" and os.environ.get(EMULATOR_HOST_ENV):
            logger.error("%s is set in production mode; refusing all tokens", EMULATOR_HOST_ENV)
            raise refuse(AUTH_UNAVAILABLE)  # fail closed, remembered tokens included

    def _check_times(self, claims: dict[str, Any]) -> None:
        """Check exp and iat, which firebase-admin skips for emulator tokens."""
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_number(exp) or not _is_number(iat):
            raise refuse(INVALID_TOKEN)
        now = time.time()
        if exp <= now - self.clock_skew_seconds:
            raise refuse(TOKEN_EXPIRED)
        if iat > now + self.clock_skew_seconds:
            raise refuse(INVALID_TOKEN)


def verifier_from_settings(settings: Settings) -> FirebaseTokenVerifier:
    """Build the service's verifier from its settings (credentials file used in production)."""
    credential = None
    if settings.firebase_credentials_file:
        try:
            credential = credentials.Certificate(settings.firebase_credentials_file)
        except (OSError, ValueError) as error:
            cause = str(error.__cause__ or error).splitlines()[0]
            raise ConfigError(
                [f"FIREBASE_CREDENTIALS_FILE: not a usable service-account key ({cause})"]
            ) from None
    try:
        return FirebaseTokenVerifier(
            settings.firebase_project_id,
            settings.mode,
            emulator_host=settings.firebase_auth_emulator_host,
            credential=credential,
            revocation_cache_seconds=settings.revocation_check_seconds,
        )
    except DefaultCredentialsError as error:
        cause = str(error).splitlines()[0]
        raise ConfigError(
            [f"FIREBASE_CREDENTIALS_FILE: revocation checks need credentials ({cause})"]
        ) from None


def _principal(claims: dict[str, Any]) -> Principal:
    """Turn verified claims into a Principal; an unknown role is refused, never downgraded."""
    role = Role.from_claim(claims.get("role"))
    if role is None:
        raise refuse(FORBIDDEN_ROLE)
    if not isinstance(claims.get("uid"), str) or not is_clean(claims["uid"], UID):
        raise refuse(INVALID_TOKEN)  # a uid we could not store or compare (NUL, over 128, …)
    email = claims.get("email")
    return Principal(
        uid=claims["uid"],
        role=role,
        email=email if isinstance(email, str) else None,
        claims=claims,
    )


def _is_number(value: object) -> TypeGuard[float]:
    """True for an int or float claim (JSON booleans are ints in Python, so exclude them)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _refuse_emulator_in_production(emulator_host: str | None) -> None:
    """Production must never run in emulator mode, where firebase-admin skips the signature."""
    configured = emulator_host or os.environ.get(EMULATOR_HOST_ENV)
    if configured:
        raise RuntimeError(
            f"Refusing to verify Firebase tokens in production mode with an Auth emulator "
            f"configured ({EMULATOR_HOST_ENV}={configured!r}): unsigned tokens would be accepted. "
            f"Unset {EMULATOR_HOST_ENV} or run in local mode."
        )


def _enable_emulator_mode(emulator_host: str | None) -> None:
    """Switch firebase-admin to emulator mode, which it reads from the environment at call time."""
    if emulator_host:
        os.environ[EMULATOR_HOST_ENV] = emulator_host
    else:
        os.environ.setdefault(EMULATOR_HOST_ENV, DEFAULT_EMULATOR_HOST)


def _default_credential(mode: Mode) -> credentials.Base | Credentials:
    """Offline credential locally (the emulator needs none); application default in production."""
    if mode == "local":
        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    return credentials.ApplicationDefault()
