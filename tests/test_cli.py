"""The command line as a newcomer meets it: seed → features → status, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nba_ray.cli import main
from nba_ray.config import Settings
from nba_ray.features.contract import FEATURE_NAMES
from nba_ray.warehouse import sql
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse

BIN = Path(sys.executable).parent


def config_file(settings: Settings, tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n{extra}")
    return str(path)


def test_seed_then_features_then_status(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(settings, tmp_path)
    assert main(["seed", "--config", config, "--seasons", "2021-22"]) == 0
    assert main(["features", "--config", config, "--start", "2021-10-01", "--end", "2022-06-30"]) == 0
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        box = warehouse.read_box_scores().to_pandas()
        features = warehouse.read_features(box["game_date"].min(), box["game_date"].max()).to_pandas()
    assert box["game_id"].nunique() == 1230
    assert len(features) > 20_000 and not features[list(FEATURE_NAMES)].isna().any().any()
    capsys.readouterr()
    assert main(["status", "--config", config]) == 0
    out = capsys.readouterr().out
    assert f"{len(box):,}" in out and f"{len(features):,}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["features", "--start", "2022-02-01", "--end", "2022-01-01"], "--start 2022-02-01 is after --end"),
        (["features", "--start", "yesterday", "--end", "2022-01-01"], "--start: 'yesterday' is not a date"),
        (["import", "--box-scores", "missing.parquet"], "missing.parquet: no such file"),
        (["seed", "--seasons", "2021-23"], "--seasons: '2021-23' is not a season"),
        (["train", "--train-end", "2022-01-01"], "no feature rows with actual points"),
        (
            ["grade", "--start", "2022-01-01", "--end", "2022-01-31"],
            "no standard predictions from 2022-01-01",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    config = config_file(settings, tmp_path)
    assert main([argv[0], "--config", config, *argv[1:]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_unknown_config_key_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("warehouse:\n  kind: duckdb\n  paht: x.duckdb\n")
    assert main(["status", "--config", str(path)]) == 2
    assert "bad.yaml: warehouse.paht: unknown key" in capsys.readouterr().err


@pytest.mark.slow  # a whole synthetic season, with production's training
def test_fresh_machine_backfill_provisions_then_runs(tmp_path: Path) -> None:
    """README's first command on an empty working directory: no data, no model, no config."""
    result = subprocess.run(
        [str(BIN / "nba-ray"), "backfill", "--no-progress"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "is empty: provisioning a synthetic league" in result.stdout
    assert "failed 0" in result.stdout
    with DuckDBWarehouse(tmp_path / "data" / "nba.duckdb") as warehouse:
        counts = warehouse.table_counts()
        models = warehouse.list_models().to_pylist()
        seasons = warehouse.season_bounds().to_pylist()
        xgboost = warehouse.query(
            sql.Query(
                "SELECT DISTINCT model_version FROM player_prop_predictions WHERE system_id = 'xgboost_v1'"
            )
        )
    assert counts["player_prop_predictions"] > 100_000 and counts["backfill_checkpoints"] > 150
    # the backfill trained the second season's model on the first, as a Ray task, and registered it
    assert len(models) == 1 and f"trained {models[0]['model_version']}" in result.stdout
    assert seasons[0]["last_date"] < models[0]["train_end"] < seasons[1]["first_date"]
    assert xgboost.column("model_version").to_pylist() == [models[0]["model_version"]]
    assert not (tmp_path / "data" / "models").exists()  # no model file anywhere
