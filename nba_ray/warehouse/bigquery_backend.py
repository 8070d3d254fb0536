"""The production warehouse: BigQuery through the real google-cloud-bigquery clients.

Tables are **created on first use**: opening the warehouse creates the dataset (in the configured
location) and every table of `schemas.TABLES` that does not exist yet, so `nba-ray init` needs no
separate DDL step. Tables with `game_date` are partitioned by it (DAY) and clustered by their key.

Reads are parameterised queries (every value a `ScalarQueryParameter`/`ArrayQueryParameter`, never SQL
text) whose results come back as Arrow over the Storage Read API, or over REST pages when no Storage
client can be made. A write is one Parquet load job into a uniquely named staging table created
`LIKE` the target (so `INSERT ROW`, which is positional, sees the target's column order), then ONE
MERGE that deletes the target rows matching the condition and inserts the staging rows atomically,
then the staging table is dropped (it also expires by itself in case the drop never happens). No
streaming inserts (rows would sit in the streaming buffer, beyond DML) and no `table$YYYYMMDD`
decorators (the emulator treats them as separate tables).

Credentials: Google's default credentials, never from configuration and never logged. Anonymous
credentials are used only when `api_endpoint` is set, i.e. against an emulator. Every client call's
retry deadline is a small multiple of `batching.query_timeout_seconds`: the library's defaults retry
for 10 minutes (40 for query jobs), which would hide an outage from the loader's own retries and
adaptive splitting. BigQuery enforces `job_timeout_ms`; the emulator does not, so the wait for a
job is also bounded client-side.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import logging
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import requests
from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import TransportError
from google.cloud import bigquery
from google.cloud.bigquery.table import RowIterator

from nba_ray.config import BatchingSettings, WarehouseSettings
from nba_ray.warehouse import sql, versions
from nba_ray.warehouse.base import Replacement
from nba_ray.warehouse.errors import (
    QueryTimeout,
    TransientWarehouseError,
    WarehouseError,
    WarehouseMissing,
    one_line,
)
from nba_ray.warehouse.schemas import STORED_TABLES, TableSpec

if TYPE_CHECKING:
    from google.cloud.bigquery_storage_v1 import BigQueryReadClient

log = logging.getLogger(__name__)

# Arrow type of a schema column -> BigQuery column type (the only types `schemas` uses).
_BIGQUERY_TYPES: dict[pa.DataType, str] = {
    pa.string(): "STRING",
    pa.date32(): "DATE",
    pa.bool_(): "BOOL",
    pa.int64(): "INT64",
    pa.float64(): "FLOAT64",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
    pa.binary(): "BYTES",
}
# Client retry deadline = this × the query timeout: a blip is retried inside one call, an outage is left
# to the base class's retries with backoff instead of being hidden for minutes.
_RETRY_DEADLINE_FACTOR = 1.0
# Writes (load + MERGE) may take longer than a read chunk; bound them all the same.
_WRITE_TIMEOUT_FACTOR = 4.0
_MIN_WRITE_TIMEOUT_SECONDS = 30.0
# Staging tables expire by themselves if a crash prevents the drop.
_STAGING_EXPIRY_HOURS = 6
# Result rows returned inline by `jobs.query`; larger results are read over the Storage Read API, whose
# per-read session costs more than a small JSON page saves.
_INLINE_ROWS = 10_000
# Retries of the multipart upload inside one load call (the library's default of 6 waits ~1 minute).
_UPLOAD_RETRIES = 1
# Unlimited gRPC messages: Storage Read sends whole record batches, a wide date exceeds the 4 MiB default.
_GRPC_UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
# Identifiers are validated by the configuration; checked again here because they are spliced into SQL.
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Errors worth retrying that BigQuery reports with a 4xx status.
_TRANSIENT_REASONS = {
    "rateLimitExceeded",
    "backendError",
    "internalError",
    "badGateway",
    "jobRateLimitExceeded",
}
_TRANSIENT_MESSAGES = ("could not serialize access", "concurrent update")


class BigQueryDialect:
    """GoogleSQL spelling: `@name` parameters, `IN UNNEST(@list)`, backquoted `project.dataset.table`."""

    float_type = "FLOAT64"

    def __init__(self, project: str, dataset: str) -> None:
        if not _PROJECT.match(project) or not _NAME.match(dataset):
            raise WarehouseError(f"invalid BigQuery project or dataset id: {project!r}.{dataset!r}")
        self.project = project
        self.dataset = dataset

    def param(self, name: str) -> str:
        return f"@{name}"

    def in_list(self, column: str, name: str) -> str:
        return f"{column} IN UNNEST(@{name})"

    def table_id(self, name: str) -> str:
        """`project.dataset.table` for the client API (no quotes)."""
        if not _NAME.match(name):
            raise WarehouseError(f"invalid BigQuery table name {name!r}")
        return f"{self.project}.{self.dataset}.{name}"

    def table(self, name: str) -> str:
        return f"`{self.table_id(name)}`"

    def epoch_micros(self, column: str) -> str:
        return f"UNIX_MICROS({column})"


def _query_parameter(param: sql.Param) -> bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter:
    if param.array:
        assert isinstance(param.value, Sequence) and not isinstance(param.value, str)
        return bigquery.ArrayQueryParameter(param.name, param.type, list(param.value))
    return bigquery.ScalarQueryParameter(param.name, param.type, param.value)


def _one_line(err: BaseException) -> str:
    """`Type: first line`, short; a RetryError names its deadline and the last error's type, not the
    last error's whole (URL-laden) text."""
    if isinstance(err, api_exceptions.RetryError) and err.cause is not None:
        return f"RetryError: {err.message}; last error {_one_line(err.cause)}"[:300]
    return one_line(err, limit=200)


def _is_timeout(err: BaseException) -> bool:
    if isinstance(err, api_exceptions.RetryError) and err.cause is not None:
        return _is_timeout(err.cause)  # every attempt ran out of time: the query is slow, not failing
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return False  # cannot reach the server: a connection problem, not a slow query
    return isinstance(
        err, (concurrent.futures.TimeoutError, requests.exceptions.Timeout, api_exceptions.DeadlineExceeded)
    )


def _is_transient(err: BaseException) -> bool:
    if isinstance(err, api_exceptions.InternalServerError) and _reason(err) == "dontRetry":
        return False  # the emulator's way of saying "this query is broken", not "try again"
    if isinstance(
        err,
        (
            api_exceptions.ServerError,
            api_exceptions.TooManyRequests,
            api_exceptions.RetryError,  # the client's own retries of transient errors ran out
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            TransportError,
            ConnectionError,
        ),
    ):
        return True
    if isinstance(err, api_exceptions.GoogleAPICallError):
        return _reason(err) in _TRANSIENT_REASONS or any(m in str(err).lower() for m in _TRANSIENT_MESSAGES)
    return False


def _reason(err: api_exceptions.GoogleAPICallError) -> str | None:
    try:
        return str(err.errors[0]["reason"])
    except (AttributeError, IndexError, KeyError, TypeError):
        return None


def _translate(err: Exception, what: str) -> WarehouseError:
    """One vocabulary for callers: QueryTimeout (the loader splits), transient (retried), or final."""
    if isinstance(err, WarehouseError):
        return err
    message = f"BigQuery {what} failed: {_one_line(err)}"
    if _is_timeout(err):
        return QueryTimeout(message)
    if _is_transient(err):
        return TransientWarehouseError(message)
    return WarehouseError(message)


def _arrow_type(dtype: pa.DataType) -> pa.DataType:
    """The type the warehouse schemas use for what BigQuery returned (DATE, TIMESTAMP, INT64)."""
    if pa.types.is_date(dtype):
        return pa.date32()
    if pa.types.is_timestamp(dtype) and dtype.tz is not None:
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_integer(dtype):
        return pa.int64()
    return dtype


def _normalised(table: pa.Table) -> pa.Table:
    """Results with the schemas' types and without the client's BigQuery metadata on fields."""
    schema = pa.schema([pa.field(f.name, _arrow_type(f.type)) for f in table.schema])
    return table.cast(schema)


def _make_client(settings: WarehouseSettings) -> bigquery.Client:
    if settings.api_endpoint:
        return bigquery.Client(
            project=settings.project,
            location=settings.location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=settings.api_endpoint),
        )
    return bigquery.Client(project=settings.project, location=settings.location)


def _make_read_client(settings: WarehouseSettings) -> BigQueryReadClient | None:
    """A Storage Read API client, or None (results then come over REST pages)."""
    try:
        from google.cloud.bigquery_storage_v1 import BigQueryReadClient

        if settings.storage_endpoint:
            import grpc
            from google.cloud.bigquery_storage_v1.services.big_query_read.transports import (
                BigQueryReadGrpcTransport,
            )

            target = re.sub(r"^[a-z]+://", "", settings.storage_endpoint)
            channel = grpc.insecure_channel(target, options=_GRPC_UNLIMITED)
            return BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))
        if settings.api_endpoint:
            return None  # an emulator without a Storage endpoint: never send its reads to Google
        return BigQueryReadClient()
    except Exception as err:  # missing package or credentials: REST still works
        log.warning(
            "BigQuery Storage Read API unavailable (%s); reading results over REST", type(err).__name__
        )
        return None


class BigQueryWarehouse(versions.VersionedWarehouse):
    """`Warehouse` on BigQuery; see the module docstring for how reads and writes are done."""

    dialect: BigQueryDialect

    def __init__(
        self,
        settings: WarehouseSettings,
        batching: BatchingSettings | None = None,
        *,
        read_only: bool = False,
        upgrading: bool = False,
    ) -> None:
        super().__init__(batching or BatchingSettings())
        self.settings = settings
        timeout = self.batching.query_timeout_seconds
        self._retry = bigquery.DEFAULT_RETRY.with_deadline(timeout * _RETRY_DEADLINE_FACTOR)
        self._write_timeout = max(timeout * _WRITE_TIMEOUT_FACTOR, _MIN_WRITE_TIMEOUT_SECONDS)
        try:
            self._client = _make_client(settings)
            if not self._client.project:
                raise WarehouseError(
                    "no BigQuery project: set warehouse.project (or NBA_RAY_WAREHOUSE__PROJECT)"
                )
            self.dialect = BigQueryDialect(self._client.project, settings.dataset)
        except WarehouseError:
            raise
        except Exception as err:
            raise WarehouseError(f"cannot create the BigQuery client: {_one_line(err)}") from err
        self._read_client = _make_read_client(settings)
        self._size_connection_pool()
        try:
            if read_only:
                self._check_dataset()
            versions.prepare(self, read_only=read_only, upgrading=upgrading)
        except BaseException:
            self.close()
            raise

    def _check_dataset(self) -> None:
        """A read-only open creates nothing: the dataset must already be there."""
        try:
            self._client.get_dataset(
                f"{self.dialect.project}.{self.dialect.dataset}",
                retry=self._retry,
                timeout=self._write_timeout,
            )
        except api_exceptions.NotFound:
            raise WarehouseMissing(
                f"there is no BigQuery dataset {self.dialect.project}.{self.dialect.dataset}"
            ) from None
        except Exception as err:
            raise _translate(err, "reading the dataset") from err

    def _size_connection_pool(self) -> None:
        """Room for every concurrent request of the loader (dates in flight × chunks × 3 queries): the
        default pool of 10 would drop and reopen connections, logging a warning each time. The client
        has no public knob for this, so its session (`_http`) gets a bigger adapter; skipped if that
        attribute ever changes."""
        batching = self.batching
        size = batching.in_flight_dates * batching.max_concurrent_chunks * 3 + 8
        session = getattr(self._client, "_http", None)
        if isinstance(session, requests.Session):
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=size)
            session.mount("https://", adapter)
            session.mount("http://", adapter)

    # ---- tables ----------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return f"{self.dialect.project}.{self.dialect.dataset}"

    def table_names(self) -> set[str]:
        try:
            tables = self._client.list_tables(
                f"{self.dialect.project}.{self.dialect.dataset}",
                retry=self._retry,
                timeout=self._write_timeout,
            )
            return {table.table_id for table in tables}
        except api_exceptions.NotFound:
            return set()  # no dataset yet: a fresh warehouse
        except Exception as err:
            raise _translate(err, "listing the tables") from err

    def ensure_tables(self) -> None:
        dataset = bigquery.Dataset(f"{self.dialect.project}.{self.dialect.dataset}")
        dataset.location = self.settings.location
        try:
            self._client.create_dataset(
                dataset, exists_ok=True, retry=self._retry, timeout=self._write_timeout
            )
            for spec in STORED_TABLES:
                existing = self._client.create_table(
                    self._table_definition(spec),
                    exists_ok=True,
                    retry=self._retry,
                    timeout=self._write_timeout,
                )
                names = [field.name for field in existing.schema]
                added = self.columns_to_add(spec, names, existing.full_table_id or spec.name)
                if added:
                    existing.schema = [*existing.schema, *self._schema_fields(added, nullable=True)]
                    self._client.update_table(
                        existing, ["schema"], retry=self._retry, timeout=self._write_timeout
                    )
                    self.fill_added(spec, added)
        except Exception as err:
            raise _translate(err, "table creation") from err

    @staticmethod
    def _schema_fields(fields: Sequence[pa.Field], *, nullable: bool = False) -> list[bigquery.SchemaField]:
        """BigQuery columns for Arrow fields; `nullable` for columns added to a table that has rows."""
        return [
            bigquery.SchemaField(
                f.name, _BIGQUERY_TYPES[f.type], mode="NULLABLE" if nullable or f.nullable else "REQUIRED"
            )
            for f in fields
        ]

    def _table_definition(self, spec: TableSpec) -> bigquery.Table:
        table = bigquery.Table(self.dialect.table_id(spec.name), schema=self._schema_fields(spec.schema))
        if spec.partitioned_by_date:
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field="game_date"
            )
        table.clustering_fields = list(spec.key[:4])  # BigQuery allows at most four
        return table

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()
        if self._read_client is not None:
            with contextlib.suppress(Exception):
                self._read_client.transport.close()

    # ---- primitives ------------------------------------------------------------------------------
    def _job_config(self, params: Sequence[sql.Param], timeout: float) -> bigquery.QueryJobConfig:
        config = bigquery.QueryJobConfig(
            query_parameters=[_query_parameter(p) for p in params],
            labels=dict(self.settings.labels),
            job_timeout_ms=int(timeout * 1000),
        )
        if self.settings.maximum_bytes_billed is not None:  # an explicit null is rejected
            config.maximum_bytes_billed = self.settings.maximum_bytes_billed
        return config

    def _execute(self, text: str, params: Sequence[sql.Param], timeout: float) -> RowIterator:
        """Run one query job to completion; raises the client's exceptions untranslated.

        `jobs.query` answers a finished query with its first page of rows in the same round trip;
        results larger than `_INLINE_ROWS` come from a job whose destination the Storage Read API can
        read. A query still running at `timeout` is cancelled and raises TimeoutError.
        """
        return self._client.query_and_wait(
            text,
            job_config=self._job_config(params, timeout),
            api_timeout=timeout,
            wait_timeout=timeout,
            retry=self._retry,
            job_retry=None,
            page_size=_INLINE_ROWS,
        )

    def _run(self, query: sql.Query, timeout: float | None = None) -> pa.Table:
        timeout = timeout or self.batching.query_timeout_seconds
        try:
            rows = self._execute(query.sql, query.params, timeout)
            # With a Storage client the library reads over gRPC exactly when rows are left beyond the
            # inline first page; without one, REST pages.
            table = rows.to_arrow(
                bqstorage_client=self._read_client, create_bqstorage_client=False, timeout=timeout
            )
        except Exception as err:
            raise _translate(err, "query") from err
        return _normalised(table)

    def _replace(self, replacements: Sequence[Replacement]) -> None:
        """Each replacement's rows go to a staging table. One replacement is one MERGE (delete the
        matching rows, insert the staged ones); several run as DELETE + INSERT pairs in one
        multi-statement transaction."""
        staged = [f"_staging_{part.spec.name}_{uuid.uuid4().hex}" for part in replacements]
        timeout = self._write_timeout
        names = ", ".join(part.spec.name for part in replacements)
        try:
            merges: list[str] = []
            pairs: list[str] = []
            for part, staging_name in zip(replacements, staged, strict=True):
                target, staging = self.dialect.table(part.spec.name), self.dialect.table(staging_name)
                self._execute(
                    f"CREATE TABLE {staging} LIKE {target} OPTIONS(expiration_timestamp = "
                    f"TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL {_STAGING_EXPIRY_HOURS} HOUR))",
                    (),
                    timeout,
                )
                if part.rows.num_rows:  # an empty staging table is enough for a delete-only replace
                    self._load(self.dialect.table_id(staging_name), part.rows, timeout)
                # The condition names the target's columns (qualified by sql.REPLACE_TARGET); INSERT ROW
                # and INSERT … SELECT * copy staging rows by position (staging is created LIKE target).
                merges.append(
                    f"MERGE {target} AS {sql.REPLACE_TARGET} USING {staging} AS staging ON FALSE "
                    f"WHEN NOT MATCHED BY SOURCE AND {part.condition.sql} THEN DELETE "
                    "WHEN NOT MATCHED THEN INSERT ROW"
                )
                pairs += [
                    f"DELETE FROM {target} AS {sql.REPLACE_TARGET} WHERE {part.condition.sql}",
                    f"INSERT INTO {target} SELECT * FROM {staging}",
                ]
            params = [param for part in replacements for param in part.condition.params]
            statement = merges[0] if len(merges) == 1 else _transaction(pairs)
            self._execute(statement, params, timeout)
        except Exception as err:
            raise _translate(err, f"write to {names}") from err
        finally:
            for staging_name in staged:
                self._drop(staging_name)

    def _load(self, table_id: str, rows: pa.Table, timeout: float) -> None:
        buffer = io.BytesIO()
        pq.write_table(rows, buffer)
        buffer.seek(0)
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            labels=dict(self.settings.labels),
            job_timeout_ms=int(timeout * 1000),
        )
        job = self._client.load_table_from_file(
            buffer, table_id, job_config=config, num_retries=_UPLOAD_RETRIES, timeout=timeout
        )
        job.result(retry=self._retry, timeout=timeout)

    def _drop(self, name: str) -> None:
        """One quick attempt, no retries: an undropped staging table expires by itself, and a failed
        write must not wait on a dead server twice."""
        try:
            self._client.delete_table(
                self.dialect.table_id(name),
                not_found_ok=True,
                retry=None,
                timeout=min(self.batching.query_timeout_seconds, 10.0),
            )
        except Exception as err:
            log.warning("could not drop staging table %s (it expires by itself): %s", name, _one_line(err))


def _transaction(statements: Sequence[str]) -> str:
    """Statements that take effect together or not at all."""
    return "BEGIN TRANSACTION;\n" + ";\n".join(statements) + ";\nCOMMIT TRANSACTION;"
