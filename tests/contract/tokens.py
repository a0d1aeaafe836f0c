"""Token material for contract tests: RS256 keys with certificates, ID-token claims, verifiers."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt
from google.auth.credentials import AnonymousCredentials

from backend.adapters.firebase_auth import FirebaseTokenVerifier

PROD_PROJECT = "rewards-prod-test"
PASSWORD = "correct-horse-battery"


def new_email() -> str:
    """A unique address, so tests never collide in the shared emulator."""
    return f"member-{uuid.uuid4().hex[:12]}@example.com"


@dataclass(frozen=True)
class SigningKey:
    """An RSA key with a self-signed certificate, standing in for one of Google's keys."""

    kid: str
    private_pem: bytes
    cert_pem: str

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        """Return an RS256 JWT of the claims, with this key's (or the given) key id."""
        signer = crypt.RSASigner.from_string(self.private_pem, kid or self.kid)  # type: ignore[no-untyped-call]
        token: bytes = jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
        return token.decode()


def make_signing_key(kid: str) -> SigningKey:
    """Generate a 2048-bit RSA key and a self-signed X.509 certificate for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(kid, private_pem, cert.public_bytes(serialization.Encoding.PEM).decode())


def id_token_claims(uid: str, **overrides: Any) -> dict[str, Any]:
    """Claims shaped like a real Firebase ID token for PROD_PROJECT, valid for an hour."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{PROD_PROJECT}",
        "aud": PROD_PROJECT,
        "auth_time": now,
        "user_id": uid,
        "sub": uid,
        "iat": now,
        "exp": now + 3600,
        "email": f"{uid}@example.com",
        "email_verified": True,
        "firebase": {
            "identities": {"email": [f"{uid}@example.com"]},
            "sign_in_provider": "password",
        },
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def production_verifier(url: str) -> FirebaseTokenVerifier:
    """A production verifier that fetches certificates from the given URL."""
    return FirebaseTokenVerifier(
        PROD_PROJECT,
        "production",
        credential=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        cert_url=url,
        check_revoked=False,  # revocation needs Google's Auth server, unreachable here
    )
