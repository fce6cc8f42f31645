"""What each service identity may do on other services' internal routes, defined once: the auth service signs
a service token with its identity's scopes, and each internal route declares the one it needs
(`require_scope(scopes.REPORT_ORDER_STATUS)`). An identity absent from `SERVICE_SCOPES` gets no token.
"""

from __future__ import annotations

# products
READ_VARIANTS = "products:read-variants"  # prices and labels of variants (carts, the order saga)
READ_CATALOG = "products:read-catalog"  # event documents and stamps of products (indexing)
ADJUST_STOCK = "products:adjust-stock"  # reserve and release stock (the order saga)
READ_IMAGE_USES = "products:read-image-uses"  # which products show an image (before deleting it)
# images
CHECK_IMAGES = "images:check"  # whether an image is stored (before attaching it to a product)
# orders
REPORT_ORDER_STATUS = "orders:report-status"  # the saga moves an order along (paid, failed, ...)
VERIFY_PURCHASE = "orders:verify-purchase"  # whether a customer received a product (a review's badge)
# carts
USE_ANY_CART = "carts:use-any"  # read and empty a user's cart (placing and completing an order)
# search
WRITE_INDEX = "search:write-index"  # index, delete and reconcile (the catalog worker)
REINDEX = "search:reindex"  # rebuild the index from the catalog (`commerce search reindex`)
# auth
RESYNC_USERS = "auth:resync-users"  # announce every active user again

SERVICE_SCOPES: dict[str, frozenset[str]] = {
    "carts": frozenset({READ_VARIANTS}),
    "products": frozenset({CHECK_IMAGES}),
    "images": frozenset({READ_IMAGE_USES}),
    "orders": frozenset({READ_VARIANTS, ADJUST_STOCK, REPORT_ORDER_STATUS, USE_ANY_CART}),
    "catalog": frozenset({READ_CATALOG, WRITE_INDEX}),
    "search": frozenset({READ_CATALOG}),
    "reviews": frozenset({VERIFY_PURCHASE}),
    "cli": frozenset({REINDEX, RESYNC_USERS}),
}
"""Service identity -> scopes: the services that call others (carts, products, images, orders, search,
reviews), the workers (`catalog`; the orders worker calls as `orders`) and the operator's command line
(`cli`)."""
