"""The Warehouse contract: batch loading, chunking, retries, atomic replaces, checkpoints.

These assertions hold for every backend; `test_backend_parity.py` runs them on BigQuery too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from nba_ray.config import BatchingSettings
from nba_ray.features.contract import FEATURE_DEFAULTS, FEATURE_VERSION, ZONE_CONTEXT_COLUMNS
from nba_ray.warehouse import DateBatch, QueryTimeout, TransientWarehouseError, WarehouseError
from nba_ray.warehouse.base import Warehouse
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.schemas import (
    ML_FEATURE_STORE,
    PLAYER_GAME_SUMMARY,
    PLAYER_PROP_PREDICTIONS,
    PROP_LINES,
)

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
        }
        for p in players
        for s in systems
    ]
    return pa.Table.from_pylist(rows, schema=PLAYER_PROP_PREDICTIONS.schema)


PLAYERS = [f"player{i:03d}" for i in range(23)]


def seed_date(warehouse: Warehouse) -> None:
    warehouse.replace_features(feature_rows(DAY, PLAYERS), DAY, DAY)
    for back in range(1, 40, 3):  # a long history: the loader keeps the 30 most recent within 90 days
        warehouse.replace_box_scores(box_rows(DAY - timedelta(days=back), PLAYERS, points=10 + back % 7))
    warehouse.replace_box_scores(box_rows(DAY, PLAYERS, points=99))  # the day itself: never history
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


def test_load_date_returns_features_history_and_latest_lines(duckdb_warehouse: DuckDBWarehouse) -> None:
    seed_date(duckdb_warehouse)
    batch = duckdb_warehouse.load_date(DAY)
    assert batch.players == sorted(PLAYERS)
    history = batch.history.to_pandas()
    assert history.groupby("player_lookup").size().eq(13).all()  # 13 games within 90 days, all before DAY
    assert history["game_date"].max() < DAY
    assert 99.0 not in set(history["points"])
    lines = batch.lines.to_pandas()
    assert len(lines) == 10  # 5 players × 2 bookmakers, latest snapshot each
    assert set(lines[lines.bookmaker == "draftkings"]["points_line"]) == {15.5}


def test_chunked_concurrent_load_equals_one_query(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    whole = DuckDBWarehouse(tmp_path / "a.duckdb", BatchingSettings(chunk_size=1000))
    chunked = DuckDBWarehouse(tmp_path / "b.duckdb", BatchingSettings(chunk_size=4, max_concurrent_chunks=3))
    for warehouse in (whole, chunked):
        seed_date(warehouse)
    assert _sorted(whole.load_date(DAY)) == _sorted(chunked.load_date(DAY))


class TimeoutAboveSize(DuckDBWarehouse):
    """The real DuckDB warehouse, but any query naming more than `limit` players times out."""

    limit = 5

    def _run(self, query, timeout=None):  # type: ignore[no-untyped-def]
        players = next((p.value for p in query.params if p.name == "players"), [])
        if len(players) > self.limit:
            raise QueryTimeout(f"{len(players)} players")
        return super()._run(query, timeout)


def test_timed_out_chunk_is_split_until_it_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    reference = DuckDBWarehouse(tmp_path / "a.duckdb")
    flaky = TimeoutAboveSize(tmp_path / "b.duckdb", BatchingSettings(chunk_size=20, retry_backoff_seconds=0))
    for warehouse in (reference, flaky):
        seed_date(warehouse)
    assert _sorted(flaky.load_date(DAY)) == _sorted(reference.load_date(DAY))


class FailingNTimes(DuckDBWarehouse):
    failures = 2

    def _run(self, query, timeout=None):  # type: ignore[no-untyped-def]
        if "recency" in query.sql and self.failures > 0:  # the history query
            self.failures -= 1
            raise TransientWarehouseError("connection reset")
        return super()._run(query, timeout)


def test_transient_errors_are_retried_then_fail_loudly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fast = BatchingSettings(retry_backoff_seconds=0, max_retries=3)
    warehouse = FailingNTimes(tmp_path / "a.duckdb", fast)
    seed_date(warehouse)
    assert warehouse.load_date(DAY).history.num_rows == 23 * 13  # two failures, then success
    warehouse.failures = 10
    with pytest.raises(WarehouseError, match="gave up after 4 attempts: connection reset"):
        warehouse.load_date(DAY)


def test_write_predictions_replaces_exactly_the_date_and_systems(duckdb_warehouse: DuckDBWarehouse) -> None:
    other_day = DAY + timedelta(days=1)
    systems = ["moving_average_baseline_v1", "xgboost_v1"]
    duckdb_warehouse.write_predictions(prediction_rows(DAY, PLAYERS, systems, "r1"), [DAY], systems)
    duckdb_warehouse.write_predictions(
        prediction_rows(other_day, PLAYERS, systems, "r1"), [other_day], systems
    )
    # Rerun DAY for one system with fewer players: only DAY × that system changes.
    duckdb_warehouse.write_predictions(
        prediction_rows(DAY, PLAYERS[:3], systems[:1], "r2"), [DAY], systems[:1]
    )
    rows = duckdb_warehouse.read_predictions(DAY, other_day).to_pandas()
    counts = rows.groupby(["game_date", "system_id", "run_id"]).size().to_dict()
    assert counts == {
        (DAY, systems[0], "r2"): 3,
        (DAY, systems[1], "r1"): 23,
        (other_day, systems[0], "r1"): 23,
        (other_day, systems[1], "r1"): 23,
    }
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()


def test_failed_write_leaves_the_previous_rows(duckdb_warehouse: DuckDBWarehouse) -> None:
    systems = ["xgboost_v1"]
    duckdb_warehouse.write_predictions(prediction_rows(DAY, PLAYERS, systems, "r1"), [DAY], systems)
    broken = prediction_rows(DAY, PLAYERS, systems, "r2").drop(["system_id"])
    with pytest.raises(ValueError, match="missing column"):
        duckdb_warehouse.write_predictions(broken, [DAY], systems)
    bad_types = prediction_rows(DAY, PLAYERS, systems, "r2")
    bad_types = bad_types.set_column(
        bad_types.schema.get_field_index("predicted_points"),
        "predicted_points",
        pa.array(["not a number"] * bad_types.num_rows),
    )
    with pytest.raises((pa.ArrowInvalid, WarehouseError)):
        duckdb_warehouse.write_predictions(bad_types, [DAY], systems)
    rows = duckdb_warehouse.read_predictions(DAY, DAY).to_pandas()
    assert len(rows) == 23 and set(rows["run_id"]) == {"r1"}


def test_checkpoints_upsert_per_run_key_and_date(duckdb_warehouse: DuckDBWarehouse) -> None:
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
    duckdb_warehouse.write_checkpoints(
        "k",
        [
            base | {"run_key": "k", "game_date": DAY, "status": "failed", "attempt": 1},
            base | {"run_key": "k", "game_date": other, "status": "done", "attempt": 1},
        ],
    )
    duckdb_warehouse.write_checkpoints(
        "k", [base | {"run_key": "k", "game_date": DAY, "status": "done", "attempt": 2}]
    )
    duckdb_warehouse.write_checkpoints(
        "j", [base | {"run_key": "j", "game_date": DAY, "status": "done", "attempt": 1}]
    )
    mine = duckdb_warehouse.read_checkpoints("k").to_pylist()
    assert [(r["game_date"], r["status"], r["attempt"]) for r in mine] == [(DAY, "done", 2), (other, "done", 1)]
    assert duckdb_warehouse.read_checkpoints().num_rows == 3


def test_reimport_replaces_games(duckdb_warehouse: DuckDBWarehouse) -> None:
    duckdb_warehouse.replace_box_scores(box_rows(DAY, PLAYERS))
    duckdb_warehouse.replace_box_scores(box_rows(DAY, PLAYERS, points=12))
    rows = duckdb_warehouse.read_box_scores().to_pandas()
    assert len(rows) == 23 and set(rows["points"]) == {12}


def test_empty_date_is_an_empty_batch(duckdb_warehouse: DuckDBWarehouse) -> None:
    batch = duckdb_warehouse.load_date(date(2022, 7, 4))
    assert batch.num_players == 0 and batch.history.num_rows == 0
