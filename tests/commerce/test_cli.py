"""`commerce dev --infra local`: the servers it asks `deploy/local/infra` for, the URLs it takes from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce import cli


def test_local_infra_starts_every_server_and_points_each_port_at_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = tmp_path / "asked"
    script = tmp_path / "infra"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {asked}\n'
        'if [ "$1" = env ]; then\n'
        "  echo export COMMERCE_TEST_POSTGRES_URL=postgresql://pg:5432\n"
        "  echo export COMMERCE_TEST_REDIS_URL=redis://rd:6379/0\n"
        "  echo export COMMERCE_TEST_KAFKA_URL=kafka://kf:9092\n"
        "  echo export COMMERCE_TEST_ELASTIC_URL=http://es:9200\n"
        "  echo export COMMERCE_TEST_CONSUL_URL=consul://cs:8500\n"
        "fi\n"
    )
    script.chmod(0o755)
    monkeypatch.setattr(cli, "INFRA_SCRIPT", script)
    urls = cli.local_infra_settings()
    assert asked.read_text().splitlines() == ["up postgres redis kafka consul elasticsearch", "env"]
    assert urls == {
        "COMMERCE_DATABASE_URL": "postgresql+asyncpg://pg:5432/{service}",
        "COMMERCE_BUS_URL": "kafka://kf:9092",
        "COMMERCE_CACHE_URL": "redis://rd:6379/0",
        "COMMERCE_SEARCH_URL": "http://es:9200",
        "COMMERCE_DISCOVERY_URL": "consul://cs:8500?interval=2s&timeout=2s&deregister=1m",
    }
