"""The layout's import rules: ``lib/`` is Dagster-free, and sensors, schedules and resources
reach the definitions only by name (they import nothing from ``discogs_assets.defs``)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offenders(folder: str, forbidden: str) -> list[str]:
    return sorted(f"{path.relative_to(REPO)} imports {name}"
                  for path in (REPO / folder).rglob("*.py")
                  for name in _imports(path)
                  if name == forbidden or name.startswith(forbidden + "."))


@pytest.mark.parametrize("folder", ["sensors", "schedules", "resources"])
def test_automation_and_resources_import_nothing_from_defs(folder: str) -> None:
    assert _offenders(folder, "discogs_assets.defs") == []


def test_lib_is_dagster_free() -> None:
    assert _offenders("discogs_assets/lib", "dagster") == []
