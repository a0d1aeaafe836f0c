"""Dev tokens: unsigned ID tokens in the Firebase Auth emulator's format, for local mode only."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

ISSUER_PREFIX = "https://securetoken.google.com/"
DEFAULT_TTL_SECONDS = 3600 * 24 * 7
MAX_UID_LENGTH = 128  # firebase-admin refuses longer `sub` claims


def make_dev_token(
    uid: str,
    *,
    role: str | None = None,
    project_id: str,
    email: str | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """Return an unsigned ID token shaped like the emulator's; only local mode accepts it."""
    if not uid or len(uid) > MAX_UID_LENGTH:
        raise ValueError(f"uid must be 1 to {MAX_UID_LENGTH} characters")
    issued_at = int(time.time() if now is None else now)
    header = _segment({"alg": "none", "typ": "JWT"})
    payload = _segment(_claims(uid, role, project_id, email, issued_at, ttl_seconds))
    return f"{header}.{payload}."  # the emulator's tokens end with an empty signature


def _claims(
    uid: str, role: str | None, project_id: str, email: str | None, issued_at: int, ttl: int
) -> dict[str, Any]:
    """Build the payload in the order the emulator's signInWithCustomToken emits it."""
    claims: dict[str, Any] = {} if role is None else {"role": role}
    identities: dict[str, list[str]] = {}
    if email is not None:
        # The emulator adds these for a user with an email; it copies email_verified from the
        # account, but a dev token asserts an identity the developer vouches for.
        claims.update(email=email, email_verified=True)
        identities["email"] = [email]
    claims.update(
        auth_time=issued_at,
        user_id=uid,
        firebase={"identities": identities, "sign_in_provider": "custom"},
        iat=issued_at,
        exp=issued_at + ttl,
        aud=project_id,
        iss=ISSUER_PREFIX + project_id,
        sub=uid,
    )
    return claims


def _segment(data: dict[str, Any]) -> str:
    """Encode one JWT segment: compact JSON, base64url without padding."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
