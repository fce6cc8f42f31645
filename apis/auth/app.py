"""Auth service: users, roles, permissions and tokens."""

from pathlib import Path

from fastapi import FastAPI

from kit.settings import Settings
from kit.web import create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("auth")
    return create_service(settings, title="Auth service", migrations=MIGRATIONS)
