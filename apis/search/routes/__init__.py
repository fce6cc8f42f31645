"""The search API, one module per route group; `ROUTERS` in the order `app.py` includes them."""

from apis.search.routes import admin, internal, public

ROUTERS = [public.router, admin.router, internal.router]
