"""Process settings: one `Settings()` per process, built in `__main__` and passed down.

Environment variables carry the `COMMERCE_` prefix (`COMMERCE_BUS_URL=kafka://...`). The URL scheme of each
port picks its adapter; every default is embedded, so a bare checkout runs with nothing installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The seed's ports, kept so that its clients and scripts keep working.
DEFAULT_PORTS: dict[str, int] = {
    "gateway": 3000,
    "auth": 3001,
    "products": 3003,
    "images": 3004,
    "search": 3005,
    "carts": 3006,
    "orders": 3007,
    "reviews": 3008,
    "stats": 3010,
}
SERVICES: tuple[str, ...] = ("auth", "products", "images", "search", "carts", "orders", "stats", "reviews")
DATABASE_SERVICES: tuple[str, ...] = ("auth", "products", "orders", "stats", "reviews")


class RateLimit(BaseModel):
    """A token bucket: `burst` requests at once, refilled at `per_second`; `per_second` 0 turns it off."""

    model_config = ConfigDict(frozen=True)

    per_second: float = Field(ge=0)
    burst: int = Field(default=1, ge=1)


class Settings(BaseSettings):
    """Everything a process needs to open its ports; `for_service` derives one service's view."""

    model_config = SettingsConfigDict(env_prefix="COMMERCE_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "gateway"
    host: str = "127.0.0.1"
    advertise_host: str | None = Field(
        default=None, description="Address other services reach this one at (a pod IP); defaults to host."
    )
    ports: dict[str, int] = Field(default_factory=dict, description="Overrides of DEFAULT_PORTS, by service.")
    data_dir: Path = Path(".commerce")

    database_url: str = Field(
        default="sqlite+aiosqlite:///{data_dir}/{service}.db",
        description="SQLAlchemy URL; {service} and {data_dir} are filled in: one value serves all.",
    )
    auto_migrate: bool = True
    bus_url: str = Field(
        default="sqlite:///{data_dir}/bus.db",
        validate_default=True,
        description="memory:// (in-process), sqlite:///path (embedded, durable; {data_dir} is filled in) "
        "or kafka://host:9092.",
    )
    bus_handler_attempts: int = Field(
        default=10, ge=1, description="Tries of a failing event handler before its event goes to <topic>.dlq."
    )
    bus_max_backoff: float = Field(
        default=30.0, gt=0, description="Longest wait between handler tries and consumer restarts (seconds)."
    )
    cache_url: str = "memory://"
    search_url: str = Field(
        default="sqlite:///{data_dir}/search.db",
        validate_default=True,
        description="sqlite:///path (embedded FTS5; {data_dir} is filled in) or http://host:9200[/alias] "
        "(Elasticsearch; the alias, `products` by default, names the index generations behind it).",
    )
    discovery_url: str = "static://"
    images_store: str = Field(
        default="{data_dir}/images",
        validate_default=True,
        description="Where the images service keeps its files: a folder ({data_dir} is filled in; a volume "
        "in Compose and Kind).",
    )
    images_public_url: str = Field(
        default="",
        description="Origin clients reach the gateway at, prefixed to image URLs (http://localhost:3000); "
        "empty: URLs are relative (/images/<name>).",
    )
    mail_url: str = Field(
        default="folder://{data_dir}/mail",
        validate_default=True,
        description="Where notification e-mails go: folder:///path (one .eml file each; {data_dir} is filled "
        "in), smtp://[user:password@]host:port[?starttls=true] or smtps://host:port.",
    )
    mail_from: str = Field(default="Commerce <shop@commerce.local>", description="The From of every e-mail.")
    mail_max_age: float = Field(
        default=2 * 24 * 3600,
        gt=0,
        description="Seconds after its event a notification is still sent; an older event (a new consumer "
        "group reading the topics from their beginning, a long outage) sends none.",
    )
    shop_url: str = Field(
        default="http://localhost:5173", description="The storefront the e-mails link to (the seed's)."
    )
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233

    upstream_timeout: float = Field(default=30.0, description="Seconds the gateway waits for an upstream.")
    upstream_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description="Overrides by gateway path prefix, the longest one matching: `orders`, `images/upload`.",
    )
    upstream_retries: int = Field(
        default=2,
        ge=0,
        description="Extra tries of an idempotent request whose upstream refused the connection.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Services: the peers (the gateway's addresses or networks) believed in X-Forwarded-*.",
    )
    edge_trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Gateway: the proxies in front of it (a load balancer) whose X-Forwarded-* it believes; "
        "none by default, so a client's own are replaced by what the gateway saw.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins browsers may call the gateway from; `*` allows any, without credentials.",
    )
    max_body_bytes: int = Field(
        default=1 << 20, gt=0, description="Largest request body, where no route says more."
    )
    max_upload_bytes: int = Field(
        default=5 << 20, gt=0, description="Largest image upload (`/images/upload`)."
    )
    body_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a request body may pause between two chunks before a 408."
    )
    rate_limit: RateLimit = Field(
        default_factory=lambda: RateLimit(per_second=20, burst=100),
        description="Gateway: every client address, and every user, may send `burst` requests at once, "
        "then `per_second` (a token bucket on the cache).",
    )
    strict_rate_limit: RateLimit = Field(
        default_factory=lambda: RateLimit(per_second=0.2, burst=10),
        description="Gateway: the same, for each of POST /auth/login, /auth/register and /orders.",
    )
    service_call_timeout: float = Field(default=10.0, description="Seconds a ServiceClient call may take.")
    outbox_poll_interval: float = 1.0
    outbox_max_attempts: int = Field(
        default=20, gt=0, description="Deliveries tried (~15 min of backoff) before a row is parked."
    )

    admin_email: str = "admin@commerce.local"
    admin_password: SecretStr = SecretStr("commerce-admin")

    jwt_private_key: SecretStr | None = Field(
        default=None,
        description="PEM (PKCS#8) Ed25519 key signing access tokens; required in production, "
        "generated under data_dir otherwise.",
    )
    jwt_issuer: str = "commerce-auth"
    access_token_ttl: int = Field(default=900, gt=0, description="Seconds an access token is valid.")
    refresh_token_ttl: int = Field(default=30 * 24 * 3600, gt=0, description="Seconds a refresh token lives.")
    invitation_ttl: int = Field(default=24 * 3600, gt=0, description="Seconds an invitation stays valid.")
    service_credentials: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Service identity -> the secret it trades for service tokens (POST "
        "/internal/service-token on auth), as JSON: each process holds its own identities', auth holds them "
        "all; required in production, generated under data_dir otherwise.",
    )
    password_hash_concurrency: int = Field(
        default=4, ge=1, description="Password hashes (64 MiB each) auth runs at once; the others wait."
    )
    login_throttle_window: int = Field(default=900, gt=0, description="Seconds of a login-failure window.")
    login_max_failures_per_email: int = Field(default=5, gt=0)
    login_max_failures_per_address: int = Field(default=20, gt=0)

    catalog_task_queue: str | None = Field(
        default=None,
        description="Task queue of the product sync workflows, when not their own (workflows/sync_product).",
    )
    order_answer_seconds: float = Field(
        default=5.0, ge=0, description="How long `POST /orders` waits for the saga before answering 202."
    )
    product_sync_debounce: float = Field(
        default=2.0, gt=0, description="Seconds of quiet before a product's burst of changes is published."
    )
    demo_catalog: int = Field(
        default=0, ge=0, description="Products the products service generates on its first start (dev)."
    )

    metrics_enabled: bool = Field(
        default=True,
        description="Count and time requests and activities, serve `/metrics` (kit.metrics); off: neither.",
    )
    metrics_port: int | None = Field(
        default=None,
        description="Where the gateway and the workers serve `/metrics` (they have no service port for it; "
        "the gateway's is public): one endpoint per process, shared. None: not served (services always "
        "answer `/metrics` on their own port).",
    )
    stock_reconcile_every: float = Field(
        default=300.0,
        gt=0,
        description="Products: seconds between the stock reconciles that scrapes of `/metrics` run (drift).",
    )

    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "otlp_endpoint", "COMMERCE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
        description="Where traces go, by OTLP over HTTP (http://jaeger:4318; `/v1/traces` is added): "
        "OpenTelemetry's own OTEL_EXPORTER_OTLP_ENDPOINT. None: not exported (kit.tracing).",
    )
    traces_console: bool = Field(
        default=False, description="Print each span as one line on stderr (development; kit.tracing)."
    )
    traces_sample_ratio: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Share of new traces recorded when tracing is on; a caller's decision is followed.",
    )

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("bus_url", "search_url", "images_store", "mail_url")
    @classmethod
    def _in_data_dir(cls, url: str, info: ValidationInfo) -> str:
        return url.replace("{data_dir}", str(info.data.get("data_dir", ".commerce")))

    def port_of(self, service: str) -> int:
        """The port `service` listens on in this deployment."""
        return self.ports.get(service, DEFAULT_PORTS[service])

    @property
    def port(self) -> int:
        return self.port_of(self.service_name)

    @property
    def service_database_url(self) -> str:
        """This service's own database: services never share one."""
        return self.database_url.format(service=self.service_name, data_dir=self.data_dir)

    def for_service(self, service: str) -> Settings:
        """The same settings seen by another service of this process."""
        return self.model_copy(update={"service_name": service})
