"""The products API, one module per route group; `ROUTERS` in the order `app.py` includes them."""

from apis.products.routes import categories, currencies, internal, products, stock, variants

ROUTERS = (
    categories.router,
    currencies.router,
    stock.router,
    internal.router,
    variants.router,
    products.router,
)
"""Fixed paths (`/categories`, `/currencies`, `/stock`, `/internal`) before `/{productId}`."""
