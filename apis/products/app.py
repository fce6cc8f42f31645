"""Products service: catalog, categories, variants and the stock ledger."""

from pathlib import Path

from fastapi import FastAPI

from kit.settings import Settings
from kit.web import create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).for_service("products")
    return create_service(settings, title="Products service", migrations=MIGRATIONS)
