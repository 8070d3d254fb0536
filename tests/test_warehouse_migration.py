"""A warehouse made by an earlier version opens under this one: missing columns are added (old rows read
NULL there), and a column nba-ray does not know is refused rather than dropped. Runs on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from nba_ray.data.availability import derive_availability, derive_lineups
from nba_ray.features.contract import PRE_TIP, STANDARD
from nba_ray.upgrade import apply
from nba_ray.warehouse import Warehouse, WarehouseError, WarehouseOutdated, sql, versions
from nba_ray.warehouse.issued import read_issued
from nba_ray.warehouse.outdated import outdated_features
from nba_ray.warehouse.schemas import (
    BACKFILL_CHECKPOINTS,
    INPUT_FINGERPRINTS,
    ISSUED_PREDICTIONS,
    MARKET_DAILY,
    ML_FEATURE_STORE,
    PLAYER_AVAILABILITY,
    PLAYER_PROP_PREDICTIONS,
    PREDICTION_ACCURACY,
    SCHEDULED_GAMES,
    STARTING_LINEUPS,
    WAREHOUSE_INFO,
)
from tests.conftest import WarehouseFactory
from tests.test_warehouse import feature_rows, prediction_rows, seed_date

DAY = date(2022, 1, 10)


def checkpoint(run_key: str, status: str) -> dict[str, object]:
    return {
        "run_key": run_key,
        "game_date": DAY,
        "status": status,
        "players": 3,
        "predictions": 15,
        "skipped": 0,
        "load_seconds": 0.1,
        "predict_seconds": 0.2,
        "write_seconds": 0.3,
        "error": None,
        "attempt": 1,
        "run_id": "r1",
        "updated_at": datetime(2022, 1, 11, tzinfo=UTC),
    }


def alter(warehouse: object, statement: str, table_name: str = BACKFILL_CHECKPOINTS.name) -> None:
    """DDL straight through the backend's own query primitive, as an older version's table would be."""
    table = warehouse.dialect.table(table_name)  # type: ignore[attr-defined]
    warehouse._run(sql.Query(f"ALTER TABLE {table} {statement}"))  # type: ignore[attr-defined]


def test_an_older_table_gains_the_missing_column(warehouse_factory: WarehouseFactory) -> None:
    old = warehouse_factory()
    old.write_checkpoints("k-old", [checkpoint("k-old", "done")])
    alter(old, "DROP COLUMN updated_at")

    new = warehouse_factory(share=old)  # opening it migrates the table
    rows = {row["run_key"]: row for row in new.read_checkpoints().to_pylist()}
    assert rows["k-old"]["status"] == "done" and rows["k-old"]["updated_at"] is None

    new.write_checkpoints("k-new", [checkpoint("k-new", "failed")])
    rows = {row["run_key"]: row for row in new.read_checkpoints().to_pylist()}
    assert set(rows) == {"k-old", "k-new"}
    assert rows["k-new"]["updated_at"] == datetime(2022, 1, 11, tzinfo=UTC)
    assert rows["k-new"]["predictions"] == 15


def test_a_column_nba_ray_does_not_know_is_refused(warehouse_factory: WarehouseFactory) -> None:
    old = warehouse_factory()
    alter(old, f"ADD COLUMN operator_notes {old.dialect.float_type}")
    with pytest.raises(WarehouseError, match="has column\\(s\\) operator_notes that nba-ray's") as info:
        warehouse_factory(share=old)
    assert "\n" not in str(info.value)


def test_predictions_from_before_modes_are_standard_ones(warehouse_factory: WarehouseFactory) -> None:
    """The mode is part of a prediction's key: rows written before it existed become `standard` on
    migration (not NULL), so a standard rerun replaces them instead of adding a second copy."""
    old = warehouse_factory()
    systems = ["moving_average_baseline_v1"]
    old.write_predictions(prediction_rows(DAY, ["a", "b"], systems, "r-old"), [DAY], systems)
    alter(old, "DROP COLUMN prediction_mode", PLAYER_PROP_PREDICTIONS.name)

    new = warehouse_factory(share=old)
    assert set(new.read_predictions(DAY, DAY).column("prediction_mode").to_pylist()) == {STANDARD}
    new.write_predictions(prediction_rows(DAY, ["a", "b"], systems, "r-new"), [DAY], systems)
    pre_tip = prediction_rows(DAY, ["a"], systems, "r-pre").to_pylist()
    pre_tip = [row | {"prediction_mode": PRE_TIP} for row in pre_tip]
    schema = PLAYER_PROP_PREDICTIONS.schema
    new.write_predictions(pa.Table.from_pylist(pre_tip, schema=schema), [DAY], systems, mode=PRE_TIP)
    rows = new.read_predictions(DAY, DAY).to_pylist()
    assert sorted((r["player_lookup"], r["prediction_mode"], r["run_id"]) for r in rows) == [
        ("a", PRE_TIP, "r-pre"),
        ("a", STANDARD, "r-new"),
        ("b", STANDARD, "r-new"),
    ]
    with pytest.raises(ValueError, match="got rows of mode"):
        new.write_predictions(pa.Table.from_pylist(pre_tip, schema=schema), [DAY], systems)


def test_a_warehouse_without_a_newer_table_gains_it(warehouse_factory: WarehouseFactory) -> None:
    old = warehouse_factory()
    old.write_checkpoints("k-old", [checkpoint("k-old", "done")])
    for spec in (SCHEDULED_GAMES, ISSUED_PREDICTIONS):
        old._run(sql.Query(f"DROP TABLE {old.dialect.table(spec.name)}"))  # type: ignore[attr-defined]

    new = warehouse_factory(share=old)  # opening it creates the tables; the old rows stay
    assert new.read_schedule().num_rows == 0 and new.read_schedule().schema == SCHEDULED_GAMES.schema
    issued = read_issued(new, DAY, DAY)
    assert issued.num_rows == 0 and issued.schema == ISSUED_PREDICTIONS.schema
    assert [row["run_key"] for row in new.read_checkpoints().to_pylist()] == ["k-old"]


def test_a_warehouse_from_before_the_market_gains_its_table_and_columns(
    warehouse_factory: WarehouseFactory,
) -> None:
    """Opened by this version, a warehouse without `market_daily`, the accuracy rows' prices and the
    predictions' model state gains them: the old rows read NULL there and the new table is empty."""
    old = warehouse_factory()
    systems = ["moving_average_baseline_v1"]
    old.write_predictions(prediction_rows(DAY, ["a"], systems, "r-old"), [DAY], systems)
    for column in ("model_state", "state_reason"):
        alter(old, f"DROP COLUMN {column}", PLAYER_PROP_PREDICTIONS.name)
    for column in ("over_price", "under_price"):
        alter(old, f"DROP COLUMN {column}", PREDICTION_ACCURACY.name)
    old._run(sql.Query(f"DROP TABLE {old.dialect.table(MARKET_DAILY.name)}"))  # type: ignore[attr-defined]

    new = warehouse_factory(share=old)
    assert new.read_market_daily().num_rows == 0 and new.table_counts()[MARKET_DAILY.name] == 0
    rows = new.read_predictions(DAY, DAY).to_pylist()
    assert [(r["run_id"], r["model_state"], r["state_reason"]) for r in rows] == [("r-old", None, None)]
    assert new.read_accuracy(DAY, DAY).schema == PREDICTION_ACCURACY.schema


def upgrading(cls: type[Warehouse]) -> type[Warehouse]:
    """The backend opened as `nba-ray upgrade` opens it."""

    class Upgrading(cls):  # type: ignore[valid-type,misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, upgrading=True, **kwargs)

    return Upgrading


def test_a_first_release_warehouse_is_refused_then_upgraded(warehouse_factory: WarehouseFactory) -> None:
    """Its shape says its version (no version recorded, no availability): every open refuses it in one
    line; the upgrade's open derives availability and lineups from its box scores and fingerprints from
    its rows, records the version, and it opens again."""
    old = warehouse_factory()
    seed_date(old)
    prints = old.read_fingerprints(DAY, DAY)
    for table in (WAREHOUSE_INFO, PLAYER_AVAILABILITY, STARTING_LINEUPS, INPUT_FINGERPRINTS):
        old._run(sql.Query(f"DROP TABLE {old.dialect.table(table.name)}"))  # type: ignore[attr-defined]

    with pytest.raises(WarehouseOutdated) as refused:
        warehouse_factory(share=old)
    assert "is version 1 (made by the first release)" in str(refused.value)
    assert str(refused.value).endswith("run `nba-ray upgrade` first") and "\n" not in str(refused.value)

    kind = type(old)
    up = warehouse_factory(share=old, classes={warehouse_factory.kind: upgrading(kind)})
    assert up.found_version == versions.FIRST_RELEASE
    dates, availability, starters, fingerprints = apply(up)
    box = up.read_box_scores()
    assert (dates, availability, starters) == (
        len(set(box["game_date"].to_pylist())),
        derive_availability(box).num_rows,
        derive_lineups(box).num_rows,
    )
    assert fingerprints == 2 and up.read_fingerprints(DAY, DAY) == prints  # features and lines of DAY

    again = warehouse_factory(share=old)
    assert again.found_version == versions.SCHEMA_VERSION
    assert again.read_availability().num_rows == availability > 0


def first_contract(rows: pa.Table) -> pa.Table:
    """Feature rows labelled with the first release's contract."""
    return pa.Table.from_pylist(
        [row | {"feature_version": "v1_box_25"} for row in rows.to_pylist()], ML_FEATURE_STORE.schema
    )


def test_dates_with_only_an_older_contract_are_outdated(warehouse: Warehouse) -> None:
    seed_date(warehouse)
    older = DAY - timedelta(days=1)
    store = warehouse._replace_where  # type: ignore[attr-defined]
    store(ML_FEATURE_STORE, first_contract(feature_rows(older, ["a", "b"])), {"game_date": [older]})
    # DAY has rows of both contracts (not outdated); `older` only the old contract's
    store(
        ML_FEATURE_STORE,
        first_contract(feature_rows(DAY, ["a"])),
        {"game_date": [DAY], "feature_version": "v1_box_25"},
    )
    systems = ["moving_average_baseline_v1"]
    warehouse.write_predictions(prediction_rows(older, ["a", "b"], systems, "r1"), [older], systems)
    found = outdated_features(warehouse)
    assert [(o.feature_version, o.dates, o.first_date, o.last_date, o.predictions) for o in found] == [
        ("v1_box_25", 1, older, older, 2)
    ]
