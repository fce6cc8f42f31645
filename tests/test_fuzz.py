"""Bad input at small scale, in process: schemathesis generates requests from each service's own OpenAPI
document (a few per operation, so the fast gate stays fast), anonymous and as an Admin. None may fail with
a 5xx, every error is JSON with a `message`, and every status is one the document names.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.core.result import Ok

from kit.settings import Settings
from tests.apis.products.conftest import Tokens
from tests.support import asgi_client
from tests.test_openapi import SERVICES as DOCUMENTED

EXAMPLES = 10
# The gateway is left out: it only forwards, to upstreams not running here.
SERVICES = {name: create for name, create in DOCUMENTED.items() if name != "gateway"}


def _cases(document: dict[str, Any]) -> list[Any]:
    """`EXAMPLES` generated requests for every operation but the probes."""
    cases: list[Any] = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        assert isinstance(result, Ok), result  # a document schemathesis cannot read is a failure
        operation = result.ok()
        if operation.path in ("/health", "/ready"):
            continue

        @hypothesis_settings(
            max_examples=EXAMPLES,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def collect(case: Any) -> None:
            cases.append(case)

        collect()
    return cases


# Anonymous, and as an Admin holding every permission (not on auth: it trusts only the tokens it signs).
CALLERS = [(name, None) for name in SERVICES] + [(name, "admin") for name in SERVICES if name != "auth"]


@pytest.mark.parametrize(
    ("name", "caller"), CALLERS, ids=[f"{name}-{caller or 'anonymous'}" for name, caller in CALLERS]
)
async def test_generated_requests_get_documented_json_answers(
    settings: Settings, name: str, caller: str | None
) -> None:
    app = SERVICES[name](settings.model_copy(update={"order_answer_seconds": 0.05}))  # no saga runs here
    tokens = Tokens(settings.jwt_issuer)
    if caller:
        app.state.token_verifier = tokens.verifier()
    document = app.openapi()
    failures = []
    async with asgi_client(app) as client:
        for case in _cases(document):
            sent = case.as_transport_kwargs(base_url="http://test")
            headers = dict(sent.get("headers") or {})
            if caller:
                headers["Authorization"] = f"Bearer {tokens.for_caller(caller)}"
            if cookies := sent.get("cookies"):
                headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
            response = await client.request(
                sent["method"],
                sent["url"],
                params=sent.get("params"),
                headers=headers,
                content=sent.get("data"),
            )
            where = f"{case.method} {case.formatted_path} -> {response.status_code}"
            documented = document["paths"][case.path][case.method.lower()]["responses"]
            if response.status_code >= 500:
                failures.append(f"{where}: {response.text[:200]}")
            elif str(response.status_code) not in documented:
                failures.append(f"{where}: undocumented")
            elif response.status_code >= 400 and case.method != "HEAD":  # HEAD answers carry no body
                with contextlib.suppress(ValueError):
                    if "message" in response.json():
                        continue
                failures.append(f"{where}: no JSON message: {response.text[:200]}")
    assert not failures, "\n".join(sorted(set(failures))[:30])
