"""Table schemas (SYSTEMS.md §1): the single definition both warehouse backends create tables from.

Each table is an Arrow schema plus its unique key. Backends translate Arrow types to their own DDL,
and every Arrow table written to the warehouse is cast to these schemas first, so a column can never
be added, renamed or retyped in one place only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from nba_ray.features.contract import FEATURE_NAMES, STANDARD, ZONE_CONTEXT_COLUMNS


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: name, Arrow schema and unique key (also the clustering columns).

    `filled_on_migration`: the value a column added by a later version takes on the rows an earlier
    version wrote, where NULL would be wrong (a key column, or one that names what made a row)."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    filled_on_migration: Mapping[str, str] = field(default_factory=dict)

    @property
    def partitioned_by_date(self) -> bool:
        return "game_date" in self.schema.names

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


def _fields(*pairs: tuple[str, pa.DataType]) -> list[pa.Field]:
    return [pa.field(name, dtype) for name, dtype in pairs]


_STAT_COLUMNS = (
    "points",
    "fg_made",
    "fg_attempted",
    "three_pt_made",
    "three_pt_attempted",
    "ft_made",
    "ft_attempted",
    "offensive_rebounds",
    "defensive_rebounds",
    "rebounds",
    "assists",
    "steals",
    "blocks",
    "turnovers",
    "personal_fouls",
    "plus_minus",
)

PLAYER_GAME_SUMMARY = TableSpec(
    "player_game_summary",
    pa.schema(
        _fields(
            ("season", pa.string()),
            ("game_id", pa.string()),
            ("game_date", pa.date32()),
            ("team_abbr", pa.string()),
            ("opponent_team_abbr", pa.string()),
            ("is_home", pa.bool_()),
            ("player_id", pa.string()),
            ("player_name", pa.string()),
            ("player_lookup", pa.string()),
            ("starter", pa.bool_()),
            ("minutes_played", pa.float64()),
        )
        + _fields(*((name, pa.int64()) for name in _STAT_COLUMNS))
        + _fields(("dnp", pa.bool_()), ("dnp_reason", pa.string()))
    ),
    ("game_id", "player_lookup"),
)
STAT_COLUMNS: tuple[str, ...] = _STAT_COLUMNS

ML_FEATURE_STORE = TableSpec(
    "ml_feature_store",
    pa.schema(
        _fields(
            ("game_date", pa.date32()),
            ("player_lookup", pa.string()),
            ("feature_version", pa.string()),
            ("season", pa.string()),
            ("game_id", pa.string()),
            ("player_id", pa.string()),
            ("team_abbr", pa.string()),
            ("opponent_team_abbr", pa.string()),
        )
        + _fields(*((name, pa.float64()) for name in FEATURE_NAMES))
        + _fields(*((name, pa.float64()) for name in ZONE_CONTEXT_COLUMNS))
        + _fields(
            ("feature_quality_score", pa.float64()),
            ("games_in_history", pa.int64()),
            ("data_source", pa.string()),
            ("availability_source", pa.string()),
            ("lineup_source", pa.string()),
        )
    ),
    ("game_date", "player_lookup", "feature_version"),
)

PROP_LINES = TableSpec(
    "prop_lines",
    pa.schema(
        _fields(
            ("game_date", pa.date32()),
            ("player_lookup", pa.string()),
            ("bookmaker", pa.string()),
            ("snapshot_ts", pa.timestamp("us", tz="UTC")),
            ("points_line", pa.float64()),
            ("over_price", pa.int64()),
            ("under_price", pa.int64()),
        )
    ),
    ("game_date", "player_lookup", "bookmaker", "snapshot_ts"),
)

PLAYER_PROP_PREDICTIONS = TableSpec(
    "player_prop_predictions",
    pa.schema(
        _fields(
            ("prediction_id", pa.string()),
            ("system_id", pa.string()),
            ("system_version", pa.string()),
            ("game_date", pa.date32()),
            ("game_id", pa.string()),
            ("player_lookup", pa.string()),
            ("player_id", pa.string()),
            ("team_abbr", pa.string()),
            ("opponent_team_abbr", pa.string()),
            ("predicted_points", pa.float64()),
            ("confidence_score", pa.float64()),
            ("recommendation", pa.string()),
            ("line_value", pa.float64()),
            ("line_source", pa.string()),
            ("line_margin", pa.float64()),
            ("similar_games_count", pa.int64()),
            ("avg_similarity_score", pa.float64()),
            ("contributing_systems", pa.string()),
            ("prediction_variance", pa.float64()),
            ("feature_version", pa.string()),
            ("feature_quality_score", pa.float64()),
            ("availability_source", pa.string()),
            ("model_version", pa.string()),
            # standard / pre_tip (features/contract.py MODES): each mode's predictions are kept apart.
            ("prediction_mode", pa.string()),
            ("run_id", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            # The system's model state the prediction was made under (`grading/state.py`; NULL before
            # any grading), why a blocked system's call was turned into PASS, and the system's own call
            # (what `recommendation` was before that: the market grades the system on it).
            ("model_state", pa.string()),
            ("state_reason", pa.string()),
            ("system_recommendation", pa.string()),
        )
    ),
    ("game_date", "player_lookup", "system_id", "prediction_mode"),
    {"prediction_mode": STANDARD},
)

# Every prediction issued before its game, with the time of the run that issued it (`as_of`): append-only,
# never replaced, so what a user could act on before tip-off stays to be graded beside the backfill.
ISSUED_PREDICTIONS = TableSpec(
    "issued_predictions",
    pa.schema([*PLAYER_PROP_PREDICTIONS.schema, pa.field("as_of", pa.timestamp("us", tz="UTC"))]),
    (*PLAYER_PROP_PREDICTIONS.key, "as_of"),
)

PREDICTION_ACCURACY = TableSpec(
    "prediction_accuracy",
    pa.schema(
        _fields(
            ("game_date", pa.date32()),
            ("player_lookup", pa.string()),
            ("system_id", pa.string()),
            ("game_id", pa.string()),
            ("predicted_points", pa.float64()),
            ("actual_points", pa.float64()),
            ("confidence_score", pa.float64()),
            ("recommendation", pa.string()),
            ("system_recommendation", pa.string()),
            ("line_value", pa.float64()),
            ("line_source", pa.string()),
            # The closing snapshot's prices of the real line graded against (NULL without one).
            ("over_price", pa.int64()),
            ("under_price", pa.int64()),
            ("absolute_error", pa.float64()),
            ("signed_error", pa.float64()),
            ("within_3_points", pa.bool_()),
            ("within_5_points", pa.bool_()),
            ("predicted_margin", pa.float64()),
            ("actual_margin", pa.float64()),
            ("prediction_correct", pa.bool_()),
            ("confidence_decile", pa.int64()),
            ("minutes_played", pa.float64()),
            ("blend_points", pa.float64()),
            ("is_voided", pa.bool_()),
            ("void_reason", pa.string()),
            ("prediction_mode", pa.string()),
            ("graded_at", pa.timestamp("us", tz="UTC")),
        )
    ),
    ("game_date", "player_lookup", "system_id", "prediction_mode"),
    {"prediction_mode": STANDARD},
)

# The market, day by day (`grading/market.py`): per game date, system and mode, the system and the real
# line on the same graded rows (n, MAE, OVER/UNDER calls and hits), the same over the trailing
# MARKET_WINDOWS days, and the model state that follows from them (`grading/state.py`). Rows with
# estimated lines are not in it: they are no market.
MARKET_WINDOWS: tuple[int, ...] = (7, 14)
MODEL_STATES: tuple[str, ...] = ("healthy", "watch", "degrading", "blocked")
MARKET_DAILY = TableSpec(
    "market_daily",
    pa.schema(
        _fields(
            ("game_date", pa.date32()),
            ("system_id", pa.string()),
            ("prediction_mode", pa.string()),
            ("n", pa.int64()),
            ("model_mae", pa.float64()),
            ("line_mae", pa.float64()),
            ("calls", pa.int64()),
            ("hits", pa.int64()),
            ("hit_rate", pa.float64()),
        )
        + _fields(
            *(
                (f"{name}_{days}d", dtype)
                for days in MARKET_WINDOWS
                for name, dtype in (
                    ("n", pa.int64()),
                    ("model_mae", pa.float64()),
                    ("line_mae", pa.float64()),
                    ("calls", pa.int64()),
                    ("hit_rate", pa.float64()),
                )
            )
        )
        + _fields(
            ("model_state", pa.string()),
            ("state_reason", pa.string()),
            ("updated_at", pa.timestamp("us", tz="UTC")),
        )
    ),
    ("game_date", "system_id", "prediction_mode"),
)

BACKFILL_CHECKPOINTS = TableSpec(
    "backfill_checkpoints",
    pa.schema(
        _fields(
            ("run_key", pa.string()),
            ("game_date", pa.date32()),
            ("status", pa.string()),
            ("players", pa.int64()),
            ("predictions", pa.int64()),
            ("skipped", pa.int64()),
            ("load_seconds", pa.float64()),
            ("predict_seconds", pa.float64()),
            ("write_seconds", pa.float64()),
            ("error", pa.string()),
            ("attempt", pa.int64()),
            ("run_id", pa.string()),
            ("updated_at", pa.timestamp("us", tz="UTC")),
            # What a settled date was computed from (`backfill/freshness.py`), as JSON.
            ("inputs", pa.string()),
        )
    ),
    ("run_key", "game_date"),
)

# Who is available tonight (SYSTEMS.md §1). Derived from box scores on import (source BOX_SCORE:
# AVAILABLE or OUT, reported_at NULL: nothing was reported) or loaded from injury reports (source FEED:
# the official report's statuses, least to most likely to play; each report a snapshot at its
# reported_at, of which a read takes the latest known at its time).
AVAILABILITY_OUT, AVAILABILITY_DOUBTFUL, AVAILABILITY_QUESTIONABLE = "OUT", "DOUBTFUL", "QUESTIONABLE"
AVAILABILITY_PROBABLE, AVAILABILITY_AVAILABLE = "PROBABLE", "AVAILABLE"
AVAILABILITY_STATUSES: tuple[str, ...] = (
    AVAILABILITY_OUT,
    AVAILABILITY_DOUBTFUL,
    AVAILABILITY_QUESTIONABLE,
    AVAILABILITY_PROBABLE,
    AVAILABILITY_AVAILABLE,
)
# Other words for a status: ACTIVE, the feeds' and the warehouse's word for AVAILABLE before the report's.
AVAILABILITY_ALIASES: dict[str, str] = {"ACTIVE": AVAILABILITY_AVAILABLE}
SOURCE_BOX_SCORE, SOURCE_FEED = "BOX_SCORE", "FEED"
AVAILABILITY_SOURCES: tuple[str, ...] = (SOURCE_BOX_SCORE, SOURCE_FEED)
PLAYER_AVAILABILITY = TableSpec(
    "player_availability",
    pa.schema(
        _fields(
            ("game_date", pa.date32()),
            ("team_abbr", pa.string()),
            ("player_lookup", pa.string()),
            ("status", pa.string()),
            ("source", pa.string()),
            ("reported_at", pa.timestamp("us", tz="UTC")),
        )
    ),
    ("game_date", "team_abbr", "player_lookup"),
)

# Who starts tonight: one row per announced starter (SYSTEMS.md §1). Derived from the box scores'
# `starter` on import (source BOX_SCORE) or loaded from a lineups feed before tip-off (source FEED); a
# team-date with no rows has no announced lineup.
STARTING_LINEUPS = TableSpec(
    "starting_lineups",
    pa.schema(
        _fields(
            ("game_date", pa.date32()),
            ("team_abbr", pa.string()),
            ("player_lookup", pa.string()),
            ("source", pa.string()),
            ("reported_at", pa.timestamp("us", tz="UTC")),
        )
    ),
    ("game_date", "team_abbr", "player_lookup"),
)
STARTERS_PER_TEAM = 5

# The league's games, played and coming (SYSTEMS.md §1): derived from the box scores on import (source
# BOX_SCORE, status FINAL, reported_at NULL) or loaded from a schedule file (source FEED). One row per
# game and source; a read prefers the box scores' row of a game that has one.
GAME_SCHEDULED, GAME_POSTPONED, GAME_FINAL = "SCHEDULED", "POSTPONED", "FINAL"
GAME_STATUSES: tuple[str, ...] = (GAME_SCHEDULED, GAME_POSTPONED, GAME_FINAL)
SCHEDULED_GAMES = TableSpec(
    "scheduled_games",
    pa.schema(
        _fields(
            ("game_id", pa.string()),
            ("game_date", pa.date32()),
            ("season", pa.string()),
            ("home_team_abbr", pa.string()),
            ("away_team_abbr", pa.string()),
            ("tip_time_utc", pa.timestamp("us", tz="UTC")),
            ("status", pa.string()),
            ("source", pa.string()),
            ("reported_at", pa.timestamp("us", tz="UTC")),
        )
    ),
    ("game_date", "home_team_abbr", "away_team_abbr", "source"),
)

# One row per (input, date): the digest of that date's rows of an input table, written with them
# (`warehouse/fingerprints.py`), so a backfill can tell which done dates were computed from other data.
INPUT_FINGERPRINTS = TableSpec(
    "input_fingerprints",
    pa.schema(
        _fields(
            ("input", pa.string()),
            ("game_date", pa.date32()),
            ("fingerprint", pa.string()),
            ("row_count", pa.int64()),
            ("updated_at", pa.timestamp("us", tz="UTC")),
        )
    ),
    ("input", "game_date"),
)

# One row per trained model: what it was trained on and how, its validation figures, and the model itself
# (`artifact`: the booster's bytes; `metadata`: the artifact's full metadata as JSON). Predictors get
# models from here through the object store, so no node ever needs a model file.
MODEL_REGISTRY = TableSpec(
    "model_registry",
    pa.schema(
        _fields(
            ("model_version", pa.string()),
            ("system_id", pa.string()),
            ("feature_version", pa.string()),
            ("train_start", pa.date32()),
            ("train_end", pa.date32()),
            ("mode", pa.string()),  # standard / pre_tip: the inputs the model was trained on
            ("row_count", pa.int64()),  # not `rows`: a reserved word in GoogleSQL
            ("validation_mae", pa.float64()),
            ("validation_bias", pa.float64()),
            ("validation_blend_mae", pa.float64()),
            ("params", pa.string()),
            ("library_version", pa.string()),
            ("sha256", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("metadata", pa.string()),
            ("artifact", pa.binary()),
        )
    ),
    ("model_version",),
    {"mode": STANDARD},
)
# The registry's columns without the artifact bytes: what listing and lookups read.
MODEL_REGISTRY_LISTING: tuple[str, ...] = tuple(
    name for name in MODEL_REGISTRY.columns if name not in ("metadata", "artifact")
)

TABLES: tuple[TableSpec, ...] = (
    PLAYER_GAME_SUMMARY,
    PLAYER_AVAILABILITY,
    STARTING_LINEUPS,
    SCHEDULED_GAMES,
    ML_FEATURE_STORE,
    PROP_LINES,
    PLAYER_PROP_PREDICTIONS,
    ISSUED_PREDICTIONS,
    PREDICTION_ACCURACY,
    MARKET_DAILY,
    BACKFILL_CHECKPOINTS,
    INPUT_FINGERPRINTS,
    MODEL_REGISTRY,
)
TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}
# What the warehouse says about itself (`warehouse/versions.py`): one row per key, e.g. its version.
# Not one of `TABLES` (no data of the league's, not counted by `status`), but created with them.
WAREHOUSE_INFO = TableSpec(
    "warehouse_info",
    pa.schema(
        _fields(("key", pa.string()), ("value", pa.string()), ("updated_at", pa.timestamp("us", tz="UTC")))
    ),
    ("key",),
)
STORED_TABLES: tuple[TableSpec, ...] = (*TABLES, WAREHOUSE_INFO)


def conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Select and cast `table`'s columns to `spec`'s schema; a missing column is an error."""
    missing = [name for name in spec.schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"{spec.name}: missing column(s) {', '.join(missing)}")
    return table.select(spec.schema.names).cast(spec.schema)


# What `Warehouse.load_date` returns beside the feature rows (not stored tables: query results).
# History: a player's recent played games, each with the context its own feature row had then
# (NULL where that game had no feature row), for the similarity system.
HISTORY_LIMIT_GAMES = 30
HISTORY_WINDOW_DAYS = 90
HISTORY_CONTEXT_COLUMNS: tuple[str, ...] = (
    "days_rest",
    "opponent_def_rating_last_15",
    "points_avg_last_5",
    "points_avg_season",
    "league_def_rating_p33",
    "league_def_rating_p67",
)
HISTORY_SCHEMA = pa.schema(
    _fields(
        ("player_lookup", pa.string()),
        ("game_date", pa.date32()),
        ("points", pa.float64()),
        ("minutes_played", pa.float64()),
        ("is_home", pa.bool_()),
    )
    + _fields(*((name, pa.float64()) for name in HISTORY_CONTEXT_COLUMNS))
)
# Lines: the latest snapshot per (player, bookmaker) known at the date's tip-off (the closing line).
LINE_SNAPSHOT_SCHEMA = pa.schema(
    _fields(
        ("player_lookup", pa.string()),
        ("bookmaker", pa.string()),
        ("snapshot_ts", pa.timestamp("us", tz="UTC")),
        ("points_line", pa.float64()),
    )
)
