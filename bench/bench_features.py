"""Benchmark: time `build_features` on real seasons and print one JSON object.

    python bench/bench_features.py [--box-scores PATH ...] [--season 2021-22 | --all-seasons] [--repeat 3]

PATH is a Parquet file or a folder of `season=*.parquet` files; the default is the folder in the
NBA_RAY_REAL_DATA environment variable. With `--season`, the season's previous season, when given, is
passed as history (the builder's windows fall back to it), and features are built for every date of the
season; with `--all-seasons`, every date of every season given. Availability and lineups are derived
once first (as the importer stores them: `derive_seconds`) and handed to the builder, as `nba-ray
features` does. The
figure reported is the best of `--repeat` runs (the first run also pays for imports and page cache).
Target: the four real seasons in 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nba_ray.data.availability import derive_availability, derive_lineups
from nba_ray.features.builder import build_features
from nba_ray.warehouse.schemas import PLAYER_GAME_SUMMARY, conform

REAL_DATA_ENV = "NBA_RAY_REAL_DATA"
TARGET_SECONDS = 5.0
DEFAULT_SEASON = "2021-22"


def _parquet_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files.extend(sorted(path.glob("season=*.parquet")) if path.is_dir() else [path])
    if not files:
        raise SystemExit(f"no Parquet box-score files found in {paths}")
    return files


def _previous_season(season: str) -> str:
    start = int(season[:4]) - 1
    return f"{start}-{(start + 1) % 100:02d}"


def load_season(paths: list[str], season: str | None) -> tuple[pa.Table, pa.Table]:
    """(box scores of the season and its previous season, the season's own rows); every season's when
    `season` is None."""
    tables = [conform(pq.read_table(f), PLAYER_GAME_SUMMARY) for f in _parquet_files(paths)]
    box = pa.concat_tables(tables)
    if season is None:
        return box, box
    wanted = pc.is_in(box.column("season"), value_set=pa.array([season, _previous_season(season)]))
    box = box.filter(wanted)
    own = box.filter(pc.equal(box.column("season"), season))
    if own.num_rows == 0:
        raise SystemExit(f"season {season} is not in the given box scores")
    return box, own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box-scores", nargs="+", default=None, help="Parquet files or folders")
    parser.add_argument("--season", default=DEFAULT_SEASON)
    parser.add_argument("--all-seasons", action="store_true", help="every season given, every date")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    paths = args.box_scores or ([os.environ[REAL_DATA_ENV]] if os.environ.get(REAL_DATA_ENV) else None)
    if not paths:
        parser.error(f"give --box-scores or set {REAL_DATA_ENV}")

    box, own = load_season(paths, None if args.all_seasons else args.season)
    dates = own.column("game_date")
    start, end = pc.min(dates).as_py(), pc.max(dates).as_py()
    began = time.perf_counter()
    availability, lineups = derive_availability(box), derive_lineups(box)
    derive_seconds = time.perf_counter() - began
    timings = []
    for _ in range(max(args.repeat, 1)):
        began = time.perf_counter()
        features = build_features(box, start, end, availability, lineups)
        timings.append(time.perf_counter() - began)
    seconds = min(timings)
    print(
        json.dumps(
            {
                "benchmark": "build_features",
                "seasons": sorted(set(own.column("season").to_pylist())),
                "feature_version": features.column("feature_version")[0].as_py(),
                "start": start.isoformat(),
                "end": end.isoformat(),
                "input_rows": box.num_rows,
                "rows": features.num_rows,
                "seconds": round(seconds, 4),
                "seconds_all_runs": [round(t, 4) for t in timings],
                "derive_seconds": round(derive_seconds, 4),
                "rows_per_second": round(features.num_rows / seconds, 1),
                "target_seconds": TARGET_SECONDS,
                "within_target": seconds < TARGET_SECONDS,
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "pandas": pd.__version__,
                "numpy": np.__version__,
                "pyarrow": pa.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
