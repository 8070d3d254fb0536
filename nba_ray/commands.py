"""What each `nba-ray` command does, as plain functions: the CLI and the `jobs/` entry points call these.

Each opens the configured warehouse, does one job, prints a short human summary and returns an exit
code. Bad input raises `CommandError` (one line); warehouse failures raise `WarehouseError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc

from nba_ray.config import Settings
from nba_ray.data.importer import read_box_scores
from nba_ray.data.synthetic import generate_league
from nba_ray.features.builder import build_features as compute_features
from nba_ray.warehouse import Warehouse, open_warehouse

log = logging.getLogger(__name__)

# Feature windows reach back to the start of the previous season; this covers it from any date.
HISTORY_LOOKBACK = timedelta(days=550)


class CommandError(ValueError):
    """Bad input for a command, worded as one actionable line."""


def seed(settings: Settings, seasons: Sequence[str], seed_value: int) -> int:
    started = time.perf_counter()
    league = generate_league(seasons, seed=seed_value)
    with open_warehouse(settings) as warehouse:
        rows = warehouse.replace_box_scores(league.box_scores)
        lines = warehouse.replace_prop_lines(league.prop_lines)
    played = int(pc.sum(pc.greater(league.box_scores["minutes_played"], 0)).as_py())
    print(
        f"seeded {', '.join(seasons)} (seed {seed_value}): {rows:,} box-score rows ({played:,} played), "
        f"{lines:,} prop-line snapshots in {time.perf_counter() - started:.1f}s"
    )
    return 0


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
