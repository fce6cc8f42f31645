"""The auth service's domain errors: each renders as `{"message", "code"}` with the seed's message texts."""

from __future__ import annotations

from typing import Any

from kit.errors import BadRequest, Conflict, Forbidden, Gone, NotFound, TooManyRequests, Unauthorized


class EmailTaken(Conflict):
    default_code = "EmailTaken"

    def __init__(self, message: str = "User already exists") -> None:
        super().__init__(message)


class InvalidCredentials(Unauthorized):
    default_code = "InvalidCredentials"

    def __init__(self) -> None:
        super().__init__("Invalid credentials")


class AccountDeactivated(Forbidden):
    default_code = "AccountDeactivated"

    def __init__(self) -> None:
        super().__init__("Forbidden: Your account has been deactivated.")


class AccountUnavailable(Unauthorized):
    """A valid token whose user was since deactivated or removed."""

    default_code = "AccountUnavailable"

    def __init__(self) -> None:
        super().__init__("User no longer exists or is inactive")


class LoginThrottled(TooManyRequests):
    default_code = "LoginThrottled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed logins. Try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


class RefreshTokenInvalid(Unauthorized):
    default_code = "RefreshTokenInvalid"

    def __init__(self) -> None:
        super().__init__("Invalid or expired refresh token")


class RefreshTokenReused(Unauthorized):
    default_code = "RefreshTokenReused"

    def __init__(self) -> None:
        super().__init__("Refresh token already used: every session of this login was revoked")


class TokenNotValid(Unauthorized):
    """`POST /validate`'s refusal, with the seed's `valid: false` beside our message and code."""

    default_code = "InvalidToken"

    def body(self) -> dict[str, Any]:
        return {"valid": False, **super().body()}


class ServiceCredentialsInvalid(Unauthorized):
    default_code = "InvalidServiceCredentials"

    def __init__(self) -> None:
        super().__init__("Invalid service credentials")


class InvitationNotFound(NotFound):
    default_code = "InvitationNotFound"

    def __init__(self) -> None:
        super().__init__("Invitation not found. The token is invalid.")


class InvitationExpired(Gone):
    default_code = "InvitationExpired"

    def __init__(self) -> None:
        super().__init__("Invitation has expired. Please ask for a new one.")


class UserNotFound(NotFound):
    default_code = "UserNotFound"

    def __init__(self, message: str = "User not found") -> None:
        super().__init__(message)


class RoleNotFound(NotFound):
    default_code = "RoleNotFound"

    def __init__(self) -> None:
        super().__init__("Role not found")


class UnknownRole(BadRequest):
    default_code = "UnknownRole"

    def __init__(self) -> None:
        super().__init__("The specified roleId does not exist.", details=[{"field": "roleId"}])


class InvalidPermissionIds(BadRequest):
    default_code = "InvalidPermissionIds"

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(
            "One or more provided permissionIds are invalid.",
            details=[{"field": "permissionIds", "unknown": unknown}],
        )


class NothingToUpdate(BadRequest):
    default_code = "NothingToUpdate"

    def __init__(self, fields: str) -> None:
        super().__init__(f"No fields to update provided ({fields}).")


class RoleNameTaken(Conflict):
    default_code = "RoleNameTaken"

    def __init__(self, name: str) -> None:
        super().__init__(f"A role with the name '{name}' already exists.")


class ReservedRoleName(BadRequest):
    default_code = "ReservedRoleName"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The role name '{name}' is reserved for service credentials.", details=[{"field": "name"}]
        )


class RoleInUse(Conflict):
    default_code = "RoleInUse"

    def __init__(self, users: int) -> None:
        super().__init__(f"Cannot delete role. It is currently assigned to {users} user(s).")


class FoundationalRole(Forbidden):
    default_code = "FoundationalRole"


class OwnAccount(Forbidden):
    """Changing one's own role, or deactivating oneself."""

    default_code = "OwnAccount"


class LastAdministrator(Forbidden):
    default_code = "LastAdministrator"


class OutRanked(Forbidden):
    """The target's role holds permissions the caller lacks (an administrator, for a user manager)."""

    default_code = "OutRanked"

    def __init__(self, permissions: list[str]) -> None:
        super().__init__(
            "Forbidden: You cannot act on a user whose role holds permissions you do not hold.",
            details=[{"permission": name} for name in permissions],
        )


class PrivilegeEscalation(Forbidden):
    default_code = "PrivilegeEscalation"

    def __init__(self, permissions: list[str]) -> None:
        super().__init__(
            "Forbidden: You cannot grant permissions you do not hold.",
            details=[{"permission": name} for name in permissions],
        )
