"""First contact: read-only commands write nothing anywhere, and every message names what is wrong."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nba_ray.cli import main
from nba_ray.features.contract import ModelContractError
from nba_ray.models.artifact import BOOSTER_FILE, METADATA_FILE, ModelArtifact
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import League
from tests.bigquery_emulator import BigQueryEmulator
from tests.conftest import bigquery_settings
from tests.systems_fixtures import tiny_artifact


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` with the sha256 of its bytes: what "nothing was written" compares."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def test_dry_run_on_a_missing_warehouse_says_what_would_happen_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The mistyped-path case: nothing under the working directory changes (an exported model included)."""
    monkeypatch.chdir(tmp_path)
    tiny_artifact().save(tmp_path / "data" / "models" / "xgboost_v1")
    before = tree(tmp_path)
    monkeypatch.setenv("NBA_RAY_WAREHOUSE__PATH", str(tmp_path / "typo" / "nba.duckdb"))

    code, out, _ = run(["backfill", "--dry-run"], capsys)

    assert code == 0
    assert "there is no embedded warehouse at" in out and "typo" in out
    assert "would provision a synthetic league (2021-22, 2022-23)" in out
    assert "train xgboost_v1 on games through 2022-10-17 and predict 166 game date(s)" in out
    assert tree(tmp_path) == before and not (tmp_path / "typo").exists()


def test_dry_run_on_an_empty_warehouse_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    DuckDBWarehouse(tmp_path / "data" / "nba.duckdb").close()  # tables, no rows
    before = tree(tmp_path)
    code, out, _ = run(["backfill", "--dry-run", "--dates", "2022-11-01,2022-11-02"], capsys)
    assert code == 0 and "data/nba.duckdb is empty" in out and "predict 2 game date(s)" in out
    assert tree(tmp_path) == before


@pytest.mark.e2e
def test_dry_run_on_a_populated_warehouse_changes_no_byte(
    league: League, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = league.copy_to(tmp_path / "w")
    before = tree(tmp_path)
    monkeypatch.setenv("NBA_RAY_WAREHOUSE__PATH", str(settings.warehouse.path))
    monkeypatch.setenv("NBA_RAY_MODEL__POLICY", "pinned")
    monkeypatch.setenv("NBA_RAY_MODEL__VERSION", str(settings.model.version))
    code, out, _ = run(["backfill", "--dry-run", "--start", "2023-01-16", "--end", "2023-01-29"], capsys)
    assert code == 0 and "game date(s) to predict, 0 already done" in out
    assert tree(tmp_path) == before


def test_status_on_a_missing_warehouse_says_so_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["status"], capsys)
    assert code == 2 and "\n" not in err
    assert "there is no embedded warehouse at data/nba.duckdb" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bigquery
def test_read_only_commands_create_no_bigquery_dataset(
    bigquery_emulator: BigQueryEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = bigquery_settings(bigquery_emulator)
    for key, value in settings.model_dump().items():
        if value is not None and key != "labels":
            monkeypatch.setenv(f"NBA_RAY_WAREHOUSE__{key.upper()}", str(value))
    code, _, err = run(["status"], capsys)
    assert code == 2 and f"there is no BigQuery dataset {settings.project}.{settings.dataset}" in err
    code, _, err = run(["backfill", "--dry-run", "--dates", "2022-11-01"], capsys)
    assert code == 2 and "run `nba-ray import` first" in err
    client = bigquery_emulator.make_client()
    try:
        datasets = [d.dataset_id for d in client.list_datasets()]
    finally:
        client.close()
    assert settings.dataset not in datasets


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["backfill", "--systems", "xgboost_v1,foo_v9", "--dry-run"],
            {},
            "--systems: unknown system id(s) foo_v9 (known: moving_average_baseline_v1,",
        ),
        (["backfill", "--dates", ",", "--dry-run"], {}, "--dates: ',' names no date"),
        (["backfill", "--dates", "", "--dry-run"], {}, "--dates: '' names no date"),
        (
            ["status"],
            {"NBA_RAY_WAREHOUSE__KIND": "sqlite"},
            "environment variable NBA_RAY_WAREHOUSE__KIND: Input should be 'duckdb' or 'bigquery'",
        ),
        (["status"], {"NBA_RAY_RAY__MAX_ACTORS": "0"}, "environment variable NBA_RAY_RAY__MAX_ACTORS:"),
        (
            ["status"],
            {"NBA_RAY_WAREHOUS__PATH": "x"},
            "environment variable NBA_RAY_WAREHOUS__PATH: unknown key",
        ),
    ],
)
def test_messages_name_what_is_wrong(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(argv, capsys)
    assert code == 2 and "\n" not in err
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_features_over_a_range_without_games_names_the_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["seed", "--seasons", "2021-22"]) == 0
    code, _, err = run(["features", "--start", "2021-07-01", "--end", "2021-08-31"], capsys)
    assert code == 2
    assert "no games from 2021-07-01 to 2021-08-31: the box scores span 2021-10-19 → 2022-04-10" in err


def test_a_booster_that_does_not_parse_names_the_file(tmp_path: Path) -> None:
    """The hash matches (the file was saved broken), so only XGBoost's own parser can find the fault."""
    tiny_artifact().save(tmp_path)
    broken = b'{"learner": "not a model"}'
    (tmp_path / BOOSTER_FILE).write_bytes(broken)
    meta = json.loads((tmp_path / METADATA_FILE).read_text())
    meta["booster_sha256"] = hashlib.sha256(broken).hexdigest()
    (tmp_path / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelContractError, match="is not a readable XGBoost model") as info:
        ModelArtifact.load(tmp_path)
    assert str(tmp_path / BOOSTER_FILE) in str(info.value) and "\n" not in str(info.value)
