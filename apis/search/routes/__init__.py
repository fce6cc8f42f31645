"""The search API, one module per route group; `ROUTERS` in the order `app.py` includes them."""

from apis.search.routes import internal, public

ROUTERS = [public.router, internal.router]
