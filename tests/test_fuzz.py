"""Bad input at scale: schemathesis generates requests from every service's own OpenAPI document (in
process) and from the gateway's merged one (through the gateway, in front of every service), anonymous and
authenticated. None may fail with a 5xx, every status is one the document names, every error is JSON with
a `message`, and every 2xx body matches the schema documented for it.

`COMMERCE_FUZZ_EXAMPLES` cases per operation and caller (10 by default, so the fast gate stays fast; the
reliability report's full run sets 100). The figures go to the report's `fuzz` section.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok

from commerce.platform import serving
from kit.settings import SERVICES as SERVICE_NAMES
from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.figures import record
from tests.support import asgi_client, embedded_settings, free_port
from tests.test_openapi import SERVICES as DOCUMENTED

EXAMPLES = int(os.environ.get("COMMERCE_FUZZ_EXAMPLES", "10"))
SERVICES = {name: create for name, create in DOCUMENTED.items() if name != "gateway"}
PROBES = ("/health", "/ready")
PASSWORD = "correct horse battery"


@dataclass
class Tally:
    """What one run of generated requests found, as the report counts it."""

    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)
    no_message: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        return sorted({*self.server_errors, *self.undocumented, *self.no_message, *self.mismatches})

    def record(self, operations: int) -> None:
        record(
            "fuzz",
            operations=operations,
            cases=self.cases,
            server_errors=len(self.server_errors),
            undocumented_statuses=len(self.undocumented),
            errors_without_message=len(self.no_message),
            schema_mismatches=len(self.mismatches),
        )


def operations(document: dict[str, Any]) -> list[Any]:
    """Every operation of `document` schemathesis can read (one it cannot is a failure), but the probes."""
    found = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        assert isinstance(result, Ok), result
        if result.ok().path not in PROBES:
            found.append(result.ok())
    return found


def cases(operation: Any) -> list[Any]:
    """`EXAMPLES` generated requests for `operation`."""
    generated: list[Any] = []

    @hypothesis_settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def collect(case: Any) -> None:
        generated.append(case)

    collect()
    return generated


async def send(client: httpx.AsyncClient, case: Any, authorization: str | None) -> httpx.Response:
    sent = case.as_transport_kwargs(base_url=str(client.base_url))
    # A generated value may end in a space (`Bearer ` for the bearer scheme): no client can send that.
    headers = {name: value.strip() for name, value in (sent.get("headers") or {}).items()}
    if authorization:
        headers["Authorization"] = authorization
    if cookies := sent.get("cookies"):
        headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
    return await client.request(
        sent["method"], sent["url"], params=sent.get("params"), headers=headers, content=sent.get("data")
    )


def judge(tally: Tally, operation: Any, case: Any, response: httpx.Response) -> None:
    """Count what is wrong with `response` to `case`, if anything."""
    tally.cases += 1
    status = response.status_code
    where = f"{case.method} {operation.path} -> {status}"
    if status >= 500:
        tally.server_errors.append(f"{where}: {response.text[:200]}")
    elif str(status) not in operation.definition.raw["responses"]:
        tally.undocumented.append(f"{where}: undocumented")
    elif status >= 400:
        if case.method == "HEAD":  # HEAD answers carry no body
            return
        with contextlib.suppress(ValueError):
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                return
        tally.no_message.append(f"{where}: no JSON message: {response.text[:200]}")
    elif status < 300:
        try:
            operation.validate_response(response)
        except (Failure, FailureGroup) as failed:
            tally.mismatches.append(f"{where}: {str(failed)[:300]}")


Authorize = Callable[[], Awaitable[str | None]]


async def fuzz(client: httpx.AsyncClient, document: dict[str, Any], callers: dict[str, Authorize]) -> Tally:
    """Every operation's generated requests, sent as each caller (an `Authorization` value, fresh per
    operation: a generated logout may have revoked the last one); the figures are recorded.
    """
    tally = Tally()
    found = operations(document)
    for operation in found:
        generated = cases(operation)
        for authorize in callers.values():
            authorization = await authorize()
            for case in generated:
                judge(tally, operation, case, await send(client, case, authorization))
    tally.record(len(found))
    return tally


def signed(tokens: Tokens, caller: str) -> Authorize:
    async def authorization() -> str:
        return f"Bearer {tokens.for_caller(caller)}"

    return authorization


async def anonymous() -> None:
    return None


def account(client: httpx.AsyncClient, prefix: str, login: dict[str, str] | None = None) -> Authorize:
    """A real account's access token from the auth service at `client` + `prefix`: a customer registered
    once (`login` None), or the given account; logged in afresh each time (a generated logout may have
    revoked the last session).
    """
    state: dict[str, str] = {}

    async def authorization() -> str:
        if not state:
            email = f"fuzz-{os.urandom(5).hex()}@example.com"
            body = {"name": "Fuzz Customer", "email": email, "password": PASSWORD}
            response = await client.post(f"{prefix}/register", json=body)
            assert response.status_code == 201, response.text
            state.update(login or {"email": email, "password": PASSWORD})
        response = await client.post(f"{prefix}/login", json=state)
        assert response.status_code == 200, response.text
        return f"Bearer {response.json()['token']}"

    return authorization


@pytest.mark.parametrize("name", SERVICES)
async def test_generated_requests_to_each_service_get_documented_answers(
    settings: Settings, name: str
) -> None:
    app = SERVICES[name](settings.model_copy(update={"order_answer_seconds": 0.05}))  # no saga runs here
    tokens = Tokens(settings.jwt_issuer)
    async with asgi_client(app) as client:
        if name == "auth":  # it trusts only the tokens it signs: real accounts
            admin = {"email": settings.admin_email, "password": settings.admin_password.get_secret_value()}
            customer, admin_ = account(client, ""), account(client, "", admin)
            callers = {"anonymous": anonymous, "customer": customer, "admin": admin_}
        else:
            app.state.token_verifier = tokens.verifier()
            callers = {"anonymous": anonymous} | {c: signed(tokens, c) for c in ("customer", "admin")}
        tally = await fuzz(client, app.openapi(), callers)
    assert not tally.failures(), "\n".join(tally.failures()[:30])


async def test_generated_requests_through_the_gateway_get_documented_answers(tmp_path: Path) -> None:
    ports = {name: free_port() for name in (*SERVICE_NAMES, "gateway")}
    unlimited = {"per_second": 0}  # every caller here is 127.0.0.1: tests/gateway test the limits
    settings = embedded_settings(
        tmp_path,
        ports=ports,
        order_answer_seconds=0.05,  # no worker runs the saga here
        rate_limit=unlimited,
        strict_rate_limit=unlimited,
    )
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    async with serving(settings, queues=()), httpx.AsyncClient(base_url=gateway, timeout=60) as client:
        document = (await client.get("/openapi.json")).json()
        assert {path.split("/")[1] for path in document["paths"]} == set(SERVICES)  # every service answered
        admin = {"email": settings.admin_email, "password": settings.admin_password.get_secret_value()}
        callers = {"anonymous": anonymous, "customer": account(client, "/auth")}
        tally = await fuzz(client, document, callers | {"admin": account(client, "/auth", admin)})
    assert not tally.failures(), "\n".join(tally.failures()[:30])


def _liar() -> Any:
    """A service whose answers break its own document: a 2xx off its schema, an undocumented status, a 5xx
    and an error without a `message`.
    """
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel

    class Count(BaseModel):
        count: int

    app = FastAPI()

    @app.get("/count/{n}", response_model=Count, responses={400: {}})
    async def count(n: int) -> Any:
        answers = {0: JSONResponse({"count": "many"}), 1: JSONResponse({"message": "no"}, status_code=418)}
        answers |= {2: JSONResponse({"message": "boom"}, 500), 3: JSONResponse({"error": "x"}, 400)}
        return answers.get(n % 4)

    return app


async def test_each_broken_promise_is_counted() -> None:
    app = _liar()
    tally = Tally()
    operation = operations(app.openapi())[0]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for n in range(4):
            case = operation.Case(path_parameters={"n": n})
            judge(tally, operation, case, await send(client, case, None))
    assert (len(tally.mismatches), len(tally.undocumented)) == (1, 1)
    assert (len(tally.server_errors), len(tally.no_message)) == (1, 1)
