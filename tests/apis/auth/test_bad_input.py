"""Bad input on every route answers 400 (naming the field), 404 or 409 with a JSON message and a code, and
writes nothing: every auth table, outbox included, is the same before and after. SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.apis.auth.conftest import ON_BOTH_DATABASES, PASSWORD, World

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Bad:
    why: str
    status: int
    body: Any = None
    raw: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    target: str = "{customer}"  # fills `{id}`: {customer}, {role}, {unknown}
    field: str | None = None  # the field a 400 must name


MALFORMED = Bad("malformed JSON", 400, raw=b'{"name": ', field="body")
NOT_AN_OBJECT = Bad("a list instead of an object", 400, body=[])
LONG = "é" * 257  # over the bounds (256 characters of password, 200 of name) before anything is hashed

# route: (caller, bad requests)
BAD_INPUT: dict[str, tuple[str, list[Bad]]] = {
    "POST /register": (
        "anonymous",
        [
            MALFORMED,
            NOT_AN_OBJECT,
            Bad("no body fields", 400, body={}, field="email"),
            Bad("no password", 400, body={"name": "A", "email": "a@example.com"}, field="password"),
            Bad(
                "short password",
                400,
                body={"name": "A", "email": "a@example.com", "password": "1234567"},
                field="password",
            ),
            Bad(
                "malformed email", 400, body={"name": "A", "email": "a@", "password": PASSWORD}, field="email"
            ),
            Bad(
                "long password",
                400,
                body={"name": "A", "email": "a@example.com", "password": LONG},
                field="password",
            ),
            Bad(
                "long name",
                400,
                body={"name": LONG, "email": "a@example.com", "password": PASSWORD},
                field="name",
            ),
            Bad(
                "blank name",
                400,
                body={"name": "  ", "email": "a@example.com", "password": PASSWORD},
                field="name",
            ),
            Bad(
                "a number as name",
                400,
                body={"name": 7, "email": "a@example.com", "password": PASSWORD},
                field="name",
            ),
            Bad(
                "a chosen role",
                400,
                body={"name": "A", "email": "a@example.com", "password": PASSWORD, "roleName": "ADMIN"},
                field="roleName",
            ),
            Bad(
                "a taken email in capitals",
                409,
                body={"name": "A", "email": "{CUSTOMER_EMAIL}", "password": PASSWORD},
            ),
        ],
    ),
    "POST /login": (
        "anonymous",
        [
            MALFORMED,
            Bad("no password", 400, body={"email": "a@example.com"}, field="password"),
            Bad("long password", 400, body={"email": "a@example.com", "password": LONG}, field="password"),
            Bad("empty email", 400, body={"email": " ", "password": "x"}, field="email"),
        ],
    ),
    "POST /refresh": (
        "anonymous",
        [
            MALFORMED,
            Bad("no token", 400, body={}, field="refreshToken"),
            Bad("an unknown token", 401, body={"refreshToken": "nope"}),
        ],
    ),
    "POST /logout": ("anonymous", [MALFORMED, Bad("no token", 400, body={}, field="refreshToken")]),
    "POST /validate": (
        "anonymous",
        [
            MALFORMED,
            Bad("no token", 400, body={}, field="token"),
            Bad("an empty token", 400, body={"token": ""}, field="token"),
        ],
    ),
    "POST /complete-invitation": (
        "anonymous",
        [
            MALFORMED,
            Bad("no password", 400, body={"token": "x"}, field="password"),
            Bad("long password", 400, body={"token": "x", "password": LONG}, field="password"),
            Bad("short password", 400, body={"token": "x", "password": "short"}, field="password"),
            Bad("an unknown invitation", 404, body={"token": "x", "password": PASSWORD}),
        ],
    ),
    "POST /internal/service-token": (
        "anonymous",
        [
            MALFORMED,
            Bad("no secret", 400, body={"serviceId": "orders"}, field="secret"),
            Bad(
                "a malformed service id", 400, body={"serviceId": "Orders!", "secret": "x"}, field="serviceId"
            ),
            Bad("a wrong secret", 401, body={"serviceId": "orders", "secret": "guess"}),
        ],
    ),
    "POST /users/invite": (
        "admin",
        [
            MALFORMED,
            Bad("no role", 400, body={"name": "I", "email": "i@example.com"}, field="roleId"),
            Bad(
                "malformed email", 400, body={"name": "I", "email": "nope", "roleId": "{role}"}, field="email"
            ),
            Bad("an unknown role", 400, body={"name": "I", "email": "i@example.com", "roleId": UNKNOWN}),
            Bad("a taken email", 409, body={"name": "I", "email": "{CUSTOMER_EMAIL}", "roleId": "{role}"}),
        ],
    ),
    "GET /users": (
        "admin",
        [
            Bad("page zero", 400, params={"page": "0"}, field="page"),
            Bad("a word as page", 400, params={"page": "two"}, field="page"),
            Bad(
                "a page past any offset (fuzzing: a 500)",
                400,
                params={"page": "1000000000000000000"},
                field="page",
            ),
            Bad("a huge limit", 400, params={"limit": "1000"}, field="limit"),
            Bad("an unknown sort key", 400, params={"sortBy": "password"}, field="sortBy"),
            Bad("an unknown sort order", 400, params={"sortOrder": "up"}, field="sortOrder"),
            Bad("a non-boolean filter", 400, params={"isActive": "maybe"}, field="isActive"),
        ],
    ),
    "GET /users/{id}": ("admin", [Bad("an unknown user", 404, target=UNKNOWN)]),
    "PUT /users/{id}": (
        "admin",
        [
            MALFORMED,
            Bad("nothing to change", 400, body={}),
            Bad("a blank name", 400, body={"name": " "}, field="name"),
            Bad("an unknown role", 400, body={"roleId": UNKNOWN}),
            Bad("an unknown user", 404, body={"name": "X"}, target=UNKNOWN),
        ],
    ),
    "DELETE /users/{id}": ("admin", [Bad("an unknown user", 404, target=UNKNOWN)]),
    "POST /users/{id}/activate": ("admin", [Bad("an unknown user", 404, target=UNKNOWN)]),
    "POST /roles": (
        "admin",
        [
            MALFORMED,
            Bad("no name", 400, body={}, field="name"),
            Bad("a blank name", 400, body={"name": "  "}, field="name"),
            Bad("a taken name", 409, body={"name": "Supervisor"}),
            Bad("a taken name in other case", 409, body={"name": "supervisor"}),
            Bad("the service role's name", 400, body={"name": "Service"}, field="name"),
            Bad("unknown permissions", 400, body={"name": "New", "permissionIds": [UNKNOWN]}),
            Bad(
                "permissions not a list",
                400,
                body={"name": "New", "permissionIds": "all"},
                field="permissionIds",
            ),
        ],
    ),
    "GET /roles/{id}": ("admin", [Bad("an unknown role", 404, target=UNKNOWN)]),
    "PUT /roles/{id}": (
        "admin",
        [
            MALFORMED,
            Bad("nothing to change", 400, body={}, target="{role}"),
            Bad("a taken name", 409, body={"name": "Auditor"}, target="{role}"),
            Bad("unknown permissions", 400, body={"permissionIds": [UNKNOWN]}, target="{role}"),
            Bad("an unknown role", 404, body={"name": "X"}, target=UNKNOWN),
        ],
    ),
    "DELETE /roles/{id}": ("admin", [Bad("an unknown role", 404, target=UNKNOWN)]),
}


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in names.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    return value


@pytest.mark.parametrize("route", BAD_INPUT)
@ON_BOTH_DATABASES
async def test_bad_input_is_refused_with_a_json_error_and_writes_nothing(world: World, route: str) -> None:
    caller, cases = BAD_INPUT[route]
    role = await world.new_role("read:product")
    names = {
        "customer": world.people["customer"].id,
        "CUSTOMER_EMAIL": world.people["customer"].email.upper(),
        "role": role,
    }
    method, path = route.split(" ")
    before = await world.snapshot()
    for case in cases:
        url = path.format(id=_fill(case.target, names))
        options: dict[str, Any] = {"headers": world.headers(caller), "params": case.params}
        if case.raw is not None:
            options["content"] = case.raw
            options["headers"] = {**options["headers"], "Content-Type": "application/json"}
        elif case.body is not None:
            options["json"] = _fill(case.body, names)
        response = await world.client.request(method, url, **options)
        assert response.status_code == case.status, (case.why, response.text)
        body = response.json()
        assert body["message"], case.why
        assert body["code"] not in ("", "InternalError"), case.why
        if case.field:
            assert case.field in {detail["field"] for detail in body["details"]}, (case.why, body)
    assert await world.snapshot() == before


def test_every_route_taking_input_has_bad_input_cases() -> None:
    from tests.apis.auth.test_authorization import MATRIX

    without_input = {
        "GET /me",
        "GET /roles",
        "GET /permissions",
        "GET /.well-known/jwks.json",
        "POST /internal/resync-users",
    }
    assert {str(route) for route in MATRIX} - without_input == set(BAD_INPUT)
