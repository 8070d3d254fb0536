"""The shape of the code: small modules, and imports that only go down the layers.

Layers, top to bottom (a module imports its own layer or lower ones, never a higher one):

    entry      nba_ray.cli, nba_ray.commands,          argument parsing and the commands
               nba_ray.importing, nba_ray.upgrade
    backfill   nba_ray.backfill, nba_ray.grading      runs over date ranges: predicting, grading
    models     nba_ray.models                         a model's life: artifact, training, registry, policy
    systems    nba_ray.systems                        the prediction systems: they predict, nothing trains
    features   nba_ray.features                       the feature builder
    data       nba_ray.data                           the synthetic league, importers, feeds
    warehouse  nba_ray.warehouse                      storage: schemas, SQL, backends

Declarations (`nba_ray.config`, `nba_ray.clock`, `nba_ray.systems.settings`, `nba_ray.features.contract`)
are the typed settings, the league's clock and the feature contract every layer reads: any module may
import them, and they import nothing above `systems`. Imports are read with `ast`, including those under
`TYPE_CHECKING` and inside functions.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nba_ray"
MAX_MODULE_LINES = 500
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "entry",
        (
            "nba_ray.cli",
            "nba_ray.commands",
            "nba_ray.importing",
            "nba_ray.upgrade",
            "nba_ray.slate",
            "nba_ray",
        ),
    ),
    ("backfill", ("nba_ray.backfill", "nba_ray.grading")),
    ("models", ("nba_ray.models",)),
    ("systems", ("nba_ray.systems",)),
    ("features", ("nba_ray.features",)),
    ("data", ("nba_ray.data",)),
    ("warehouse", ("nba_ray.warehouse",)),
)
DECLARATIONS = frozenset(
    {"nba_ray.config", "nba_ray.clock", "nba_ray.systems.settings", "nba_ray.features.contract"}
)
LAYER_NAMES = [name for name, _ in LAYERS]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The nba_ray modules `path` imports (a `from package import module` names the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES
            )
    return {name for name in found if name == "nba_ray" or name.startswith("nba_ray.")}


def _layer(module: str) -> str:
    """The layer of the longest matching prefix (the root package matches only itself)."""
    matches = [
        (len(prefix), name)
        for name, prefixes in LAYERS
        for prefix in prefixes
        if module == prefix or (prefix != "nba_ray" and module.startswith(prefix + "."))
    ]
    if not matches:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return max(matches)[1]


def test_the_layering_is_the_documented_one() -> None:
    """The checks below read real files: every module is found and the known ones are where expected."""
    assert {"nba_ray.models.policy", "nba_ray.systems.xgboost_system", "nba_ray.data.synthetic"} <= set(
        MODULES
    )
    assert _layer("nba_ray.models.policy") == "models"
    assert _layer("nba_ray.cli") == "entry" and _layer("nba_ray.grading.report") == "backfill"
    assert "nba_ray.models.registry" in _imports(MODULES["nba_ray.models.policy"])


@pytest.mark.parametrize("module", sorted(set(MODULES) - DECLARATIONS))
def test_imports_never_go_up_a_layer(module: str) -> None:
    own = LAYER_NAMES.index(_layer(module))
    upward = sorted(
        f"{name} ({_layer(name)})"
        for name in _imports(MODULES[module]) - DECLARATIONS
        if LAYER_NAMES.index(_layer(name)) < own
    )
    assert not upward, f"{module} ({_layer(module)}) imports a higher layer: {', '.join(upward)}"


@pytest.mark.parametrize("module", sorted(DECLARATIONS))
def test_declarations_import_nothing_above_systems(module: str) -> None:
    systems = LAYER_NAMES.index("systems")
    above = sorted(
        name for name in _imports(MODULES[module]) - DECLARATIONS if LAYER_NAMES.index(_layer(name)) < systems
    )
    assert not above, f"{module} imports {', '.join(above)}"


def test_systems_know_nothing_of_models() -> None:
    """Prediction systems receive a loaded model; training, the registry and the policy are models'."""
    offenders = {
        module: sorted(name for name in _imports(path) if name.startswith("nba_ray.models"))
        for module, path in MODULES.items()
        if module.startswith("nba_ray.systems")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {module: len(path.read_text().splitlines()) for module, path in MODULES.items()}
    assert len(sizes) > 50
    assert {module: n for module, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def _requirement_names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings, normalised ("ray[default]==2.60.0" -> "ray")."""
    return {re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-") for req in requirements}


def test_bench_imports_only_what_its_install_provides() -> None:
    """README installs bench/ with `pip install -e '.[bench]'`: every third-party module a benchmark
    imports must come from a core dependency or the `bench` extra, not from `test` or by accident."""
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    declared = _requirement_names(project["dependencies"] + project["optional-dependencies"]["bench"])
    providers = importlib.metadata.packages_distributions()
    scripts = sorted((PACKAGE.parent / "bench").glob("*.py"))
    assert scripts
    needed: dict[str, set[str]] = {}
    for script in scripts:
        for node in ast.walk(ast.parse(script.read_text(), filename=str(script))):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                if root not in sys.stdlib_module_names and root != "nba_ray":
                    needed.setdefault(root, set()).add(script.name)
    assert "psutil" in needed
    undeclared = {
        root: sorted(scripts_)
        for root, scripts_ in needed.items()
        if not {name.lower().replace("_", "-") for name in providers.get(root, [])} & declared
    }
    assert undeclared == {}
