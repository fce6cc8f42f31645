"""Arrows run down: the kit imports nothing of the project; the contracts import only the kit, so any
service, activity or workflow may import them without importing another service; activities and workflows
never import a service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "kit"
ABOVE = {"commerce", "contracts", "apis", "gateway", "workers", "workflows", "activities", "bench", "tests"}


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute import in `path`, lazy ones inside functions included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_kit_imports_nothing_above_it() -> None:
    offending = {
        str(path.relative_to(KIT.parent)): sorted(imported_packages(path) & ABOVE)
        for path in sorted(KIT.rglob("*.py"))
        if imported_packages(path) & ABOVE
    }
    assert not offending, f"kit/ imports upwards: {offending}"


@pytest.mark.parametrize(
    ("layer", "above"),
    [
        ("contracts", ABOVE - {"contracts"}),
        ("activities", {"commerce", "apis", "gateway", "workers", "workflows", "bench", "tests"}),
        ("workflows", {"commerce", "apis", "gateway", "workers", "bench", "tests"}),
    ],
)
def test_a_layer_imports_only_what_lies_below_it(layer: str, above: set[str]) -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & above)
        for path in sorted((ROOT / layer).rglob("*.py"))
        if imported_packages(path) & above
    }
    assert not offending, f"{layer}/ imports upwards: {offending}"
