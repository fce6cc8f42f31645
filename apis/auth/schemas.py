"""What the auth routes accept and answer, in the seed's camelCase (`profileImage`, `roleId`, `isActive`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from contracts.auth import Language
from kit.schemas import Email, Page, Pagination, Schema

CUSTOMER = "Customer"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
ImageUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]
RoleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=512)]


# --- accounts and tokens ---------------------------------------------------------------------------------


class UserRegister(Schema):
    name: Name
    email: Email
    password: Password
    profile_image: ImageUrl | None = None
    language: Language | None = Field(
        default=None, description="`en`, `fr` or `ar`: the user's mails; else the request's Accept-Language"
    )
    role_name: str | None = Field(
        default=None, description="Registration always creates a Customer; any other value is refused."
    )

    @field_validator("role_name")
    @classmethod
    def _customer_only(cls, value: str | None) -> str | None:
        if value is not None and value != CUSTOMER:
            raise ValueError("registration always creates a Customer; roleName cannot be chosen")
        return value


class Login(Schema):
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=320)
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RefreshRequest(Schema):
    refresh_token: Secret


class TokenPair(Schema):
    token: str = Field(description="Access token (EdDSA JWT), sent as `Authorization: Bearer <token>`.")
    refresh_token: str = Field(description="Opaque; trade it once at `POST /auth/refresh` for a new pair.")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.")


class CompleteInvitation(Schema):
    token: Secret
    password: Password


class ValidateRequest(Schema):
    token: Annotated[str, StringConstraints(min_length=1, max_length=8192)]


class ValidatedUser(Schema):
    id: str
    email: str
    name: str
    profile_image: str | None
    role: str
    permissions: list[str]


class Validation(Schema):
    valid: Literal[True] = True
    user: ValidatedUser


class RoleLabel(Schema):
    name: str


class Me(Schema):
    id: str
    name: str
    email: str
    profile_image: str | None
    language: str
    role: RoleLabel


class ServiceTokenRequest(Schema):
    service_id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")]
    secret: Secret


class ServiceToken(Schema):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


# --- users -------------------------------------------------------------------------------------------


class PermissionRead(Schema):
    id: str
    name: str
    description: str | None


class RoleWithPermissions(Schema):
    id: str
    name: str
    description: str | None
    permissions: list[PermissionRead]


class UserDetailed(Schema):
    id: str
    name: str
    email: str
    profile_image: str | None
    language: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    role: RoleWithPermissions


class UserPage(Schema):
    data: list[UserDetailed]
    pagination: Pagination


class UserQuery(Schema):
    page: Page = 1  # bounded: an unbounded page overflowed SQLite's offset (a 500)
    limit: int = Field(default=10, ge=1, le=100)
    role_id: Identifier | None = None
    is_active: bool | None = None
    sort_by: Literal["name", "email", "createdAt"] = "createdAt"
    sort_order: Literal["asc", "desc"] = "desc"


class UserInvite(Schema):
    name: Name
    email: Email
    role_id: Identifier


class Invitation(Schema):
    message: str = "Invitation sent successfully."
    user_id: str
    invitation_token: str = Field(
        description="Give it to the invitee (it is stored hashed and never published): "
        "`POST /auth/complete-invitation` with it and a password activates the account."
    )
    invitation_expires: datetime


class UserUpdate(Schema):
    name: Name | None = None
    role_id: Identifier | None = None
    profile_image: ImageUrl | None = None
    language: Language | None = Field(default=None, description="`en`, `fr` or `ar`: the user's mails")


class Resync(Schema):
    message: str
    broadcasted: int


# --- roles -------------------------------------------------------------------------------------------


class RoleMember(Schema):
    id: str
    name: str
    profile_image: str | None


class RoleRead(RoleWithPermissions):
    users: list[RoleMember] = Field(description="The first five members, oldest first.")
    user_count: int


class RoleCreate(Schema):
    name: RoleName
    description: Description | None = None
    permission_ids: list[Identifier] | None = Field(default=None, max_length=200)


class RoleUpdate(Schema):
    name: RoleName | None = None
    description: Description | None = None
    permission_ids: list[Identifier] | None = Field(default=None, max_length=200)
