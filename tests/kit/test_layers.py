"""The kit is the bottom layer: no module under kit/ imports a package that sits above it."""

from __future__ import annotations

import ast
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "kit"
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
