"""Every service's OpenAPI document told the truth about its errors, in one place: `create_service`
installs `truthful_openapi`, so no route declares them by hand.

FastAPI documents a 422 `HTTPValidationError` that is never sent (`kit.web` answers bad input with a 400
`{"message", "code", "details"}`) and none of the 4xx the routes do send; this rewrites each operation's
responses from what the route is: its body, its path parameters and its caller dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from kit.auth.callers import current_caller, optional_user

ERROR_REF = {"$ref": "#/components/schemas/Error"}

# The body `kit.errors.AppError.body` and `kit.web`'s handlers send for every failure.
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "code": {"type": "string", "description": "A stable refusal code, for a program."},
        "details": {"type": "array", "items": {}, "description": "The offending fields, permissions..."},
    },
}

DESCRIPTIONS = {
    400: "Bad input: the message names the offending field",
    401: "No valid access token",
    402: "The card was declined",
    403: "The caller may not do this",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    429: "Too many requests: retry after `Retry-After` seconds",
    502: "An upstream service failed",
    503: "An upstream service is unavailable",
    504: "An upstream service did not answer in time",
}


def error_response(status: int) -> dict[str, Any]:
    """One documented error answer: its description and the `Error` body."""
    return {
        "description": DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def add_errors(operation: dict[str, Any], statuses: list[int]) -> None:
    """Document `statuses` on `operation` with the `Error` body, keeping a description the route gave."""
    responses = operation.setdefault("responses", {})
    for status in statuses:
        given = responses.get(str(status), {}).get("description") or DESCRIPTIONS.get(status, "Error")
        responses[str(status)] = {**error_response(status), "description": given}


def truthful_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi` replaced: FastAPI's document (rebuilt when the routes change) with the errors the
    routes really send.
    """
    build = app.openapi
    told: list[dict[str, Any]] = []  # the document last rewritten

    def openapi() -> dict[str, Any]:
        document = build()
        if not told or told[0] is not document:
            _tell_errors(document, app)
            told[:] = [document]
        return document

    return openapi


def _tell_errors(document: dict[str, Any], app: FastAPI) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                _document_errors(document["paths"][route.path_format][method.lower()], route)


def _document_errors(operation: dict[str, Any], route: RouteContext) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    declared = [int(status) for status in responses if status.isdigit() and int(status) >= 400]
    statuses = {400, *declared}
    calls = set(_calls(route.dependant))
    if current_caller in calls:
        statuses |= {401, 403}
    elif optional_user in calls:
        statuses.add(401)  # a bad token is refused, never taken for anonymous
        operation["security"] = [*operation.get("security", []), {}]  # no token at all is fine
    else:
        operation["security"] = []  # no token is read: said, not left to a document-wide default
    if route.dependant.path_params:
        statuses.add(404)
    if "requestBody" in operation:
        statuses.add(413)
    add_errors(operation, sorted(statuses))


def _calls(dependant: Dependant) -> Iterator[Any]:
    """Every callable the route depends on, however deep (`require_permission`'s check → `current_user`)."""
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)
