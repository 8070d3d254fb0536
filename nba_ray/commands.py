"""What each `nba-ray` command does, as plain functions: the CLI and the `jobs/` entry points call these.

Each opens the configured warehouse, does one job, prints a short human summary and returns an exit
code. Bad input raises `CommandError` (one line); warehouse failures raise `WarehouseError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc

from nba_ray.backfill.driver import run_backfill
from nba_ray.backfill.planner import ModelPlan
from nba_ray.backfill.progress import Progress, summary
from nba_ray.config import Settings
from nba_ray.data.importer import read_box_scores
from nba_ray.data.synthetic import generate_league
from nba_ray.features.builder import build_features as compute_features
from nba_ray.grading import accuracy_table, format_table, write_report
from nba_ray.grading import grade as grade_predictions
from nba_ray.models import registry
from nba_ray.systems.graph import run_set
from nba_ray.systems.model import ModelArtifact, train_model
from nba_ray.systems.settings import SystemsSettings
from nba_ray.warehouse import Warehouse, open_warehouse
from nba_ray.warehouse.base import EARLIEST_DATE, LATEST_DATE

log = logging.getLogger(__name__)

# Feature windows reach back to the start of the previous season; this covers it from any date.
HISTORY_LOOKBACK = timedelta(days=550)
# What a fresh machine gets: two seasons; the second is predicted by a model trained on the first.
PROVISION_SEASONS = ("2021-22", "2022-23")
PROVISION_SEED = 7


class CommandError(ValueError):
    """Bad input for a command, worded as one actionable line."""


def seed(settings: Settings, seasons: Sequence[str], seed_value: int) -> int:
    with open_warehouse(settings) as warehouse:
        seed_league(warehouse, seasons, seed_value)
    return 0


def seed_league(warehouse: Warehouse, seasons: Sequence[str], seed_value: int) -> None:
    started = time.perf_counter()
    league = generate_league(seasons, seed=seed_value)
    rows = warehouse.replace_box_scores(league.box_scores)
    lines = warehouse.replace_prop_lines(league.prop_lines)
    played = int(pc.sum(pc.greater(league.box_scores["minutes_played"], 0)).as_py())
    print(
        f"seeded {', '.join(seasons)} (seed {seed_value}): {rows:,} box-score rows ({played:,} played), "
        f"{lines:,} prop-line snapshots in {time.perf_counter() - started:.1f}s"
    )


def import_box_scores(settings: Settings, paths: Sequence[Path]) -> int:
    started = time.perf_counter()
    table = read_box_scores(paths)  # validates every file before anything is written
    with open_warehouse(settings) as warehouse:
        rows = warehouse.replace_box_scores(table)
    played = int(pc.sum(pc.greater(table["minutes_played"], 0)).as_py())
    games = len(pc.unique(table["game_id"]))
    print(
        f"imported {rows:,} rows ({played:,} played) of {games:,} games from {len(paths)} file(s) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 0


def build_features(settings: Settings, start: date, end: date) -> int:
    with open_warehouse(settings) as warehouse:
        rows = refresh_features(warehouse, start, end)
    return 0 if rows >= 0 else 1


def refresh_features(warehouse: Warehouse, start: date, end: date) -> int:
    """Rebuild the feature store for [start, end] from every box score the windows can reach."""
    started = time.perf_counter()
    box_scores = warehouse.read_box_scores(start - HISTORY_LOOKBACK, end)
    if box_scores.num_rows == 0:
        raise CommandError(f"no box scores up to {end}: run `nba-ray import` or `nba-ray seed` first")
    features = compute_features(box_scores, start, end)
    written = warehouse.replace_features(features, start, end)
    dates = len(pc.unique(features["game_date"])) if written else 0
    print(
        f"features {start} → {end}: {written:,} rows over {dates} game dates "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return written


def status(settings: Settings) -> int:
    with open_warehouse(settings) as warehouse:
        counts = warehouse.table_counts()
        checkpoints = warehouse.read_checkpoints()
    where = settings.warehouse.path if settings.warehouse.kind == "duckdb" else settings.warehouse.dataset
    print(f"warehouse: {settings.warehouse.kind} ({where})")
    for table, count in counts.items():
        print(f"  {table:<26} {count:>12,}")
    if checkpoints.num_rows:
        frame = checkpoints.to_pandas()
        summary = frame.groupby(["run_key", "status"]).size().unstack(fill_value=0)
        print("backfill checkpoints (dates by status):")
        print(summary.to_string())
    else:
        print("backfill checkpoints: none")
    return 0


def train(settings: Settings, train_start: date | None, train_end: date, out: Path | None) -> int:
    with open_warehouse(settings) as warehouse:
        artifact = train_and_register(warehouse, settings, train_start, train_end)
    meta = artifact.metadata
    if out is not None:
        print(f"exported a copy of {artifact.version_id} to {artifact.save(out)}")
    print(
        f"validation MAE {meta.validation_mae:.3f} vs blend {meta.validation_blend_mae:.3f} "
        f"(bias {meta.validation_bias:+.3f}, objective {meta.objective}, {meta.rounds} rounds)"
    )
    return 0


def train_and_register(
    warehouse: Warehouse, settings: Settings, train_start: date | None, train_end: date
) -> ModelArtifact:
    """Train xgboost_v1 on played games in [train_start, train_end] only (walk-forward) and register it
    in the warehouse's model registry."""
    started = time.perf_counter()
    rows = warehouse.read_training_rows(train_start or EARLIEST_DATE, train_end).to_pandas()
    if rows.empty:
        raise CommandError(
            f"no feature rows with actual points up to {train_end}: run `nba-ray features` for that range"
        )
    first = train_start or rows["game_date"].min()
    artifact = train_model(rows, train_start=first, train_end=train_end, params=settings.model.training)
    registry.register(warehouse, artifact)
    print(
        f"trained {artifact.version_id} on {len(rows):,} rows ({first} → {train_end}) "
        f"in {time.perf_counter() - started:.1f}s: registered in {registry.REGISTRY}"
    )
    return artifact


def models(settings: Settings) -> int:
    """Print the model registry, oldest training range first."""
    with open_warehouse(settings) as warehouse:
        entries = registry.entries(warehouse)
    if not entries:
        print("model registry: empty (`nba-ray train`, or a backfill, registers models)")
        return 0
    print(f"model registry: {len(entries)} model(s)")
    print(
        f"  {'model_version':<34} {'train_start':<11} {'train_end':<11} {'rows':>9} "
        f"{'val MAE':>8} {'blend':>7}"
    )
    for e in entries:
        print(
            f"  {e.model_version:<34} {e.train_start!s:<11} {e.train_end!s:<11} {e.rows:>9,} "
            f"{e.validation_mae:>8.3f} {e.validation_blend_mae:>7.3f}"
        )
    return 0


def with_systems(settings: Settings, systems: Sequence[str] | None) -> Settings:
    """Settings with what a run of `systems` computes enabled: the systems asked for, the enabled
    systems that depend on them and everything those need (`graph.run_set`); an unknown id is an
    error. Says so when that is more than was asked for."""
    if not systems:
        return settings
    try:
        computed = run_set(settings.systems, systems)
        chosen = SystemsSettings.model_validate({**settings.systems.model_dump(), "enabled": list(computed)})
    except ValueError as err:
        raise CommandError(f"--systems: {str(err).splitlines()[-1].strip()}") from None
    added = [s for s in computed if s not in systems]
    if added:
        print(f"--systems {','.join(systems)}: also running {', '.join(added)} (dependencies)")
    return settings.model_copy(update={"systems": chosen})


def backfill(
    settings: Settings,
    dates: Sequence[date] | None,
    *,
    resume: bool = True,
    dry_run: bool = False,
    train: bool = True,
    show_progress: bool = True,
) -> int:
    """Predict every game date in `dates`; on an empty embedded warehouse, provision a demo first.
    Season models the range needs are trained first unless `train` is False (then it refuses)."""
    with open_warehouse(settings) as warehouse:
        if warehouse.table_counts()["player_game_summary"] == 0:
            dates = provision(warehouse, settings, dates)
        elif dates is None:
            raise CommandError("give the dates to predict: --start D --end D, or --dates D,D")
        progress = Progress(len(dates), enabled=show_progress)
        try:
            report = run_backfill(
                settings,
                warehouse,
                dates,
                resume=resume,
                dry_run=dry_run,
                train=train,
                on_date=progress.date_finished,
            )
        finally:
            progress.close()
    print_models(report.models)
    if report.dry_run:
        print(
            f"dry run {report.run_key}: {len(report.game_dates)} game date(s) to predict, "
            f"{len(report.already_done)} already done"
        )
        for game_date in report.game_dates:
            print(f"  {game_date}")
        return 0
    print(summary(report))
    return report.exit_code


def print_models(plan: ModelPlan) -> None:
    """The season models a backfill trained (or, in a dry run, would train) and the models it uses."""
    for need in plan.missing:
        print(f"would train the xgboost_v1 model of season {need.season} (games up to {need.train_end})")
    for entry in plan.trained:
        print(
            f"trained {entry.model_version} on {entry.rows:,} rows "
            f"({entry.train_start} → {entry.train_end}), "
            f"validation MAE {entry.validation_mae:.3f} vs blend {entry.validation_blend_mae:.3f}: registered"
        )
    if plan.versions:
        print(f"xgboost_v1 models used: {', '.join(plan.model_versions)}")


def provision(warehouse: Warehouse, settings: Settings, dates: Sequence[date] | None) -> list[date]:
    """Fill an empty embedded warehouse with a synthetic league, its features and a walk-forward model;
    return `dates`, or the last synthetic season's game dates when none were asked for."""
    if settings.warehouse.kind != "duckdb":
        raise CommandError("the warehouse has no box scores: run `nba-ray import` first")
    print(
        f"the embedded warehouse {settings.warehouse.path} is empty: provisioning a synthetic league "
        f"({', '.join(PROVISION_SEASONS)}) and its features; the backfill trains its walk-forward model"
    )
    seed_league(warehouse, PROVISION_SEASONS, PROVISION_SEED)
    all_dates = warehouse.game_dates(EARLIEST_DATE, LATEST_DATE)
    refresh_features(warehouse, all_dates[0], all_dates[-1])
    if dates:
        return list(dates)
    last_season = warehouse.season_bounds().to_pylist()[-1]
    return [d for d in all_dates if d >= last_season["first_date"]]


def grade(settings: Settings, start: date, end: date, report_dir: Path | None) -> int:
    """Grade the predictions of [start, end] against their box scores, replace that range's accuracy rows
    (re-grading is idempotent), print the per-system table and, with `report_dir`, write the report."""
    started = time.perf_counter()
    with open_warehouse(settings) as warehouse:
        predictions = warehouse.read_predictions(start, end)
        if predictions.num_rows == 0:
            raise CommandError(f"no predictions from {start} to {end}: run `nba-ray backfill` for that range")
        box_scores = warehouse.read_box_scores(start, end)
        features = warehouse.read_features(start, end)
        rows = grade_predictions(predictions, box_scores, features, datetime.now(UTC))
        written = warehouse.replace_accuracy(rows, start, end)
    accuracy = rows.to_pandas()
    print(f"graded {written:,} predictions {start} → {end} in {time.perf_counter() - started:.1f}s")
    print(format_table(accuracy_table(accuracy)))
    voided = int(pc.sum(rows["is_voided"]).as_py() or 0)
    print(f"voided (player did not play or no box score): {voided:,} of {written:,}")
    unplayed = set(pc.unique(predictions["game_date"]).to_pylist()) - set(
        pc.unique(box_scores["game_date"]).to_pylist()
    )
    if unplayed:
        print(
            f"note: {len(unplayed)} predicted date(s) have no box scores at all (first {min(unplayed)}); "
            "their predictions are voided as 'no box score': import them and grade again"
        )
    if report_dir is not None:
        print(f"report: {write_report(accuracy, report_dir, f'nba-ray accuracy, {start} → {end}')}")
    return 0
