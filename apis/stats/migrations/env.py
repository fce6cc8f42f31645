"""Alembic environment of the statistics database (run through `commerce migrate stats`)."""

from apis.stats.models import Base
from kit.migrations import run

run(Base.metadata)
