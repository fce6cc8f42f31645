"""The real infrastructure's clients are ordinary dependencies: any install of `commerce` can run
`commerce dev --infra local` (no extra to remember), and every adapter module imports.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re

import pytest

CLIENTS = {"asyncpg", "aiokafka", "redis", "py-consul", "elasticsearch[async]"}
ADAPTERS = ["kit.bus.kafka", "kit.cache.redis", "kit.discovery.consul", "asyncpg", "elasticsearch"]


def test_the_clients_are_required_unconditionally() -> None:
    # `name[extras]>=1` -> `name[extras]`; a line with a marker (`; extra == "kafka"`) is conditional
    unconditional = {
        re.sub(r"[<>=!~,\s].*", "", line)
        for line in importlib.metadata.requires("commerce") or []
        if ";" not in line
    }
    missing = CLIENTS - unconditional
    assert not missing, f"not plain dependencies: {sorted(missing)}"
    assert not importlib.metadata.metadata("commerce").get_all("Provides-Extra"), "extras are gone"


@pytest.mark.parametrize("module", ADAPTERS)
def test_each_adapter_module_imports(module: str) -> None:
    importlib.import_module(module)
