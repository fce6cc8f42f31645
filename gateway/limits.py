"""Rate limits at the edge: a token bucket per client address and per verified user, on the cache port
(Redis when real, so every gateway instance shares them), and a stricter one on the routes guesses and
floods aim at.
"""

from __future__ import annotations

import logging
import math

from kit import metrics
from kit.auth.principal import Principal
from kit.cache import Cache
from kit.errors import TooManyRequests
from kit.settings import Settings

log = logging.getLogger(__name__)

# (method, prefix, path after it): logins and registrations are guessed at, orders reserve stock.
STRICT_ROUTES = frozenset(
    {("POST", "auth", "/login"), ("POST", "auth", "/register"), ("POST", "orders", "/")}
)


async def check(
    cache: Cache,
    settings: Settings,
    *,
    method: str,
    prefix: str,
    path: str,
    address: str,
    principal: Principal | None,
) -> None:
    """Take a token from each bucket the request counts against; 429 with Retry-After when one is empty."""
    callers = [f"address:{address}"] + ([f"user:{principal.id}"] if principal else [])
    buckets = [(f"rate:all:{caller}", "all", settings.rate_limit) for caller in callers]
    route = (method, prefix, path.rstrip("/") or "/")
    if route in STRICT_ROUTES:
        name = f"{method}:{prefix}{route[2]}"
        buckets += [(f"rate:{name}:{caller}", name, settings.strict_rate_limit) for caller in callers]
    for key, limit_name, limit in buckets:
        if limit.per_second <= 0:
            continue
        try:
            wait = await cache.take(key, per_second=limit.per_second, burst=limit.burst)
        except Exception as exc:  # a cache down stops no request: auth still throttles logins itself
            log.warning("rate limit unchecked", extra={"key": key, "error": repr(exc)})
            return
        if wait > 0:
            metrics.RATE_LIMIT_REFUSALS.labels(settings.service_name, limit_name).inc()
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Too many requests: try again in {seconds} s.",
                code="RateLimited",
                headers={"Retry-After": str(seconds)},
            )
