"""What each `nba-ray` command does, as plain functions: the CLI and the `jobs/` entry points call these.

Each opens the configured warehouse, does one job, prints a short human summary and returns an exit
code. Bad input raises `CommandError` (one line); warehouse failures raise `WarehouseError`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pyarrow.compute as pc
from pydantic import ValidationError

from nba_ray.backfill import freshness
from nba_ray.backfill.driver import ray_address, run_backfill
from nba_ray.backfill.progress import Progress, summary
from nba_ray.config import Settings, validation_reason
from nba_ray.data.synthetic import generate_league
from nba_ray.features.builder import build_features as compute_features
from nba_ray.features.contract import PRE_TIP, ModelContractError
from nba_ray.grading import accuracy_table, format_table, write_report
from nba_ray.grading.market import market_table
from nba_ray.grading.market_report import market_markdown, status_lines
from nba_ray.grading.market_store import grade_and_store
from nba_ray.importing import store_box_scores
from nba_ray.models import registry
from nba_ray.models.artifact import ModelArtifact
from nba_ray.models.policy import ModelPlan, WalkForwardError, first_predictable
from nba_ray.models.training import train_model
from nba_ray.systems.base import ACTUAL_PROP
from nba_ray.systems.graph import run_set
from nba_ray.systems.runner import XGBOOST_ID
from nba_ray.systems.settings import SystemsSettings
from nba_ray.warehouse import Warehouse, WarehouseMissing, open_warehouse
from nba_ray.warehouse.base import EARLIEST_DATE, LATEST_DATE
from nba_ray.warehouse.outdated import OutdatedFeatures, outdated_features

log = logging.getLogger(__name__)

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
    rows = store_box_scores(warehouse, league.box_scores)
    lines = warehouse.replace_prop_lines(league.prop_lines)
    played = int(pc.sum(pc.greater(league.box_scores["minutes_played"], 0)).as_py())
    print(
        f"seeded {', '.join(seasons)} (seed {seed_value}): {rows:,} box-score rows ({played:,} played), "
        f"{lines:,} prop-line snapshots in {time.perf_counter() - started:.1f}s"
    )


def build_features(settings: Settings, start: date, end: date) -> int:
    with open_warehouse(settings) as warehouse:
        rows = refresh_features(warehouse, start, end)
    return 0 if rows >= 0 else 1


def refresh_features(warehouse: Warehouse, start: date, end: date) -> int:
    """Rebuild the feature store for [start, end] from every box score up to `end`.

    Every one, not a lookback: whether a player has a row depends on any earlier played game (a return
    from a season-long injury), and a date's rows must not depend on the range a build covered.
    """
    started = time.perf_counter()
    if not warehouse.played_dates(start, end):
        held = warehouse.played_dates(EARLIEST_DATE, LATEST_DATE)
        if not held:
            raise CommandError(
                "the warehouse has no box scores: run `nba-ray import` or `nba-ray seed` first"
            )
        raise CommandError(f"no games from {start} to {end}: the box scores span {held[0]} → {held[-1]}")
    box_scores = warehouse.read_box_scores(EARLIEST_DATE, end)
    availability = warehouse.read_availability(EARLIEST_DATE, end)
    lineups = warehouse.read_lineups(EARLIEST_DATE, end)
    features = compute_features(box_scores, start, end, availability, lineups)
    written = warehouse.replace_features(features, start, end)
    dates = len(pc.unique(features["game_date"])) if written else 0
    print(
        f"features {start} → {end}: {written:,} rows over {dates} game dates "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return written


def status(settings: Settings) -> int:
    try:
        warehouse = open_warehouse(settings, read_only=True)
    except WarehouseMissing as err:
        raise CommandError(f"{err}: nothing was imported or run there (check the path or project)") from None
    with warehouse:
        counts = warehouse.table_counts()
        market = warehouse.read_market_daily(mode=settings.systems.mode)
        outdated = outdated_features(warehouse)
        dates = predictable_dates(warehouse, settings)
        try:
            report = run_backfill(settings, warehouse, dates, dry_run=True) if dates else None
        except (ModelContractError, WalkForwardError) as err:
            report, unplanned = None, err
    print(f"warehouse: {settings.warehouse.kind} ({_location(settings)})")
    for table, count in counts.items():
        print(f"  {table:<26} {count:>12,}")
    print("\n".join(status_lines(market.to_pandas())))
    if report is None:
        print(f"backfill states: unknown ({unplanned})" if dates else "game dates with features: none")
        print_outdated(outdated)
        return 0
    states = report.states
    print(
        f"game dates with features: {len(states):,} ({states[0].game_date} → {states[-1].game_date}), "
        f"for the systems {', '.join(settings.systems.enabled_in_order)} (run key {report.run_key}):"
    )
    for state, count in freshness.counts(states).items():
        reasons = Counter(reason for s in states if s.state == state for reason in s.reasons)
        detail = f"   ({', '.join(f'{r} {n:,}' for r, n in sorted(reasons.items()))})" if reasons else ""
        print(f"  {state:<8} {count:>8,}{detail}")
    print_outdated(outdated)
    if any(s.needs_work for s in states):
        print("`nba-ray catch-up` redoes the dates that are not done")
    return 0


def print_outdated(outdated: Sequence[OutdatedFeatures]) -> None:
    """Dates whose feature rows are of an older contract: stale, with the reason and the fix."""
    for contract in outdated:
        print(f"  stale    {contract.dates:>8,}   {contract.describe()}")


def _location(settings: Settings) -> str:
    warehouse = settings.warehouse
    return str(warehouse.path) if warehouse.kind == "duckdb" else f"{warehouse.project}.{warehouse.dataset}"


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
    """Train xgboost_v1 on played games in [train_start, train_end] only (walk-forward), on the inputs
    of the configured mode, and register it in the warehouse's model registry."""
    started = time.perf_counter()
    rows = warehouse.read_training_rows(train_start or EARLIEST_DATE, train_end).to_pandas()
    if rows.empty:
        raise CommandError(
            f"no feature rows with actual points up to {train_end}: run `nba-ray features` for that range"
        )
    first = train_start or rows["game_date"].min()
    mode = settings.systems.mode
    artifact = train_model(
        rows, train_start=first, train_end=train_end, params=settings.model.training, mode=mode
    )
    registry.register(warehouse, artifact)
    print(
        f"trained {artifact.version_id} ({mode}) on {len(rows):,} rows ({first} → {train_end}) "
        f"in {time.perf_counter() - started:.1f}s: registered in {registry.REGISTRY}"
    )
    return artifact


def models(settings: Settings) -> int:
    """Print the model registry, oldest training range first."""
    try:
        with open_warehouse(settings, read_only=True) as warehouse:
            entries = registry.entries(warehouse)
            market = warehouse.read_market_daily().to_pandas()
    except WarehouseMissing as err:
        raise CommandError(f"{err}: no models registered there") from None
    print("\n".join(status_lines(market)))
    if not entries:
        print("model registry: empty (`nba-ray train`, or a backfill, registers models)")
        return 0
    print(f"model registry: {len(entries)} model(s)")
    print(
        f"  {'model_version':<34} {'mode':<9} {'train_start':<11} {'train_end':<11} {'rows':>9} "
        f"{'val MAE':>8} {'blend':>7}"
    )
    for e in entries:
        print(
            f"  {e.model_version:<34} {e.mode:<9} {e.train_start!s:<11} {e.train_end!s:<11} "
            f"{e.row_count:>9,} {e.validation_mae:>8.3f} {e.validation_blend_mae:>7.3f}"
        )
    return 0


def with_mode(settings: Settings, mode: str) -> Settings:
    """Settings whose systems run in `mode` (`--pre-tip`)."""
    return settings.model_copy(update={"systems": settings.systems.model_copy(update={"mode": mode})})


def with_systems(settings: Settings, systems: Sequence[str] | None) -> Settings:
    """Settings with what a run of `systems` computes enabled: the systems asked for, the enabled
    systems that depend on them and everything those need (`graph.run_set`); an unknown id is an
    error. Says so when that is more than was asked for."""
    if not systems:
        return settings
    try:
        computed = run_set(settings.systems, systems)
        chosen = SystemsSettings.model_validate({**settings.systems.model_dump(), "enabled": list(computed)})
    except ValidationError as err:
        raise CommandError(f"--systems: {validation_reason(err)}") from None
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
    if dry_run:
        return plan(settings, dates, resume=resume, train=train)
    settings = within_local_cpus(settings)
    with open_warehouse(settings) as warehouse:
        if warehouse.table_counts()["player_game_summary"] == 0:
            dates = provision(warehouse, settings, dates)
        elif dates is None:
            raise CommandError(NO_DATES)
        progress = Progress(enabled=show_progress)
        try:
            report = run_backfill(
                settings,
                warehouse,
                dates,
                resume=resume,
                train=train,
                on_plan=progress.planned,
                on_date=progress.date_finished,
            )
        finally:
            progress.close()
    print_models(report.models)
    print(summary(report))
    return report.exit_code


def within_local_cpus(settings: Settings) -> Settings:
    """A local run's Ray has this machine's CPUs and nothing can join it: `ray.num_actors` beyond what
    they hold would wait for actors that never start, so it is capped, with a line saying so."""
    ray_settings = settings.ray
    if ray_address(ray_settings) or ray_settings.num_actors is None:
        return settings
    cpus = len(os.sched_getaffinity(0))
    fit = max(1, math.floor(cpus / ray_settings.cpus_per_actor))
    if ray_settings.num_actors <= fit:
        return settings
    print(
        f"ray.num_actors {ray_settings.num_actors}: this machine has {cpus} CPU(s) for a local run, "
        f"{ray_settings.cpus_per_actor:g} per actor: running {fit} actor(s)"
    )
    return settings.model_copy(update={"ray": ray_settings.model_copy(update={"num_actors": fit})})


NO_DATES = "give the dates to predict: --start D --end D, or --dates D,D"


def catch_up(settings: Settings, *, dry_run: bool = False, show_progress: bool = True) -> int:
    """Every game date with feature rows that a walk-forward model can predict, first to last, redoing
    exactly what is missing, failed or stale: what a scheduled or autoscaling catch-up run submits
    after the data changed."""
    try:
        with open_warehouse(settings, read_only=True) as warehouse:
            dates = predictable_dates(warehouse, settings)
            outdated = outdated_features(warehouse)
    except WarehouseMissing as err:
        raise CommandError(f"{err}: nothing to catch up on") from None
    print_outdated(outdated)
    if not dates:
        raise CommandError("no game date has feature rows a model can predict: run `nba-ray features` first")
    return backfill(settings, dates, resume=True, dry_run=dry_run, show_progress=show_progress)


def predictable_dates(warehouse: Warehouse, settings: Settings) -> list[date]:
    """The game dates with feature rows, from the first one a walk-forward model can predict (the
    warehouse's first season has no earlier games to train on); says how many it leaves out."""
    dates = warehouse.feature_dates()
    first = first_predictable(warehouse, settings)
    kept = [d for d in dates if first is None or d >= first]
    if len(kept) < len(dates):
        print(f"{len(dates) - len(kept)} game date(s) before {first} left out: no model can predict them")
    return kept


def plan(settings: Settings, dates: Sequence[date] | None, *, resume: bool, train: bool = True) -> int:
    """The dry run: say what a real run would do, reading the warehouse only (a missing or empty one
    included: nothing is created, seeded or trained)."""
    try:
        warehouse = open_warehouse(settings, read_only=True)
    except WarehouseMissing as err:
        return plan_provision(settings, dates, str(err))
    with warehouse:
        if warehouse.table_counts()["player_game_summary"] == 0:
            return plan_provision(settings, dates, f"the warehouse {_location(settings)} is empty")
        if dates is None:
            raise CommandError(NO_DATES)
        report = run_backfill(settings, warehouse, dates, resume=resume, dry_run=True, train=train)
        outdated = outdated_features(warehouse)
        refuse_untrainable(warehouse, report.models)
    print_models(report.models)
    print_outdated(outdated)
    print(
        f"dry run {report.run_key}: {len(report.game_dates)} game date(s) to predict, "
        f"{len(report.already_done)} already done"
    )
    todo = set(report.game_dates)
    for state in report.states:
        if state.game_date in todo:
            print(f"  {state.game_date}  {state.describe()}")
    return 0


def refuse_untrainable(warehouse: Warehouse, models: ModelPlan) -> None:
    """A dry run promises no model the real run could not train: a season whose earlier games have no
    feature rows is named, with the command that builds them."""
    for need in models.missing:
        if warehouse.read_training_rows(EARLIEST_DATE, need.train_end).num_rows == 0:
            raise CommandError(
                f"the xgboost_v1 model of season {need.season} cannot be trained: no feature rows with "
                f"actual points up to {need.train_end}: run `nba-ray features` over the earlier seasons"
            )


def plan_provision(settings: Settings, dates: Sequence[date] | None, why: str) -> int:
    """The dry run of a first run: what `provision` would seed, train and predict (computed in memory)."""
    if settings.warehouse.kind != "duckdb":
        raise CommandError(f"{why}: run `nba-ray import` first")
    league = generate_league(PROVISION_SEASONS, seed=PROVISION_SEED).box_scores.select(
        ["season", "game_date"]
    )
    frame = league.to_pandas()
    last_season_start = frame.loc[frame["season"] == PROVISION_SEASONS[-1], "game_date"].min()
    train_end, todo = provision_dates(last_season_start, sorted(set(frame["game_date"])), dates)
    span = f" ({todo[0]} → {todo[-1]})" if todo else ""
    print(
        f"dry run: {why}; a real run would provision a synthetic league ({', '.join(PROVISION_SEASONS)}) "
        f"and its features, train {XGBOOST_ID} on games through {train_end} and predict "
        f"{len(todo)} game date(s){span}. Nothing was written."
    )
    return 0


def print_models(plan: ModelPlan) -> None:
    """The season models a backfill trained (or, in a dry run, would train) and the models it uses."""
    for need in plan.missing:
        print(f"would train the xgboost_v1 model of season {need.season} (games up to {need.train_end})")
    for entry in plan.trained:
        print(
            f"trained {entry.model_version} on {entry.row_count:,} rows "
            f"({entry.train_start} → {entry.train_end}), "
            f"validation MAE {entry.validation_mae:.3f} vs blend {entry.validation_blend_mae:.3f}: registered"
        )
    if plan.versions:
        print(f"xgboost_v1 models used: {', '.join(plan.model_versions)}")


def provision(warehouse: Warehouse, settings: Settings, dates: Sequence[date] | None) -> list[date]:
    """Fill an empty embedded warehouse with a synthetic league, its features and a walk-forward model;
    return the dates to predict (see `provision_dates`)."""
    if settings.warehouse.kind != "duckdb":
        raise CommandError("the warehouse has no box scores: run `nba-ray import` first")
    print(
        f"the embedded warehouse {settings.warehouse.path} is empty: provisioning a synthetic league "
        f"({', '.join(PROVISION_SEASONS)}) and its features; the backfill trains its walk-forward model"
    )
    seed_league(warehouse, PROVISION_SEASONS, PROVISION_SEED)
    all_dates = warehouse.played_dates(EARLIEST_DATE, LATEST_DATE)
    refresh_features(warehouse, all_dates[0], all_dates[-1])
    last_season_start = warehouse.season_bounds().to_pylist()[-1]["first_date"]
    return provision_dates(last_season_start, all_dates, dates)[1]


def provision_dates(
    last_season_start: date, game_dates: Sequence[date], dates: Sequence[date] | None
) -> tuple[date, list[date]]:
    """The provisioned season model's `train_end` (the day before the last season starts) and the game
    dates to predict: those asked for, else every game date of the last season."""
    wanted = set(dates) if dates else None
    todo = [d for d in game_dates if (d in wanted if wanted else d >= last_season_start)]
    return last_season_start - timedelta(days=1), todo


def grade(settings: Settings, start: date, end: date, report_dir: Path | None) -> int:
    """Grade the predictions of [start, end] in the configured mode against their box scores, replace
    that range's accuracy rows of the mode (re-grading is idempotent), print the per-system table and,
    with `report_dir`, write the report."""
    started = time.perf_counter()
    mode = settings.systems.mode
    with open_warehouse(settings) as warehouse:
        predictions = warehouse.read_predictions(start, end, mode=mode)
        if predictions.num_rows == 0:
            flag = " --pre-tip" if mode == PRE_TIP else ""
            raise CommandError(
                f"no {mode} predictions from {start} to {end}: run `nba-ray backfill{flag}` for that range"
            )
        box_scores = warehouse.read_box_scores(start, end)
        rows, market_daily = grade_and_store(warehouse, settings, predictions, box_scores, (start, end))
        written = rows.num_rows
    accuracy = rows.to_pandas()
    print(f"graded {written:,} {mode} predictions {start} → {end} in {time.perf_counter() - started:.1f}s")
    print(format_table(accuracy_table(accuracy)))
    print(f"against real lines ({ACTUAL_PROP}, the closing line at tip):")
    print(format_table(market_table(accuracy)))
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
        title = f"nba-ray accuracy, {start} → {end}" + (", pre-tip" if mode == PRE_TIP else "")
        market = partial(market_markdown, accuracy, market_daily)
        print(f"report: {write_report(accuracy, report_dir, title, market)}")
    return 0
