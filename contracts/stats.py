"""The statistics service's seam: its name, its consumer group on `auth_events` and `order_events`, and the
permissions of its routes (granted by the auth service's seed).

It publishes nothing and nobody calls it but staff: a read model built only from the two topics, which can
be emptied and rebuilt from their beginning without touching a service that owns data.
"""

from __future__ import annotations

SERVICE = "stats"
GROUP = "stats"  # the consumer group: its own offsets on both topics

READ_STATS = "read:stats"  # the KPIs, the revenue series, the top-selling variants
REBUILD_STATS = "rebuild:stats"  # empty the read model and replay both topics from their beginning
