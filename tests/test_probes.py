"""Hostile input, as a user would try it: each probe ends in one line naming its cause, with exit code 2
for bad input and 1 for failed work, before any work is done and with no traceback (that is `--debug`'s)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nba_ray.commands import refresh_features, seed_league, within_local_cpus
from nba_ray.config import RaySettings, Settings
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.conftest import mounted_tmpfs

BIN = Path(sys.executable).parent
SEASONS = ["2021-22", "2022-23"]
# Features for the second season only: its model has nothing to train on.
SECOND_SEASON = ("2022-07-01", "2023-07-01")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("probes")
    with DuckDBWarehouse(directory / "nba.duckdb") as warehouse:
        seed_league(warehouse, SEASONS, 7)
        refresh_features(
            warehouse, date.fromisoformat(SECOND_SEASON[0]), date.fromisoformat(SECOND_SEASON[1])
        )
        box = warehouse.read_box_scores().to_pandas()
    (directory / "config.yaml").write_text(f"warehouse:\n  path: {directory / 'nba.duckdb'}\n")
    (directory / "a-file").write_text("not a folder\n")
    player = box.loc[box["team_abbr"] == "BOS", "player_name"].iloc[-1]  # a real player of the team
    for year in (1950, 2099):
        (directory / f"feed-{year}.csv").write_text(
            f"game_date,team_abbr,player_name,status\n{year}-01-05,BOS,{player},OUT\n"
        )
    (directory / "max-actors.yaml").write_text(
        f"warehouse:\n  path: {directory / 'nba.duckdb'}\nray:\n  max_actors: 100000000\n"
    )
    (directory / "list.yaml").write_text("warehouse: [1, 2]\n")
    (directory / "folder").mkdir()
    return directory


def nba_ray(
    directory: Path, argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command, *rest = argv
    if "--config" not in rest:
        rest = ["--config", str(directory / "config.yaml"), *rest]
    return subprocess.run(
        [str(BIN / "nba-ray"), command, *rest],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=directory,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **(env or {})},
    )


PROBES: list[tuple[str, list[str], dict[str, str], int, list[str]]] = [
    ("dry run over every date", ["backfill", "--dry-run", "--start", "0001-01-01", "--end", "9999-12-31"],
     {}, 2, ["season 2021-22", "is the first the warehouse holds"]),
    ("max_actors absurd", ["status", "--config", "max-actors.yaml"], {}, 2,
     ["max-actors.yaml: ray.max_actors", "less than or equal to 4096"]),
    ("section is a list", ["status", "--config", "list.yaml"], {"NBA_RAY_WAREHOUSE__PATH": "x.duckdb"}, 2,
     ["list.yaml: warehouse: must be a mapping"]),
    ("config is a folder", ["status", "--config", "folder"], {}, 2, ["config file folder is a directory"]),
    ("unknown variable", ["status"], {"NBA_RAY_NOSUCH__KEY": "1"}, 2,
     ["environment variable NBA_RAY_NOSUCH__KEY: unknown key"]),
    ("variables that clash", ["status"],
     {"NBA_RAY_WAREHOUSE__PATH": "x", "NBA_RAY_WAREHOUSE__PATH__DEEP": "y"}, 2,
     ["NBA_RAY_WAREHOUSE__PATH__DEEP: NBA_RAY_WAREHOUSE__PATH already sets warehouse.path"]),
    # Before any season the warehouse knows, no player was on the team yet: refused by the feed's
    # own player check (file and row), before the dates are looked at.
    ("feed dated 1950", ["import", "--availability", "feed-1950.csv"], {}, 2,
     ["feed-1950.csv: row 2", "is no known player of BOS"]),
    ("feed dated 2099", ["import", "--availability", "feed-2099.csv"], {}, 2, ["2099-01-05 is in no season"]),
    ("folder as box scores", ["import", "--box-scores", "folder"], {}, 2,
     ["--box-scores folder: is a directory, not a file"]),
    ("report onto a file",
     ["grade", "--start", "2023-01-01", "--end", "2023-01-31", "--report", "a-file"], {}, 2,
     ["--report a-file: exists and is not a directory"]),
    ("model onto a file", ["train", "--train-end", "2023-01-15", "--out", "a-file"], {}, 2,
     ["--out a-file: exists and is not a directory"]),
    ("catch-up that cannot train", ["catch-up", "--no-progress"], {}, 1,
     ["no feature rows with actual points up to 2022-10-17"]),
    ("its dry run", ["catch-up", "--dry-run"], {}, 2,
     ["model of season 2022-23 cannot be trained: no feature rows with actual points up to 2022-10-17"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "env", "code", "words"), [p[1:] for p in PROBES], ids=[p[0] for p in PROBES]
)
def test_probe_gives_one_line_and_its_exit_code(
    seeded: Path, argv: list[str], env: dict[str, str], code: int, words: list[str]
) -> None:
    before = (seeded / "nba.duckdb").stat().st_size
    result = nba_ray(seeded, argv, env)
    assert result.returncode == code, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("nba-ray ")]  # beside logs
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"nba-ray {argv[0]}: ")
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in result.stdout + result.stderr and "RayTaskError" not in result.stderr
    assert (seeded / "nba.duckdb").stat().st_size == before


def test_debug_adds_the_traceback(seeded: Path) -> None:
    result = nba_ray(seeded, ["import", "--availability", "feed-1950.csv"])
    debug = subprocess.run(
        [str(BIN / "nba-ray"), "--debug", "import", "--config", str(seeded / "config.yaml"), "--availability",
         "feed-1950.csv"],
        capture_output=True, text=True, timeout=300, cwd=seeded,
    )  # fmt: skip
    assert debug.returncode == result.returncode == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == result.stderr.strip()


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "read-only", "ro,size=1m") as folder:
        yield folder


@pytest.mark.parametrize(
    "argv",
    [
        ["grade", "--start", "2023-01-01", "--end", "2023-01-31", "--report"],
        ["train", "--train-end", "2023-01-15", "--out"],
    ],
    ids=["grade", "train"],
)
def test_a_read_only_output_folder_is_refused_before_work(
    seeded: Path, read_only_folder: Path, argv: list[str]
) -> None:
    result = nba_ray(seeded, [*argv, str(read_only_folder / "out")])
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"nba-ray {argv[0]}: error: {argv[-1]} {read_only_folder / 'out'}: {read_only_folder} is not writable"
    )
    assert "trained" not in result.stdout and "graded" not in result.stdout  # nothing was done first


def test_an_import_names_the_features_it_made_out_of_date(seeded: Path, tmp_path: Path) -> None:
    settings_path = tmp_path / "nba.duckdb"
    settings_path.write_bytes((seeded / "nba.duckdb").read_bytes())
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings_path}\n")
    with DuckDBWarehouse(settings_path) as warehouse:
        games = warehouse.read_box_scores(date(2023, 3, 1), date(2023, 3, 1))
        last = warehouse.feature_dates()[-1]
    game = games.filter(pc.equal(games["game_id"], games["game_id"][0]))
    pq.write_table(game, tmp_path / "same.parquet")
    corrected = game  # one more free throw made by every player of the game, points included
    for column in ("points", "ft_made", "ft_attempted"):
        corrected = corrected.set_column(
            corrected.schema.get_field_index(column), column, pc.add(corrected[column], 1)
        )
    pq.write_table(corrected, tmp_path / "corrected.parquet")
    run = lambda name: subprocess.run(  # noqa: E731
        [str(BIN / "nba-ray"), "import", "--config", str(config), "--box-scores", str(tmp_path / name)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    same = run("same.parquet")
    assert same.returncode == 0 and "out of date" not in same.stdout and "rebuild" not in same.stdout
    fixed = run("corrected.parquet")
    assert fixed.returncode == 0, fixed.stderr
    with DuckDBWarehouse(settings_path, read_only=True) as warehouse:
        later = [d for d in warehouse.feature_dates() if d >= date(2023, 3, 1)]
    assert (
        f"this import changed inputs of the features of {len(later)} game date(s) (2023-03-01 → {last}): "
        f"rebuild them with `nba-ray features --start 2023-03-01 --end {last}`, then `nba-ray catch-up`"
    ) in fixed.stdout


def test_a_local_run_caps_its_actors_at_its_cpus(capsys: pytest.CaptureFixture[str]) -> None:
    cpus = len(os.sched_getaffinity(0))
    asked = Settings(ray=RaySettings(num_actors=cpus + 62))
    capped = within_local_cpus(asked)
    assert capped.ray.num_actors == cpus
    assert capsys.readouterr().out.strip() == (
        f"ray.num_actors {cpus + 62}: this machine has {cpus} CPU(s) for a local run, 1 per actor: "
        f"running {cpus} actor(s)"
    )
    joining = Settings(ray=RaySettings(num_actors=cpus + 62, address="auto"))
    assert within_local_cpus(joining) is joining  # a cluster's nodes may join: its size is its own


def test_a_feed_for_a_season_only_the_schedule_names_is_accepted(seeded: Path, tmp_path: Path) -> None:
    """The season bound admits the seasons a schedule names: a coming season's first report imports with
    (or after) its schedule, while the same report alone is refused naming its date."""
    folder = tmp_path / "coming"
    folder.mkdir()
    (folder / "nba.duckdb").write_bytes((seeded / "nba.duckdb").read_bytes())
    (folder / "config.yaml").write_text(f"warehouse:\n  path: {folder / 'nba.duckdb'}\n")
    player = (seeded / "feed-2099.csv").read_text().splitlines()[1].split(",")[2]
    (folder / "feed.csv").write_text(f"game_date,team_abbr,player_name,status\n2023-10-24,BOS,{player},OUT\n")
    (folder / "schedule.csv").write_text("game_date,home_team_abbr,away_team_abbr\n2023-10-24,BOS,NYK\n")

    alone = nba_ray(folder, ["import", "--availability", "feed.csv"])
    assert alone.returncode == 2
    assert "2023-10-24 is in no season the warehouse knows" in alone.stderr

    both = nba_ray(folder, ["import", "--schedule", "schedule.csv", "--availability", "feed.csv"])
    assert both.returncode == 0, both.stderr[-2000:]
    with DuckDBWarehouse(folder / "nba.duckdb", read_only=True) as warehouse:
        stored = warehouse.read_availability(date(2023, 10, 24), date(2023, 10, 24)).to_pylist()
    assert [(row["team_abbr"], row["status"]) for row in stored] == [("BOS", "OUT")]
