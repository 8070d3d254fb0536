"""The Warehouse contract, as a backend-parity suite: batch loading, chunking, retries, atomic replaces,
checkpoints, type round trips.

Every test takes the `warehouse` (or `warehouse_factory`) fixture of tests/conftest.py and so runs once
on DuckDB and once on BigQuery (the local emulator, real google-cloud-bigquery clients): the same
assertions on both, so the backends cannot drift apart. Fault injection subclasses the REAL backend
and overrides `_run`, through one mixin per fault applied to either backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from nba_ray.config import BatchingSettings
from nba_ray.features.contract import (
    FEATURE_DEFAULTS,
    FEATURE_VERSION,
    STANDARD,
    ZONE_CONTEXT_COLUMNS,
    ModelContractError,
)
from nba_ray.models import registry
from nba_ray.warehouse import DateBatch, QueryTimeout, TransientWarehouseError, WarehouseError, sql
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.bigquery_backend import BigQueryWarehouse
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.issued import append_issued, read_issued
from nba_ray.warehouse.schemas import (
    BACKFILL_CHECKPOINTS,
    INPUT_FINGERPRINTS,
    ISSUED_PREDICTIONS,
    MARKET_DAILY,
    ML_FEATURE_STORE,
    MODEL_REGISTRY,
    PLAYER_AVAILABILITY,
    PLAYER_GAME_SUMMARY,
    PLAYER_PROP_PREDICTIONS,
    PREDICTION_ACCURACY,
    PROP_LINES,
    SCHEDULED_GAMES,
    STARTING_LINEUPS,
    TABLES,
)
from tests.conftest import FAST_BATCHING, WarehouseFactory
from tests.systems_fixtures import tiny_artifact

DAY = date(2022, 1, 10)


def feature_rows(game_date: date, players: Sequence[str]) -> pa.Table:
    rows = []
    for i, player in enumerate(players):
        row: dict[str, object] = {
            "game_date": game_date,
            "player_lookup": player,
            "feature_version": FEATURE_VERSION,
            "season": "2021-22",
            "game_id": f"G{game_date:%Y%m%d}{i % 5}",
            "player_id": f"{player}01",
            "team_abbr": "BOS",
            "opponent_team_abbr": "NYK",
            "feature_quality_score": 90.0,
            "games_in_history": 10,
            "data_source": "current_season",
        }
        row.update(FEATURE_DEFAULTS)
        row.update(dict.fromkeys(ZONE_CONTEXT_COLUMNS, 0.0))
        row["points_avg_last_5"] = float(i)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=ML_FEATURE_STORE.schema)


def box_rows(game_date: date, players: Sequence[str], points: int = 10) -> pa.Table:
    rows = [
        {
            "season": "2021-22",
            "game_id": f"G{game_date:%Y%m%d}{i % 5}",
            "game_date": game_date,
            "team_abbr": "BOS",
            "opponent_team_abbr": "NYK",
            "is_home": True,
            "player_id": f"{p}01",
            "player_name": p,
            "player_lookup": p,
            "starter": False,
            "minutes_played": 20.0,
            "points": points,
            "fg_made": 5,
            "fg_attempted": 10,
            "three_pt_made": 0,
            "three_pt_attempted": 0,
            "ft_made": points - 10,
            "ft_attempted": 10,
            "offensive_rebounds": 1,
            "defensive_rebounds": 1,
            "rebounds": 2,
            "assists": 1,
            "steals": 0,
            "blocks": 0,
            "turnovers": 1,
            "personal_fouls": 2,
            "plus_minus": 0,
            "dnp": False,
            "dnp_reason": None,
        }
        for i, p in enumerate(players)
    ]
    return pa.Table.from_pylist(rows, schema=PLAYER_GAME_SUMMARY.schema)


def prediction_rows(game_date: date, players: Sequence[str], systems: Sequence[str], run_id: str) -> pa.Table:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {name: None for name in PLAYER_PROP_PREDICTIONS.schema.names}
        | {
            "prediction_id": f"{game_date}_{p}_{s}",
            "system_id": s,
            "system_version": "1",
            "game_date": game_date,
            "player_lookup": p,
            "predicted_points": 12.5,
            "run_id": run_id,
            "created_at": now,
            "recommendation": "PASS",
            "prediction_mode": STANDARD,
        }
        for p in players
        for s in systems
    ]
    return pa.Table.from_pylist(rows, schema=PLAYER_PROP_PREDICTIONS.schema)


PLAYERS = [f"player{i:03d}" for i in range(23)]


def seed_date(warehouse: Warehouse) -> None:
    warehouse.replace_features(feature_rows(DAY, PLAYERS), DAY, DAY)
    # A long history (the loader keeps the 30 most recent within 90 days) and the day itself (never
    # history), in one import: each write is a load job + MERGE on BigQuery, so fewer writes is faster.
    history = [
        box_rows(DAY - timedelta(days=back), PLAYERS, points=10 + back % 7) for back in range(1, 40, 3)
    ]
    warehouse.replace_box_scores(pa.concat_tables([*history, box_rows(DAY, PLAYERS, points=99)]))
    lines = [
        {
            "game_date": DAY,
            "player_lookup": p,
            "bookmaker": book,
            "snapshot_ts": ts,
            "points_line": line,
            "over_price": -110,
            "under_price": -110,
        }
        for p in PLAYERS[:5]
        for book, ts, line in (
            ("draftkings", datetime(2022, 1, 10, 15, tzinfo=UTC), 14.5),
            ("draftkings", datetime(2022, 1, 10, 18, tzinfo=UTC), 15.5),
            ("fanduel", datetime(2022, 1, 10, 16, tzinfo=UTC), 15.0),
        )
    ]
    warehouse.replace_prop_lines(pa.Table.from_pylist(lines, schema=PROP_LINES.schema))


def _sorted(batch: DateBatch) -> tuple[list[dict[str, object]], ...]:
    def rows(table: pa.Table, keys: list[str]) -> list[dict[str, object]]:
        return table.sort_by([(k, "ascending") for k in keys]).to_pylist()

    return (
        rows(batch.features, ["player_lookup"]),
        rows(batch.history, ["player_lookup", "game_date"]),
        rows(batch.lines, ["player_lookup", "bookmaker"]),
    )


def fast(**batching: Any) -> BatchingSettings:
    """The parity suite's fast-retry settings with some fields changed."""
    return FAST_BATCHING.model_copy(update=batching)


# ---- fault injection: one mixin per fault, applied to the real backends ------------------------------


class TimeoutAboveSizeMixin:
    """Any query naming more than `limit` players times out; counts the timeouts it injected."""

    limit = 5
    injected = 0

    def _run(self, query: sql.Query, timeout: float | None = None) -> pa.Table:
        players: Any = next((p.value for p in query.params if p.name == "players"), [])
        if len(players) > self.limit:
            self.injected += 1
            raise QueryTimeout(f"{len(players)} players")
        return super()._run(query, timeout)  # type: ignore[misc]


class FailingNTimesMixin:
    """The history query fails with a transient error `failures` times, then works."""

    failures = 2

    def _run(self, query: sql.Query, timeout: float | None = None) -> pa.Table:
        if "recency" in query.sql and self.failures > 0:  # the history query
            self.failures -= 1
            raise TransientWarehouseError("connection reset")
        return super()._run(query, timeout)  # type: ignore[misc]


class TimeoutAboveSize(TimeoutAboveSizeMixin, DuckDBWarehouse):
    """The real DuckDB warehouse, but any query naming more than `limit` players times out."""


class FailingNTimes(FailingNTimesMixin, DuckDBWarehouse):
    """The real DuckDB warehouse, but the history query fails twice with a transient error."""


class BigQueryTimeoutAboveSize(TimeoutAboveSizeMixin, BigQueryWarehouse):
    """The real BigQuery warehouse, but any query naming more than `limit` players times out."""


class BigQueryFailingNTimes(FailingNTimesMixin, BigQueryWarehouse):
    """The real BigQuery warehouse, but the history query fails twice with a transient error."""


TIMEOUT_ABOVE_SIZE: dict[str, type[Warehouse]] = {
    "duckdb": TimeoutAboveSize,
    "bigquery": BigQueryTimeoutAboveSize,
}
FAILING_N_TIMES: dict[str, type[Warehouse]] = {"duckdb": FailingNTimes, "bigquery": BigQueryFailingNTimes}


# ---- loading -----------------------------------------------------------------------------------------


def test_load_date_returns_features_history_and_latest_lines(warehouse: Warehouse) -> None:
    seed_date(warehouse)
    batch = warehouse.load_date(DAY)
    assert batch.players == sorted(PLAYERS)
    history = batch.history.to_pandas()
    assert history.groupby("player_lookup").size().eq(13).all()  # 13 games within 90 days, all before DAY
    assert history["game_date"].max() < DAY
    assert 99.0 not in set(history["points"])
    lines = batch.lines.to_pandas()
    assert len(lines) == 10  # 5 players × 2 bookmakers, latest snapshot each
    assert set(lines[lines.bookmaker == "draftkings"]["points_line"]) == {15.5}
    # The same Arrow types from every backend (what the actors receive).
    assert batch.features.schema == ML_FEATURE_STORE.schema
    assert batch.lines.schema.field("snapshot_ts").type == pa.timestamp("us", tz="UTC")


def test_a_snapshot_after_tip_reaches_no_load_and_no_fingerprint(warehouse: Warehouse) -> None:
    seed_date(warehouse)
    before = warehouse.read_fingerprints(DAY, DAY)[DAY]["prop_lines"]
    stored = warehouse.read_prop_lines([DAY])
    after_tip = {**stored.to_pylist()[0], "snapshot_ts": warehouse.tips.tip(DAY) + timedelta(minutes=1)}
    at_tip = {**stored.to_pylist()[0], "bookmaker": "betmgm", "snapshot_ts": warehouse.tips.tip(DAY)}
    late = pa.Table.from_pylist([{**after_tip, "points_line": 30.5}], schema=PROP_LINES.schema)
    warehouse.replace_prop_lines(pa.concat_tables([stored, late]))
    assert warehouse.read_fingerprints(DAY, DAY)[DAY]["prop_lines"] == before
    assert set(warehouse.load_date(DAY).lines.to_pandas()["points_line"]) == {15.5, 15.0}

    closing = pa.Table.from_pylist([{**at_tip, "points_line": 16.5}], schema=PROP_LINES.schema)
    warehouse.replace_prop_lines(pa.concat_tables([stored, late, closing]))
    assert warehouse.read_fingerprints(DAY, DAY)[DAY]["prop_lines"] != before
    lines = warehouse.load_date(DAY).lines.to_pandas()
    assert set(lines["points_line"]) == {15.5, 15.0, 16.5} and len(lines) == 11  # at tip is still known


def test_chunked_concurrent_load_equals_one_query(warehouse_factory: WarehouseFactory) -> None:
    whole = warehouse_factory(fast(chunk_size=1000))
    seed_date(whole)
    chunked = warehouse_factory(fast(chunk_size=4, max_concurrent_chunks=3), share=whole)
    assert _sorted(whole.load_date(DAY)) == _sorted(chunked.load_date(DAY))


def test_timed_out_chunk_is_split_until_it_loads(warehouse_factory: WarehouseFactory) -> None:
    reference = warehouse_factory()
    seed_date(reference)
    flaky = warehouse_factory(fast(chunk_size=20), classes=TIMEOUT_ABOVE_SIZE, share=reference)
    assert _sorted(flaky.load_date(DAY)) == _sorted(reference.load_date(DAY))
    assert isinstance(flaky, TimeoutAboveSizeMixin) and flaky.injected > 0


def test_transient_errors_are_retried_then_fail_loudly(warehouse_factory: WarehouseFactory) -> None:
    warehouse = warehouse_factory(fast(retry_backoff_seconds=0, max_retries=3), classes=FAILING_N_TIMES)
    assert isinstance(warehouse, FailingNTimesMixin)
    seed_date(warehouse)
    assert warehouse.load_date(DAY).history.num_rows == 23 * 13  # two failures, then success
    warehouse.failures = 10
    with pytest.raises(WarehouseError, match="gave up after 4 attempts: connection reset"):
        warehouse.load_date(DAY)


def test_empty_date_is_an_empty_batch(warehouse: Warehouse) -> None:
    batch = warehouse.load_date(date(2022, 7, 4))
    assert batch.num_players == 0 and batch.history.num_rows == 0


# ---- writing -----------------------------------------------------------------------------------------


def test_write_predictions_replaces_exactly_the_date_and_systems(warehouse: Warehouse) -> None:
    other_day = DAY + timedelta(days=1)
    systems = ["moving_average_baseline_v1", "xgboost_v1"]
    warehouse.write_predictions(prediction_rows(DAY, PLAYERS, systems, "r1"), [DAY], systems)
    warehouse.write_predictions(prediction_rows(other_day, PLAYERS, systems, "r1"), [other_day], systems)
    # Rerun DAY for one system with fewer players: only DAY × that system changes.
    warehouse.write_predictions(prediction_rows(DAY, PLAYERS[:3], systems[:1], "r2"), [DAY], systems[:1])
    rows = warehouse.read_predictions(DAY, other_day).to_pandas()
    counts = rows.groupby(["game_date", "system_id", "run_id"]).size().to_dict()
    assert counts == {
        (DAY, systems[0], "r2"): 3,
        (DAY, systems[1], "r1"): 23,
        (other_day, systems[0], "r1"): 23,
        (other_day, systems[1], "r1"): 23,
    }
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()


def test_issued_predictions_are_appended_and_never_replaced(warehouse: Warehouse) -> None:
    systems = ["moving_average_baseline_v1", "xgboost_v1"]
    morning, pre_tip = datetime(2022, 1, 10, 15, tzinfo=UTC), datetime(2022, 1, 10, 23, 30, tzinfo=UTC)
    first = prediction_rows(DAY, PLAYERS, systems, "r1")
    assert append_issued(warehouse, first, morning) == 2 * 23
    # A rerun at the same clock adds nothing and keeps the first snapshot.
    assert append_issued(warehouse, prediction_rows(DAY, PLAYERS[:2], systems, "r1b"), morning) == 0
    later = prediction_rows(DAY, PLAYERS[:3], systems[:1], "r2")
    later = later.set_column(
        later.schema.get_field_index("predicted_points"), "predicted_points", pa.array([1 / 3] * 3)
    )
    assert append_issued(warehouse, later, pre_tip) == 3
    other_day = prediction_rows(DAY + timedelta(days=1), PLAYERS[:1], systems[:1], "r3")
    assert append_issued(warehouse, pa.concat_tables([other_day, first]), morning) == 1  # DAY stays as issued
    issued = read_issued(warehouse, DAY, DAY)
    assert issued.schema == ISSUED_PREDICTIONS.schema
    frame = issued.to_pandas()
    assert frame.groupby(["as_of", "run_id"]).size().to_dict() == {
        (pd.Timestamp(morning), "r1"): 46,
        (pd.Timestamp(pre_tip), "r2"): 3,
    }
    assert not frame.duplicated(list(ISSUED_PREDICTIONS.key)).any()
    assert frame.loc[frame["run_id"] == "r2", "predicted_points"].tolist() == [1 / 3] * 3
    # Writing the same date's predictions (a backfill) leaves the issued record alone.
    warehouse.write_predictions(prediction_rows(DAY, PLAYERS[:1], systems, "r4"), [DAY], systems)
    assert read_issued(warehouse, DAY, DAY).equals(issued)
    assert read_issued(warehouse, DAY, DAY + timedelta(days=1)).num_rows == 50


def test_writing_no_rows_still_deletes_the_date_and_systems(warehouse: Warehouse) -> None:
    systems = ["moving_average_baseline_v1", "xgboost_v1"]
    warehouse.write_predictions(prediction_rows(DAY, PLAYERS, systems, "r1"), [DAY], systems)
    empty = PLAYER_PROP_PREDICTIONS.schema.empty_table()
    assert warehouse.write_predictions(empty, [DAY], systems[:1]) == 0
    rows = warehouse.read_predictions(DAY, DAY).to_pandas()
    assert set(rows["system_id"]) == {systems[1]} and len(rows) == 23


def test_failed_write_leaves_the_previous_rows(warehouse: Warehouse) -> None:
    systems = ["xgboost_v1"]
    warehouse.write_predictions(prediction_rows(DAY, PLAYERS, systems, "r1"), [DAY], systems)
    broken = prediction_rows(DAY, PLAYERS, systems, "r2").drop(["system_id"])
    with pytest.raises(ValueError, match="missing column"):
        warehouse.write_predictions(broken, [DAY], systems)
    bad_types = prediction_rows(DAY, PLAYERS, systems, "r2")
    bad_types = bad_types.set_column(
        bad_types.schema.get_field_index("predicted_points"),
        "predicted_points",
        pa.array(["not a number"] * bad_types.num_rows),
    )
    with pytest.raises((pa.ArrowInvalid, WarehouseError)):
        warehouse.write_predictions(bad_types, [DAY], systems)
    rows = warehouse.read_predictions(DAY, DAY).to_pandas()
    assert len(rows) == 23 and set(rows["run_id"]) == {"r1"}


def test_checkpoints_upsert_per_run_key_and_date(warehouse: Warehouse) -> None:
    base = {
        "players": 5,
        "predictions": 25,
        "skipped": 0,
        "load_seconds": 0.1,
        "predict_seconds": 0.2,
        "write_seconds": 0.1,
        "error": None,
        "run_id": "x",
        "updated_at": datetime.now(UTC),
    }
    other = DAY + timedelta(days=1)
    warehouse.write_checkpoints(
        "k",
        [
            base | {"run_key": "k", "game_date": DAY, "status": "failed", "attempt": 1},
            base | {"run_key": "k", "game_date": other, "status": "done", "attempt": 1},
        ],
    )
    warehouse.write_checkpoints(
        "k", [base | {"run_key": "k", "game_date": DAY, "status": "done", "attempt": 2}]
    )
    warehouse.write_checkpoints(
        "j", [base | {"run_key": "j", "game_date": DAY, "status": "done", "attempt": 1}]
    )
    mine = warehouse.read_checkpoints("k").to_pylist()
    assert [(r["game_date"], r["status"], r["attempt"]) for r in mine] == [
        (DAY, "done", 2),
        (other, "done", 1),
    ]
    assert warehouse.read_checkpoints().num_rows == 3


def test_reimport_replaces_games(warehouse: Warehouse) -> None:
    warehouse.replace_box_scores(box_rows(DAY, PLAYERS))
    warehouse.replace_box_scores(box_rows(DAY, PLAYERS, points=12))
    rows = warehouse.read_box_scores().to_pandas()
    assert len(rows) == 23 and set(rows["points"]) == {12}


# ---- types: what is written is what is read, NULLs and microseconds included -------------------------


def accuracy_rows(game_date: date) -> pa.Table:
    full = {
        "game_date": game_date,
        "player_lookup": "anthonyedwards",
        "system_id": "ensemble_v1",
        "game_id": "G1",
        "predicted_points": 24.25,
        "actual_points": 31.0,
        "confidence_score": 0.71,
        "recommendation": "OVER",
        "line_value": 25.5,
        "line_source": "ACTUAL_PROP",
        "absolute_error": 6.75,
        "signed_error": -6.75,
        "within_3_points": False,
        "within_5_points": False,
        "predicted_margin": -1.25,
        "actual_margin": 5.5,
        "prediction_correct": False,
        "confidence_decile": 7,
        "minutes_played": 36.5,
        "blend_points": 22.0,
        "is_voided": False,
        "void_reason": "",
        "prediction_mode": STANDARD,
        "graded_at": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    }
    empty = {name: None for name in PREDICTION_ACCURACY.schema.names} | {
        "game_date": game_date,
        "player_lookup": "nobody",
        "system_id": "xgboost_v1",
    }
    return pa.Table.from_pylist([full, empty], schema=PREDICTION_ACCURACY.schema)


def availability_rows(game_date: date, source: str = "BOX_SCORE", team: str = "BOS") -> pa.Table:
    reported = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC) if source == "FEED" else None
    rows = [
        {
            "game_date": game_date,
            "team_abbr": team,
            "player_lookup": player,
            "status": status,
            "source": source,
            "reported_at": reported,
        }
        for player, status in (
            ("jaysontatum", "AVAILABLE"),
            ("jaylenbrown", "OUT"),
            ("alhorford", "AVAILABLE"),
        )
    ]
    return pa.Table.from_pylist(rows, schema=PLAYER_AVAILABILITY.schema)


def test_a_feed_replaces_only_its_own_team_dates_and_box_scores_keep_feeds(warehouse: Warehouse) -> None:
    """A feed replaces the feed rows of the team-dates it lists, never another team's rows of the same
    date; derived (box-score) rows replace every derived row and no feed row."""
    later = DAY + timedelta(days=1)
    warehouse.replace_availability(availability_rows(DAY), "BOX_SCORE")
    warehouse.replace_availability(availability_rows(later, "FEED"), "FEED")
    warehouse.replace_availability(availability_rows(later, "FEED", "NYK"), "FEED")
    rows = warehouse.read_availability().to_pandas()
    assert sorted(set(zip(rows.game_date, rows.team_abbr, rows.source, strict=True))) == [
        (DAY, "BOS", "BOX_SCORE"),
        (later, "BOS", "FEED"),
        (later, "NYK", "FEED"),
    ]
    assert len(rows) == 9
    news = availability_rows(later, "FEED", "NYK").to_pandas().iloc[:1].assign(status="OUT")
    warehouse.replace_availability(pa.Table.from_pandas(news, schema=PLAYER_AVAILABILITY.schema), "FEED")
    rows = warehouse.read_availability(later, later).to_pandas()
    assert sorted(zip(rows.team_abbr, rows.player_lookup, rows.status, strict=True)) == [
        ("BOS", "alhorford", "AVAILABLE"),
        ("BOS", "jaylenbrown", "OUT"),
        ("BOS", "jaysontatum", "AVAILABLE"),
        ("NYK", "jaysontatum", "OUT"),
    ]
    warehouse.replace_availability(availability_rows(later, team="NYK"), "BOX_SCORE")
    rows = warehouse.read_availability().to_pandas()
    assert sorted(set(zip(rows.game_date, rows.team_abbr, rows.source, strict=True))) == [
        (later, "BOS", "FEED"),
        (later, "NYK", "BOX_SCORE"),
        (later, "NYK", "FEED"),
    ]
    assert rows[rows.source == "BOX_SCORE"].reported_at.isna().all()
    with pytest.raises(ValueError, match="given as FEED"):
        warehouse.replace_lineups(availability_rows(DAY).drop_columns(["status"]), "FEED")


def report(game_date: date, team: str, at: datetime | None, *statuses: tuple[str, str]) -> pa.Table:
    """One team-date's injury report (FEED) at `at`: (player, status) pairs."""
    rows = [
        {
            "game_date": game_date,
            "team_abbr": team,
            "player_lookup": player,
            "status": status,
            "source": "FEED",
            "reported_at": at,
        }
        for player, status in statuses
    ]
    return pa.Table.from_pylist(rows, schema=PLAYER_AVAILABILITY.schema)


def test_reports_are_kept_and_read_as_they_stood_at_a_time(warehouse: Warehouse) -> None:
    """Each report is a snapshot: a later one replaces an earlier one for reads, an as-of read takes the
    latest reported at or before its time, box-score rows are always read, and a report written before
    reports were timed (no reported_at, ACTIVE) is the earliest, read as AVAILABLE."""
    later = DAY + timedelta(days=1)
    morning, noon, evening = (datetime(2022, 1, 11, hour, tzinfo=UTC) for hour in (9, 12, 18))
    warehouse.replace_availability(availability_rows(DAY), "BOX_SCORE")
    warehouse.replace_availability(report(later, "BOS", None, ("jaysontatum", "ACTIVE")), "FEED")
    warehouse.replace_availability(report(later, "BOS", morning, ("jaysontatum", "QUESTIONABLE")), "FEED")
    warehouse.replace_availability(
        report(later, "BOS", evening, ("jaysontatum", "OUT"), ("alhorford", "PROBABLE")), "FEED"
    )
    warehouse.replace_availability(report(later, "NYK", noon, ("juliusrandle", "DOUBTFUL")), "FEED")

    def read(as_of: datetime | None) -> list[tuple[str, str, str]]:
        rows = warehouse.read_availability(later, later, as_of).to_pylist()
        return [(row["team_abbr"], row["player_lookup"], row["status"]) for row in rows]

    assert read(None) == [
        ("BOS", "alhorford", "PROBABLE"),
        ("BOS", "jaysontatum", "OUT"),
        ("NYK", "juliusrandle", "DOUBTFUL"),
    ]
    assert read(noon) == [("BOS", "jaysontatum", "QUESTIONABLE"), ("NYK", "juliusrandle", "DOUBTFUL")]
    assert read(morning - timedelta(seconds=1)) == [("BOS", "jaysontatum", "AVAILABLE")]
    assert warehouse.read_availability(DAY, DAY, morning).num_rows == 3  # box scores: always
    assert warehouse.table_counts()[PLAYER_AVAILABILITY.name] == 3 + 1 + 1 + 2 + 1  # nothing overwritten
    # The same report written again replaces only itself.
    warehouse.replace_availability(report(later, "BOS", morning, ("jaysontatum", "DOUBTFUL")), "FEED")
    assert read(noon)[0] == ("BOS", "jaysontatum", "DOUBTFUL")
    assert read(None)[0] == ("BOS", "alhorford", "PROBABLE")
    assert warehouse.table_counts()[PLAYER_AVAILABILITY.name] == 8


def schedule_rows(source: str, *games: tuple[date, str, str, str]) -> pa.Table:
    """Games (date, home, away, status) of one source; a feed's have a tip time and a report time."""
    feed = source == "FEED"
    return pa.Table.from_pylist(
        [
            {
                "game_id": f"{day:%Y%m%d}0{home}",
                "game_date": day,
                "season": "2021-22",
                "home_team_abbr": home,
                "away_team_abbr": away,
                "tip_time_utc": datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC) if feed else None,
                "status": status,
                "source": source,
                "reported_at": datetime(2022, 1, 2, 3, 4, 5, 678901, tzinfo=UTC) if feed else None,
            }
            for day, home, away, status in games
        ],
        schema=SCHEDULED_GAMES.schema,
    )


def test_the_schedule_keeps_one_row_per_game_preferring_the_box_scores(warehouse: Warehouse) -> None:
    later = DAY + timedelta(days=1)
    coming = schedule_rows("FEED", (DAY, "BOS", "NYK", "SCHEDULED"), (later, "MIA", "ATL", "SCHEDULED"))
    warehouse.replace_schedule(coming, "FEED")
    assert warehouse.read_schedule().equals(coming)  # every value and type round-trips
    warehouse.replace_schedule(schedule_rows("BOX_SCORE", (DAY, "BOS", "NYK", "FINAL")), "BOX_SCORE")
    warehouse.replace_schedule(schedule_rows("FEED", (later, "LAL", "DEN", "POSTPONED")), "FEED")
    games = warehouse.read_schedule().to_pylist()
    assert [(g["game_date"], g["home_team_abbr"], g["status"], g["source"]) for g in games] == [
        (DAY, "BOS", "FINAL", "BOX_SCORE"),
        (later, "LAL", "POSTPONED", "FEED"),
        (later, "MIA", "SCHEDULED", "FEED"),
    ]
    assert warehouse.table_counts()[SCHEDULED_GAMES.name] == 4  # the feed's row of the played game stays
    moved = schedule_rows("FEED", (later, "MIA", "ATL", "POSTPONED"))
    warehouse.replace_schedule(moved, "FEED")
    assert warehouse.read_schedule(later, later).column("status").to_pylist() == ["POSTPONED", "POSTPONED"]


def test_every_table_round_trips_values_types_and_nulls(warehouse: Warehouse) -> None:
    seed_date(warehouse)
    predictions = prediction_rows(DAY, PLAYERS[:4], ["xgboost_v1"], "r1")
    awkward = pa.array([0.1 + 0.2, 1 / 3, 2.5e-300, -123456.78901234567])  # exact through every read path
    predictions = predictions.set_column(
        predictions.schema.get_field_index("predicted_points"), "predicted_points", awkward
    )
    warehouse.write_predictions(predictions, [DAY], ["xgboost_v1"])
    accuracy = accuracy_rows(DAY)
    warehouse.replace_accuracy(accuracy, DAY, DAY)
    availability = availability_rows(DAY)
    warehouse.replace_availability(availability, "BOX_SCORE")
    lineups = availability.drop_columns(["status"]).cast(STARTING_LINEUPS.schema)
    warehouse.replace_lineups(lineups, "BOX_SCORE")
    market = pa.Table.from_pylist(
        [
            {"game_date": DAY, "system_id": s, "prediction_mode": "standard", "n": 40, "model_mae": 1 / 3,
             "line_mae": 5.25, "calls": 0, "hits": 0, "hit_rate": None, "model_state": "watch",
             "state_reason": "hit rate 51.0%", "updated_at": datetime(2022, 1, 11, tzinfo=UTC)}
            for s in ("xgboost_v1", "ensemble_v1")
        ],
        schema=MARKET_DAILY.schema,
    )  # fmt: skip
    warehouse.replace_market_daily(market, mode="standard")
    keys = {spec.name: [(k, "ascending") for k in spec.key] for spec in TABLES}
    read_back = {
        PLAYER_AVAILABILITY.name: warehouse.read_availability(DAY, DAY),
        STARTING_LINEUPS.name: warehouse.read_lineups(DAY, DAY),
        PLAYER_GAME_SUMMARY.name: warehouse.read_box_scores(),
        ML_FEATURE_STORE.name: warehouse.read_features(DAY, DAY),
        PLAYER_PROP_PREDICTIONS.name: warehouse.read_predictions(DAY, DAY),
        PREDICTION_ACCURACY.name: warehouse.read_accuracy(DAY, DAY),
        MARKET_DAILY.name: warehouse.read_market_daily(mode="standard"),
    }
    written = {
        PLAYER_AVAILABILITY.name: availability,
        STARTING_LINEUPS.name: lineups,
        PLAYER_GAME_SUMMARY.name: pa.concat_tables(
            [box_rows(DAY - timedelta(days=back), PLAYERS, points=10 + back % 7) for back in range(1, 40, 3)]
            + [box_rows(DAY, PLAYERS, points=99)]
        ),
        ML_FEATURE_STORE.name: feature_rows(DAY, PLAYERS),
        PLAYER_PROP_PREDICTIONS.name: predictions,
        PREDICTION_ACCURACY.name: accuracy,
        MARKET_DAILY.name: market,
    }
    for name, table in read_back.items():
        spec = next(s for s in TABLES if s.name == name)
        assert table.schema == spec.schema, name
        assert table.sort_by(keys[name]).equals(written[name].sort_by(keys[name])), name
    assert warehouse.read_checkpoints().schema == BACKFILL_CHECKPOINTS.schema
    assert warehouse.table_counts() == {
        PLAYER_GAME_SUMMARY.name: 14 * 23,
        PLAYER_AVAILABILITY.name: 3,
        STARTING_LINEUPS.name: 3,
        ML_FEATURE_STORE.name: 23,
        PROP_LINES.name: 15,
        PLAYER_PROP_PREDICTIONS.name: 4,
        PREDICTION_ACCURACY.name: 2,
        MARKET_DAILY.name: 2,
        BACKFILL_CHECKPOINTS.name: 0,
        INPUT_FINGERPRINTS.name: 2,  # DAY's features and DAY's lines
        MODEL_REGISTRY.name: 0,
        SCHEDULED_GAMES.name: 0,
        ISSUED_PREDICTIONS.name: 0,
    }


def test_values_travel_as_parameters_never_as_sql(warehouse: Warehouse) -> None:
    """A player name that is also SQL is stored and found like any other, on every backend."""
    hostile = ["o'neal; drop table ml_feature_store; --", 'robert"); DROP TABLE x;--', "`back`tick\\"]
    warehouse.replace_features(feature_rows(DAY, hostile), DAY, DAY)
    batch = warehouse.load_date(DAY)
    assert batch.players == sorted(hostile)
    assert warehouse.load_players(DAY, hostile[:1]).players == hostile[:1]
    assert warehouse.table_counts()[ML_FEATURE_STORE.name] == 3


# ---- the model registry ---------------------------------------------------------------------------------


def test_model_registry_round_trips_bytes_and_sha256(warehouse: Warehouse) -> None:
    model = tiny_artifact()
    version = registry.register(warehouse, model)
    registry.register(warehouse, model)  # registering again replaces, never duplicates
    stored = warehouse.read_models([version])
    assert stored.schema == MODEL_REGISTRY.schema and stored.num_rows == 1
    row = stored.to_pylist()[0]
    assert row["artifact"] == model.raw and hashlib.sha256(row["artifact"]).hexdigest() == row["sha256"]
    assert row["sha256"] == model.metadata.booster_sha256
    assert (row["train_start"], row["train_end"], row["row_count"]) == (
        model.metadata.train_start,
        model.metadata.train_end,
        model.metadata.rows,
    )
    loaded = registry.load(warehouse, version)
    assert loaded.metadata == model.metadata and loaded.raw == model.raw
    listed = registry.entries(warehouse, "xgboost_v1")
    assert [e.model_version for e in listed] == [version]
    assert "artifact" not in warehouse.list_models().column_names
    assert warehouse.table_counts()[MODEL_REGISTRY.name] == 1


def test_tampered_or_unknown_model_is_refused_in_one_line(warehouse: Warehouse) -> None:
    model = tiny_artifact()
    row = registry.registry_row(model)
    tampered = bytearray(model.raw)
    tampered[tampered.index(b'"num_feature"')] = ord(" ")
    forged = row.set_column(
        row.schema.get_field_index("artifact"), "artifact", pa.array([bytes(tampered)], pa.binary())
    )
    warehouse.register_model(forged)
    with pytest.raises(
        ModelContractError, match=r"^model booster xgboost_v1@\S+ in model_registry does not match the sha256"
    ) as err:
        registry.load(warehouse, model.version_id)
    assert "\n" not in str(err.value)
    with pytest.raises(ModelContractError, match="no model xgboost_v1@nowhere in model_registry"):
        registry.load(warehouse, "xgboost_v1@nowhere")


def test_season_bounds_are_each_seasons_first_and_last_game(warehouse: Warehouse) -> None:
    first = box_rows(DAY, PLAYERS[:2])
    later = box_rows(DAY + timedelta(days=300), PLAYERS[:2])
    later = later.set_column(0, "season", pa.array(["2022-23"] * later.num_rows))
    warehouse.replace_box_scores(
        pa.concat_tables([first, box_rows(DAY + timedelta(days=5), PLAYERS[:2]), later])
    )
    bounds = warehouse.season_bounds().to_pylist()
    assert bounds == [
        {"season": "2021-22", "first_date": DAY, "last_date": DAY + timedelta(days=5)},
        {
            "season": "2022-23",
            "first_date": DAY + timedelta(days=300),
            "last_date": DAY + timedelta(days=300),
        },
    ]
