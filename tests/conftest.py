"""Shared fixtures: where the real box scores are, fresh warehouses, a settings object per test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import ray

from nba_ray.config import BatchingSettings, Settings, WarehouseSettings
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.bigquery_emulator import (
    INSTALL_COMMAND,
    BigQueryEmulator,
    EmulatorUnavailable,
    emulator_executable_path,
    emulator_venv,
    install_emulator,
)

if TYPE_CHECKING:
    from tests.backfill_fixtures import BackfilledLeague, League

# The real box scores are not ours to copy: tests read them from where the environment says.
REAL_DATA_ENV = "NBA_RAY_REAL_DATA"
REAL_DATA = Path(os.environ[REAL_DATA_ENV]) if os.environ.get(REAL_DATA_ENV) else None
# CI runs with CI=true; there every test must run (a skipped test proves nothing).
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

# Locally a developer without the real files can still run everything else; CI must have them.
requires_real_data = pytest.mark.skipif(
    REAL_DATA is None and not IN_CI,
    reason=f"needs the licensed real box scores: set {REAL_DATA_ENV} to their folder",
)


def real_data_folder() -> Path:
    """The folder `NBA_RAY_REAL_DATA` names; a test fails (never skips) when it is unset in CI or is no
    folder, since then the real-data tests cannot prove anything."""
    if REAL_DATA is None:
        pytest.fail(f"{REAL_DATA_ENV} is not set: CI must point it at the real box scores", pytrace=False)
    if not REAL_DATA.is_dir():
        pytest.fail(f"{REAL_DATA_ENV}={REAL_DATA} is not a folder", pytrace=False)
    return REAL_DATA


def real_season(season: str) -> Path:
    """The real file of one season; in CI a missing folder fails the test instead of skipping it."""
    path = real_data_folder() / f"season={season}.parquet"
    assert path.is_file(), f"{path} is missing"
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI a skip is a failure, whatever raised it: CI must run every test (DESIGN.md)."""
    report: pytest.TestReport = yield
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"
    return report


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs of a test's own at `folder` (`options`: its size, `ro`), unmounted afterwards: a small
    or read-only file system without touching the machine's disks. Mounting needs root."""
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.fail(f"mounting a tmpfs needs root: {made.stderr.decode().strip()}", pytrace=False)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with the embedded warehouse in a fresh temporary file."""
    return Settings(warehouse=WarehouseSettings(path=tmp_path / "nba.duckdb"))


@pytest.fixture
def duckdb_warehouse(settings: Settings) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        yield warehouse


@pytest.fixture(scope="session")
def league(tmp_path_factory: pytest.TempPathFactory) -> League:
    """The synthetic league with features and a trained model (≈30 s on 2 cores), built once per session
    for every test that backfills it (copy it with `League.copy_to`)."""
    from tests.backfill_fixtures import build_league  # imports the model trainer: only when needed

    return build_league(tmp_path_factory.mktemp("league") / "base")


@pytest.fixture(scope="session")
def backfilled(
    league: League, tmp_path_factory: pytest.TempPathFactory, _ray_for_the_session: None
) -> BackfilledLeague:
    """`league` after one run over the backfill fortnight, built once per session: the reference the
    backfill tests compare with, and the starting point of those that begin with a finished run."""
    from tests.backfill_fixtures import backfill_league

    start_local_ray()
    return backfill_league(league, tmp_path_factory.mktemp("backfilled") / "base")


# ---- BigQuery emulator and backend-parity warehouses -------------------------------------------------

WAREHOUSE_KINDS = ("duckdb", "bigquery")
# Parity tests retry transient errors at once and give up on a dead emulator within seconds.
FAST_BATCHING = BatchingSettings(retry_backoff_seconds=0, query_timeout_seconds=15)


@pytest.fixture(scope="session")
def _ray_for_the_session() -> Iterator[None]:
    """Shuts down, at the end of the run, the local Ray that `local_ray` started (if it is still up)."""
    yield
    ray.shutdown()


def start_local_ray() -> None:
    """A local Ray of the test run's own (never an unrelated running cluster), unless one is up already."""
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address="local", include_dashboard=False, log_to_driver=False, num_cpus=2)


@pytest.fixture(scope="module")
def local_ray(_ray_for_the_session: None) -> None:
    """Ray for a module's in-process backfills. Started once and shared by every module (each start costs
    seconds); a module that needs another cluster (tests/test_cluster.py) shuts it down, and the next
    module that asks starts it again."""
    start_local_ray()


# Set once per session: None when the emulator is ready, else the one-line reason it is not.
EMULATOR_PROBLEM = pytest.StashKey[str | None]()


def _prepare_emulator(config: pytest.Config) -> str | None:
    """Installs the emulator if it is missing (or re-checks it, in seconds), saying so on the terminal."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    say = terminal.write_line if terminal is not None else print
    installing = not emulator_executable_path().exists()
    if installing:
        say(f"BigQuery emulator not found in {emulator_venv()}: running {INSTALL_COMMAND} (≈1 min)")
    try:
        ready = install_emulator()
    except EmulatorUnavailable as error:
        say(str(error))
        return str(error)
    if installing or (terminal is not None and terminal.verbosity > 0):
        say(ready)
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Gets the emulator ready before the first test when any collected test is a BigQuery one, so the
    install runs once and outside every test's timeout. `--collect-only` runs nothing, so installs nothing."""
    if session.config.option.collectonly:
        return
    if any(item.get_closest_marker("bigquery") for item in session.items):
        session.config.stash[EMULATOR_PROBLEM] = _prepare_emulator(session.config)


@pytest.fixture(scope="session")
def bigquery_emulator(request: pytest.FixtureRequest) -> Iterator[BigQueryEmulator]:
    """One emulator for the whole session (≈3 s start); tests isolate themselves with their own dataset.
    An emulator that cannot be installed fails the BigQuery tests with the reason: they are never skipped."""
    stash = request.config.stash
    if EMULATOR_PROBLEM not in stash:  # a test that needs the emulator without the `bigquery` mark
        stash[EMULATOR_PROBLEM] = _prepare_emulator(request.config)
    problem = stash[EMULATOR_PROBLEM]
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    emulator = BigQueryEmulator().start()
    try:
        yield emulator
    finally:
        emulator.close()


def bigquery_settings(emulator: BigQueryEmulator, dataset: str | None = None) -> WarehouseSettings:
    """Warehouse settings for a (by default fresh, uniquely named) dataset on the emulator."""
    return WarehouseSettings(
        kind="bigquery",
        project=emulator.project,
        dataset=dataset or f"t_{uuid.uuid4().hex[:12]}",
        api_endpoint=emulator.api_endpoint,
        storage_endpoint=emulator.grpc_endpoint,
    )


class WarehouseFactory:
    """Opens warehouses of one kind for a test and closes (and, on BigQuery, drops) them afterwards.

    `factory()` is a fresh, empty warehouse; `factory(share=other)` opens a second warehouse object on
    `other`'s storage (other batching settings or a fault-injecting subclass, same data, no re-seeding).
    `classes` maps a kind to the subclass to open, so one test can inject faults into either backend.
    """

    def __init__(self, kind: str, tmp_path: Path, emulator: BigQueryEmulator | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.emulator = emulator
        self.opened: list[Warehouse] = []
        self._storage: dict[int, str] = {}

    def __call__(
        self,
        batching: BatchingSettings | None = None,
        classes: Mapping[str, type[Warehouse]] | None = None,
        share: Warehouse | None = None,
    ) -> Warehouse:
        batching = batching or FAST_BATCHING
        cls = (classes or {}).get(self.kind)
        location = self._storage[id(share)] if share is not None else None
        warehouse: Warehouse
        if self.kind == "duckdb":
            path = location or str(self.tmp_path / f"w{len(self.opened)}.duckdb")
            warehouse = (cls or DuckDBWarehouse)(path, batching)  # type: ignore[call-arg]
        else:
            from nba_ray.warehouse.bigquery_backend import BigQueryWarehouse  # google clients load lazily

            assert self.emulator is not None
            settings = bigquery_settings(self.emulator, location)
            path = settings.dataset
            warehouse = (cls or BigQueryWarehouse)(settings, batching)  # type: ignore[call-arg]
        self._storage[id(warehouse)] = path
        self.opened.append(warehouse)
        return warehouse

    def close(self) -> None:
        for warehouse in self.opened:
            warehouse.close()
        if self.emulator is not None and self.emulator.running:
            from google.cloud import bigquery

            client = self.emulator.make_client()
            quick = bigquery.DEFAULT_RETRY.with_deadline(5)
            for dataset in set(self._storage.values()):
                with contextlib.suppress(Exception):
                    client.delete_dataset(
                        f"{self.emulator.project}.{dataset}",
                        delete_contents=True,
                        not_found_ok=True,
                        retry=quick,
                    )
            client.close()


@pytest.fixture(
    params=[
        pytest.param(kind, marks=pytest.mark.bigquery if kind == "bigquery" else ())
        for kind in WAREHOUSE_KINDS
    ]
)
def warehouse_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WarehouseFactory]:
    """Backend-parity tests take this (or `warehouse`) and run once per backend."""
    emulator = request.getfixturevalue("bigquery_emulator") if request.param == "bigquery" else None
    factory = WarehouseFactory(request.param, tmp_path, emulator)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def warehouse(warehouse_factory: WarehouseFactory) -> Warehouse:
    """A fresh, empty warehouse of each kind: DuckDB in a temp file, BigQuery in a new emulator dataset."""
    return warehouse_factory()
