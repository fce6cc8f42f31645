"""The deployment files, checked without Docker, Kubernetes or Jenkins (none run here).

- docker-compose.yml: the Compose JSON schema (check-jsonschema's vendored compose-spec), then what the
  schema cannot see: `depends_on` targets and conditions, commands that `commerce` really has, health checks
  on each service's port, settings that `kit.settings.Settings` really reads, mounts that exist.
- deploy/Dockerfile: hadolint, and the choices the platform relies on (base, uv sync, non-root, entry point).
- kind-deployment/: every object against the Kubernetes 1.33 schemas (kubernetes-validate --strict), then
  the references between objects (Services, Secrets, ConfigMaps and their keys, PVCs, selectors, named
  ports, NodePorts mapped by the Kind config), probes and resources, migrations in initContainers.
- setup.sh, smoke.sh and the scripts under deploy/compose/: `bash -n` / `sh -n`; smoke.sh plays the whole
  end-to-end scenario set (tests/scenarios/) as the administrator compose and Kind create.
- Jenkinsfile: its stages, in order, and the cleanup. Groovy syntax itself is not checked here (that needs
  npm-groovy-lint, which the repository does not install).
"""

from __future__ import annotations

import inspect
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from sqlalchemy.engine import make_url

from commerce.platform import APPS
from kit.settings import DATABASE_SERVICES, DEFAULT_PORTS, SERVICES, Settings
from kit.temporal import SEARCH_ATTRIBUTES
from tests.scenarios import scenarios
from tests.scenarios.__main__ import parse
from tests.scenarios.runner import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD
from workers import WORKERS

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
COMPOSE_SCRIPTS = REPO / "deploy" / "compose"
KIND = REPO / "kind-deployment"
MANIFESTS = ("infra.yaml", "services.yaml", "observability.yaml")
KUBERNETES_VERSION = "1.33"
IMAGE_TAG = "test-tag"
OUR_IMAGE = "commerce"
ONE_SHOT = ("migrate", "temporal-schema", "temporal-setup")
JENKINS_STAGES = [
    "Lint",
    "Types",
    "Tests",
    "Build image",
    "Kind cluster",
    "Load image",
    "Apply",
    "Wait for rollouts",
    "Smoke tests",
]

Doc = dict[str, Any]


def tool(name: str) -> str:
    """A command-line tool of the dev dependencies, from this interpreter's environment first."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: `uv sync` installs it (dev dependency)")
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


STANDARD_NAMES = {
    choice
    for field in Settings.model_fields.values()
    if isinstance(field.validation_alias, AliasChoices)
    for choice in field.validation_alias.choices
    if isinstance(choice, str) and not choice.startswith("COMMERCE_") and choice.isupper()
}


def settings_from(env: dict[str, str]) -> Settings:
    """The Settings a process would build from `env` (COMMERCE_* names, or a standard name a setting also
    reads, such as OTEL_EXPORTER_OTLP_ENDPOINT), refusing names it would ignore.
    """
    for name in env:
        if name in STANDARD_NAMES:
            continue
        assert name.startswith("COMMERCE_"), f"{name}: not a COMMERCE_ setting"
        field = name.removeprefix("COMMERCE_").lower()
        assert field in Settings.model_fields, f"{name} is not read by kit.settings.Settings (typo?)"
    with mock.patch.dict(os.environ, env, clear=True):  # parsed as the process parses it (lists as JSON)
        return Settings()


# The service identity each workload calls other services' internal routes as (kit.auth.services).
CALLS_AS = {
    "carts": "carts",
    "products": "products",
    "images": "images",
    "orders": "orders",
    "search": "search",
    "reviews": "reviews",
    "worker-catalog": "catalog",
    "worker-orders": "orders",
}


def check_secrets_work(workloads: dict[str, Settings]) -> None:
    """Only auth holds the signing key (a usable Ed25519 one) and every identity's credential; a workload
    calling others holds its own identity's credential, the same as auth's, and no other identity's.
    """
    from apis.auth.tokens import Signer
    from contracts.scopes import SERVICE_SCOPES

    auth = workloads["auth"]
    assert auth.jwt_private_key is not None, "COMMERCE_JWT_PRIVATE_KEY must be explicit for auth"
    assert Signer.load(auth).kid
    held = {name: secret.get_secret_value() for name, secret in auth.service_credentials.items()}
    assert set(held) == set(SERVICE_SCOPES), "auth holds a credential for every identity"
    assert all(len(secret) >= 32 for secret in held.values())
    assert len(set(held.values())) == len(held), "no two identities share a credential"
    for name, settings in workloads.items():
        if name == "auth":
            continue
        assert settings.jwt_private_key is None, f"{name} holds the signing key: only auth may"
        mine = {key: secret.get_secret_value() for key, secret in settings.service_credentials.items()}
        identity = CALLS_AS.get(name)
        assert mine == ({identity: held[identity]} if identity else {}), f"{name}: its own credential only"


def commerce_command_exists(args: list[str]) -> None:
    """`args` is a real `commerce` invocation: a subcommand of commerce.cli and a known service or queue."""
    from commerce.cli import main

    assert args, "no command"
    with pytest.raises(SystemExit) as exited:
        main([args[0], "--help"])
    assert exited.value.code == 0, f"`commerce {args[0]}` is not a subcommand"
    match args:
        case ["serve", name]:
            assert name in APPS, f"`commerce serve {name}`: no such service ({', '.join(APPS)})"
        case ["worker", queue]:
            assert queue in WORKERS, f"`commerce worker {queue}`: no such queue ({', '.join(WORKERS)})"
        case ["migrate"]:
            pass
        case ["migrate", name]:
            assert name in DATABASE_SERVICES, f"`commerce migrate {name}`: {name} owns no database"
        case _:
            pytest.fail(f"unexpected command: commerce {' '.join(args)}")


def host_of(address: str) -> str:
    """The host of a URL (`kafka://kafka:9092`) or of a bare `host:port`."""
    parsed = urlsplit(address if "://" in address else f"//{address}")
    assert parsed.hostname, f"no host in {address!r}"
    return parsed.hostname


def referenced_hosts(settings: Settings) -> dict[str, str]:
    """Setting -> the host it points at, for every port of the platform that is real infrastructure."""
    database = make_url(settings.for_service("auth").service_database_url)
    assert database.drivername == "postgresql+asyncpg"
    assert database.database == "auth", "{service} must pick each service's own database"
    assert urlsplit(settings.mail_url).scheme == "smtp", "mails go to the deployment's SMTP catcher"
    return {
        "COMMERCE_DATABASE_URL": database.host or "",
        "COMMERCE_BUS_URL": host_of(settings.bus_url),
        "COMMERCE_CACHE_URL": host_of(settings.cache_url),
        "COMMERCE_SEARCH_URL": host_of(settings.search_url),
        "COMMERCE_DISCOVERY_URL": host_of(settings.discovery_url),
        "COMMERCE_TEMPORAL_ADDRESS": host_of(settings.temporal_address),
        "COMMERCE_MAIL_URL": host_of(settings.mail_url),
    }


# ---------------------------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> Doc:
    document: Doc = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: Doc) -> dict[str, Doc]:
    found: dict[str, Doc] = compose["services"]
    return found


def ours(services: dict[str, Doc]) -> dict[str, Doc]:
    """The containers of our image."""
    return {name: s for name, s in services.items() if s.get("image", "").split(":")[0] == OUR_IMAGE}


def dependencies(service: Doc) -> dict[str, str]:
    """Target -> condition of a service's depends_on (short or long syntax)."""
    declared = service.get("depends_on", {})
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in declared.items()}


def read_env_file(path: Path) -> dict[str, str]:
    """A Compose env file: KEY=VALUE lines; double quotes allow \\n escapes (as Compose reads them)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace("\\n", "\n")
        values[name] = value
    return values


def environment_of(service: Doc) -> dict[str, str]:
    """A container's environment as Compose builds it: its env files, then `environment`."""
    env: dict[str, str] = {}
    files = service.get("env_file", [])
    for file in [files] if isinstance(files, str) else files:
        path = REPO / (file if isinstance(file, str) else file["path"])
        assert path.is_file(), f"env_file {path} is missing"
        env |= read_env_file(path)
    declared = service.get("environment", {})
    if isinstance(declared, list):
        declared = dict(item.split("=", 1) for item in declared)
    return env | {name: str(value) for name, value in declared.items()}


def test_compose_file_matches_the_compose_specification() -> None:
    checked = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_compose_dependencies_exist_and_can_be_met(services: dict[str, Doc]) -> None:
    for name, service in services.items():
        for target, condition in dependencies(service).items():
            assert target in services, f"{name} depends on {target}, which is not a service"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} healthy: no healthcheck"
            elif condition == "service_completed_successfully":
                assert target in ONE_SHOT, f"{name} waits for {target} to exit, but it runs for good"
            else:
                pytest.fail(f"{name} -> {target}: say which condition to wait for, not {condition!r}")
    # No cycle: Compose could start nothing.
    order: list[str] = []
    pending = {name: set(dependencies(service)) for name, service in services.items()}
    while pending:
        ready = sorted(name for name, needs in pending.items() if needs <= set(order))
        assert ready, f"a dependency cycle among {sorted(pending)}"
        order += ready
        for name in ready:
            del pending[name]


def test_compose_runs_every_part_of_the_platform_from_one_image(services: dict[str, Doc]) -> None:
    commands = {name: service.get("command") for name, service in ours(services).items()}
    for name, command in commands.items():
        assert isinstance(command, list), f"{name}: give the command as a list"
        commerce_command_exists(command)
        build = services[name].get("build")
        assert build == {"context": ".", "dockerfile": "deploy/Dockerfile"}, f"{name}: built from {build}"
    served = sorted(command[1] for command in commands.values() if command and command[0] == "serve")
    assert served == sorted(APPS), "every service (and the gateway) runs exactly once"
    queues = sorted(command[1] for command in commands.values() if command and command[0] == "worker")
    assert queues == sorted(WORKERS), "every task queue has exactly one worker"
    assert commands.get("migrate") == ["migrate"], "a one-shot `commerce migrate` service"
    assert len({services[name]["image"] for name in commands}) == 1, "one image for all"


def test_compose_services_are_healthy_registered_and_migrated_beforehand(services: dict[str, Doc]) -> None:
    for name, service in ours(services).items():
        command = service["command"]
        if command[0] != "serve":
            continue
        served = command[1]
        assert name == served, f"the compose service of `commerce serve {served}` is named {served}"
        test = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{DEFAULT_PORTS[served]}/health" in test, f"{name}: healthcheck {test}"
        env = environment_of(service)
        assert env.get("COMMERCE_ADVERTISE_HOST") == name, f"{name}: advertise its compose name"
        needs = dependencies(service)
        if served != "gateway":
            assert env.get("COMMERCE_AUTO_MIGRATE") == "false", f"{name}: `migrate` migrates, not the API"
            assert needs.get("migrate") == "service_completed_successfully", f"{name}: after migrate"
            assert needs.get("temporal-setup") == "service_completed_successfully", f"{name}: Temporal set up"
        if served in DATABASE_SERVICES:
            assert needs.get("postgres") == "service_healthy", f"{name}: after PostgreSQL"
    gateway_needs = dependencies(services["gateway"])
    assert all(gateway_needs.get(api) == "service_healthy" for api in SERVICES), gateway_needs
    assert "3000:3000" in services["gateway"]["ports"]
    infra_checks = {"postgres": "pg_isready", "redis": "redis-cli ping"}
    for name, probe in infra_checks.items():
        assert probe in " ".join(services[name]["healthcheck"]["test"]), f"{name}: {probe}"
    for name in ("kafka", "elasticsearch", "consul", "temporal"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"


def test_compose_settings_are_real_and_point_at_compose_services(services: dict[str, Doc]) -> None:
    for name, service in ours(services).items():
        settings = settings_from(environment_of(service))
        assert settings.environment == "development"
        assert settings.host == "0.0.0.0"
        for variable, host in referenced_hosts(settings).items():
            assert host in services, f"{name}: {variable} points at {host}, not a compose service"
    check_secrets_work(
        {name: settings_from(environment_of(service)) for name, service in ours(services).items()}
    )
    env_file = (REPO / "deploy" / "env" / "compose.env").read_text()
    comments = "\n".join(line for line in env_file.splitlines() if line.startswith("#"))
    for variable in ("COMMERCE_JWT_PRIVATE_KEY", "COMMERCE_SERVICE_CREDENTIALS", "COMMERCE_ADMIN_PASSWORD"):
        assert variable in comments, f"compose.env must say that production needs {variable}"


def test_compose_mounts_and_live_reload_point_at_real_paths(compose: Doc, services: dict[str, Doc]) -> None:
    declared_volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount["source"]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in declared_volumes, f"{name} uses volume {source}, not declared"
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
    wheel_packages = set(packages["wheel"]["packages"])
    for name, service in ours(services).items():
        watch = service["develop"]["watch"]
        synced = {rule["path"].removeprefix("./") for rule in watch if rule["action"].startswith("sync")}
        assert synced == wheel_packages, f"{name}: live reload of {sorted(synced)}"
        for rule in watch:
            assert (REPO / rule["path"]).exists(), f"{name}: watches {rule['path']}, which does not exist"
            if rule["action"].startswith("sync"):
                assert rule["target"] == f"/app/{rule['path'].removeprefix('./')}", rule
        rebuilt = {rule["path"].removeprefix("./") for rule in watch if rule["action"] == "rebuild"}
        assert rebuilt == {"pyproject.toml", "uv.lock"}, f"{name}: a dependency change rebuilds the image"


def test_compose_scripts_set_up_what_the_code_expects() -> None:
    databases = (COMPOSE_SCRIPTS / "postgres-init.sh").read_text()
    for service in DATABASE_SERVICES:
        assert f"CREATE DATABASE {service};" in databases, f"postgres-init.sh: no database {service}"
    setup = (COMPOSE_SCRIPTS / "temporal-setup.sh").read_text()
    listed = re.search(r"^for attribute in (.+); do$", setup, re.MULTILINE)
    assert listed, "temporal-setup.sh: the `for attribute in ...` line"
    registered = dict(item.split(":") for item in listed.group(1).split())
    assert registered == SEARCH_ATTRIBUTES, "the search attributes of kit/temporal.py"
    for script in COMPOSE_SCRIPTS.glob("*.sh"):
        assert script.stat().st_mode & 0o111, f"{script.name} must be executable"
        checked = run("sh", "-n", str(script))
        assert checked.returncode == 0, f"{script.name}: {checked.stderr}"
    yaml.safe_load((COMPOSE_SCRIPTS / "temporal-dynamicconfig.yaml").read_text())


def test_the_local_infra_temporal_registers_the_search_attributes_of_the_code() -> None:
    infra = (REPO / "deploy" / "local" / "infra").read_text()
    flags = dict(re.findall(r"--search-attribute (\w+)=(\w+)", infra))
    assert flags == SEARCH_ATTRIBUTES, "deploy/local/infra: the search attributes of kit/temporal.py"


# ---------------------------------------------------------------------------------------------- image


def test_dockerfile_passes_hadolint() -> None:
    checked = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dockerfile_builds_the_one_image_the_deployments_expect() -> None:
    text = DOCKERFILE.read_text()
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    bases = [line.split()[1] for line in instructions if line.startswith("FROM ")]
    arguments = dict(
        line.removeprefix("ARG ").split("=", 1)
        for line in instructions
        if line.startswith("ARG ") and "=" in line
    )

    def resolved(value: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], value)

    bases = [resolved(line.split()[1]) for line in instructions if line.startswith("FROM ")]
    assert bases, "no FROM"
    assert all(base.startswith("python:3.11-slim") for base in bases), f"python:3.11-slim base: {bases}"
    assert "uv sync --frozen --no-dev" in text
    uv_pin = re.search(r"uv==([\d.]+)", (REPO / "tests" / "run").read_text())
    assert uv_pin, "tests/run pins uv"
    assert arguments.get("UV_VERSION") == uv_pin.group(1), "the same uv as tests/run"
    users = [resolved(line.split()[1]) for line in instructions if line.startswith("USER ")]
    assert users, "no USER: the image would run as root"
    assert users[-1].isdigit(), "a numeric USER, so that runAsNonRoot can check it"
    assert int(users[-1]) != 0, "the image runs as a non-root user"
    assert 'ENTRYPOINT ["commerce"]' in instructions
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
    for package in packages["wheel"]["packages"]:
        assert f"COPY {package} ./{package}" in instructions, f"the image lacks {package}/"
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in [*packages["wheel"]["packages"], "pyproject.toml", "uv.lock", "README.md"]:
        assert needed not in ignored, f".dockerignore drops {needed}, which the image needs"
    assert {".git", ".venv", ".commerce"} <= ignored


# ---------------------------------------------------------------------------------------------- Kubernetes


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The manifests as setup.sh applies them: `envsubst '${IMAGE_TAG}'`."""
    folder = tmp_path_factory.mktemp("manifests")
    files = {}
    for name in MANIFESTS:
        files[name] = folder / name
        files[name].write_text((KIND / name).read_text().replace("${IMAGE_TAG}", IMAGE_TAG))
    return files


@pytest.fixture(scope="module")
def objects(rendered: dict[str, Path]) -> list[Doc]:
    found: list[Doc] = []
    for path in rendered.values():
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def named(objects: list[Doc], kind: str) -> dict[str, Doc]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def workloads(objects: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """(kind/name, pod spec) of every Deployment, StatefulSet and Job."""
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"]


def containers(pod: Doc) -> list[Doc]:
    found: list[Doc] = [*pod.get("initContainers", []), *pod["containers"]]
    return found


def test_kubernetes_manifests_match_the_schemas_of_kubernetes_1_33(rendered: dict[str, Path]) -> None:
    checked = run(
        tool("kubernetes-validate"),
        "-k",
        KUBERNETES_VERSION,
        "--strict",
        "--quiet",
        *map(str, rendered.values()),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_kustomization_lists_the_manifests() -> None:
    kustomization = yaml.safe_load((KIND / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == list(MANIFESTS)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return  # `kubectl kustomize` renders without a cluster, when kubectl is there
    rendered = run(kubectl, "kustomize", str(KIND))
    assert rendered.returncode == 0, rendered.stderr


def test_kind_cluster_maps_the_node_ports_and_runs_the_validated_version(objects: list[Doc]) -> None:
    cluster = yaml.safe_load((KIND / "cluster.yaml").read_text())
    assert cluster["kind"] == "Cluster"
    assert cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    (node,) = cluster["nodes"]
    assert node["role"] == "control-plane"
    assert node["image"].startswith(f"kindest/node:v{KUBERNETES_VERSION}."), "the version validated against"
    mapped = {m["containerPort"]: m["hostPort"] for m in node["extraPortMappings"]}
    node_ports = {
        service: port["nodePort"]
        for service, o in named(objects, "Service").items()
        for port in o["spec"]["ports"]
        if o["spec"].get("type") == "NodePort" and "nodePort" in port  # mailpit's SMTP stays inside
    }
    assert mapped == {
        node_ports["gateway"]: DEFAULT_PORTS["gateway"],
        node_ports["temporal-ui"]: 8233,
        node_ports["prometheus"]: 9090,
        node_ports["grafana"]: 3100,
        node_ports["mailpit"]: 8025,
        node_ports["jaeger-ui"]: 16686,
    }


def test_kubernetes_references_resolve(objects: list[Doc]) -> None:
    services = named(objects, "Service")
    secrets = {
        name: set(o.get("stringData", {})) | set(o.get("data", {}))
        for name, o in named(objects, "Secret").items()
    }
    config_maps = {name: set(o.get("data", {})) for name, o in named(objects, "ConfigMap").items()}
    claims = set(named(objects, "PersistentVolumeClaim"))
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"commerce"}
    pod_labels: list[dict[str, str]] = []
    for o in objects:
        if o["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        where = f"{o['kind']}/{o['metadata']['name']}"
        labels = o["spec"]["template"]["metadata"]["labels"]
        pod_labels.append(labels)
        if o["kind"] != "Job":
            selector = o["spec"]["selector"]["matchLabels"]
            assert selector.items() <= labels.items(), f"{where}: its selector misses its own pods"
        if o["kind"] == "StatefulSet":
            assert o["spec"]["serviceName"] in services, f"{where}: no Service {o['spec']['serviceName']}"
        pod = o["spec"]["template"]["spec"]
        templates = {t["metadata"]["name"] for t in o["spec"].get("volumeClaimTemplates", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for volume in volumes.values():
            if "configMap" in volume:
                name = volume["configMap"]["name"]
                assert name in config_maps, f"{where}: no ConfigMap {name}"
                for item in volume["configMap"].get("items", []):
                    assert item["key"] in config_maps[name], f"{where}: ConfigMap {name} has no {item['key']}"
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets, f"{where}: no Secret"
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, f"{where}: no PVC"
        for container in containers(pod):
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in templates, (
                    f"{where}: volume {mount['name']}"
                )
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, f"{where}: no ConfigMap"
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, f"{where}: no Secret"
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {})
                if "secretKeyRef" in reference:
                    ref = reference["secretKeyRef"]
                    assert ref["key"] in secrets.get(ref["name"], set()), f"{where}: secret {ref}"
                if "configMapKeyRef" in reference:
                    ref = reference["configMapKeyRef"]
                    assert ref["key"] in config_maps.get(ref["name"], set()), f"{where}: config map {ref}"
                if variable["name"] in ("SQL_HOST", "POSTGRES_SEEDS", "TEMPORAL_ADDRESS"):
                    assert host_of(variable["value"]) in services, f"{where}: {variable}"
            port_names = {port.get("name") for port in container.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                action = container.get(probe, {}).get("httpGet") or container.get(probe, {}).get("tcpSocket")
                if action and isinstance(action["port"], str):
                    assert action["port"] in port_names, f"{where}: {probe} on unknown port {action['port']}"
    for name, service in services.items():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pod_labels), (
            f"Service {name} selects no pod"
        )


def test_every_workload_has_resources(objects: list[Doc]) -> None:
    for where, pod in workloads(objects):
        for container in containers(pod):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), (
                    f"{where}/{container['name']}: {bound}"
                )


def test_kubernetes_runs_the_platform_from_one_image(objects: list[Doc]) -> None:
    config = named(objects, "ConfigMap")["commerce-config"]["data"]
    secrets = {name: secret["stringData"] for name, secret in named(objects, "Secret").items()}
    settings = settings_from({**config, **secrets["commerce-secrets"]})
    seen: dict[str, Settings] = {}
    assert settings.auto_migrate is False, "initContainers migrate, not the services"
    services = named(objects, "Service")
    for variable, host in referenced_hosts(settings).items():
        assert host in services, f"{variable} points at {host}, not a Service"
    served: list[str] = []
    queues: list[str] = []
    for name, deployment in named(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        main = pod["containers"][0]
        if not main["image"].startswith(f"{OUR_IMAGE}:"):
            continue
        for container in containers(pod):
            assert container["image"] == f"{OUR_IMAGE}:{IMAGE_TAG}", (
                f"{name}: image templated as ${{IMAGE_TAG}}"
            )
            assert "command" not in container, f"{name}: the image's entry point is `commerce`"
            commerce_command_exists(container["args"])
            sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
            assert sources[:2] == ["commerce-config", "commerce-secrets"], f"{name}: settings and secrets"
            if container is main:
                env = {key: value for source in sources for key, value in secrets.get(source, {}).items()}
                seen[name] = settings_from({**config, **env})
            advertise = {v["name"]: v for v in container.get("env", [])}["COMMERCE_ADVERTISE_HOST"]
            assert advertise["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP", f"{name}: Downward API"
        assert pod["securityContext"]["runAsNonRoot"] is True, f"{name}: non-root"
        match main["args"]:
            case ["serve", service]:
                served.append(service)
                assert name == service
                port = DEFAULT_PORTS[service]
                assert [p["containerPort"] for p in main["ports"] if p["name"] == "http"] == [port]
                assert main["readinessProbe"]["httpGet"]["path"] == "/ready", f"{name}: readiness on /ready"
                assert main["livenessProbe"]["httpGet"]["path"] == "/health", f"{name}: liveness on /health"
                assert services[name]["spec"]["ports"][0]["port"] == port, f"{name}: its Service's port"
                migrations = [c["args"] for c in pod.get("initContainers", [])]
                expected = [["migrate", service]] if service in DATABASE_SERVICES else []
                assert migrations == expected, f"{name}: initContainers {migrations}"
            case ["worker", queue]:
                queues.append(queue)
                assert name == f"worker-{queue}"
    check_secrets_work(seen)
    assert sorted(served) == sorted(APPS), "every service and the gateway, once each"
    assert sorted(queues) == sorted(WORKERS), "one worker per task queue"


def test_the_images_service_keeps_its_files_on_a_volume(services: dict[str, Doc], objects: list[Doc]) -> None:
    """Its store is `{data_dir}/images`: the data folder must be a volume in Compose and in Kind."""
    compose_images = services["images"]
    data_dir = environment_of(compose_images)["COMMERCE_DATA_DIR"]
    assert Settings(data_dir=Path(data_dir)).images_store == f"{data_dir}/images"
    named_volumes = [m.split(":") for m in compose_images["volumes"] if isinstance(m, str)]
    assert [target for _, target in named_volumes] == [data_dir], "compose: images' data folder on a volume"
    pod = named(objects, "Deployment")["images"]["spec"]["template"]["spec"]
    claims = {v["name"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m["name"] in claims}
    assert mounts == {named(objects, "ConfigMap")["commerce-config"]["data"]["COMMERCE_DATA_DIR"]}
    assert "/images/upload" in (KIND / "smoke.sh").read_text(), "the smoke test uploads an image"


def test_the_smoke_test_orders_in_eur_as_the_seed_s_did() -> None:
    smoke = (KIND / "smoke.sh").read_text()
    assert '"x-currency: EUR"' in smoke
    assert """d["displayCurrency"]""" in smoke


def test_kubernetes_scripts_are_those_of_compose(objects: list[Doc]) -> None:
    config_maps = named(objects, "ConfigMap")
    scripts = {**config_maps["postgres-init"]["data"], **config_maps["temporal-scripts"]["data"]}
    assert set(scripts) == {path.name for path in COMPOSE_SCRIPTS.iterdir()}
    for name, text in scripts.items():
        assert text == (COMPOSE_SCRIPTS / name).read_text(), f"{name} differs from deploy/compose/{name}"


# ---------------------------------------------------------------------------------------------- scripts, CI


def test_the_smoke_test_finds_the_mails_in_the_mailbox_compose_and_kind_publish(
    services: dict[str, Doc], objects: list[Doc]
) -> None:
    """smoke.sh reads Mailpit's API on 8025: compose publishes it there, Kind's NodePort is mapped to it."""
    smoke = (KIND / "smoke.sh").read_text()
    assert "MAILPIT_URL:-http://127.0.0.1:8025" in smoke
    assert "/api/v1/search?query=to:$email" in smoke
    assert "8025:8025" in services["mailpit"]["ports"]
    assert services["orders"]["depends_on"]["mailpit"] == {"condition": "service_healthy"}
    ports = {p["name"]: p["port"] for p in named(objects, "Service")["mailpit"]["spec"]["ports"]}
    assert ports == {"smtp": 1025, "http": 8025}


def test_the_smoke_test_plays_every_scenario_of_the_set_against_its_gateway(objects: list[Doc]) -> None:
    """smoke.sh runs `python -m tests.scenarios --url "$gateway"` from the checkout, on unless
    SMOKE_SCENARIOS=0; its arguments, parsed as the runner parses them, play every scenario scenarios.py
    defines, logged in as the administrator compose and Kind create (the runner's default).
    """
    smoke = (KIND / "smoke.sh").read_text()
    code = [line for line in smoke.splitlines() if not line.lstrip().startswith("#")]
    command = next(line for line in code if "-m tests.scenarios --url" in line)
    assert 'cd "$(dirname "$0")/.." && python3 -m uv run --frozen python -m tests.scenarios' in command
    assert 'skipped SCENARIOS "the end-to-end scenario set" || {' in smoke
    assert '[ "${!switch:-1}" = 0 ]' in smoke, "every check is on unless its SMOKE_<NAME>=0"
    shell = {"$gateway": "http://127.0.0.1:3000", "$left": "300"}
    words = shlex.split(command.split("-m tests.scenarios", 1)[1].rstrip(") |"))
    played = parse([shell.get(word, word) for word in words])
    assert (played.url, played.only) == ("http://127.0.0.1:3000", None), "--url the gateway, no --only"
    defined = {
        function
        for _, function in inspect.getmembers(scenarios, inspect.iscoroutinefunction)
        if function.__module__ == scenarios.__name__
    }
    assert defined == set(scenarios.SCENARIOS.values()), "a scenario scenarios.py defines but never plays"
    kind = named(objects, "ConfigMap")["commerce-config"]["data"]["COMMERCE_ADMIN_EMAIL"]
    kind_password = named(objects, "Secret")["commerce-secrets"]["stringData"]["COMMERCE_ADMIN_PASSWORD"]
    compose = read_env_file(REPO / "deploy" / "env" / "compose.env")
    assert (kind, kind_password) == (DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD)
    assert (compose["COMMERCE_ADMIN_EMAIL"], compose["COMMERCE_ADMIN_PASSWORD"]) == (kind, kind_password)


def test_setup_and_smoke_scripts_parse() -> None:
    for script in ("setup.sh", "smoke.sh"):
        path = KIND / script
        assert path.stat().st_mode & 0o111, f"{script} must be executable"
        assert "set -euo pipefail" in path.read_text()
        checked = run("bash", "-n", str(path))
        assert checked.returncode == 0, f"{script}: {checked.stderr}"
    setup = (KIND / "setup.sh").read_text()
    for needed in (
        "docker build",
        "kind create cluster",
        "kind load docker-image",
        "envsubst '${IMAGE_TAG}'",
    ):
        assert needed in setup, f"setup.sh: {needed}"


def test_jenkinsfile_runs_the_stages_in_order_and_always_cleans_up() -> None:
    text = (REPO / "Jenkinsfile").read_text()
    code = re.sub(r"//[^\n]*", "", text)
    assert code.count("{") == code.count("}"), "unbalanced braces"
    assert re.match(r"\s*pipeline\s*\{", code), "a declarative pipeline"
    assert re.findall(r"stage\('([^']+)'\)", code) == JENKINS_STAGES
    assert "sh 'bash tests/run'" in code
    dispatch = re.search(r'^\s*([\w |]+)\) "step_\$step" ;;$', (KIND / "setup.sh").read_text(), re.MULTILINE)
    assert dispatch, "setup.sh: the case that runs a step"
    steps = {step.strip() for step in dispatch.group(1).split("|")}
    for step in re.findall(r"kind-deployment/setup\.sh (\w+)", code):
        assert step in steps, f"setup.sh has no step {step}"
    assert "kind-deployment/smoke.sh" in code
    pipeline_post = code[code.rindex("post {") :]
    always = re.search(r"always\s*\{(.*?)\}", pipeline_post, re.DOTALL)
    assert always, "post { always { ... } }"
    assert "kind delete cluster" in always.group(1), "post { always { kind delete cluster } }"
