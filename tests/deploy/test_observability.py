"""Prometheus, Grafana (deploy/observability/) and Jaeger, checked without running them: every metric the
dashboard queries exists in kit.metrics, Prometheus scrapes every part of compose and Kind on the port that
part serves `/metrics` on, Grafana is provisioned with the dashboard, Kind's ConfigMaps are copies of
deploy/'s files, and every part of ours sends its traces to Jaeger's OTLP port.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from commerce.platform import APPS
from kit import metrics
from kit.settings import DEFAULT_PORTS, SERVICES
from tests.deploy.test_manifests import (
    COMPOSE_FILE,
    KIND,
    environment_of,
    host_of,
    ours,
    read_env_file,
    settings_from,
)
from workers import WORKERS

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "commerce-dashboard.json"
COMPOSE_ENV = COMPOSE_FILE.parent / "deploy" / "env" / "compose.env"
# A PromQL word: metric names, functions, label names and keywords alike; ours all start `commerce_`.
WORD = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def exported_names() -> set[str]:
    """Every series name kit.metrics exposes (`_total`, `_bucket`, `_count`, `_sum` included)."""
    assert metrics.HTTP_REQUESTS  # kit.metrics imported: its metrics are registered
    return {
        sample.name
        for family in REGISTRY.collect()
        if family.name.startswith("commerce_")
        for sample in family.samples
    } | {
        f"{name}{suffix}"
        for name in REGISTRY._names_to_collectors
        if name.startswith("commerce_")
        for suffix in ("", "_total", "_bucket", "_count", "_sum")
    }


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def queried_metrics() -> set[str]:
    return {word for query in queries() for word in WORD.findall(query) if word.startswith("commerce_")}


def test_every_metric_the_dashboard_queries_is_one_the_code_exports() -> None:
    queried = queried_metrics()
    assert queried, "the dashboard queries our metrics"
    assert queried <= exported_names(), f"not in kit/metrics.py: {sorted(queried - exported_names())}"


def test_the_dashboard_shows_the_shop_at_a_glance() -> None:
    queried = queried_metrics()
    for wanted in (
        "commerce_saga_outcomes_total",  # orders per minute by outcome
        "commerce_http_request_duration_seconds_bucket",  # p95 per route
        "commerce_http_requests_total",  # errors
        "commerce_activity_duration_seconds_bucket",  # saga steps
        "commerce_outbox_backlog",
        "commerce_outbox_oldest_age_seconds",
        "commerce_bus_consumer_lag",
        "commerce_bus_dead_letters_total",
        "commerce_rate_limit_refusals_total",
        "commerce_stock_reconcile_drift_units",
    ):
        assert wanted in queried, f"no panel reads {wanted}"
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels), "panel ids are unique"
    assert all(p["datasource"]["uid"] == datasource()["uid"] for p in panels), "the provisioned data source"
    labels = {"outcome", "route", "service", "activity", "topic", "group", "limit", "code", "task_queue"}
    for query in queries():
        for by in re.findall(r"by \(([^)]*)\)", query):
            assert {label.strip() for label in by.split(",")} - {"le", "method"} <= labels, query


def datasource() -> dict[str, Any]:
    (source,) = yaml.safe_load((OBSERVABILITY / "grafana-datasource.yml").read_text())["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090", "the Prometheus of compose and of Kind (a Service)"
    found: dict[str, Any] = source
    return found


def test_compose_prometheus_scrapes_every_part_where_it_serves_its_metrics() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus-compose.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    metrics_port = int(read_env_file(COMPOSE_ENV)["COMMERCE_METRICS_PORT"])
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    expected = {f"{name}:{DEFAULT_PORTS[name]}" for name in SERVICES}  # each on its own port
    expected |= {f"gateway:{metrics_port}"} | {f"worker-{queue}:{metrics_port}" for queue in WORKERS}
    assert targets == expected
    assert {target.split(":")[0] for target in targets} <= set(services)
    assert "ports" not in services["auth"], "a service's /metrics stays on compose's network"
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert (
        "./deploy/observability/prometheus-compose.yml:/etc/prometheus/prometheus.yml:ro"
        in prometheus["volumes"]
    )
    mounts = {volume.split(":")[1] for volume in grafana["volumes"]}
    provider = yaml.safe_load((OBSERVABILITY / "grafana-dashboards.yml").read_text())["providers"][0]
    assert f"{provider['options']['path']}/{DASHBOARD.name}" in mounts
    assert environment_of(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] in mounts


def kind_objects() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in ("services.yaml", "observability.yaml"):
        found += [doc for doc in yaml.safe_load_all((KIND / name).read_text()) if doc]
    return found


def test_kind_prometheus_scrapes_every_pod_of_ours_on_its_metrics_port() -> None:
    objects = kind_objects()
    config = next(o for o in objects if o["metadata"]["name"] == "commerce-config")["data"]
    metrics_port = int(config["COMMERCE_METRICS_PORT"])
    scraped = set()
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        name, template = deployment["metadata"]["name"], deployment["spec"]["template"]
        main = template["spec"]["containers"][0]
        if not main["image"].startswith("commerce:"):
            continue
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        port = int(annotations["prometheus.io/port"])
        assert port == (DEFAULT_PORTS[name] if name in SERVICES else metrics_port), name
        assert port in {p["containerPort"] for p in main["ports"]}, f"{name}: port {port} declared"
        scraped.add(name)
    assert scraped == set(SERVICES) | {"gateway"} | {f"worker-{queue}" for queue in WORKERS}
    assert set(APPS) <= scraped
    kind_config = yaml.safe_load((OBSERVABILITY / "prometheus-kind.yml").read_text())
    (job,) = kind_config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["commerce"]}}]
    role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "prometheus")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]


@pytest.mark.parametrize(
    ("config_map", "files"),
    [
        ("prometheus-config", ["prometheus-kind.yml"]),
        ("grafana-provisioning", ["grafana-datasource.yml", "grafana-dashboards.yml"]),
        ("grafana-dashboards", ["commerce-dashboard.json"]),
    ],
)
def test_kind_config_maps_are_copies_of_deploy_observability(config_map: str, files: list[str]) -> None:
    found = next(
        o for o in kind_objects() if o["kind"] == "ConfigMap" and o["metadata"]["name"] == config_map
    )
    assert sorted(found["data"]) == sorted(files)
    for name in files:
        assert found["data"][name] == (OBSERVABILITY / name).read_text(), (
            f"{name} differs from deploy/observability"
        )


OTLP_HTTP_PORT = 4318  # Jaeger's OTLP over HTTP, what kit.tracing's exporter speaks
JAEGER_UI_PORT = 16686


def test_every_compose_container_of_ours_sends_its_traces_to_jaeger() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert environment_of(jaeger)["COLLECTOR_OTLP_ENABLED"] == "true"
    assert f"{JAEGER_UI_PORT}:{JAEGER_UI_PORT}" in jaeger["ports"]
    assert "healthcheck" in jaeger
    mine = ours(services)
    assert set(APPS) | {f"worker-{queue}" for queue in WORKERS} <= set(mine)
    for name, service in mine.items():
        endpoint = settings_from(environment_of(service)).otlp_endpoint
        assert endpoint == f"http://jaeger:{OTLP_HTTP_PORT}", f"{name}: traces to {endpoint}"


def test_every_kind_pod_of_ours_sends_its_traces_to_the_jaeger_service() -> None:
    objects = kind_objects()
    config = next(o for o in objects if o["metadata"]["name"] == "commerce-config")["data"]
    endpoint = config["OTEL_EXPORTER_OTLP_ENDPOINT"]
    service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "jaeger")
    assert host_of(endpoint) == "jaeger"
    assert f":{OTLP_HTTP_PORT}" in endpoint
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["otlp-http"]["port"] == OTLP_HTTP_PORT
    assert ports["ui"]["port"] == JAEGER_UI_PORT
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "jaeger")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    declared = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert declared["otlp-http"] == OTLP_HTTP_PORT
    assert declared["ui"] == JAEGER_UI_PORT
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ours_in_kind = [
        o
        for o in objects
        if o["kind"] == "Deployment"
        and o["spec"]["template"]["spec"]["containers"][0]["image"].startswith("commerce:")
    ]
    assert {o["metadata"]["name"] for o in ours_in_kind} >= set(APPS)
    for deployment in ours_in_kind:
        main = deployment["spec"]["template"]["spec"]["containers"][0]
        sources = [next(iter(s.values()))["name"] for s in main["envFrom"]]
        assert "commerce-config" in sources, f"{deployment['metadata']['name']}: reads the OTLP endpoint"


def test_the_smoke_test_finds_an_order_trace_in_jaeger() -> None:
    smoke = (KIND / "smoke.sh").read_text()
    assert "JAEGER_URL" in smoke
    assert f"127.0.0.1:{JAEGER_UI_PORT}" in smoke, "the UI port cluster.yaml maps"
    assert "/api/traces?service=gateway" in smoke
