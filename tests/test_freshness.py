"""Freshness: after a box-score correction and a features rebuild, a resume redoes exactly the dates whose
feature rows changed (the dry run lists them, with the reason, and writes nothing), ends identical to a
from-scratch run on the corrected data, and a second rerun does nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.cli import main
from nba_ray.commands import refresh_features
from nba_ray.config import Settings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import BACKFILL_END, BACKFILL_START, League, backfill_dates, content, predictions

pytestmark = pytest.mark.usefixtures("local_ray")

CORRECTED_DATE = date(2023, 1, 20)


def backfill(settings: Settings, **kwargs: object) -> BackfillReport:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        return run_backfill(settings, warehouse, backfill_dates(), **kwargs)  # type: ignore[arg-type]


def correct_one_box_score(settings: Settings) -> None:
    """Import a corrected game of CORRECTED_DATE (its top player made two more two-pointers) and
    rebuild the features over the same range they were built over, as a user would."""
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        games = warehouse.read_box_scores(CORRECTED_DATE, CORRECTED_DATE)
        game = games.filter(pc.equal(games["game_id"], games["game_id"][0]))
        frame = game.to_pandas()
        scorer = frame["minutes_played"].idxmax()
        frame.loc[scorer, ["points", "fg_made", "fg_attempted"]] += [4, 2, 2]  # two more two-pointers
        warehouse.replace_box_scores(pa.Table.from_pandas(frame, schema=game.schema, preserve_index=False))
        every = warehouse.game_dates(date(2022, 7, 1), date(2023, 7, 1))
        refresh_features(warehouse, every[0], every[-1])


def feature_rows(settings: Settings) -> pd.DataFrame:
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        return warehouse.read_features(BACKFILL_START, BACKFILL_END).to_pandas()


def test_a_correction_redoes_exactly_the_dates_whose_features_changed(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    assert backfill(settings).exit_code == 0
    before = feature_rows(settings)
    correct_one_box_score(settings)
    after = feature_rows(settings)
    key = ["game_date", "player_lookup"]
    merged = before.merge(after, on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    value_columns = [c for c in before.columns if c not in key]
    differs = merged["_merge"] != "both"
    for column in value_columns:
        a, b = merged[f"{column}_a"], merged[f"{column}_b"]
        differs |= ~((a == b) | (a.isna() & b.isna()))
    changed = sorted(set(merged.loc[differs, "game_date"]))
    assert changed and all(d > CORRECTED_DATE for d in changed)  # the correction reaches later dates only

    stored = predictions(settings)
    dry = backfill(settings, dry_run=True)
    assert dry.game_dates == changed
    assert set(dry.reasons.values()) == {"stale: features"}
    assert predictions(settings).equals(stored)  # the dry run wrote nothing

    resumed = backfill(settings)
    assert [o.game_date for o in resumed.outcomes] == changed and resumed.exit_code == 0
    fresh = league.copy_to(tmp_path / "scratch")
    correct_one_box_score(fresh)
    assert backfill(fresh).exit_code == 0
    assert content(predictions(settings)).equals(content(predictions(fresh)))
    assert backfill(settings).outcomes == []  # and a second rerun does nothing


def test_catch_up_redoes_everything_missing_and_status_counts_dates_by_state(
    league: League, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = league.copy_to(tmp_path / "w")
    assert backfill(settings).exit_code == 0
    config = tmp_path / "config.yaml"
    config.write_text(
        f"warehouse:\n  path: {settings.warehouse.path}\n"
        f"model:\n  policy: pinned\n  version: {settings.model.version}\n"
    )
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        predictable = [d for d in warehouse.feature_dates() if d > date(2023, 1, 15)]  # after train_end
    done = len(backfill(settings, dry_run=True).already_done)
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    assert f"{len(predictable)}: done {done}, missing {len(predictable) - done}" in capsys.readouterr().out
    assert main(["catch-up", "--config", str(config), "--dry-run"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  20")]
    assert listed == [str(d) for d in predictable if d > BACKFILL_END]  # what is missing, nothing done
    assert main(["catch-up", "--config", str(config), "--no-progress"]) == 0
    assert main(["catch-up", "--config", str(config), "--dry-run"]) == 0
    assert f"0 game date(s) to predict, {len(predictable)} already done" in capsys.readouterr().out
    rows = predictions(settings)
    assert (
        set(rows["game_date"]) == set(predictable)
        and not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    )
