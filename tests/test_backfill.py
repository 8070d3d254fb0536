"""The Ray backfill end to end on a synthetic league: counts, exactly-once, resume and fault tolerance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nba_ray.backfill.checkpoints import DONE, FAILED
from nba_ray.backfill.driver import BackfillReport, run_backfill
from nba_ray.cli import main
from nba_ray.config import Settings
from nba_ray.systems.base import SYSTEM_IDS
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from nba_ray.warehouse.errors import WarehouseError
from tests.backfill_fixtures import (
    BACKFILL_END,
    BACKFILL_START,
    BackfilledLeague,
    League,
    backfill_dates,
    checkpoints,
    content,
    crash_once_worker,
    predictions,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("local_ray")]


def backfill(settings: Settings, dates: list[date] | None = None, **kwargs: object) -> BackfillReport:
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        return run_backfill(settings, warehouse, dates or backfill_dates(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def reference(
    backfilled: BackfilledLeague, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, BackfillReport]:
    """One full run over the range (the session's, copied: a test here runs it again): every other test
    compares against it."""
    return backfilled.copy_to(tmp_path_factory.mktemp("reference") / "w"), backfilled.report


def test_rows_are_players_times_systems_minus_counted_skips(
    reference: tuple[Settings, BackfillReport],
) -> None:
    settings, report = reference
    assert report.exit_code == 0 and report.failed == []
    rows = predictions(settings)
    assert not rows.duplicated(["game_date", "player_lookup", "system_id"]).any()
    assert set(rows["system_id"]) == set(SYSTEM_IDS)
    for outcome in report.outcomes:
        on_date = rows[rows["game_date"] == outcome.game_date]
        assert len(on_date) == outcome.predictions > 0
        assert outcome.predictions + outcome.skipped == outcome.players * len(SYSTEM_IDS)
        assert sum(outcome.skip_reasons.values()) == outcome.skipped
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        game_days = warehouse.game_dates(BACKFILL_START, BACKFILL_END)
        feature_players = warehouse.read_features(BACKFILL_START, BACKFILL_END).to_pandas()
    assert [o.game_date for o in report.outcomes] == game_days  # game days only, in order
    assert set(rows["player_lookup"]) <= set(feature_players["player_lookup"])
    marks = checkpoints(settings)
    assert set(marks["game_date"]) == set(game_days) and set(marks["status"]) == {DONE}
    assert (rows["line_source"] == "ACTUAL_PROP").any() and (rows["line_source"] == "ESTIMATED_AVG").any()


def test_second_run_resumes_and_changes_nothing(reference: tuple[Settings, BackfillReport]) -> None:
    settings, first = reference
    before = predictions(settings)
    again = backfill(settings)
    assert again.outcomes == [] and len(again.already_done) == len(first.outcomes)
    assert predictions(settings).equals(before)


def test_no_resume_rerun_gives_identical_predictions(
    backfilled: BackfilledLeague, reference: tuple[Settings, BackfillReport], tmp_path: Path
) -> None:
    settings = backfilled.copy_to(tmp_path / "w")  # every date done: --no-resume redoes them all
    second = backfill(settings, resume=False)
    assert len(second.outcomes) == len(reference[1].outcomes)
    assert content(predictions(settings)).equals(content(predictions(reference[0])))


def test_subrange_then_full_range_equals_one_full_run(
    league: League, reference: tuple[Settings, BackfillReport], tmp_path: Path
) -> None:
    settings = league.copy_to(tmp_path / "w", in_flight_dates=1, chunk_size=40)
    dates = backfill_dates()
    backfill(settings, dates[3:8])
    full = backfill(settings)
    assert len(full.already_done) == len([o for o in reference[1].outcomes if o.game_date in dates[3:8]])
    assert content(predictions(settings)).equals(content(predictions(reference[0])))


def test_actor_killed_mid_date_is_restarted_and_results_identical(
    league: League, reference: tuple[Settings, BackfillReport], tmp_path: Path
) -> None:
    marker = tmp_path / "crash-once"
    marker.touch()
    settings = league.copy_to(tmp_path / "w")
    report = backfill(settings, worker_class=crash_once_worker(marker))
    assert not marker.exists(), "no actor crashed: the fault was not injected"
    assert report.exit_code == 0
    assert content(predictions(settings)).equals(content(predictions(reference[0])))


class LoadFailsOn(DuckDBWarehouse):
    """The real warehouse, but one date's batch load always fails (a broken partition, say)."""

    broken = date(2023, 1, 20)

    def load_players(self, game_date, players):  # type: ignore[no-untyped-def]
        if game_date == self.broken:
            raise WarehouseError("injected: partition unavailable")
        return super().load_players(game_date, players)

    def _load_block_queries(self, dates):  # type: ignore[no-untyped-def]
        if self.broken in dates:
            raise WarehouseError("injected: partition unavailable")
        return super()._load_block_queries(dates)


def test_failed_date_is_recorded_and_resume_completes_it(
    league: League, reference: tuple[Settings, BackfillReport], tmp_path: Path
) -> None:
    settings = league.copy_to(tmp_path / "w")
    with LoadFailsOn(settings.warehouse.path, settings.batching) as warehouse:
        report = run_backfill(settings, warehouse, backfill_dates())
    assert report.exit_code == 1
    assert [o.game_date for o in report.failed] == [LoadFailsOn.broken]
    assert "partition unavailable" in (report.failed[0].error or "")
    marks = checkpoints(settings).set_index("game_date")
    assert marks.loc[LoadFailsOn.broken, "status"] == FAILED
    assert (marks.drop(index=LoadFailsOn.broken)["status"] == DONE).all()
    first_run = marks["run_id"].drop(index=LoadFailsOn.broken)

    resumed = backfill(settings)
    assert [o.game_date for o in resumed.outcomes] == [LoadFailsOn.broken]
    marks = checkpoints(settings).set_index("game_date")
    assert marks.loc[LoadFailsOn.broken, "attempt"] == 2
    assert marks["run_id"].drop(index=LoadFailsOn.broken).equals(first_run)  # done dates not redone
    assert content(predictions(settings)).equals(content(predictions(reference[0])))


def test_dry_run_writes_nothing(league: League, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = league.copy_to(tmp_path / "w")
    report = backfill(settings, dry_run=True)
    assert report.dry_run and len(report.game_dates) > 5 and report.outcomes == []
    assert predictions(settings).empty and checkpoints(settings).empty


def test_dates_without_games_are_skipped_not_failed(league: League, tmp_path: Path) -> None:
    settings = league.copy_to(tmp_path / "w")
    all_star_break = [date(2023, 2, 18), date(2023, 2, 19), date(2023, 7, 4)]
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        no_games = [d for d in all_star_break if not warehouse.game_dates(d, d)]
    report = backfill(settings, no_games)
    assert no_games and report.exit_code == 0 and report.outcomes == [] and report.game_dates == []


def _cli_config(settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"warehouse:\n  path: {settings.warehouse.path}\n"
        f"model:\n  policy: pinned\n  version: {settings.model.version}\n"
    )
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2023-02-01", "--end", "2023-01-01"], "--start 2023-02-01 is after --end 2023-01-01"),
        (["--start", "2023-13-01", "--end", "2023-01-01"], "--start: '2023-13-01' is not a date"),
        (["--dates", "2023-01-20", "--systems", "magic_v9"], "--systems"),
        (["--start", "2023-01-20"], "--start and --end go together"),
        (["--start", "2022-12-01", "--end", "2022-12-31"], "not before the first predicted date"),
    ],
)
def test_bad_input_is_rejected_before_any_work(
    league: League, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    settings = league.copy_to(tmp_path / "w")
    assert main(["backfill", "--config", _cli_config(settings, tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert predictions(settings).empty and checkpoints(settings).empty


def test_running_one_system_redoes_its_dependents_and_never_erases_rows(
    league: League, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--systems ensemble_v1` used to delete the date's ensemble rows and write none; `--systems
    xgboost_v1` left ensemble rows built from the old xgboost predictions. Now each runs what the graph
    says: the ensemble brings its components, a component brings the ensemble that depends on it."""
    settings = league.copy_to(tmp_path / "w")
    day = backfill_dates()[2]
    assert backfill(settings, [day]).exit_code == 0
    before = content(predictions(settings))
    config = _cli_config(settings, tmp_path)
    previous_runs = set(predictions(settings)["run_id"])
    for systems in ("ensemble_v1", "xgboost_v1", "xgboost_v1,ensemble_v1"):
        argv = ["backfill", "--config", config, "--dates", str(day), "--systems", systems, "--no-resume"]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "also running" in out and "failed 0" in out
        rows = predictions(settings)
        assert content(rows).equals(before), systems  # every row replaced by its (identical) recomputation
        assert rows["run_id"].nunique() == 1 and not previous_runs & set(rows["run_id"])  # all five, now
        previous_runs |= set(rows["run_id"])
    # the same systems in another order, or expanded by the graph, are the same run: resume skips it
    argv = ["backfill", "--config", config, "--dates", str(day), "--systems", "ensemble_v1", "--dry-run"]
    assert main(argv) == 0 and "0 game date(s) to predict, 1 already done" in capsys.readouterr().out
