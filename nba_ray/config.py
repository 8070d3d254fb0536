"""Typed, validated configuration: YAML file, then `NBA_RAY_<SECTION>__<KEY>` environment variables.

The defaults are the embedded local configuration (`configs/local.yaml` says the same, and a test keeps
the two equal), so every command works with no file at all. Unknown keys are errors, and warehouse
identifiers are validated here so that no project, dataset or table name can ever carry SQL.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nba_ray.data.availability import ROTATION_GAMES
from nba_ray.systems.settings import SystemsSettings, XGBoostTrainParams
from nba_ray.warehouse.schemas import (
    AVAILABILITY_AVAILABLE,
    AVAILABILITY_DOUBTFUL,
    AVAILABILITY_OUT,
    AVAILABILITY_PROBABLE,
    AVAILABILITY_QUESTIONABLE,
    AVAILABILITY_STATUSES,
    MARKET_WINDOWS,
)

ENV_PREFIX = "NBA_RAY_"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


# More actors than any cluster nba-ray runs on has CPUs: a larger count is a typo, refused before work
# (it would stall the run sizing an autoscaler request for that many).
MAX_ACTORS = 4096


class ConfigError(ValueError):
    """A configuration problem, worded as one actionable line."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseSettings(_Section):
    kind: Literal["duckdb", "bigquery"] = "duckdb"
    # DuckDB: the embedded warehouse file. Relative paths are relative to the working directory.
    path: Path = Path("data/nba.duckdb")
    # BigQuery: credentials always come from Google's default credentials, never from here.
    project: str | None = None
    dataset: str = "nba"
    location: str = "US"
    api_endpoint: str | None = None
    storage_endpoint: str | None = None
    maximum_bytes_billed: int | None = Field(default=None, gt=0)
    labels: dict[str, str] = Field(default_factory=lambda: {"app": "nba-ray"})

    @field_validator("dataset")
    @classmethod
    def _dataset_is_identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"dataset {value!r} is not a valid BigQuery dataset id (letters, digits, _)")
        return value

    @field_validator("project")
    @classmethod
    def _project_is_identifier(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT_ID.match(value):
            raise ValueError(f"project {value!r} is not a valid Google Cloud project id")
        return value

    @field_validator("labels")
    @classmethod
    def _labels_are_valid(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            if not _LABEL.match(key) or (label and not re.match(r"^[a-z0-9_-]{0,63}$", label)):
                raise ValueError(f"label {key}={label!r} is not a valid BigQuery job label")
        return value


class RaySettings(_Section):
    # None: start a local Ray bound to 127.0.0.1; "auto" or ray://… joins an existing cluster.
    address: str | None = None
    # None: one actor per CPU the cluster has (re-read as nodes join).
    num_actors: int | None = Field(default=None, ge=1, le=MAX_ACTORS)
    max_actors: int = Field(default=64, ge=1, le=MAX_ACTORS)
    cpus_per_actor: float = Field(default=1.0, gt=0)
    # Player chunks per actor per date: enough to balance, few enough to keep call overhead small.
    chunks_per_actor: int = Field(default=2, ge=1)
    # A date is split only into chunks of at least this many players: a smaller date goes to one actor
    # whole (several dates are predicted at once, so the pool stays busy without paying per-call costs).
    min_players_per_chunk: int = Field(default=200, ge=1)
    # A date that finishes no chunk for this long re-sends its chunks to other actors.
    stall_seconds: float = Field(default=60.0, gt=0)
    # How long a date waits for a first actor to answer (a cloud node booting) before it fails.
    actor_start_timeout_seconds: float = Field(default=900.0, gt=0)
    actor_max_restarts: int = Field(default=3, ge=0)
    actor_max_task_retries: int = Field(default=3, ge=0)
    dashboard_host: str = "127.0.0.1"
    include_dashboard: bool = False


class BatchingSettings(_Section):
    # Above this many players a date's queries run as concurrent chunks.
    chunk_size: int = Field(default=250, ge=1)
    max_concurrent_chunks: int = Field(default=4, ge=1)
    query_timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    # Blocks of dates loaded, predicting or being written at once; bounds driver and object-store memory.
    in_flight_dates: int = Field(default=3, ge=1)
    # A backfill loads, predicts and writes blocks of consecutive game dates of at most this many
    # feature rows (players × dates) each; a bigger date is a block of its own.
    block_rows: int = Field(default=3000, ge=1)


class ModelSettings(_Section):
    """Which registered `xgboost_v1` model predicts each date (models live in the warehouse's registry).

    `per_season` (default): each date is predicted by the model trained on every game before its
    season; the backfill trains the seasons' models the registry lacks. `pinned`: one model, `version`
    (`--model VERSION`), for every date; it must have been trained before the first of them."""

    policy: Literal["per_season", "pinned"] = "per_season"
    version: str | None = None
    training: XGBoostTrainParams = XGBoostTrainParams()

    @model_validator(mode="after")
    def _pinned_names_its_model(self) -> ModelSettings:
        if (self.policy == "pinned") != (self.version is not None):
            raise ValueError("policy pinned and version go together (give both, or neither)")
        return self


_LEAGUE_PLAY_PROBABILITY: dict[str, float] = {
    AVAILABILITY_OUT: 0.0,
    AVAILABILITY_DOUBTFUL: 0.25,
    AVAILABILITY_QUESTIONABLE: 0.5,
    AVAILABILITY_PROBABLE: 0.75,
    AVAILABILITY_AVAILABLE: 1.0,
}


class AvailabilitySettings(_Section):
    """How likely a player of each injury-report status is to play. The defaults are the league's own
    definitions of its statuses (Probable 75 %, Questionable 50 %, Doubtful 25 %) until past reports
    choose better ones; OUT never plays and AVAILABLE always can."""

    play_probability: dict[str, float] = Field(default_factory=lambda: dict(_LEAGUE_PLAY_PROBABILITY))
    # Statuses whose players get no prediction.
    unpredicted: tuple[str, ...] = (AVAILABILITY_OUT, AVAILABILITY_DOUBTFUL)
    # A coming game's roster: the players who played for the team in its last this-many games.
    roster_games: int = Field(default=ROTATION_GAMES, ge=1)

    @field_validator("unpredicted", mode="before")
    @classmethod
    def _statuses_in_capitals(cls, value: object) -> object:
        return tuple(str(status).upper() for status in value) if isinstance(value, (list, tuple)) else value

    @field_validator("unpredicted")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(AVAILABILITY_STATUSES))
        if unknown:
            raise ValueError(
                f"unknown status(es) {', '.join(unknown)} (use {', '.join(AVAILABILITY_STATUSES)})"
            )
        return value

    @field_validator("play_probability", mode="before")
    @classmethod
    def _over_the_defaults(cls, value: object) -> object:
        """A file or variable may set some statuses; the others keep their defaults."""
        if not isinstance(value, dict):
            return value
        given = {str(status).upper(): probability for status, probability in value.items()}
        return {**_LEAGUE_PLAY_PROBABILITY, **given}

    @field_validator("play_probability")
    @classmethod
    def _every_status_in_order(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(AVAILABILITY_STATUSES))
        if unknown:
            raise ValueError(
                f"unknown status(es) {', '.join(unknown)} (use {', '.join(AVAILABILITY_STATUSES)})"
            )
        ordered = [value[status] for status in AVAILABILITY_STATUSES]
        if any(not 0.0 <= p <= 1.0 for p in ordered) or ordered != sorted(ordered):
            raise ValueError(
                f"probabilities must lie in [0, 1] and not fall from {' to '.join(AVAILABILITY_STATUSES)}"
            )
        return value


class StateThreshold(_Section):
    hit_rate_below: float = Field(ge=0.0, le=1.0)
    mae_gap_above: float


class ModelStateSettings(_Section):
    """When a system is healthy, on watch, degrading or blocked (`grading/state.py`), from its trailing
    `window_days` (one of `MARKET_WINDOWS`) against real lines: a level is reached when the hit rate is
    below its floor or the MAE gap to the line above its ceiling, on at least `min_calls` calls. Watch
    starts at the −110 break-even (52.4 %); a blocked system recommends PASS."""

    window_days: int = MARKET_WINDOWS[-1]
    min_calls: int = Field(default=40, ge=1)
    recovery_days: int = Field(default=3, ge=1)
    watch: StateThreshold = StateThreshold(hit_rate_below=110 / 210, mae_gap_above=0.25)
    degrading: StateThreshold = StateThreshold(hit_rate_below=0.50, mae_gap_above=0.50)
    blocked: StateThreshold = StateThreshold(hit_rate_below=0.47, mae_gap_above=1.00)

    @model_validator(mode="after")
    def _stricter_each_level(self) -> ModelStateSettings:
        if self.window_days not in MARKET_WINDOWS:
            raise ValueError(f"window_days must be one of {list(MARKET_WINDOWS)}")
        levels = (self.watch, self.degrading, self.blocked)
        if any(
            a.hit_rate_below < b.hit_rate_below or a.mae_gap_above > b.mae_gap_above
            for a, b in itertools.pairwise(levels)
        ):
            raise ValueError("thresholds must get stricter from watch to degrading to blocked")
        return self


class Settings(_Section):
    warehouse: WarehouseSettings = WarehouseSettings()
    ray: RaySettings = RaySettings()
    batching: BatchingSettings = BatchingSettings()
    systems: SystemsSettings = SystemsSettings()
    model: ModelSettings = ModelSettings()
    availability: AvailabilitySettings = AvailabilitySettings()
    model_states: ModelStateSettings = ModelStateSettings()


def load_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (or the defaults), apply environment overrides, validate; ConfigError on any problem."""
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except IsADirectoryError:
            raise ConfigError(f"config file {path} is a directory, not a file") from None
        except (PermissionError, UnicodeDecodeError) as err:
            raise ConfigError(f"config file {path} cannot be read: {err}".splitlines()[0]) from None
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path} is not valid YAML: {err}".splitlines()[0]) from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections")
        raw = loaded
    for section, value in raw.items():
        if section in Settings.model_fields and not isinstance(value, dict):
            raise ConfigError(f"{source}: {section}: must be a mapping of settings, not {value!r}")
    from_env = _apply_env(raw, os.environ if environ is None else environ)
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        loc = tuple(str(part) for part in err.errors()[0]["loc"])
        variable = _blamed(loc, from_env)
        where = f"environment variable {variable}" if variable else f"{source}: {'.'.join(loc)}"
        raise ConfigError(f"{where}: {validation_reason(err)}") from None


def _blamed(loc: tuple[str, ...], from_env: Mapping[tuple[str, ...], str]) -> str | None:
    """The variable behind an error: the one that set the key at (or above) the error's location, else
    the only variable inside a section the error is about (a rule across its keys); with several, the
    error is the section's, so no single variable is blamed."""
    exact = [name for keys, name in from_env.items() if loc[: len(keys)] == keys]
    if exact:
        return exact[0]
    inside = [name for keys, name in from_env.items() if keys[: len(loc)] == loc]
    return inside[0] if len(inside) == 1 else None


def validation_reason(err: ValidationError) -> str:
    """The first problem pydantic found, as plain words (no error-type codes, no help URL)."""
    first = err.errors()[0]
    if first["type"] == "extra_forbidden":
        return "unknown key"
    return str(first["msg"]).removeprefix("Value error, ")


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """`NBA_RAY_WAREHOUSE__PATH=/x` sets raw['warehouse']['path']; values are parsed as YAML scalars.
    Returns which variable set which key, so that a bad value is reported by the variable's name."""
    applied: dict[tuple[str, ...], str] = {}
    # Sorted, so that the outcome never depends on the order of the environment: shorter key paths
    # first, and a variable inside a key another variable set is refused whichever comes first.
    ours = sorted(
        ((tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__")), name, value)
         for name, value in environ.items() if name.startswith(ENV_PREFIX) and "__" in name),
    )  # fmt: skip
    for keys, name, value in ours:
        if not all(keys):
            raise ConfigError(f"environment variable {name}: empty key (use NBA_RAY_<SECTION>__<KEY>)")
        clash = next((other for done, other in applied.items() if keys[: len(done)] == done), None)
        if clash:
            raise ConfigError(f"environment variable {name}: {clash} already sets {'.'.join(keys[:-1])}")
        node = raw
        for depth, key in enumerate(keys[:-1]):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(
                    f"environment variable {name}: {'.'.join(keys[: depth + 1])} is not a section"
                )
        node[keys[-1]] = yaml.safe_load(value) if value else value
        applied[keys] = name
    return applied
