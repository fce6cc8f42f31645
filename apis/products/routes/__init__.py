"""The products API, one module per route group; `ROUTERS` in the order `app.py` includes them."""

from apis.products.routes import categories, internal, products, stock, variants

ROUTERS = (categories.router, stock.router, internal.router, variants.router, products.router)
"""Fixed paths (`/categories`, `/stock`, `/internal`) before `/{productId}`."""
