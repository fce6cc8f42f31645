"""Alembic environment of the orders database (run through `commerce migrate orders`)."""

from apis.orders.models import Base
from kit.migrations import run

run(Base.metadata)
