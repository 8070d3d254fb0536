"""A warehouse made by the first release, opened by every command: refused in one line naming
`nba-ray upgrade`, nothing built from missing inputs; after the upgrade, the features it names and a
catch-up, exactly the rows a warehouse made today holds, none duplicated or lost."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nba_ray.config import Settings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.schemas import ML_FEATURE_STORE
from tests.backfill_fixtures import BACKFILL_END, BACKFILL_START, League, content, predictions
from tests.first_release import FIRST_FEATURE_VERSION, FIRST_RELEASE_DDL, make_first_release

BIN = Path(sys.executable).parent
# Systems that need no registered model: the first release had no registry to carry one over.
SYSTEMS = ["moving_average_baseline_v1", "zone_matchup_v1", "similarity_balanced_v1"]
CONFIG = "warehouse:\n  path: {path}\nray:\n  num_actors: 2\nsystems:\n  enabled: [{systems}]\n"
RANGE = ["--start", str(BACKFILL_START), "--end", str(BACKFILL_END)]


def nba_ray(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command, *rest = argv
    return subprocess.run(
        [str(BIN / "nba-ray"), command, "--config", str(config), *rest],
        capture_output=True,
        text=True,
        timeout=900,
    )


def counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        return {t: int(con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in sorted(tables)}  # type: ignore[index]
    finally:
        con.close()


def features(settings: Settings) -> pd.DataFrame:
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        frame = warehouse.read_features(BACKFILL_START, BACKFILL_END).to_pandas()
    return frame[ML_FEATURE_STORE.columns].sort_values(["game_date", "player_lookup"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def today(league: League, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """A warehouse made today: features for a fortnight only, caught up with the model-free systems."""
    directory = tmp_path_factory.mktemp("today") / "w"
    settings = league.copy_to(directory)
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        empty = ML_FEATURE_STORE.schema.empty_table()
        warehouse.replace_features(empty, date(2000, 1, 1), date.fromordinal(BACKFILL_START.toordinal() - 1))
        warehouse.replace_features(empty, date.fromordinal(BACKFILL_END.toordinal() + 1), date(2100, 1, 1))
    config = directory / "config.yaml"
    config.write_text(CONFIG.format(path=settings.warehouse.path, systems=", ".join(SYSTEMS)))
    result = nba_ray(config, "catch-up", "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    return settings, config


@pytest.fixture
def first_release(today: tuple[Settings, Path], tmp_path: Path) -> tuple[Settings, Path]:
    settings, _ = today
    path = tmp_path / "old.duckdb"
    make_first_release(settings.warehouse.path, path)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(path=path, systems=", ".join(SYSTEMS)))
    old = settings.model_copy(update={"warehouse": settings.warehouse.model_copy(update={"path": path})})
    return old, config


def test_the_fixture_has_the_first_release_shape_with_predictions(
    first_release: tuple[Settings, Path],
) -> None:
    settings, _ = first_release
    found = counts(settings.warehouse.path)
    assert set(found) == set(FIRST_RELEASE_DDL)
    assert found["player_prop_predictions"] > 1000 and found["ml_feature_store"] > 1000
    con = duckdb.connect(str(settings.warehouse.path), read_only=True)
    versions = con.execute("SELECT DISTINCT feature_version FROM player_prop_predictions").fetchall()
    con.close()
    assert versions == [(FIRST_FEATURE_VERSION,)]


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["models"],
        ["features", *RANGE],
        ["backfill", "--dry-run", *RANGE],
        ["backfill", *RANGE],
        ["catch-up", "--dry-run"],
        ["catch-up"],
        ["grade", *RANGE],
        ["train", "--train-end", str(BACKFILL_END)],
        ["seed", "--seasons", "2021-22"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_every_command_refuses_an_old_warehouse_in_one_line(
    first_release: tuple[Settings, Path], argv: list[str]
) -> None:
    settings, config = first_release
    before = counts(settings.warehouse.path)
    result = nba_ray(config, *argv)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "version 1 (made by the first release)" in lines[0] and "run `nba-ray upgrade` first" in lines[0]
    assert counts(settings.warehouse.path) == before  # nothing created, nothing built


def test_upgrade_then_features_then_catch_up_gives_what_today_gives(
    today: tuple[Settings, Path], first_release: tuple[Settings, Path]
) -> None:
    fresh, _ = today
    old, config = first_release
    before = counts(old.warehouse.path)

    upgraded = nba_ray(config, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "from version 1 (made by the first release) to 3" in upgraded.stdout
    span = f"{BACKFILL_START} → {BACKFILL_END}"
    assert f"remaining: 14 game date(s) {span} have only feature rows of the older contract v1_box_25" in (
        upgraded.stdout
    )
    assert f"`nba-ray features --start {BACKFILL_START} --end {BACKFILL_END}`" in upgraded.stdout
    after = counts(old.warehouse.path)
    today_counts = counts(fresh.warehouse.path)
    for table in ("player_availability", "starting_lineups"):  # derived from the stored box scores
        assert after[table] == today_counts[table] > 0
    assert {t: after[t] for t in before} == before  # nothing lost, nothing added to the old tables

    status = nba_ray(config, "status")
    assert status.returncode == 0, status.stderr
    stale = [line for line in status.stdout.splitlines() if line.strip().startswith("stale")]
    assert stale and "14 game date(s)" in stale[0] and "v1_box_25" in stale[0]
    assert f"({before['player_prop_predictions']:,} predictions made from them)" in stale[0]
    dry = nba_ray(config, "catch-up", "--dry-run")
    assert dry.returncode == 2 and "older contract v1_box_25" in dry.stdout, dry.stdout + dry.stderr
    assert len(dry.stderr.strip().splitlines()) == 1

    built = nba_ray(config, "features", *RANGE)
    assert built.returncode == 0, built.stderr
    pd.testing.assert_frame_equal(features(old), features(fresh))  # no row built from missing inputs
    caught_up = nba_ray(config, "catch-up", "--no-progress")
    assert caught_up.returncode == 0, caught_up.stderr[-3000:]

    mine, theirs = predictions(old), predictions(fresh)
    assert not mine.duplicated(["game_date", "player_lookup", "system_id", "prediction_mode"]).any()
    pd.testing.assert_frame_equal(content(mine), content(theirs))
    final = counts(old.warehouse.path)
    for table in ("player_game_summary", "prop_lines", "player_availability", "starting_lineups"):
        assert final[table] == today_counts[table]
    assert final["ml_feature_store"] == before["ml_feature_store"] * 2  # the old contract's rows stay beside
    status = nba_ray(config, "status")
    assert "v1_box_25" not in status.stdout and "done" in status.stdout, status.stdout
