"""Shared fixtures: where the real box scores are, fresh warehouses, a settings object per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nba_ray.config import Settings, WarehouseSettings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

# The real box scores are not ours to copy: tests read them from where the environment says.
REAL_DATA_ENV = "NBA_RAY_REAL_DATA"
REAL_DATA = Path(os.environ[REAL_DATA_ENV]) if os.environ.get(REAL_DATA_ENV) else None
IN_CI = bool(os.environ.get("CI"))

# Locally a developer without the real files can still run everything else; CI must have them.
requires_real_data = pytest.mark.skipif(
    REAL_DATA is None and not IN_CI, reason=f"set {REAL_DATA_ENV} to the real box-score folder"
)


def real_season(season: str) -> Path:
    """The real file of one season; in CI a missing folder fails the test instead of skipping it."""
    if REAL_DATA is None:
        pytest.fail(f"{REAL_DATA_ENV} is not set: CI must point it at the real box scores")
    path = REAL_DATA / f"season={season}.parquet"
    assert path.is_file(), f"{path} is missing"
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with the embedded warehouse in a fresh temporary file."""
    return Settings(warehouse=WarehouseSettings(path=tmp_path / "nba.duckdb"))


@pytest.fixture
def duckdb_warehouse(settings: Settings) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        yield warehouse
