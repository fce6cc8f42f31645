"""The gateway's routing table: the seed's public prefixes, each to the service that owns it."""

ROUTES: dict[str, str] = {
    "auth": "auth",
    "products": "products",
    "images": "images",
    "search": "search",
    "carts": "carts",
    "orders": "orders",
}

# Service-to-service routes: never reachable from outside, whatever the caller holds.
INTERNAL_SEGMENT = "internal"
