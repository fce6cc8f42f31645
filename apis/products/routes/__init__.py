"""The products API, one module per route group; `ROUTERS` in the order `app.py` includes them."""

from apis.products.routes import categories, currencies, internal, products, promotions, stock, variants

ROUTERS = (
    categories.router,
    currencies.router,
    promotions.router,
    stock.router,
    internal.router,
    variants.router,
    products.router,
)
"""Fixed paths (`/categories`, `/currencies`, `/promotions`, `/stock`, `/internal`) before `/{productId}`."""
