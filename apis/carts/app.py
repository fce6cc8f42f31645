"""Carts service: guest and user carts with expiry."""

from fastapi import FastAPI

from kit.settings import Settings
from kit.web import create_service


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("carts")
    return create_service(settings, title="Carts service")
