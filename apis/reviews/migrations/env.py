"""Alembic environment of the reviews database (run through `commerce migrate reviews`)."""

from apis.reviews.models import Base
from kit.migrations import run

run(Base.metadata)
