"""`nba-ray` command line: argument parsing only; the work happens in the modules it calls.

Every command takes `--config`, and bad input of any kind (a date that is not a date, a range that ends
before it starts, a missing file, an unknown config key) ends the command with one line on stderr
naming the flag, file or key, and exit code 2. Failures while working exit 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from nba_ray import commands, importing, slate
from nba_ray.backfill import driver
from nba_ray.config import ConfigError, Settings, load_settings
from nba_ray.data.importer import BoxScoreError
from nba_ray.data.league import season_start_year
from nba_ray.features.contract import PRE_TIP, ModelContractError
from nba_ray.models.policy import MissingModels, WalkForwardError
from nba_ray.upgrade import upgrade
from nba_ray.warehouse import WarehouseOutdated
from nba_ray.warehouse.base import EARLIEST_DATE, LATEST_DATE
from nba_ray.warehouse.errors import failure_line

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 128 + 2  # SIGINT, the shell's convention


class UsageError(ValueError):
    """Bad input on the command line, worded as one line."""


def parse_date(flag: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not a date (use YYYY-MM-DD)") from None


def parse_moment(flag: str, text: str, timezone: str) -> datetime:
    """An ISO date-time; without an offset it is the league's local time (`timezone`)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{flag}: {text!r} is not a date-time (use YYYY-MM-DDTHH:MM, local or with offset)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))).astimezone(UTC)


def parse_range(args: argparse.Namespace) -> tuple[date, date]:
    start, end = parse_date("--start", args.start), parse_date("--end", args.end)
    if start > end:
        raise UsageError(f"--start {start} is after --end {end}")
    return start, end


def output_directory(flag: str, path: Path | None) -> Path | None:
    """A directory the command will write into, checked before any work: not a file, and writable
    (itself if it exists, else the nearest folder it would be created in)."""
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: exists and is not a directory (give a folder to write into)")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: {existing} is not writable")
    return path


def input_files(flag: str, paths: Sequence[str] | None) -> list[Path]:
    """Files to read: a folder given where a file is expected is bad input, named as such."""
    files = [Path(p) for p in paths or ()]
    for path in files:
        if path.is_dir():
            raise UsageError(f"{flag} {path}: is a directory, not a file (give the files in it)")
    return files


def parse_seasons(text: str) -> list[str]:
    seasons = [s.strip() for s in text.split(",") if s.strip()]
    for season in seasons:
        if season_start_year(season) is None:
            raise UsageError(f"--seasons: {season!r} is not a season like 2021-22")
    if not seasons:
        raise UsageError("--seasons: no season given")
    return seasons


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    return commands.seed(settings, parse_seasons(args.seasons), args.seed)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    if not (args.box_scores or args.availability or args.lineups or args.schedule or args.lines):
        raise UsageError(
            "import: give --box-scores PATH..., --schedule PATH..., --availability PATH..., "
            "--lineups PATH... and/or --lines PATH..."
        )
    return importing.import_box_scores(
        settings,
        input_files("--box-scores", args.box_scores),
        input_files("--availability", args.availability),
        input_files("--lineups", args.lineups),
        args.new_player or (),
        input_files("--schedule", args.schedule),
        input_files("--lines", args.lines),
    )


def _features(args: argparse.Namespace, settings: Settings) -> int:
    start, end = parse_range(args)
    return commands.build_features(settings, start, end)


def _status(args: argparse.Namespace, settings: Settings) -> int:
    return commands.status(settings)


def _models(args: argparse.Namespace, settings: Settings) -> int:
    return commands.models(settings)


def _grade(args: argparse.Namespace, settings: Settings) -> int:
    start, end = parse_range(args)
    return commands.grade(settings, start, end, output_directory("--report", args.report))


def _train(args: argparse.Namespace, settings: Settings) -> int:
    end = parse_date("--train-end", args.train_end)
    start = parse_date("--train-start", args.train_start) if args.train_start else None
    if start and start > end:
        raise UsageError(f"--train-start {start} is after --train-end {end}")
    return commands.train(settings, start, end, output_directory("--out", args.out))


def backfill_dates(args: argparse.Namespace) -> list[date] | None:
    """--dates D,D or --start/--end (every calendar day; the driver keeps the game days)."""
    if args.dates is not None and (args.start or args.end):
        raise UsageError("give either --dates or --start/--end, not both")
    if args.dates is not None:
        dates = sorted({parse_date("--dates", d.strip()) for d in args.dates.split(",") if d.strip()})
        if not dates:
            raise UsageError(f"--dates: {args.dates!r} names no date (use YYYY-MM-DD,YYYY-MM-DD)")
        return dates
    if bool(args.start) != bool(args.end):
        raise UsageError("--start and --end go together")
    if not args.start:
        return None
    start, end = parse_range(args)
    # No game date lies outside the warehouse's all-dates bounds: a range of any width costs the days
    # between them at most (a dry run over 0001-01-01 … 9999-12-31 answers at once).
    start, end = max(start, EARLIEST_DATE), min(end, LATEST_DATE)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    dates = backfill_dates(args)
    systems = [s.strip() for s in args.systems.split(",")] if args.systems else None
    if args.model:
        model = settings.model.model_copy(update={"policy": "pinned", "version": args.model})
        settings = settings.model_copy(update={"model": model})
    return commands.backfill(
        commands.with_systems(settings, systems),
        dates,
        resume=args.resume,
        dry_run=args.dry_run,
        train=args.train,
        show_progress=not args.no_progress,
    )


def _predict(args: argparse.Namespace, settings: Settings) -> int:
    day = parse_date("--date", args.date)
    as_of = (
        parse_moment("--as-of", args.as_of, settings.systems.lines.league_timezone) if args.as_of else None
    )
    systems = [s.strip() for s in args.systems.split(",")] if args.systems else None
    return slate.predict(
        commands.with_systems(settings, systems), day, as_of, show_progress=not args.no_progress
    )


def _catch_up(args: argparse.Namespace, settings: Settings) -> int:
    systems = [s.strip() for s in args.systems.split(",")] if args.systems else None
    return commands.catch_up(
        commands.with_systems(settings, systems), dry_run=args.dry_run, show_progress=not args.no_progress
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nba-ray",
        description="Backfill NBA player-points predictions over a warehouse of box scores, on Ray.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="print the traceback of a failure too")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, help_text: str, run: Callable[[argparse.Namespace, Settings], int]
    ) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument(
            "--config", type=Path, default=None, help="YAML configuration (default: the embedded local one)"
        )
        cmd.set_defaults(run=run)
        return cmd

    def run_options(cmd: argparse.ArgumentParser) -> None:
        """What every command that runs a backfill takes."""
        cmd.add_argument("--systems", default=None, help="comma-separated system ids (default: config)")
        cmd.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
        pre_tip(cmd)

    def pre_tip(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--pre-tip",
            action="store_true",
            help="with the announced starting lineups: the pre-tip model and its own predictions",
        )

    def date_range(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--start", required=True, help="first game date, YYYY-MM-DD")
        cmd.add_argument("--end", required=True, help="last game date, YYYY-MM-DD")

    seed = command("seed", "Simulate a synthetic league into the warehouse (deterministic).", _seed)
    seed.add_argument("--seasons", default="2021-22,2022-23", help="comma-separated, e.g. 2021-22,2022-23")
    seed.add_argument("--seed", type=int, default=7, help="random seed of the simulation")

    imp = command(
        "import", "Import box scores, availability, lineup and lines feeds (CSV or Parquet).", _import
    )
    imp.add_argument("--box-scores", nargs="+", metavar="PATH", help="box-score CSV or Parquet files")
    imp.add_argument(
        "--availability",
        nargs="+",
        metavar="PATH",
        help="injury reports: OUT / DOUBTFUL / QUESTIONABLE / PROBABLE / AVAILABLE per player",
    )
    imp.add_argument("--lineups", nargs="+", metavar="PATH", help="lineup feeds: the five starters per team")
    imp.add_argument(
        "--schedule",
        nargs="+",
        metavar="PATH",
        help="coming games: game_date, home_team_abbr, away_team_abbr (or nba_api's ScheduleLeagueV2 frame)",
    )
    imp.add_argument(
        "--new-player",
        action="append",
        metavar="NAME",
        help="admit a player no team has yet (a feed's other names must match a player of their team)",
    )
    imp.add_argument(
        "--lines",
        nargs="+",
        metavar="PATH",
        help="points-line snapshots (or an odds feed's player_points rows)",
    )

    date_range(command("features", "Build ml_feature_store for the game dates in a range.", _features))

    train = command("train", "Train xgboost_v1 walk-forward on feature rows joined to actual points.", _train)
    train.add_argument("--train-end", required=True, help="last game date used for training")
    train.add_argument("--train-start", default=None, help="first game date used (default: all earlier)")
    train.add_argument("--out", type=Path, default=None, help="also export the model to this directory")
    pre_tip(train)

    backfill = command(
        "backfill",
        "Predict every game date in a range on Ray and write the predictions (resumable).",
        _backfill,
    )
    backfill.add_argument("--start", default=None, help="first date, YYYY-MM-DD")
    backfill.add_argument("--end", default=None, help="last date, YYYY-MM-DD")
    backfill.add_argument("--dates", default=None, help="comma-separated dates instead of a range")
    run_options(backfill)
    backfill.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="redo only dates missing, failed or stale (default), or redo them all",
    )
    backfill.add_argument(
        "--dry-run", action="store_true", help="list each date that would run and why, write nothing"
    )
    backfill.add_argument(
        "--model", default=None, metavar="VERSION", help="pin one registered model (default: one per season)"
    )
    backfill.add_argument(
        "--train",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train the season models the registry lacks first (default), or refuse (--no-train)",
    )
    predict = command(
        "predict",
        "Predict a game day's games that have not tipped off, and keep what was issued.",
        _predict,
    )
    predict.add_argument("--date", required=True, help="the game date, YYYY-MM-DD")
    predict.add_argument(
        "--as-of",
        default=None,
        metavar="TIME",
        help="the run's clock (default now; YYYY-MM-DDTHH:MM in the league's time zone unless an offset is "
        "given): games tipping off by then are left out, and only reports and lines filed by then are used",
    )
    run_options(predict)
    catch_up = command(
        "catch-up",
        "Backfill every game date with feature rows, redoing only what is missing, failed or stale.",
        _catch_up,
    )
    catch_up.add_argument("--dry-run", action="store_true", help="list each date to redo and why, then stop")
    run_options(catch_up)
    grade = command(
        "grade", "Grade predictions in a range against box scores; print the table, write a report.", _grade
    )
    date_range(grade)
    grade.add_argument(
        "--report", type=Path, default=None, metavar="DIR", help="write report.md and plots here"
    )
    pre_tip(grade)
    pre_tip(command("status", "Show table counts, backfill checkpoints and the model.", _status))
    command("models", "List the model registry.", _models)
    command(
        "upgrade",
        "Bring a warehouse made by an older nba-ray to this version; says what remains to run.",
        lambda args, settings: upgrade(settings),
    )
    return parser


BAD_INPUT: tuple[type[BaseException], ...] = (
    UsageError,
    ConfigError,
    BoxScoreError,
    commands.CommandError,
    ModelContractError,
    WalkForwardError,
    MissingModels,
    WarehouseOutdated,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        settings = load_settings(args.config)
        if getattr(args, "pre_tip", False):
            settings = commands.with_mode(settings, PRE_TIP)
        return args.run(args, settings)
    except KeyboardInterrupt:  # before a backfill's own signal handling starts (it exits 130 itself)
        print(f"nba-ray {args.command}: interrupted; rerun the same command", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if args.debug:
            traceback.print_exc()
        bad_input = isinstance(err, BAD_INPUT)
        word = "error" if bad_input else "failed"
        print(f"nba-ray {args.command}: {word}: {failure_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT if bad_input else EXIT_FAILED


def run() -> None:
    """The `nba-ray` executable: `main`, then an exit that does not wait for a local Ray to wind down."""
    driver.end_ray_with_process()
    driver.exit_now(main())


if __name__ == "__main__":
    run()
