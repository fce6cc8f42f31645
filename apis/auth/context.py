"""Everything the auth service signs and checks with, built once at start-up from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from apis.auth.passwords import Passwords
from apis.auth.throttle import ThrottlePolicy
from apis.auth.tokens import Signer
from contracts.scopes import SERVICE_SCOPES
from kit.auth.secrets import service_credential
from kit.settings import Settings


@dataclass(frozen=True)
class AuthContext:
    signer: Signer
    passwords: Passwords
    throttle: ThrottlePolicy
    service_credentials: Mapping[str, str]  # identity -> its secret, for every identity of SERVICE_SCOPES
    refresh_ttl: timedelta
    invitation_ttl: timedelta

    @classmethod
    def load(cls, settings: Settings) -> AuthContext:
        """Read (or, outside production, provision) the keys; raise InsecureConfiguration when unsafe."""
        return cls(
            signer=Signer.load(settings),
            passwords=Passwords.for_environment(
                settings.environment, concurrency=settings.password_hash_concurrency
            ),
            throttle=ThrottlePolicy(
                window=settings.login_throttle_window,
                per_email=settings.login_max_failures_per_email,
                per_address=settings.login_max_failures_per_address,
            ),
            service_credentials={name: service_credential(settings, name) for name in SERVICE_SCOPES},
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl),
            invitation_ttl=timedelta(seconds=settings.invitation_ttl),
        )
