"""Alembic environment of the auth database (run through `commerce migrate auth`)."""

from kit.migrations import run

run()
