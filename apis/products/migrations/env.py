"""Alembic environment of the products database (run through `commerce migrate products`)."""

from kit.migrations import run

run()
