"""Alembic environment of the auth database (run through `commerce migrate auth`)."""

from apis.auth.models import Base
from kit.migrations import run

run(Base.metadata)
