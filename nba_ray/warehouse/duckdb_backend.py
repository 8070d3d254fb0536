"""The embedded default warehouse: one DuckDB file, no server, no cloud account.

Concurrent loads each get their own cursor (DuckDB runs them in parallel); writes are serialised by a
lock and each is one transaction, so a date's rows are replaced all at once or not at all. DuckDB has
no per-query timeout, so a timer interrupts a query that runs past it.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from nba_ray.config import BatchingSettings
from nba_ray.warehouse import sql, versions
from nba_ray.warehouse.base import Replacement
from nba_ray.warehouse.errors import (
    QueryTimeout,
    TransientWarehouseError,
    WarehouseError,
    WarehouseMissing,
    WarehouseUnwritable,
)
from nba_ray.warehouse.schemas import STORED_TABLES

_DUCKDB_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.bool_(): "BOOLEAN",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.binary(): "BLOB",
}


class DuckDBDialect:
    float_type = "DOUBLE"

    def param(self, name: str) -> str:
        return f"${name}"

    def in_list(self, column: str, name: str) -> str:
        # A semi-join on the unnested list, not list_contains(), so large player lists stay fast.
        return f"{column} IN (SELECT UNNEST(${name}))"

    def table(self, name: str) -> str:
        return f'"{name}"'

    def epoch_micros(self, column: str) -> str:
        return f"epoch_us({column})"


def _params(query: sql.Query) -> dict[str, object]:
    return {p.name: p.value for p in query.params}


class DuckDBWarehouse(versions.VersionedWarehouse):
    dialect = DuckDBDialect()

    def __init__(
        self,
        path: Path | str,
        batching: BatchingSettings | None = None,
        *,
        read_only: bool = False,
        upgrading: bool = False,
    ) -> None:
        super().__init__(batching or BatchingSettings())
        self.path = Path(path)
        if read_only and not self.path.is_file():
            raise WarehouseMissing(f"there is no embedded warehouse at {self.path}")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as err:
            raise WarehouseError(f"cannot open DuckDB warehouse {self.path}: {err}") from err
        self._con.execute("SET TimeZone = 'UTC'")
        self._write_lock = threading.Lock()
        self._invalidated = False
        try:
            versions.prepare(self, read_only=read_only, upgrading=upgrading)
        except BaseException:
            self.close()
            raise

    @property
    def location(self) -> str:
        return str(self.path)

    def table_names(self) -> set[str]:
        query = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        return {row[0] for row in self._con.execute(query).fetchall()}

    def ensure_tables(self) -> None:
        for spec in STORED_TABLES:
            table = self.dialect.table(spec.name)
            columns = ", ".join(f"{f.name} {_DUCKDB_TYPES[f.type]}" for f in spec.schema)
            self._con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
            existing = [row[0] for row in self._con.execute(f"DESCRIBE {table}").fetchall()]
            added = self.columns_to_add(spec, existing, f"{self.path}:{spec.name}")
            for field in added:
                self._con.execute(f"ALTER TABLE {table} ADD COLUMN {field.name} {_DUCKDB_TYPES[field.type]}")
            self.fill_added(spec, added)

    def close(self) -> None:
        try:
            self._con.close()
        except duckdb.Error:
            if not self._invalidated:  # after a fatal write error the close fails too, for the same reason
                raise

    def _run(self, query: sql.Query, timeout: float | None = None) -> pa.Table:
        cursor = self._con.cursor()
        timer = threading.Timer(timeout, cursor.interrupt) if timeout else None
        try:
            if timer:
                timer.start()
            return cursor.execute(query.sql, _params(query)).to_arrow_table()
        except duckdb.InterruptException as err:
            raise QueryTimeout(f"query ran past {timeout:.1f}s") from err
        except duckdb.TransactionException as err:
            raise TransientWarehouseError(str(err)) from err
        except duckdb.Error as err:
            raise WarehouseError(f"DuckDB query failed: {err}") from err
        finally:
            if timer:
                timer.cancel()
            cursor.close()

    def _replace(self, replacements: Sequence[Replacement]) -> None:
        with self._write_lock:
            cursor = self._con.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                for number, part in enumerate(replacements):
                    table = self.dialect.table(part.spec.name)
                    condition = part.condition
                    cursor.execute(
                        f"DELETE FROM {table} AS {sql.REPLACE_TARGET} WHERE {condition.sql}",
                        _params(condition),
                    )
                    cursor.register(f"incoming_rows_{number}", part.rows)
                    cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows_{number}")
                cursor.execute("COMMIT")
            except duckdb.Error as err:
                with contextlib.suppress(duckdb.Error):  # none may be active: the failure is what to report
                    cursor.execute("ROLLBACK")
                names = ", ".join(part.spec.name for part in replacements)
                raise self._write_failure(names, err) from err
            finally:
                with contextlib.suppress(duckdb.Error):
                    cursor.close()

    def _write_failure(self, names: str, err: duckdb.Error) -> WarehouseError:
        """One line: the first line of DuckDB's reason, and for a full disk the file and its device
        (not worth retrying). A failed write changes nothing: DuckDB's transaction and write-ahead log
        keep the file as it was."""
        if isinstance(err, duckdb.FatalException):
            self._invalidated = True
        if "no space left" in str(err).lower():
            mount = _mount_point(self.path)
            free = shutil.disk_usage(mount).free
            return WarehouseUnwritable(
                f"no space left on the device mounted at {mount} ({free:,} bytes free) writing "
                f"{names} to {self.path}: this write was not stored; free space and rerun"
            )
        if isinstance(err, duckdb.TransactionException):
            return TransientWarehouseError(str(err))
        reason = next((line for line in str(err).splitlines() if line.strip()), type(err).__name__)
        return WarehouseError(f"DuckDB write to {names} in {self.path} failed: {reason}")


def _mount_point(path: Path) -> Path:
    """The mount point of the file system holding `path` (its device, as `df` names it)."""
    current = path.resolve().parent
    while not current.is_mount():
        current = current.parent
    return current
