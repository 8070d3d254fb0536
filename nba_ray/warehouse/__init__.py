"""Warehouses: one interface (`Warehouse`), an embedded DuckDB backend and a BigQuery backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nba_ray.clock import TipClock
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.batches import DateBatch
from nba_ray.warehouse.errors import QueryTimeout, TransientWarehouseError, WarehouseError, WarehouseMissing
from nba_ray.warehouse.versions import VersionedWarehouse, WarehouseOutdated

if TYPE_CHECKING:
    from nba_ray.config import Settings

__all__ = [
    "DateBatch",
    "QueryTimeout",
    "TransientWarehouseError",
    "Warehouse",
    "WarehouseError",
    "WarehouseMissing",
    "WarehouseOutdated",
    "open_warehouse",
]


def open_warehouse(
    settings: Settings, *, read_only: bool = False, upgrading: bool = False
) -> VersionedWarehouse:
    """The warehouse the configuration names, with its tables created if they do not exist yet.

    `read_only` is for the commands that must write nothing (`status`, dry runs): no file, folder,
    dataset or table is created, and a warehouse that does not exist raises `WarehouseMissing`.
    A warehouse of an older version raises `WarehouseOutdated` unless `upgrading` (`nba-ray upgrade`).
    """
    warehouse: VersionedWarehouse
    if settings.warehouse.kind == "bigquery":
        from nba_ray.warehouse.bigquery_backend import BigQueryWarehouse

        warehouse = BigQueryWarehouse(
            settings.warehouse, settings.batching, read_only=read_only, upgrading=upgrading
        )
    else:
        from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

        warehouse = DuckDBWarehouse(
            settings.warehouse.path, settings.batching, read_only=read_only, upgrading=upgrading
        )
    warehouse.tips = TipClock.of(settings.systems.lines)
    return warehouse
