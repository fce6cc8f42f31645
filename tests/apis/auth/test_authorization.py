"""The authorization matrix: every auth route, called by every kind of caller, answers the status in one
table. Each row runs against a fresh service, on SQLite and (integration) on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from apis.auth.app import create_app
from kit.auth.secrets import service_credential
from kit.settings import Settings
from tests.apis.auth.conftest import (
    ON_BOTH_DATABASES,
    PASSWORD,
    World,
    unique,
)

CALLERS = ("anonymous", "customer", "other", "supervisor", "admin", "service", "orders", "manager")
# The other callers answer as one of the table's: of auth's permissions the support agent and the auditor
# hold read:user, as the supervisor does (the auditor also read:role, reading roles as the admin does); the
# other service identities hold no scope on auth, as orders.
SERVICES = ("carts", "products", "images", "catalog", "search")
ANSWERS_AS = {"support": "supervisor", "auditor": "supervisor"} | dict.fromkeys(SERVICES, "orders")
READ_ROLE = {"GET /roles", "GET /roles/{id}", "GET /permissions"}

Make = Callable[[World], Awaitable[Any]]


async def _none(_: World) -> None:
    return None


async def _customer(world: World) -> str:
    return world.people["customer"].id


async def _victim(world: World) -> str:
    return (await world.register("Victor Victim")).id


async def _admin(world: World) -> str:
    """A second administrator (so that the last-administrator guard is not what answers)."""
    return (await world.join_as(world.role_ids["ADMIN"], "Ada Admin")).id


async def _role(world: World) -> str:
    return await world.new_role("read:product")


async def _registration(_: World) -> dict[str, str]:
    return {"name": "New Comer", "email": f"{unique('new')}@example.com", "password": PASSWORD}


async def _credentials(world: World) -> dict[str, str]:
    return {"email": world.people["other"].email, "password": PASSWORD}


async def _refresh_token(world: World) -> dict[str, str]:
    return {"refreshToken": (await world.login(world.people["other"].email)).refresh_token}


async def _token(world: World) -> dict[str, Any]:
    return {"token": world.people["other"].token}


async def _invitation(world: World) -> dict[str, str]:
    return {"token": (await world.invite("Support"))[1], "password": PASSWORD}


async def _invitee(world: World) -> dict[str, str]:
    return {"name": "Ivy", "email": f"{unique('ivy')}@example.com", "roleId": world.role_ids["Support"]}


async def _rename(_: World) -> dict[str, str]:
    return {"name": unique("Renamed ")}


async def _new_role(world: World) -> dict[str, Any]:
    return {"name": unique("Role "), "permissionIds": await world.permission_ids("read:product")}


async def _service_credentials(world: World) -> dict[str, str]:
    return {"serviceId": "orders", "secret": service_credential(world.settings, "orders")}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    expected: tuple[int, int, int, int, int, int, int, int]  # in the order of CALLERS
    target: Make = _none  # fills `{id}` in the path, afresh for each caller
    body: Make = _none

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def answers(self) -> dict[str, int]:
        """Every caller's expected status: the table's, and the others' through `ANSWERS_AS`."""
        table = dict(zip(CALLERS, self.expected, strict=True))
        others = {caller: table[like] for caller, like in ANSWERS_AS.items()}
        if str(self) in READ_ROLE:
            others["auditor"] = table["admin"]
        return table | others


#                                                                 anon cust other sup adm  cli  orders mgr
MATRIX = [
    Route("POST", "/register", (201, 201, 201, 201, 201, 201, 201, 201), body=_registration),
    Route("POST", "/login", (200, 200, 200, 200, 200, 200, 200, 200), body=_credentials),
    Route("POST", "/refresh", (200, 200, 200, 200, 200, 200, 200, 200), body=_refresh_token),
    Route("POST", "/logout", (204, 204, 204, 204, 204, 204, 204, 204), body=_refresh_token),
    Route("POST", "/validate", (200, 200, 200, 200, 200, 200, 200, 200), body=_token),
    Route("POST", "/complete-invitation", (200, 200, 200, 200, 200, 200, 200, 200), body=_invitation),
    Route("GET", "/.well-known/jwks.json", (200, 200, 200, 200, 200, 200, 200, 200)),
    Route(
        "POST", "/internal/service-token", (200, 200, 200, 200, 200, 200, 200, 200), body=_service_credentials
    ),
    Route("GET", "/me", (401, 200, 200, 200, 200, 403, 403, 200)),
    Route("POST", "/users/invite", (401, 403, 403, 403, 201, 403, 403, 403), body=_invitee),
    Route("GET", "/users", (401, 403, 403, 200, 200, 403, 403, 200)),
    Route("GET", "/users/{id}", (401, 200, 403, 200, 200, 403, 403, 200), target=_customer),
    Route("PUT", "/users/{id}", (401, 200, 403, 403, 200, 403, 403, 200), target=_customer, body=_rename),
    Route("DELETE", "/users/{id}", (401, 403, 403, 403, 204, 403, 403, 204), target=_victim),
    Route("POST", "/users/{id}/activate", (401, 403, 403, 403, 200, 403, 403, 200), target=_victim),
    # out-ranking: acting on an administrator takes every permission of ADMIN (the user manager lacks some)
    Route("PUT", "/users/{id}", (401, 403, 403, 403, 200, 403, 403, 403), target=_admin, body=_rename),
    Route("DELETE", "/users/{id}", (401, 403, 403, 403, 204, 403, 403, 403), target=_admin),
    Route("POST", "/users/{id}/activate", (401, 403, 403, 403, 200, 403, 403, 403), target=_admin),
    Route("GET", "/roles", (401, 403, 403, 403, 200, 403, 403, 403)),
    Route("POST", "/roles", (401, 403, 403, 403, 201, 403, 403, 403), body=_new_role),
    Route("GET", "/roles/{id}", (401, 403, 403, 403, 200, 403, 403, 403), target=_role),
    Route("PUT", "/roles/{id}", (401, 403, 403, 403, 200, 403, 403, 403), target=_role, body=_rename),
    Route("DELETE", "/roles/{id}", (401, 403, 403, 403, 204, 403, 403, 403), target=_role),
    Route("GET", "/permissions", (401, 403, 403, 403, 200, 403, 403, 403)),
    Route("POST", "/internal/resync-users", (401, 403, 403, 403, 403, 200, 403, 403)),
]


@pytest.mark.parametrize("route", MATRIX, ids=str)
@ON_BOTH_DATABASES
async def test_every_caller_gets_the_status_the_matrix_gives(world: World, route: Route) -> None:
    answers: dict[str, int] = {}
    for caller in (*CALLERS, *ANSWERS_AS):
        path = route.path.format(id=await route.target(world))
        body = await route.body(world)
        response = await world.client.request(route.method, path, json=body, headers=world.headers(caller))
        answers[caller] = response.status_code
        if response.status_code >= 400:
            assert {"message", "code"} <= response.json().keys(), response.text
    assert answers == route.answers()


def test_the_matrix_covers_every_route_of_the_service(settings: Settings) -> None:
    paths = create_app(settings).openapi()["paths"]
    routes = {
        f"{method.upper()} {re.sub(r'{[a-z_]+}', '{id}', path)}"
        for path, operations in paths.items()
        for method in operations
        if path not in ("/health", "/ready")
    }
    assert routes == {str(route) for route in MATRIX}
