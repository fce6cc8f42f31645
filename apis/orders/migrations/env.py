"""Alembic environment of the orders database (run through `commerce migrate orders`)."""

from kit.migrations import run

run()
