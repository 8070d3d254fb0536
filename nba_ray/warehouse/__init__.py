"""Warehouses: one interface (`Warehouse`), an embedded DuckDB backend and a BigQuery backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nba_ray.warehouse.base import DateBatch, Warehouse
from nba_ray.warehouse.errors import QueryTimeout, TransientWarehouseError, WarehouseError

if TYPE_CHECKING:
    from nba_ray.config import Settings

__all__ = [
    "DateBatch",
    "QueryTimeout",
    "TransientWarehouseError",
    "Warehouse",
    "WarehouseError",
    "open_warehouse",
]


def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse the configuration names, with its tables created if they do not exist yet."""
    if settings.warehouse.kind == "bigquery":
        from nba_ray.warehouse.bigquery_backend import BigQueryWarehouse

        return BigQueryWarehouse(settings.warehouse, settings.batching)
    from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

    return DuckDBWarehouse(settings.warehouse.path, settings.batching)
