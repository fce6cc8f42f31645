"""The verified caller, in a room of its own: tokens produce it, caller dependencies hand it to routes, and
business rules take it without importing FastAPI or JWT code.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.auth.services import SERVICE_ROLE, SERVICE_SUBJECT_PREFIX


@dataclass(frozen=True)
class Principal:
    """The verified caller: a user (`id` is the user id) or a service (`role == "service"`), which holds the
    scopes of its identity (`contracts.scopes`) and no permissions.
    """

    id: str
    email: str
    name: str
    role: str
    permissions: frozenset[str]
    scopes: frozenset[str] = frozenset()

    @property
    def is_service(self) -> bool:
        return self.role == SERVICE_ROLE and self.id.startswith(SERVICE_SUBJECT_PREFIX)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def has_scope(self, scope: str) -> bool:
        """True for a service whose identity was granted `scope`; a user never holds one, any role."""
        return self.is_service and scope in self.scopes
