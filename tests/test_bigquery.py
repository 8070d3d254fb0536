"""BigQuery-only behaviour, on the local emulator with the real google-cloud-bigquery clients.

(1) A backfill on BigQuery predicts exactly what the same backfill predicts on DuckDB; (2) the emulator
dying mid-run fails the affected dates cleanly and a resume after a restart completes them exactly once;
(3) a timed-out chunk is split and loads the same batch; (4) security: identifiers cannot carry SQL,
values never reach SQL text, credentials are never logged nor shipped to Ray. Plus the backend's own
details: table layout, Storage Read for large results, job options, error vocabulary, failed MERGE.

The shared contract (the same assertions on both backends) is tests/test_warehouse.py.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import ray
import requests
from google.api_core import exceptions as api_exceptions
from google.cloud import bigquery

from nba_ray.backfill.checkpoints import DONE
from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.clock import TipClock
from nba_ray.config import BatchingSettings, ConfigError, Settings, WarehouseSettings, load_settings
from nba_ray.features.contract import FEATURE_VERSION, STANDARD
from nba_ray.warehouse import QueryTimeout, TransientWarehouseError, WarehouseError, sql
from nba_ray.warehouse import bigquery_backend as backend
from nba_ray.warehouse.bigquery_backend import BigQueryDialect, BigQueryWarehouse
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.schemas import (
    PLAYER_GAME_SUMMARY,
    PLAYER_PROP_PREDICTIONS,
    PROP_LINES,
    TABLES,
    WAREHOUSE_INFO,
)
from tests.backfill_fixtures import BackfilledLeague, League, backfill_dates, content, predictions
from tests.bigquery_emulator import BigQueryEmulator
from tests.conftest import bigquery_settings
from tests.test_warehouse import DAY, TimeoutAboveSizeMixin, _sorted, feature_rows, prediction_rows

pytestmark = pytest.mark.bigquery

EVERYTHING = (date(1900, 1, 1), date(2999, 12, 31))
# Planted where a careless backend might pick it up (the default-credentials variable); it must never
# be read with an emulator endpoint set, so it must never show up in logs or Ray's runtime environment.
SENTINEL = "nba-ray-sentinel-secret-4f1c"


@pytest.fixture(scope="module")
def league_tables(league: League) -> dict[str, pa.Table]:
    """The league's box scores, features and prop lines, read once through the Warehouse interface."""
    with DuckDBWarehouse(league.directory / "nba.duckdb") as warehouse:
        return {
            "box_scores": warehouse.read_box_scores(),
            "features": warehouse.read_features(*EVERYTHING),
            "lines": warehouse.query(
                sql.select_where(warehouse.dialect, PROP_LINES.name, {}), PROP_LINES.schema
            ),
            "models": warehouse.read_models([league.model_version]),
        }


def copy_league(tables: dict[str, pa.Table], target: BigQueryWarehouse) -> None:
    target.replace_box_scores(tables["box_scores"])
    target.replace_features(tables["features"], *EVERYTHING)
    target.replace_prop_lines(tables["lines"])
    target.register_model(tables["models"])


def on_bigquery(settings: Settings, emulator: BigQueryEmulator, dataset: str, **batching: Any) -> Settings:
    """`settings` (model, systems, Ray) with the warehouse moved to an emulator dataset."""
    return settings.model_copy(
        update={
            "warehouse": bigquery_settings(emulator, dataset),
            "batching": settings.batching.model_copy(update=batching),
        }
    )


def open_bigquery(settings: Settings, cls: type[BigQueryWarehouse] = BigQueryWarehouse) -> BigQueryWarehouse:
    return cls(settings.warehouse, settings.batching)


@pytest.fixture(scope="module")
def duckdb_reference(
    backfilled: BackfilledLeague, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, BackfillReport, pd.DataFrame]:
    """The fortnight backfilled on DuckDB (the session's run, exit code 0): (settings, report, prediction
    content)."""
    settings = backfilled.copy_to(tmp_path_factory.mktemp("bq-reference") / "w")
    return settings, backfilled.report, content(predictions(settings))


@pytest.fixture(scope="module")
def bigquery_league(
    duckdb_reference: tuple[Settings, BackfillReport, pd.DataFrame],
    league_tables: dict[str, pa.Table],
    bigquery_emulator: BigQueryEmulator,
) -> Settings:
    """A dataset on the emulator holding the league's inputs (no predictions yet)."""
    settings = on_bigquery(duckdb_reference[0], bigquery_emulator, "league")
    with open_bigquery(settings) as warehouse:
        copy_league(league_tables, warehouse)
    return settings


# ---- (1) end to end: the same predictions as DuckDB ---------------------------------------------------


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_backfill_on_bigquery_equals_duckdb_and_leaks_no_credentials(
    bigquery_league: Settings,
    duckdb_reference: tuple[Settings, BackfillReport, pd.DataFrame],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    planted = tmp_path / "service-account.json"
    planted.write_text(json.dumps({"type": "service_account", "private_key": SENTINEL}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(planted))
    caplog.set_level(logging.DEBUG)
    _, reference, expected = duckdb_reference

    with open_bigquery(bigquery_league) as warehouse:
        report = run_backfill(bigquery_league, warehouse, backfill_dates())
        rows = warehouse.read_predictions(*EVERYTHING).to_pandas()
        marks = warehouse.read_checkpoints(report.run_key).to_pandas()

    assert report.exit_code == 0, [o.error for o in report.failed]
    assert report.run_key == reference.run_key  # same systems, features and model
    assert [o.game_date for o in report.outcomes] == [o.game_date for o in reference.outcomes]
    assert [o.predictions for o in report.outcomes] == [o.predictions for o in reference.outcomes]
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    assert content(rows).equals(expected)
    assert set(marks["status"]) == {DONE} and len(marks) == len(reference.outcomes)

    logged = caplog.text.lower()
    assert SENTINEL not in logged
    for secret_marker in ("bearer ", "authorization:", "private_key", "access_token", "refresh_token"):
        assert secret_marker not in logged
    runtime_env = json.dumps(ray.get_runtime_context().runtime_env)
    assert SENTINEL not in runtime_env and "GOOGLE_APPLICATION_CREDENTIALS" not in runtime_env


# ---- (2) the emulator dies mid-run -------------------------------------------------------------------


class KillEmulatorAfterWrites(BigQueryWarehouse):
    """The real warehouse; right after its `kill_after`-th prediction write the emulator is SIGKILLed."""

    emulator: BigQueryEmulator
    kill_after = 1
    writes = 0

    def write_predictions(
        self, rows: pa.Table, dates: Any, systems: Any, *, mode: str = STANDARD, checkpoints: Any = None
    ) -> int:
        written = super().write_predictions(rows, dates, systems, mode=mode, checkpoints=checkpoints)
        self.writes += 1
        if self.writes == self.kill_after:
            self.emulator.kill()
        return written


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_emulator_killed_mid_run_fails_dates_cleanly_and_resume_completes_them(
    duckdb_reference: tuple[Settings, BackfillReport, pd.DataFrame],
    league_tables: dict[str, pa.Table],
    bigquery_emulator: BigQueryEmulator,
) -> None:
    dates = backfill_dates()[:3]
    # One date per write, failures surface within seconds (no retries on top of the client's).
    settings = on_bigquery(
        duckdb_reference[0],
        bigquery_emulator,
        "killed",
        in_flight_dates=1,
        block_rows=1,
        query_timeout_seconds=4,
        max_retries=0,
    )
    with open_bigquery(settings) as warehouse:
        copy_league(league_tables, warehouse)
    try:
        with open_bigquery(settings, KillEmulatorAfterWrites) as dying:
            assert isinstance(dying, KillEmulatorAfterWrites)
            dying.emulator = bigquery_emulator
            report = run_backfill(settings, dying, dates)
        assert not bigquery_emulator.running, "the emulator was not killed: the fault was not injected"
    finally:
        bigquery_emulator.restart()

    assert report.exit_code == 1
    assert sorted(o.game_date for o in report.outcomes) == dates  # every date accounted for
    done = [o.game_date for o in report.outcomes if o.status == DONE]
    assert done == dates[:1]  # the first write, checkpoints with it; the server went right after
    for failed in report.failed:
        assert failed.error and "\n" not in failed.error and len(failed.error) <= 600
        assert "BigQuery" in failed.error or "gave up" in failed.error, failed.error

    with open_bigquery(settings.model_copy(update={"batching": BatchingSettings()})) as warehouse:
        first_run_id = warehouse.read_checkpoints(report.run_key).to_pylist()[0]["run_id"]
        before = warehouse.read_predictions(*EVERYTHING).to_pandas()
        # Restarted with what was written before the kill: a date's rows only with its checkpoint (a
        # block's predictions and checkpoints are one atomic write).
        assert sorted(set(before["game_date"])) == dates[:1]
        resumed = run_backfill(settings, warehouse, dates)
        rows = warehouse.read_predictions(*EVERYTHING).to_pandas()
        marks = warehouse.read_checkpoints(report.run_key).to_pandas().set_index("game_date")
    assert resumed.exit_code == 0 and resumed.already_done == dates[:1]
    assert [o.game_date for o in resumed.outcomes] == dates[1:]
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    expected = duckdb_reference[2]
    expected = expected[expected["game_date"].isin(dates)].reset_index(drop=True)
    assert content(rows).equals(expected)
    assert (marks["status"] == DONE).all() and len(marks) == len(dates)
    assert marks.loc[dates[0], "run_id"] == first_run_id  # the done date was not redone


# ---- (3) adaptive splitting on a real-sized date -----------------------------------------------------


class TimeoutAbove120(TimeoutAboveSizeMixin, BigQueryWarehouse):
    """The real BigQuery warehouse, but a query naming more than 120 players times out."""

    limit = 120


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_timed_out_chunk_is_split_and_loads_the_same_batch(bigquery_league: Settings) -> None:
    game_date = backfill_dates()[4]
    whole = bigquery_league.model_copy(update={"batching": BatchingSettings(chunk_size=1000)})
    with open_bigquery(whole) as warehouse:
        unsplit = warehouse.load_date(game_date)
    with open_bigquery(whole, TimeoutAbove120) as flaky:
        assert isinstance(flaky, TimeoutAbove120)
        split = flaky.load_date(game_date)
    assert unsplit.num_players > 200 and flaky.injected >= 1
    assert _sorted(split) == _sorted(unsplit)


# ---- (4) security ----------------------------------------------------------------------------------------

HOSTILE = "o'neal; drop table x"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DATASET", "nba`; DROP TABLE x; --"),
        ("DATASET", "nba.player_game_summary"),
        ("DATASET", "o'neal; drop table x"),
        ("PROJECT", "my-proj`.x; SELECT 1; --"),
        ("PROJECT", "my-project; drop table x"),
    ],
)
def test_identifier_carrying_sql_is_rejected_at_config_load(key: str, value: str) -> None:
    environ = {"NBA_RAY_WAREHOUSE__KIND": "bigquery", f"NBA_RAY_WAREHOUSE__{key}": value}
    with pytest.raises(ConfigError, match=key.lower()):
        load_settings(environ=environ)


def test_dialect_rejects_identifiers_that_bypassed_the_config() -> None:
    for project, dataset in [("p`x", "nba"), ("my-proj", "nba`; drop"), ("my-proj", "a.b")]:
        with pytest.raises(WarehouseError):
            BigQueryDialect(project, dataset)
    with pytest.raises(WarehouseError):
        BigQueryDialect("my-proj", "nba").table("x`; drop table y")


def test_no_query_text_contains_a_data_value(bigquery_emulator: BigQueryEmulator) -> None:
    dialect = BigQueryDialect("test-proj", "nba")
    queries = [
        sql.features_for(dialect, DAY, [HOSTILE], FEATURE_VERSION),
        sql.history_for(dialect, DAY, [HOSTILE], date(2021, 10, 1), FEATURE_VERSION),
        sql.lines_for(dialect, DAY, [HOSTILE], TipClock().tip(DAY)),
        sql.select_where(
            dialect, PLAYER_PROP_PREDICTIONS.name, {"player_lookup": HOSTILE, "game_date": [DAY]}
        ),
        sql.where(dialect, {"system_id": [HOSTILE], "player_lookup": sql.Between(HOSTILE, HOSTILE)}),
    ]
    for query in queries:
        assert "o'neal" not in query.sql and "drop table" not in query.sql.lower()
        assert any(p.value == HOSTILE or (p.array and HOSTILE in p.value) for p in query.params)  # type: ignore[operator]

    # On the wire: every job's SQL text, for a write and a load of the hostile player.
    sent: list[str] = []
    with BigQueryWarehouse(bigquery_settings(bigquery_emulator)) as warehouse:
        query_and_wait = warehouse._client.query_and_wait

        def spy(text: str, **kwargs: Any) -> Any:
            sent.append(text)
            return query_and_wait(text, **kwargs)

        warehouse._client.query_and_wait = spy  # type: ignore[method-assign]
        warehouse.replace_features(feature_rows(DAY, [HOSTILE, "lebronjames"]), DAY, DAY)
        batch = warehouse.load_players(DAY, [HOSTILE])
        assert batch.players == [HOSTILE]
        assert warehouse.table_counts()[PLAYER_GAME_SUMMARY.name] == 0  # nothing was dropped
    assert sent and not any("o'neal" in text for text in sent)


def test_anonymous_credentials_only_with_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []
    monkeypatch.setattr(backend.bigquery, "Client", lambda **kwargs: made.append(kwargs))
    backend._make_client(WarehouseSettings(kind="bigquery", project="my-project", location="EU"))
    backend._make_client(
        WarehouseSettings(kind="bigquery", project="my-project", api_endpoint="http://127.0.0.1:1")
    )
    production, emulator = made
    assert production == {"project": "my-project", "location": "EU"}  # Google default credentials
    assert type(emulator["credentials"]).__name__ == "AnonymousCredentials"
    assert emulator["client_options"].api_endpoint == "http://127.0.0.1:1"


# ---- the backend's own details -----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_tables_are_created_partitioned_and_clustered(bigquery_league: Settings) -> None:
    with open_bigquery(bigquery_league) as warehouse:
        for spec in TABLES:
            table = warehouse._client.get_table(warehouse.dialect.table_id(spec.name))
            assert [f.name for f in table.schema] == spec.columns
            assert table.clustering_fields == list(spec.key[:4])
            if spec.partitioned_by_date:
                assert table.time_partitioning.type_ == "DAY"
                assert table.time_partitioning.field == "game_date"
        staging = [
            t.table_id for t in warehouse._client.list_tables(f"test-proj.{warehouse.dialect.dataset}")
        ]
        assert not [name for name in staging if name.startswith("_staging_")]


@pytest.mark.e2e
@pytest.mark.usefixtures("local_ray")
def test_large_results_come_over_storage_read(
    bigquery_league: Settings, league_tables: dict[str, pa.Table]
) -> None:
    with open_bigquery(bigquery_league) as warehouse:
        assert warehouse._read_client is not None
        sessions: list[Any] = []
        create_read_session = warehouse._read_client.create_read_session

        def spy(*args: Any, **kwargs: Any) -> Any:
            sessions.append(kwargs)
            return create_read_session(*args, **kwargs)

        warehouse._read_client.create_read_session = spy  # type: ignore[method-assign]
        box_scores = warehouse.read_box_scores()
        assert sessions, "a 31,000-row result did not use the Storage Read API"
        sessions.clear()
        warehouse.table_counts()
        assert not sessions  # one-row results come inline with the query
    assert box_scores.num_rows > backend._INLINE_ROWS
    assert box_scores.equals(league_tables["box_scores"])


def test_jobs_carry_labels_byte_cap_and_timeout(bigquery_emulator: BigQueryEmulator) -> None:
    settings = bigquery_settings(bigquery_emulator).model_copy(
        update={"labels": {"app": "nba-ray", "suite": "parity"}, "maximum_bytes_billed": 10**12}
    )
    with BigQueryWarehouse(settings, BatchingSettings(query_timeout_seconds=7)) as warehouse:
        configs: list[bigquery.QueryJobConfig] = []
        query_and_wait = warehouse._client.query_and_wait

        def spy(text: str, **kwargs: Any) -> Any:
            configs.append(kwargs["job_config"])
            rows = query_and_wait(text, **kwargs)
            configs.append(warehouse._client.get_job(rows.job_id))
            return rows

        warehouse._client.query_and_wait = spy  # type: ignore[method-assign]
        warehouse.game_dates(DAY, DAY)
    sent, recorded = configs
    assert sent.labels == recorded.labels == {"app": "nba-ray", "suite": "parity"}
    assert sent.maximum_bytes_billed == recorded.maximum_bytes_billed == 10**12
    assert int(sent.job_timeout_ms) == 7000


class MergeFails(BigQueryWarehouse):
    def _execute(self, text: str, params: Any, timeout: float) -> Any:
        if text.startswith("MERGE"):
            raise api_exceptions.BadRequest("injected: MERGE rejected")
        return super()._execute(text, params, timeout)


def test_failed_merge_keeps_the_rows_and_drops_the_staging_table(bigquery_emulator: BigQueryEmulator) -> None:
    settings = bigquery_settings(bigquery_emulator)
    systems = ["xgboost_v1"]
    with BigQueryWarehouse(settings) as warehouse:
        warehouse.write_predictions(prediction_rows(DAY, ["a", "b"], systems, "r1"), [DAY], systems)
    with MergeFails(settings) as failing:
        with pytest.raises(WarehouseError, match="write to player_prop_predictions failed: BadRequest"):
            failing.write_predictions(prediction_rows(DAY, ["c"], systems, "r2"), [DAY], systems)
        rows = failing.read_predictions(DAY, DAY).to_pylist()
        assert sorted((r["player_lookup"], r["run_id"]) for r in rows) == [("a", "r1"), ("b", "r1")]
        tables = [t.table_id for t in failing._client.list_tables(f"test-proj.{settings.dataset}")]
        assert sorted(tables) == sorted([WAREHOUSE_INFO.name, *(spec.name for spec in TABLES)])


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api_exceptions.ServiceUnavailable("down"), TransientWarehouseError),
        (api_exceptions.InternalServerError("oops"), TransientWarehouseError),
        (api_exceptions.TooManyRequests("slow down"), TransientWarehouseError),
        (
            api_exceptions.Forbidden("quota", errors=[{"reason": "rateLimitExceeded"}]),
            TransientWarehouseError,
        ),
        (requests.exceptions.ConnectionError("refused"), TransientWarehouseError),
        (requests.exceptions.ConnectTimeout("no route"), TransientWarehouseError),
        (
            api_exceptions.RetryError("deadline", cause=requests.exceptions.ConnectionError()),
            TransientWarehouseError,
        ),
        (concurrent.futures.TimeoutError(), QueryTimeout),
        (requests.exceptions.ReadTimeout("slow"), QueryTimeout),
        (api_exceptions.DeadlineExceeded("slow"), QueryTimeout),
        (api_exceptions.RetryError("deadline", cause=requests.exceptions.ReadTimeout()), QueryTimeout),
        (api_exceptions.BadRequest("Syntax error\nat line 2"), WarehouseError),
        (api_exceptions.NotFound("no table"), WarehouseError),
        (api_exceptions.InternalServerError("bad sql", errors=[{"reason": "dontRetry"}]), WarehouseError),
    ],
)
def test_errors_map_to_the_warehouse_vocabulary(error: Exception, expected: type[WarehouseError]) -> None:
    translated = backend._translate(error, "query")
    assert type(translated) is expected
    assert str(translated).startswith("BigQuery query failed: ") and "\n" not in str(translated)


def test_results_get_the_schema_types() -> None:
    raw = pa.table(
        {
            "d": pa.array([0], pa.date64()),
            "t": pa.array([0], pa.timestamp("ns", tz="+00:00")),
            "i": pa.array([1], pa.int32()),
            "f": pa.array([0.5], pa.float64()),
        }
    )
    assert backend._normalised(raw).schema == pa.schema(
        [("d", pa.date32()), ("t", pa.timestamp("us", tz="UTC")), ("i", pa.int64()), ("f", pa.float64())]
    )
