"""What the auth service signs with: the Ed25519 key, access and service tokens, the JWKS document; and the
opaque secrets (refresh and invitation tokens) it hands out and stores only as digests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from kit.auth.secrets import InsecureConfiguration, provisioned_secret
from kit.auth.tokens import ALGORITHM
from kit.settings import Settings

KEY_FILE = "auth-signing-key.pem"


@dataclass(frozen=True)
class Signer:
    """Signs access tokens with the service's private key; publishes the public half under its `kid`."""

    key: Ed25519PrivateKey
    kid: str
    issuer: str
    ttl: int

    @classmethod
    def load(cls, settings: Settings) -> Signer:
        """The configured key (`COMMERCE_JWT_PRIVATE_KEY`); outside production, one kept in `data_dir`."""
        pem = provisioned_secret(
            settings,
            settings.jwt_private_key,
            variable="COMMERCE_JWT_PRIVATE_KEY",
            filename=KEY_FILE,
            generate=_new_pem,
        )
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise InsecureConfiguration(
                "COMMERCE_JWT_PRIVATE_KEY is not an unencrypted PEM private key"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InsecureConfiguration(
                "COMMERCE_JWT_PRIVATE_KEY must be an Ed25519 key (openssl genpkey -algorithm ed25519)"
            )
        return cls(key, thumbprint(key.public_key()), settings.jwt_issuer, settings.access_token_ttl)

    def jwks(self) -> dict[str, Any]:
        """The JWKS document other services verify with."""
        public = OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        """An access token carrying `claims`, valid for `ttl` seconds from now."""
        now = int(time.time())
        payload = {**claims, "iss": self.issuer, "iat": now, "exp": now + self.ttl, "jti": uuid.uuid4().hex}
        return jwt.encode(payload, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})


def thumbprint(key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint: a `kid` that changes exactly when the key does."""
    public = OKPAlgorithm.to_jwk(key, as_dict=True)
    canonical = json.dumps({name: public[name] for name in ("crv", "kty", "x")}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _new_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def new_secret() -> str:
    """An opaque token of 256 random bits (refresh tokens, invitations)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored of an opaque token: its SHA-256 (enough for 256 random bits; no salt needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()
