"""Alembic environment of the products database (run through `commerce migrate products`)."""

from apis.products.models import Base
from kit.migrations import run

run(Base.metadata)
