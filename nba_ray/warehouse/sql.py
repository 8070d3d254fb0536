"""The warehouse's SQL, written once for both backends.

Queries are built from SQL text that never contains a data value: every value travels as a typed
parameter. The few things that differ between DuckDB and BigQuery (how a parameter, a list membership
and a table are spelled) are the `Dialect`'s job, so each query below exists exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from nba_ray.warehouse.schemas import (
    BACKFILL_CHECKPOINTS,
    HISTORY_CONTEXT_COLUMNS,
    HISTORY_LIMIT_GAMES,
    HISTORY_SCHEMA,
    INPUT_FINGERPRINTS,
    LINE_SNAPSHOT_SCHEMA,
    ML_FEATURE_STORE,
    PLAYER_GAME_SUMMARY,
    PLAYER_PROP_PREDICTIONS,
    PROP_LINES,
)

ParamValue = str | int | float | bool | date | datetime | None


@dataclass(frozen=True)
class Param:
    """A typed query parameter; `array` marks a list used with `Dialect.in_list`."""

    name: str
    value: ParamValue | Sequence[ParamValue]
    type: str  # BigQuery type name: STRING, INT64, FLOAT64, BOOL, DATE, TIMESTAMP
    array: bool = False


@dataclass(frozen=True)
class Between:
    """An inclusive range condition for `where` clauses."""

    low: ParamValue
    high: ParamValue


@dataclass(frozen=True)
class KeysIn:
    """The row's values of `columns` are one of the tuples `keys`: a composite key membership, such as
    the team-dates a feed covers, without the cross product of two IN lists. Values are texts, dates or
    timestamps (compared to the microsecond)."""

    columns: tuple[str, ...]
    keys: Sequence[tuple[str | date | datetime, ...]]

    def texts(self) -> list[str]:
        return [KEY_SEPARATOR.join(_key_text(value) for value in key) for key in self.keys]

    def timestamps(self) -> list[bool]:
        """Which columns hold timestamps (told by the first key's values)."""
        return [isinstance(value, datetime) for value in self.keys[0]]


def _key_text(value: str | date | datetime) -> str:
    if isinstance(value, datetime):
        return str((value - _EPOCH) // timedelta(microseconds=1))
    return str(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Joins a composite key's values into one text; it cannot occur in a team code or an ISO date.
KEY_SEPARATOR = "|"

# A condition's name is its column, except for `KeysIn`, which names its own columns.
Condition = Mapping[str, Sequence[ParamValue] | Between | KeysIn | ParamValue]
# The alias of the table an atomic replace deletes from: conditions name its columns explicitly, because
# in BigQuery's MERGE an unqualified column could also be the staging table's.
REPLACE_TARGET = "stored"


class Dialect(Protocol):
    def param(self, name: str) -> str:
        """How a named parameter is referenced in SQL text."""
        ...

    def in_list(self, column: str, name: str) -> str:
        """`column` is one of the values of the array parameter `name`."""
        ...

    def table(self, name: str) -> str:
        """The fully qualified, quoted reference to a project table."""
        ...

    def epoch_micros(self, column: str) -> str:
        """The microseconds since 1970-01-01 UTC of the timestamp `column`, as an integer."""
        ...

    @property
    def float_type(self) -> str:
        """The name of the 64-bit float type in CAST expressions."""
        ...


def param_type(value: ParamValue) -> str:
    """The BigQuery type of a Python value (bool before int: bool is an int subclass)."""
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    return "STRING"


@dataclass(frozen=True)
class Query:
    sql: str
    params: tuple[Param, ...] = ()


def where(dialect: Dialect, condition: Condition, alias: str | None = None, prefix: str = "w") -> Query:
    """`a IN (...) AND b BETWEEN ... AND c = ...` (columns of `alias` when given), values as parameters
    (named from `prefix`: conditions run in one statement need different ones)."""
    clauses: list[str] = []
    params: list[Param] = []
    for i, (name_of_column, value) in enumerate(condition.items()):
        column = f"{alias}.{name_of_column}" if alias else name_of_column
        name = f"{prefix}{i}"
        if isinstance(value, Between):
            clauses.append(f"{column} BETWEEN {dialect.param(name + 'lo')} AND {dialect.param(name + 'hi')}")
            params += [
                Param(name + "lo", value.low, param_type(value.low)),
                Param(name + "hi", value.high, param_type(value.high)),
            ]
        elif isinstance(value, KeysIn):
            if not value.keys:
                raise ValueError(f"no keys for {name_of_column}: nothing would match")
            qualifier = f"{alias}." if alias else ""
            exprs = [
                dialect.epoch_micros(f"{qualifier}{c}") if stamp else f"{qualifier}{c}"
                for c, stamp in zip(value.columns, value.timestamps(), strict=True)
            ]
            parts = f", '{KEY_SEPARATOR}', ".join(f"CAST({expr} AS STRING)" for expr in exprs)
            clauses.append(dialect.in_list(f"CONCAT({parts})", name))
            params.append(Param(name, value.texts(), "STRING", array=True))
        elif isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"empty value list for {column}: nothing would match")
            clauses.append(dialect.in_list(column, name))
            params.append(Param(name, list(value), param_type(value[0]), array=True))
        else:
            clauses.append(f"{column} = {dialect.param(name)}")
            params.append(Param(name, value, param_type(value)))
    return Query(" AND ".join(clauses), tuple(params))


def select_where(
    dialect: Dialect,
    table: str,
    condition: Condition,
    order_by: str = "",
    columns: Sequence[str] = (),
) -> Query:
    """`SELECT columns (default *) FROM table WHERE condition ORDER BY order_by`."""
    clause = where(dialect, condition) if condition else Query("TRUE")
    order = f" ORDER BY {order_by}" if order_by else ""
    selected = ", ".join(columns) if columns else "*"
    return Query(f"SELECT {selected} FROM {dialect.table(table)} WHERE {clause.sql}{order}", clause.params)


def fill_nulls(dialect: Dialect, table: str, column: str, value: str) -> Query:
    """`UPDATE table SET column = value WHERE column IS NULL`: a migrated column on the old rows."""
    return Query(
        f"UPDATE {dialect.table(table)} SET {column} = {dialect.param('value')} WHERE {column} IS NULL",
        (Param("value", value, "STRING"),),
    )


def played_dates(dialect: Dialect, start: date, end: date) -> Query:
    """The dates of [start, end] with box scores."""
    return Query(
        f"SELECT DISTINCT game_date FROM {dialect.table(PLAYER_GAME_SUMMARY.name)} "
        f"WHERE game_date BETWEEN {dialect.param('start')} AND {dialect.param('end')} ORDER BY game_date",
        (Param("start", start, "DATE"), Param("end", end, "DATE")),
    )


def game_dates(dialect: Dialect, start: date, end: date, feature_version: str) -> Query:
    """The dates of [start, end] with box scores or feature rows of `feature_version`: a coming game's
    rows are built (and predicted) before its box scores exist."""
    span = f"game_date BETWEEN {dialect.param('start')} AND {dialect.param('end')}"
    return Query(
        f"SELECT DISTINCT game_date FROM (SELECT game_date FROM {dialect.table(PLAYER_GAME_SUMMARY.name)} "
        f"WHERE {span} UNION ALL SELECT game_date FROM {dialect.table(ML_FEATURE_STORE.name)} "
        f"WHERE {span} AND feature_version = {dialect.param('v')}) AS dated ORDER BY game_date",
        (Param("start", start, "DATE"), Param("end", end, "DATE"), Param("v", feature_version, "STRING")),
    )


def freshness(dialect: Dialect, run_key: str, start: date, end: date) -> Query:
    """A run key's checkpoints and every input fingerprint of [start, end], as one result (one round
    trip on BigQuery): `kind` 'checkpoint' rows carry (status, inputs, attempt), 'input' rows carry
    (input, fingerprint, row_count) in the same three columns."""
    span = f"game_date BETWEEN {dialect.param('start')} AND {dialect.param('end')}"
    return Query(
        f"SELECT 'checkpoint' AS kind, game_date, status AS name, inputs AS value, attempt AS n "
        f"FROM {dialect.table(BACKFILL_CHECKPOINTS.name)} WHERE run_key = {dialect.param('key')} AND {span} "
        f"UNION ALL SELECT 'input' AS kind, game_date, input AS name, fingerprint AS value, row_count AS n "
        f"FROM {dialect.table(INPUT_FINGERPRINTS.name)} WHERE {span}",
        (Param("key", run_key, "STRING"), Param("start", start, "DATE"), Param("end", end, "DATE")),
    )


def feature_dates(dialect: Dialect, feature_version: str) -> Query:
    return Query(
        f"SELECT DISTINCT game_date FROM {dialect.table(ML_FEATURE_STORE.name)} "
        f"WHERE feature_version = {dialect.param('v')} ORDER BY game_date",
        (Param("v", feature_version, "STRING"),),
    )


def outdated_features(dialect: Dialect, feature_version: str) -> Query:
    """Per older feature contract: the game dates that have its rows but none of `feature_version`,
    their span, and the predictions stored for those dates (they were made from the older rows)."""
    features = dialect.table(ML_FEATURE_STORE.name)
    predictions = dialect.table(PLAYER_PROP_PREDICTIONS.name)
    v = dialect.param("v")
    return Query(
        "WITH old AS (SELECT DISTINCT feature_version, game_date FROM "
        f"{features} WHERE feature_version != {v} AND game_date NOT IN "
        f"(SELECT game_date FROM {features} WHERE feature_version = {v})), "
        f"made AS (SELECT game_date, COUNT(*) AS n FROM {predictions} "
        "WHERE game_date IN (SELECT game_date FROM old) GROUP BY game_date) "
        "SELECT old.feature_version AS feature_version, COUNT(*) AS dates, "
        "MIN(old.game_date) AS first_date, MAX(old.game_date) AS last_date, "
        "COALESCE(SUM(made.n), 0) AS predictions "
        "FROM old LEFT JOIN made ON made.game_date = old.game_date "
        "GROUP BY old.feature_version ORDER BY first_date",
        (Param("v", feature_version, "STRING"),),
    )


def season_bounds(dialect: Dialect) -> Query:
    """Each season's first and last game date, in order."""
    return Query(
        "SELECT season, MIN(game_date) AS first_date, MAX(game_date) AS last_date "
        f"FROM {dialect.table(PLAYER_GAME_SUMMARY.name)} GROUP BY season ORDER BY first_date"
    )


def date_players(dialect: Dialect, game_date: date, feature_version: str) -> Query:
    return Query(
        f"SELECT player_lookup FROM {dialect.table(ML_FEATURE_STORE.name)} "
        f"WHERE game_date = {dialect.param('d')} AND feature_version = {dialect.param('v')} "
        "ORDER BY player_lookup",
        (Param("d", game_date, "DATE"), Param("v", feature_version, "STRING")),
    )


def feature_counts(dialect: Dialect, start: date, end: date, feature_version: str) -> Query:
    """How many feature rows (players) each date of [start, end] has."""
    return Query(
        f"SELECT game_date, COUNT(*) AS n FROM {dialect.table(ML_FEATURE_STORE.name)} "
        f"WHERE game_date BETWEEN {dialect.param('start')} AND {dialect.param('end')} "
        f"AND feature_version = {dialect.param('v')} GROUP BY game_date",
        (Param("start", start, "DATE"), Param("end", end, "DATE"), Param("v", feature_version, "STRING")),
    )


def players_with_history(dialect: Dialect, game_date: date) -> Query:
    """How many of the date's box-score players have a played game before it (any season): the feature
    builder gives a row to exactly those, so 0 means the date has nothing to predict from."""
    table = dialect.table(PLAYER_GAME_SUMMARY.name)
    return Query(
        f"SELECT COUNT(DISTINCT today.player_lookup) AS players FROM {table} AS today "
        f"JOIN {table} AS before ON before.player_lookup = today.player_lookup "
        f"AND before.game_date < today.game_date AND before.minutes_played > 0 "
        f"WHERE today.game_date = {dialect.param('d')}",
        (Param("d", game_date, "DATE"),),
    )


def _dates_and_players(
    dialect: Dialect, column: str, dates: Sequence[date], players: Sequence[str] | None, player_column: str
) -> tuple[str, tuple[Param, ...]]:
    """`column` on one of `dates` (and `player_column` one of `players`, when given)."""
    clause = dialect.in_list(column, "dates")
    params = [Param("dates", list(dates), "DATE", array=True)]
    if players is not None:
        clause += f" AND {dialect.in_list(player_column, 'players')}"
        params.append(Param("players", list(players), "STRING", array=True))
    return clause, tuple(params)


def features_for(dialect: Dialect, game_date: date, players: Sequence[str], feature_version: str) -> Query:
    return block_features(dialect, [game_date], feature_version, players)


def block_features(
    dialect: Dialect, dates: Sequence[date], feature_version: str, players: Sequence[str] | None = None
) -> Query:
    """The feature rows of `dates` (of `players` only, when given)."""
    clause, params = _dates_and_players(dialect, "game_date", dates, players, "player_lookup")
    return Query(
        f"SELECT * FROM {dialect.table(ML_FEATURE_STORE.name)} "
        f"WHERE {clause} AND feature_version = {dialect.param('v')}",
        (*params, Param("v", feature_version, "STRING")),
    )


def history_for(
    dialect: Dialect, game_date: date, players: Sequence[str], since: date, feature_version: str
) -> Query:
    """Each player's last played games in [since, game_date), with that game's feature-row context."""
    return block_history(dialect, [game_date], since, feature_version, players)


def block_history(
    dialect: Dialect,
    dates: Sequence[date],
    since: date,
    feature_version: str,
    players: Sequence[str] | None = None,
) -> Query:
    """For every player with a feature row on one of `dates` (one of `players`, when given): the last
    played games in [since, that date), with each game's feature-row context; `as_of` is the date a
    row is history for. Each date's own window starts later than `since` for all but the first date:
    the caller cuts it (the cut keeps exactly the most recent games inside the window, as the limit
    is taken newest first)."""
    context = ", ".join(f"f.{name}" for name in HISTORY_CONTEXT_COLUMNS)
    features = dialect.table(ML_FEATURE_STORE.name)
    clause, params = _dates_and_players(dialect, "t.game_date", dates, players, "t.player_lookup")
    return Query(
        f"SELECT as_of, {', '.join(HISTORY_SCHEMA.names)} FROM ("
        f"SELECT t.game_date AS as_of, g.player_lookup, g.game_date, "
        f"CAST(g.points AS {dialect.float_type}) AS points, g.minutes_played, g.is_home, {context}, "
        "ROW_NUMBER() OVER (PARTITION BY t.game_date, g.player_lookup ORDER BY g.game_date DESC) AS recency "
        f"FROM {features} AS t "
        f"JOIN {dialect.table(PLAYER_GAME_SUMMARY.name)} AS g "
        "ON g.player_lookup = t.player_lookup AND g.game_date < t.game_date "
        f"LEFT JOIN {features} AS f "
        f"ON f.player_lookup = g.player_lookup AND f.game_date = g.game_date "
        f"AND f.feature_version = {dialect.param('v')} "
        f"WHERE {clause} AND t.feature_version = {dialect.param('v')} "
        f"AND g.game_date >= {dialect.param('since')} AND g.minutes_played > 0"
        f") AS recent WHERE recency <= {HISTORY_LIMIT_GAMES}",
        (*params, Param("since", since, "DATE"), Param("v", feature_version, "STRING")),
    )


def lines_for(dialect: Dialect, game_date: date, players: Sequence[str], tip: datetime) -> Query:
    """The latest snapshot per (player, bookmaker) for the date known at its tip; the systems apply
    bookmaker priority."""
    return block_lines(dialect, {game_date: tip}, players)


def block_lines(
    dialect: Dialect, tips: Mapping[date, datetime], players: Sequence[str] | None = None
) -> Query:
    """The latest snapshot per (date, player, bookmaker) of the dates of `tips` (of `players`, when
    given) taken at or before the date's tip-off (`nba_ray/clock.py`): the closing line. A snapshot after
    tip never reaches a prediction; a per-game tip time replaces the per-date one here."""
    dates = sorted(tips)
    clause, params = _dates_and_players(dialect, "game_date", dates, players, "player_lookup")
    bound = " ".join(
        f"WHEN {dialect.param(f'tip_d{i}')} THEN {dialect.param(f'tip_t{i}')}" for i in range(len(dates))
    )
    tip_params = [
        param
        for i, day in enumerate(dates)
        for param in (Param(f"tip_d{i}", day, "DATE"), Param(f"tip_t{i}", tips[day], "TIMESTAMP"))
    ]
    return Query(
        f"SELECT game_date, {', '.join(LINE_SNAPSHOT_SCHEMA.names)} FROM ("
        "SELECT game_date, player_lookup, bookmaker, snapshot_ts, points_line, "
        "ROW_NUMBER() OVER (PARTITION BY game_date, player_lookup, bookmaker ORDER BY snapshot_ts DESC) "
        f"AS latest FROM {dialect.table(PROP_LINES.name)} WHERE {clause} "
        f"AND snapshot_ts <= CASE game_date {bound} END"
        ") AS snapshots WHERE latest = 1",
        (*params, *tip_params),
    )


def training_rows(dialect: Dialect, start: date, end: date, feature_version: str) -> Query:
    """Feature rows joined to the points actually scored, for played games only."""
    return Query(
        f"SELECT f.*, CAST(g.points AS {dialect.float_type}) AS actual_points, "
        "g.minutes_played AS actual_minutes "
        f"FROM {dialect.table(ML_FEATURE_STORE.name)} AS f "
        f"JOIN {dialect.table(PLAYER_GAME_SUMMARY.name)} AS g "
        "ON g.game_id = f.game_id AND g.player_lookup = f.player_lookup "
        f"WHERE f.game_date BETWEEN {dialect.param('start')} AND {dialect.param('end')} "
        f"AND f.feature_version = {dialect.param('v')} AND g.minutes_played > 0 "
        "ORDER BY f.game_date, f.player_lookup",
        (Param("start", start, "DATE"), Param("end", end, "DATE"), Param("v", feature_version, "STRING")),
    )


def count_rows(dialect: Dialect, table: str) -> Query:
    return Query(f"SELECT COUNT(*) AS n FROM {dialect.table(table)}")
