"""Proof that the real google-cloud-bigquery clients work against the `local-bigquery` emulator for exactly
the operations `BigQueryWarehouse` needs: partitioned/clustered tables, Parquet load jobs, parameterised
queries with `IN UNNEST(@players)`, Arrow results over Storage Read and REST, atomic replace of a date's
rows (MERGE and a multi-statement transaction), DROP TABLE, job options, and fast failure + restart.

If one of these breaks after an emulator upgrade, the backend's parity tests would fail for reasons that
have nothing to do with the backend; this file says which operation broke. Findings are written up in
docs/bigquery-emulator.md.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery

from tests.bigquery_emulator import EMULATOR_HOME, BigQueryEmulator, emulator_environment, emulator_venv

pytestmark = pytest.mark.bigquery

# Every client call gets a bounded retry: the library default retries transient errors for 600 s.
RETRY = bigquery.DEFAULT_RETRY.with_deadline(30)

D1 = dt.date(2024, 1, 15)
D2 = dt.date(2024, 1, 16)
UTC = dt.UTC

# A reduced player_prop_predictions: one column of every type the warehouse schemas use.
ARROW_SCHEMA = pa.schema(
    [
        pa.field("game_date", pa.date32()),
        pa.field("player_lookup", pa.string()),
        pa.field("system_id", pa.string()),
        pa.field("predicted_points", pa.float64()),
        pa.field("similar_games_count", pa.int64()),
        pa.field("is_home", pa.bool_()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
BQ_SCHEMA = [
    bigquery.SchemaField("game_date", "DATE", mode="REQUIRED"),
    bigquery.SchemaField("player_lookup", "STRING"),
    bigquery.SchemaField("system_id", "STRING"),
    bigquery.SchemaField("predicted_points", "FLOAT64"),
    bigquery.SchemaField("similar_games_count", "INT64"),
    bigquery.SchemaField("is_home", "BOOL"),
    bigquery.SchemaField("created_at", "TIMESTAMP"),
]
CLUSTERING = ["player_lookup", "system_id"]


# The session fixture `bigquery_emulator` lives in tests/conftest.py (shared with the backend tests).


@pytest.fixture(scope="module")
def client(bigquery_emulator: BigQueryEmulator) -> Iterator[bigquery.Client]:
    bq = bigquery_emulator.make_client()
    yield bq
    bq.close()


@pytest.fixture
def dataset(client: bigquery.Client) -> Iterator[str]:
    """A fresh dataset per test, as `project.dataset`."""
    dataset_id = f"{client.project}.t_{uuid.uuid4().hex[:12]}"
    client.create_dataset(bigquery.Dataset(dataset_id), retry=RETRY)
    yield dataset_id
    client.delete_dataset(dataset_id, delete_contents=True, not_found_ok=True, retry=RETRY)


def make_table(client: bigquery.Client, table_id: str) -> bigquery.Table:
    table = bigquery.Table(table_id, schema=BQ_SCHEMA)
    table.time_partitioning = bigquery.TimePartitioning(
        type_=bigquery.TimePartitioningType.DAY, field="game_date"
    )
    table.clustering_fields = CLUSTERING
    return client.create_table(table, retry=RETRY)


def rows(
    date: dt.date, players: str, systems: tuple[str, ...], points: float, created: dt.datetime | None = None
) -> list[dict[str, Any]]:
    created = created or dt.datetime(2024, 1, 1, tzinfo=UTC)
    return [
        {
            "game_date": date,
            "player_lookup": player,
            "system_id": system,
            "predicted_points": points,
            "similar_games_count": 7,
            "is_home": True,
            "created_at": created,
        }
        for player in players
        for system in systems
    ]


def parquet_bytes(records: list[dict[str, Any]]) -> io.BytesIO:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records, schema=ARROW_SCHEMA), buffer)
    buffer.seek(0)
    return buffer


def load(client: bigquery.Client, table_id: str, records: list[dict[str, Any]]) -> None:
    """Append `records` with a Parquet load job, the way the backend writes (no streaming inserts)."""
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET, write_disposition=bigquery.WriteDisposition.WRITE_APPEND
    )
    client.load_table_from_file(parquet_bytes(records), table_id, job_config=config, timeout=60).result(
        retry=RETRY, timeout=60
    )


def keyed(client: bigquery.Client, table_id: str) -> list[tuple[str, str, str, float]]:
    """(date, player, system, points) of every row, sorted: the shape replace tests compare."""
    result = client.query_and_wait(
        f"SELECT game_date, player_lookup, system_id, predicted_points FROM `{table_id}`", retry=RETRY
    ).to_arrow(create_bqstorage_client=False)
    return sorted(
        (r["game_date"].isoformat(), r["player_lookup"], r["system_id"], r["predicted_points"])
        for r in result.to_pylist()
    )


def replace_params(
    date: dt.date, systems: list[str]
) -> list[bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter]:
    return [
        bigquery.ScalarQueryParameter("d", "DATE", date),
        bigquery.ArrayQueryParameter("systems", "STRING", systems),
    ]


# --- (1) tables -------------------------------------------------------------------------------------------


def test_create_partitioned_clustered_table(client: bigquery.Client, dataset: str) -> None:
    make_table(client, f"{dataset}.preds")
    table = client.get_table(f"{dataset}.preds", retry=RETRY)
    assert [(f.name, f.field_type, f.mode) for f in table.schema] == [
        ("game_date", "DATE", "REQUIRED"),
        ("player_lookup", "STRING", "NULLABLE"),
        ("system_id", "STRING", "NULLABLE"),
        ("predicted_points", "FLOAT", "NULLABLE"),
        ("similar_games_count", "INTEGER", "NULLABLE"),
        ("is_home", "BOOLEAN", "NULLABLE"),
        ("created_at", "TIMESTAMP", "NULLABLE"),
    ]
    assert table.time_partitioning.type_ == "DAY"
    assert table.time_partitioning.field == "game_date"
    assert table.clustering_fields == CLUSTERING


def test_create_table_ddl_partition_by_cluster_by(client: bigquery.Client, dataset: str) -> None:
    job = client.query(
        f"CREATE TABLE IF NOT EXISTS `{dataset}.ddl` (game_date DATE NOT NULL, player_lookup STRING, "
        "system_id STRING, predicted_points FLOAT64) "
        "PARTITION BY game_date CLUSTER BY player_lookup, system_id",
        retry=RETRY,
    )
    job.result(retry=RETRY, timeout=60)
    assert job.statement_type == "CREATE_TABLE"
    table = client.get_table(f"{dataset}.ddl", retry=RETRY)
    assert table.time_partitioning.field == "game_date"
    assert table.clustering_fields == CLUSTERING
    assert table.schema[0].mode == "REQUIRED"


# --- (2) load jobs + (4) Arrow reads --------------------------------------------------------------------


def test_parquet_load_round_trips_every_type_and_nulls(
    client: bigquery.Client, bigquery_emulator: BigQueryEmulator, dataset: str
) -> None:
    table_id = f"{dataset}.preds"
    make_table(client, table_id)
    ts = dt.datetime(2024, 1, 15, 23, 59, 58, 123456, tzinfo=UTC)
    records = [
        {
            "game_date": D1,
            "player_lookup": "lebronjames",
            "system_id": "ensemble_v1",
            "predicted_points": 27.25,
            "similar_games_count": 12,
            "is_home": True,
            "created_at": ts,
        },
        {
            "game_date": D2,
            "player_lookup": None,
            "system_id": "xgboost_v1",
            "predicted_points": None,
            "similar_games_count": None,
            "is_home": None,
            "created_at": None,
        },
    ]
    load(client, table_id, records)
    assert client.get_table(table_id, retry=RETRY).num_rows == 2

    expected = pa.Table.from_pylist(records, schema=ARROW_SCHEMA)
    sql = f"SELECT * FROM `{table_id}` ORDER BY game_date"
    via_rest = client.query(sql, retry=RETRY).to_arrow(create_bqstorage_client=False)
    assert via_rest.schema == ARROW_SCHEMA
    assert via_rest.equals(expected)

    read_client = bigquery_emulator.make_read_client()
    sessions: list[Any] = []
    create_read_session = read_client.create_read_session

    def spy(*args: Any, **kwargs: Any) -> Any:
        sessions.append(kwargs)
        return create_read_session(*args, **kwargs)

    read_client.create_read_session = spy  # type: ignore[method-assign]
    via_storage = client.query(sql, retry=RETRY).to_arrow(bqstorage_client=read_client)
    assert sessions, "to_arrow(bqstorage_client=...) did not use the Storage Read API"
    assert via_storage.schema == ARROW_SCHEMA
    assert via_storage.equals(expected)


def test_storage_read_large_result(client: bigquery.Client, bigquery_emulator: BigQueryEmulator) -> None:
    """Many rows and several record batches over gRPC (needs the unlimited receive size)."""
    job = client.query(
        "SELECT x, CONCAT('player', CAST(x AS STRING)) AS player_lookup, x / 4 AS points "
        "FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS x",
        retry=RETRY,
    )
    table = job.to_arrow(bqstorage_client=bigquery_emulator.make_read_client())
    assert table.num_rows == 200_000
    assert table.schema.types == [pa.int64(), pa.string(), pa.float64()]
    assert sorted(table.column("x").to_pylist())[-1] == 200_000
    assert pa.compute.sum(table.column("points")).as_py() == pytest.approx(200_000 * 200_001 / 8)


@pytest.mark.filterwarnings("ignore:Loading pandas DataFrame into BigQuery will require pandas-gbq")
def test_load_table_from_dataframe(client: bigquery.Client, dataset: str) -> None:
    table_id = f"{dataset}.preds"
    make_table(client, table_id)
    frame = pa.Table.from_pylist(rows(D1, "ab", ("s1",), 10.5), schema=ARROW_SCHEMA).to_pandas()
    assert isinstance(frame, pd.DataFrame)
    job = client.load_table_from_dataframe(frame, table_id, timeout=60)
    job.result(retry=RETRY, timeout=60)
    assert job.output_rows == 2
    assert keyed(client, table_id) == [("2024-01-15", "a", "s1", 10.5), ("2024-01-15", "b", "s1", 10.5)]


# --- (3) parameters -------------------------------------------------------------------------------------


def test_parameterised_query_with_unnest_players(client: bigquery.Client, dataset: str) -> None:
    table_id = f"{dataset}.preds"
    make_table(client, table_id)
    load(client, table_id, rows(D1, "abcd", ("s1", "s2"), 1.0) + rows(D2, "ab", ("s1",), 2.0))
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("d", "DATE", D1),
            bigquery.ScalarQueryParameter("system", "STRING", "s2"),
            bigquery.ArrayQueryParameter("players", "STRING", ["b", "d", "not-a-player"]),
        ]
    )
    result = client.query_and_wait(
        f"SELECT player_lookup, system_id, game_date FROM `{table_id}` "
        "WHERE game_date = @d AND system_id = @system AND player_lookup IN UNNEST(@players) "
        "ORDER BY player_lookup",
        job_config=config,
        retry=RETRY,
    ).to_arrow(create_bqstorage_client=False)
    assert result.to_pylist() == [
        {"player_lookup": "b", "system_id": "s2", "game_date": D1},
        {"player_lookup": "d", "system_id": "s2", "game_date": D1},
    ]

    # An empty list matches nothing; 5,000 players (chunk sizes far above 360) are fine.
    many = [f"p{i}" for i in range(5000)]
    counted = client.query_and_wait(
        "SELECT (SELECT COUNT(*) FROM UNNEST(@all) AS p WHERE p IN UNNEST(@none)) AS none_, "
        "(SELECT COUNT(*) FROM UNNEST(@all) AS p WHERE p IN UNNEST(@players)) AS some",
        job_config=bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ArrayQueryParameter("all", "STRING", many),
                bigquery.ArrayQueryParameter("none", "STRING", []),
                bigquery.ArrayQueryParameter("players", "STRING", many[::2]),
            ]
        ),
        retry=RETRY,
    ).to_arrow(create_bqstorage_client=False)
    assert counted.to_pylist() == [{"none_": 0, "some": 2500}]


# --- (5) atomic replace of (date, systems) + (6) DROP TABLE -----------------------------------------------

MERGE_REPLACE = """
MERGE `{target}` AS t USING `{staging}` AS s ON FALSE
WHEN NOT MATCHED BY SOURCE AND t.game_date = @d AND t.system_id IN UNNEST(@systems) THEN DELETE
WHEN NOT MATCHED THEN INSERT ROW
"""
TRANSACTION_REPLACE = """
BEGIN TRANSACTION;
DELETE FROM `{target}` WHERE game_date = @d AND system_id IN UNNEST(@systems);
INSERT INTO `{target}` SELECT * FROM `{staging}`;
COMMIT TRANSACTION;
"""
# Before: D1 × players ab × s1,s2,s3 (points 1.0) and D2 × a × s1 (9.0). New: D1 × players bc × s1,s2.
BASE = rows(D1, "ab", ("s1", "s2", "s3"), 1.0) + rows(D2, "a", ("s1",), 9.0)
NEW = rows(D1, "bc", ("s1", "s2"), 2.0)
# After replacing (D1, [s1, s2]): D1/s3 and D2 untouched, D1/s1,s2 exactly NEW (player a's rows gone).
REPLACED = sorted(
    [("2024-01-15", p, "s3", 1.0) for p in "ab"]
    + [("2024-01-15", p, s, 2.0) for p in "bc" for s in ("s1", "s2")]
    + [("2024-01-16", "a", "s1", 9.0)]
)
UNCHANGED = sorted(
    [("2024-01-15", p, s, 1.0) for p in "ab" for s in ("s1", "s2", "s3")] + [("2024-01-16", "a", "s1", 9.0)]
)


@pytest.fixture
def replace_tables(client: bigquery.Client, dataset: str) -> tuple[str, str]:
    target, staging = f"{dataset}.preds", f"{dataset}.staging"
    make_table(client, target)
    load(client, target, BASE)
    client.query_and_wait(f"CREATE TABLE `{staging}` LIKE `{target}`", retry=RETRY)
    load(client, staging, NEW)
    return target, staging


def run_script(client: bigquery.Client, sql: str, params: list[Any]) -> bigquery.QueryJob:
    job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=params), retry=RETRY)
    job.result(retry=RETRY, timeout=60)
    return job


def test_merge_replaces_date_and_systems_atomically(
    client: bigquery.Client, replace_tables: tuple[str, str]
) -> None:
    target, staging = replace_tables
    job = run_script(
        client, MERGE_REPLACE.format(target=target, staging=staging), replace_params(D1, ["s1", "s2"])
    )
    assert job.statement_type == "MERGE"
    assert job.num_dml_affected_rows == 4 + 4  # a,b × s1,s2 deleted; b,c × s1,s2 inserted
    assert keyed(client, target) == REPLACED
    # Idempotent: the same replace again leaves the same rows (exactly once per date/player/system).
    run_script(client, MERGE_REPLACE.format(target=target, staging=staging), replace_params(D1, ["s1", "s2"]))
    assert keyed(client, target) == REPLACED


def test_transaction_replaces_date_and_systems(
    client: bigquery.Client, replace_tables: tuple[str, str]
) -> None:
    target, staging = replace_tables
    job = run_script(
        client, TRANSACTION_REPLACE.format(target=target, staging=staging), replace_params(D1, ["s1", "s2"])
    )
    assert job.statement_type == "SCRIPT"
    assert keyed(client, target) == REPLACED


@pytest.mark.parametrize(
    "failing_statement",
    ["SELECT ERROR('injected failure after the DELETE')", "INSERT INTO `{target}` SELECT * FROM `{missing}`"],
    ids=["runtime-error", "missing-table"],
)
def test_failed_transaction_rolls_back(
    client: bigquery.Client, replace_tables: tuple[str, str], failing_statement: str
) -> None:
    target, _ = replace_tables
    statement = failing_statement.format(target=target, missing=f"{target}_missing")
    sql = (
        "BEGIN TRANSACTION;\n"
        f"DELETE FROM `{target}` WHERE game_date = @d AND system_id IN UNNEST(@systems);\n"
        f"{statement};\nCOMMIT TRANSACTION;"
    )
    with pytest.raises(google_exceptions.GoogleAPICallError):
        run_script(client, sql, replace_params(D1, ["s1", "s2"]))
    assert keyed(client, target) == UNCHANGED


def test_merge_insert_row_is_positional(client: bigquery.Client, dataset: str) -> None:
    """`INSERT ROW` maps staging columns by POSITION: a staging table whose columns are in another order
    fails (or, with compatible types, would silently swap values). Staging must be `CREATE TABLE … LIKE`
    the target, or the MERGE must name its columns."""
    target, staging = f"{dataset}.preds", f"{dataset}.staging_reordered"
    make_table(client, target)
    reordered = pa.Table.from_pylist(NEW, schema=ARROW_SCHEMA).select(list(reversed(ARROW_SCHEMA.names)))
    buffer = io.BytesIO()
    pq.write_table(reordered, buffer)
    buffer.seek(0)
    client.load_table_from_file(
        buffer, staging, job_config=bigquery.LoadJobConfig(source_format="PARQUET"), timeout=60
    ).result(retry=RETRY, timeout=60)
    with pytest.raises(google_exceptions.BadRequest):
        run_script(client, MERGE_REPLACE.format(target=target, staging=staging), replace_params(D1, ["s1"]))
    columns = ", ".join(ARROW_SCHEMA.names)
    named = MERGE_REPLACE.replace("INSERT ROW", f"INSERT ({columns}) VALUES ({columns})")
    run_script(client, named.format(target=target, staging=staging), replace_params(D1, ["s1"]))
    assert keyed(client, target) == sorted(("2024-01-15", p, s, 2.0) for p in "bc" for s in ("s1", "s2"))


def test_drop_staging_table(client: bigquery.Client, replace_tables: tuple[str, str]) -> None:
    _, staging = replace_tables
    job = client.query(f"DROP TABLE `{staging}`", retry=RETRY)
    job.result(retry=RETRY, timeout=60)
    assert job.statement_type == "DROP_TABLE"
    with pytest.raises(google_exceptions.NotFound):
        client.get_table(staging, retry=RETRY)
    client.query_and_wait(f"DROP TABLE IF EXISTS `{staging}`", retry=RETRY)  # idempotent cleanup
    client.delete_table(staging, not_found_ok=True, retry=RETRY)


# --- (7) job options -------------------------------------------------------------------------------------


def test_labels_bytes_billed_and_job_timeout_are_accepted(client: bigquery.Client, dataset: str) -> None:
    labels = {"app": "nba-ray", "run_key": "r-2024-01-15"}
    query_config = bigquery.QueryJobConfig(labels=labels, maximum_bytes_billed=10**10, job_timeout_ms=60_000)
    job = client.query("SELECT 41 + 1 AS answer", job_config=query_config, retry=RETRY)
    assert [tuple(row.values()) for row in job.result(retry=RETRY, timeout=60)] == [(42,)]
    fetched = client.get_job(job.job_id, retry=RETRY)
    assert fetched.labels == labels
    assert fetched.maximum_bytes_billed == 10**10

    table_id = f"{dataset}.preds"
    make_table(client, table_id)
    load_config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET, labels=labels, job_timeout_ms=60_000
    )
    load_job = client.load_table_from_file(
        parquet_bytes(rows(D1, "a", ("s1",), 3.0)), table_id, job_config=load_config
    )
    load_job.result(retry=RETRY, timeout=60)
    assert load_job.labels == labels
    assert load_job.output_rows == 1


def test_missing_emulator_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBA_RAY_EMULATOR_VENV", str(tmp_path / "no-venv"))
    with pytest.raises(RuntimeError, match=r"run bash \.ci/install-bigquery-emulator"):
        BigQueryEmulator()


def test_emulator_duckdb_loads_its_extensions_from_its_own_venv(
    bigquery_emulator: BigQueryEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The emulator's DuckDB, opened as the emulator opens it (`TimeZone` config, which needs icu) in the
    environment the emulator is started with, loads icu, ducklake and spatial from the venv's own DuckDB
    home, whatever the user's home holds: here an empty one, which stays empty."""
    empty_home = tmp_path / "home"
    empty_home.mkdir()
    monkeypatch.setenv("HOME", str(empty_home))
    probe = (
        "import duckdb\n"
        "con = duckdb.connect(config={'TimeZone': 'UTC'})\n"
        "for name in ('ducklake', 'spatial'):\n"
        "    con.execute(f'LOAD {name}')\n"
        'rows = con.execute("SELECT extension_name, install_path FROM duckdb_extensions() WHERE loaded"\n'
        "                   \" AND extension_name IN ('icu', 'ducklake', 'spatial')\").fetchall()\n"
        "print('\\n'.join(f'{name} {path}' for name, path in sorted(rows)))\n"
    )
    python = emulator_venv() / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", probe], env=emulator_environment(), capture_output=True, text=True, check=True
    )
    loaded = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert sorted(loaded) == ["ducklake", "icu", "spatial"]
    own_home = emulator_venv() / EMULATOR_HOME
    for name, path in loaded.items():
        assert Path(path).is_relative_to(own_home), f"{name} loaded from {path}, not from {own_home}"
    assert list(empty_home.iterdir()) == []


# --- (8) outage: fast failure, restart, data intact ------------------------------------------------------


def test_outage_fails_fast_and_restart_keeps_data(
    bigquery_emulator: BigQueryEmulator, client: bigquery.Client, dataset: str
) -> None:
    """A dead server must surface as an error within seconds once retry deadlines are capped, and a
    restarted server must serve the data written before the crash. Uses the session emulator (saves a
    start-up) and always leaves it running for the tests after it."""
    fast = bigquery.DEFAULT_RETRY.with_deadline(2)
    client.query_and_wait(f"CREATE TABLE `{dataset}.kept` AS SELECT 7 AS x", retry=fast)
    try:
        bigquery_emulator.kill()
        started = time.monotonic()
        with pytest.raises(google_exceptions.RetryError):
            client.query(f"SELECT x FROM `{dataset}.kept`", retry=fast, job_retry=None, timeout=1).result(
                retry=fast, timeout=1
            )
        assert time.monotonic() - started < 10
        started = time.monotonic()
        with pytest.raises(google_exceptions.RetryError):
            client.query_and_wait(
                f"SELECT x FROM `{dataset}.kept`", retry=fast, job_retry=None, api_timeout=1, wait_timeout=5
            )
        assert time.monotonic() - started < 10
    finally:
        bigquery_emulator.restart()
    assert bigquery_emulator.startup_seconds is not None and bigquery_emulator.startup_seconds < 60
    read_client = bigquery_emulator.make_read_client()
    kept = client.query(f"SELECT x FROM `{dataset}.kept`", retry=fast).to_arrow(bqstorage_client=read_client)
    assert kept.to_pylist() == [{"x": 7}]
