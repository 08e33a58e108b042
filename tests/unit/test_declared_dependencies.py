"""Every third-party package the product imports is declared in pyproject.toml."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("pipeline", "connectors", "workers")


def _imported_top_levels(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"]
    return {_normal(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in specs}


def test_every_directly_imported_package_is_a_declared_dependency() -> None:
    imported: set[str] = set()
    for package in PRODUCT:
        imported |= _imported_top_levels(ROOT / package)
    third_party = imported - set(sys.stdlib_module_names) - set(PRODUCT) - {"__future__"}
    dists = packages_distributions()
    missing = {
        module: dists.get(module, ["<not installed>"])
        for module in third_party
        if not {_normal(d) for d in dists.get(module, [])} & _declared()
    }
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
