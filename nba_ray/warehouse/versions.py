"""The warehouse's version: what shape and derived data the code may expect, checked on every open.

The version is stored in `warehouse_info` (key `schema_version`) when a warehouse is created or
upgraded. Warehouses made before it was recorded are recognised by their shape:

- 1: the first release (box scores, features, lines, predictions, accuracy, checkpoints only);
- 2: availability, lineups, input fingerprints and the model registry, but no recorded version;
- 3: the recorded version; `nba-ray upgrade` brings 1 and 2 here.

Columns added by a later version are added on open, as before (old rows read NULL or their
`filled_on_migration` value). What a version adds that must be *derived from data already stored*
(availability and lineups from the box scores, fingerprints of the stored rows) cannot be done by a
plain open: a command would otherwise build from tables created empty. So an older warehouse is refused
in one line naming `nba-ray upgrade`, which derives them and then records the version.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime

import pyarrow as pa

from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.errors import WarehouseError
from nba_ray.warehouse.schemas import PLAYER_AVAILABILITY, TABLES, WAREHOUSE_INFO

SCHEMA_VERSION = 3
FIRST_RELEASE, UNRECORDED = 1, 2
_KEY = "schema_version"


class VersionedWarehouse(Warehouse):
    """A backend whose version is checked on open (`prepare`): it lists its tables and says where it is."""

    found_version: int | None = None  # what `prepare` found

    @abstractmethod
    def table_names(self) -> set[str]:
        """The names of the tables the warehouse holds now (none for a fresh one)."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the warehouse is, for messages: its file, or `project.dataset`."""


class WarehouseOutdated(WarehouseError):
    """The warehouse was made by an older version: `nba-ray upgrade` first (bad input, not failed work)."""


def found_version(warehouse: VersionedWarehouse) -> int | None:
    """The warehouse's version; None when it holds no nba-ray table at all (a fresh one)."""
    names = warehouse.table_names()
    if WAREHOUSE_INFO.name in names:
        values = warehouse._read(WAREHOUSE_INFO, {"key": _KEY}).column("value").to_pylist()
        if values:
            return int(values[0])
    if not names & {spec.name for spec in TABLES}:
        return None
    return UNRECORDED if PLAYER_AVAILABILITY.name in names else FIRST_RELEASE


def check(version: int | None, where: str, *, upgrading: bool) -> None:
    """Refuse a warehouse this code cannot use as it is, in one line saying what to do."""
    if version is None or version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise WarehouseOutdated(
            f"the warehouse {where} is version {version}, newer than this nba-ray knows "
            f"({SCHEMA_VERSION}): install the nba-ray that made it"
        )
    if not upgrading:
        raise WarehouseOutdated(
            f"the warehouse {where} is version {version} ({describe(version)}); this nba-ray needs version "
            f"{SCHEMA_VERSION}: run `nba-ray upgrade` first"
        )


def describe(version: int) -> str:
    return "made by the first release" if version == FIRST_RELEASE else "made before versions were recorded"


def record(warehouse: Warehouse) -> None:
    """Mark the warehouse as this version (after creating it, or at the end of an upgrade)."""
    row = {"key": _KEY, "value": str(SCHEMA_VERSION), "updated_at": datetime.now(UTC)}
    warehouse._replace_where(
        WAREHOUSE_INFO, pa.Table.from_pylist([row], schema=WAREHOUSE_INFO.schema), {"key": _KEY}
    )


def prepare(warehouse: VersionedWarehouse, *, read_only: bool, upgrading: bool = False) -> None:
    """What every open does before any command: find the warehouse's version (kept as its
    `found_version`), refuse an older one unless `upgrading`, then (when writing) create missing tables
    and columns and record the version of a fresh warehouse."""
    warehouse.found_version = found_version(warehouse)
    check(warehouse.found_version, warehouse.location, upgrading=upgrading)
    if not read_only:
        warehouse.ensure_tables()
        if warehouse.found_version is None:
            record(warehouse)
