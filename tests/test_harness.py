"""The test harness keeps its promises on a fresh machine, run as README's test command runs it: a test
that needs the licensed real box scores skips with one line unless `NBA_RAY_REAL_DATA` names them, and
under CI fails instead (as does any other skip); an emulator that cannot be installed fails the BigQuery
tests with one line that says what to install; the pins that clusters install are the ones CI tests.

Each case runs a real pytest in a subprocess with the environment it is about."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.bigquery_emulator import REPO_ROOT

REAL_DATA_TEST = "tests/test_synthetic.py::test_real_seasons_fall_inside_the_ranges"
EMULATOR_TEST = "tests/test_bigquery_emulator.py::test_outage_fails_fast_and_restart_keeps_data"


def run_pytest(*args: str, cwd: Path = REPO_ROOT, **env: str | None) -> subprocess.CompletedProcess[str]:
    """`python -m pytest -q -p no:cacheprovider ARGS` with our environment changed by `env` (None
    removes a variable)."""
    environ = dict(os.environ)
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )


def summary(result: subprocess.CompletedProcess[str]) -> str:
    """pytest's closing counts, e.g. '1 skipped'."""
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-2000:]
    return re.sub(r" in [\d.]+s.*$", "", lines[-1].strip("= "))


def test_real_data_test_skips_with_one_line_outside_ci() -> None:
    result = run_pytest(REAL_DATA_TEST, "-rs", CI=None, NBA_RAY_REAL_DATA=None)
    assert result.returncode == 0, result.stdout[-2000:]
    assert summary(result) == "1 skipped"
    reason = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(reason) == 1 and "needs the licensed real box scores: set NBA_RAY_REAL_DATA" in reason[0]


@pytest.mark.parametrize(
    ("real_data", "message"),
    [(None, "NBA_RAY_REAL_DATA is not set"), ("no-such-folder", "no-such-folder is not a folder")],
)
def test_real_data_test_fails_in_ci_without_the_data(
    real_data: str | None, message: str, tmp_path: Path
) -> None:
    folder = None if real_data is None else str(tmp_path / real_data)
    result = run_pytest(REAL_DATA_TEST, CI="true", NBA_RAY_REAL_DATA=folder)
    assert result.returncode == 1
    assert summary(result) == "1 failed"
    assert message in result.stdout and "Traceback" not in result.stdout


@pytest.mark.parametrize(("ci", "expected"), [(None, "1 skipped"), ("true", "1 failed")])
def test_any_skip_is_a_failure_in_ci(ci: str | None, expected: str, tmp_path: Path) -> None:
    (tmp_path / "test_skipping.py").write_text(
        'import pytest\n\n\ndef test_skips() -> None:\n    pytest.skip("no frobnicator here")\n'
    )
    result = run_pytest(
        "-p", "tests.conftest", "test_skipping.py", cwd=tmp_path, CI=ci, PYTHONPATH=str(REPO_ROOT)
    )
    assert summary(result) == expected, result.stdout[-2000:]
    if ci:
        assert "skipped in CI, where every test must run: no frobnicator here" in result.stdout


def test_emulator_without_python_313_fails_the_bigquery_tests_in_one_line(tmp_path: Path) -> None:
    """A machine with no usable Python for the emulator: the session tries to install it, and each
    BigQuery test errors with the installer's one line naming what to install; no traceback."""
    result = run_pytest(
        EMULATOR_TEST,
        NBA_RAY_EMULATOR_VENV=str(tmp_path / "emulator-venv"),
        NBA_RAY_EMULATOR_PYTHON=sys.executable,  # this venv's Python 3.11: not one the emulator runs on
    )
    assert result.returncode == 1
    assert summary(result) == "1 error"
    lines = [line for line in result.stdout.splitlines() if "is not a working Python 3.13-3.15" in line]
    assert lines and all("pyenv install 3.13" in line for line in lines)
    assert "running bash .ci/install-bigquery-emulator" in result.stdout
    assert "Traceback" not in result.stdout
    assert not (tmp_path / "emulator-venv").exists()


def test_cluster_nodes_install_the_pins_ci_tests() -> None:
    """constraints.txt pins every package of the core install (what `.ci/run` and cluster.yaml's setup
    install from), and each direct dependency's pin satisfies pyproject's range."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = [
        line.strip()
        for line in (REPO_ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pins = {}
    for line in lines:
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pins[requirement.name.lower().replace("_", "-")] = specifier.version
    for dependency in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        requirement = Requirement(dependency)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {dependency}"
    assert "xgboost" not in pins and "nvidia-nccl-cu12" not in pins  # the CPU-only build, no CUDA
    setup = yaml.safe_load((REPO_ROOT / "cluster.yaml").read_text())["setup_commands"]
    assert any("pip install" in command and "constraints.txt" in command for command in setup)
