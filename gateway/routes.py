"""The gateway's routing table: the seed's public prefixes, each to the service that owns it."""

from kit import metrics

ROUTES: dict[str, str] = {
    "auth": "auth",
    "products": "products",
    "images": "images",
    "search": "search",
    "carts": "carts",
    "orders": "orders",
    "stats": "stats",
    "reviews": "reviews",
}

# Service-to-service routes: never reachable from outside, whatever the caller holds.
INTERNAL_SEGMENT = "internal"


def forwarded(path: str) -> bool:
    """Whether the path after a prefix may reach the service: neither an internal route nor its metrics
    (scraped on the service's own port, never through the gateway).
    """
    return INTERNAL_SEGMENT not in path.split("/") and path.rstrip("/") != metrics.PATH
