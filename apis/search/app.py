"""Search service: the product index, queries and facets."""

from fastapi import FastAPI

from kit.settings import Settings
from kit.web import create_service


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("search")
    return create_service(settings, title="Search service")
