"""The Warehouse interface: everything nba-ray reads or writes, for any backend.

A backend implements four primitives (run a query, atomically replace rows, create tables, close);
everything else, including the batch loader that fetches one date's data in a few chunked, concurrent,
retried queries, lives here once. The backfill, training, grading and the CLI only ever talk to this
class, so DuckDB and BigQuery cannot drift apart in behaviour.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.features.contract import FEATURE_VERSION, STANDARD
from nba_ray.warehouse import sql
from nba_ray.warehouse.batches import BLOCK_HISTORY_SCHEMA, BLOCK_LINES_SCHEMA, BlockBatch, DateBatch
from nba_ray.warehouse.errors import QueryTimeout, TransientWarehouseError, WarehouseError
from nba_ray.warehouse.fingerprints import by_date, date_fingerprints, input_name
from nba_ray.warehouse.lines_tables import LinesAndMarket
from nba_ray.warehouse.reports import latest_reports
from nba_ray.warehouse.schemas import (
    AVAILABILITY_ALIASES,
    BACKFILL_CHECKPOINTS,
    HISTORY_SCHEMA,
    HISTORY_WINDOW_DAYS,
    INPUT_FINGERPRINTS,
    LINE_SNAPSHOT_SCHEMA,
    ML_FEATURE_STORE,
    MODEL_REGISTRY,
    MODEL_REGISTRY_LISTING,
    PLAYER_AVAILABILITY,
    PLAYER_GAME_SUMMARY,
    PLAYER_PROP_PREDICTIONS,
    PREDICTION_ACCURACY,
    SCHEDULED_GAMES,
    SOURCE_BOX_SCORE,
    STARTING_LINEUPS,
    TABLES,
    TableSpec,
    conform,
)

if TYPE_CHECKING:
    from nba_ray.config import BatchingSettings

log = logging.getLogger(__name__)
# What one feed report covers: a team's date (availability, lineups) or one game (the schedule).
_TEAM_DATE = ("game_date", "team_abbr")
_TEAM_REPORT = (*_TEAM_DATE, "reported_at")
_GAME = ("game_date", "home_team_abbr", "away_team_abbr")
# How predictions and their grades are read back: by date, player, system, then mode.
_BY_PLAYER_SYSTEM = "game_date, player_lookup, system_id, prediction_mode"
T = TypeVar("T")
# Bounds for "every date": reads without a range use them instead of a second, unbounded query.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Replacement:
    """`rows` (conformed to `spec`) replacing the rows of `spec` that match `condition` (whose columns
    are qualified by `sql.REPLACE_TARGET`)."""

    spec: TableSpec
    rows: pa.Table
    condition: sql.Query


class Warehouse(LinesAndMarket, ABC):
    """Shared behaviour on top of a backend's primitives. Use as a context manager to close it."""

    dialect: sql.Dialect

    def __init__(self, batching: BatchingSettings) -> None:
        self.batching = batching

    # ---- primitives a backend implements -------------------------------------------------------
    @abstractmethod
    def _run(self, query: sql.Query, timeout: float | None = None) -> pa.Table:
        """Run one query; raise QueryTimeout / TransientWarehouseError / WarehouseError on failure."""

    @abstractmethod
    def _replace(self, replacements: Sequence[Replacement]) -> None:
        """Carry out every replacement (delete the matching rows, insert the new ones) atomically: all
        of them or, on any failure, none."""

    @abstractmethod
    def ensure_tables(self) -> None:
        """Create every table of `schemas.TABLES` that does not exist yet."""

    @abstractmethod
    def close(self) -> None: ...

    @staticmethod
    def columns_to_add(spec: TableSpec, existing: Sequence[str], where: str) -> list[pa.Field]:
        """The schema's columns a table created by an earlier version lacks (added as nullable, so the
        table's old rows read as NULL there). A column the schema does not know is not ours to drop."""
        unknown = [name for name in existing if name not in spec.columns]
        if unknown:
            raise WarehouseError(
                f"table {where} has column(s) {', '.join(unknown)} that nba-ray's {spec.name} schema does "
                "not: migrate or drop it"
            )
        return [field for field in spec.schema if field.name not in existing]

    def fill_added(self, spec: TableSpec, added: Sequence[pa.Field]) -> None:
        """Give the old rows of just-added columns their `filled_on_migration` value (a backend calls
        this right after adding them)."""
        for field in added:
            value = spec.filled_on_migration.get(field.name)
            if value is not None:
                self.query(sql.fill_nulls(self.dialect, spec.name, field.name, value))

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- queries with retries --------------------------------------------------------------------
    def query(self, query: sql.Query, schema: pa.Schema | None = None) -> pa.Table:
        """Run a query with retries on transient errors; cast the result to `schema` when given."""
        result = self._with_retries(lambda: self._run(query, self.batching.query_timeout_seconds))
        return result.select(schema.names).cast(schema) if schema is not None else result

    def _with_retries(self, attempt: Callable[[], T], retry_timeouts: bool = True) -> T:
        retries = self.batching.max_retries
        for number in range(retries + 1):
            try:
                return attempt()
            except QueryTimeout:
                if not retry_timeouts or number == retries:
                    raise
            except TransientWarehouseError as err:
                if number == retries:
                    raise WarehouseError(f"gave up after {retries + 1} attempts: {err}") from err
                log.warning("transient warehouse error (attempt %d): %s", number + 1, err)
            time.sleep(self.batching.retry_backoff_seconds * 2**number)
        raise AssertionError("unreachable")

    def _read(
        self, spec: TableSpec, condition: sql.Condition, order_by: str = "", columns: Sequence[str] = ()
    ) -> pa.Table:
        query = sql.select_where(self.dialect, spec.name, condition, order_by, columns)
        schema = pa.schema([spec.schema.field(name) for name in columns]) if columns else spec.schema
        return self.query(query, schema)

    def _replace_where(self, spec: TableSpec, rows: pa.Table, condition: sql.Condition) -> int:
        replacement = self._replacement(spec, rows, condition)
        self._with_retries(lambda: self._replace([replacement]))
        return replacement.rows.num_rows

    def _replacement(
        self, spec: TableSpec, rows: pa.Table, condition: sql.Condition, prefix: str = "w"
    ) -> Replacement:
        where = sql.where(self.dialect, condition, alias=sql.REPLACE_TARGET, prefix=prefix)
        return Replacement(spec, conform(rows, spec), where)

    # ---- box scores, lines, features -------------------------------------------------------------
    def replace_box_scores(self, rows: pa.Table) -> int:
        """Store box scores, replacing every game they contain (re-importing never duplicates)."""
        game_ids = pc.unique(rows.column("game_id")).to_pylist()
        return self._replace_where(PLAYER_GAME_SUMMARY, rows, {"game_id": game_ids})

    def read_box_scores(self, start: date | None = None, end: date | None = None) -> pa.Table:
        low, high = start or EARLIEST_DATE, end or LATEST_DATE
        return self._read(PLAYER_GAME_SUMMARY, {"game_date": sql.Between(low, high)}, "game_date, game_id")

    def replace_availability(self, rows: pa.Table, source: str) -> int:
        """Store availability rows of one `source`; see `_replace_reported` for what they replace."""
        return self._replace_reported(PLAYER_AVAILABILITY, rows, source, _TEAM_REPORT)

    def read_availability(
        self, start: date | None = None, end: date | None = None, as_of: datetime | None = None
    ) -> pa.Table:
        """Availability of [start, end]: the box scores' rows and each team-date's latest injury report
        reported at or before `as_of` (None: the latest of all); ACTIVE read as AVAILABLE."""
        rows = latest_reports(self._read_reported(PLAYER_AVAILABILITY, start, end), _TEAM_DATE, as_of)
        status = rows["status"]
        for word, meaning in AVAILABILITY_ALIASES.items():
            status = pc.if_else(pc.equal(status, word), meaning, status)
        return rows.set_column(rows.schema.get_field_index("status"), "status", status)

    def replace_lineups(self, rows: pa.Table, source: str) -> int:
        """Store starting lineups of one `source`, as availability."""
        return self._replace_reported(STARTING_LINEUPS, rows, source, _TEAM_REPORT)

    def read_lineups(
        self, start: date | None = None, end: date | None = None, as_of: datetime | None = None
    ) -> pa.Table:
        """Lineups of [start, end], as availability: each team-date's latest report at `as_of`."""
        return latest_reports(self._read_reported(STARTING_LINEUPS, start, end), _TEAM_DATE, as_of)

    def replace_schedule(self, rows: pa.Table, source: str) -> int:
        """Store scheduled games of one `source`, as availability (a schedule file replaces its games)."""
        return self._replace_reported(SCHEDULED_GAMES, rows, source, _GAME)

    def read_schedule(
        self, start: date | None = None, end: date | None = None, *, every_source: bool = False
    ) -> pa.Table:
        """Every game of [start, end], one row each: the box scores' row of a played game, else the
        schedule's (`every_source`: the stored rows of both sources)."""
        rows = self._read_reported(SCHEDULED_GAMES, start, end)
        if every_source:
            return rows
        played = rows.filter(pc.equal(rows["source"], SOURCE_BOX_SCORE))
        played_games = {tuple(game.values()) for game in played.select(list(_GAME)).to_pylist()}
        coming = [tuple(game.values()) not in played_games for game in rows.select(list(_GAME)).to_pylist()]
        keep = pc.or_(pc.equal(rows["source"], SOURCE_BOX_SCORE), pa.array(coming, pa.bool_()))
        return rows.filter(keep)

    def _replace_reported(self, spec: TableSpec, rows: pa.Table, source: str, by: tuple[str, ...]) -> int:
        """BOX_SCORE rows are derived from every box score held, so they replace every BOX_SCORE row; a
        feed replaces only its own source's rows of the groups (`by`: a team-date's report at its time, a
        game) it lists, so one team's report never touches another team's rows nor an earlier report, and
        box scores never delete a feed (a read prefers the box scores of a group that has them)."""
        sources = set(pc.unique(rows["source"]).to_pylist())
        if sources - {source}:
            raise ValueError(f"{spec.name}: rows of source(s) {sorted(sources - {source})} given as {source}")
        if source == SOURCE_BOX_SCORE:
            return self._replace_where(spec, rows, {"source": source})
        if rows.num_rows == 0:
            return 0
        groups = sorted({tuple(group.values()) for group in rows.select(list(by)).to_pylist()})
        return self._replace_where(spec, rows, {"source": source, "group": sql.KeysIn(by, groups)})

    def _read_reported(self, spec: TableSpec, start: date | None, end: date | None) -> pa.Table:
        low, high = start or EARLIEST_DATE, end or LATEST_DATE
        order = ", ".join(spec.key)
        return self._read(spec, {"game_date": sql.Between(low, high)}, order)

    def season_bounds(self) -> pa.Table:
        """`season`, `first_date`, `last_date` of every season with box scores, in order."""
        return self.query(sql.season_bounds(self.dialect))

    def game_dates(self, start: date, end: date) -> list[date]:
        """The game days of [start, end]: dates with box scores or feature rows (coming games)."""
        query = sql.game_dates(self.dialect, start, end, FEATURE_VERSION)
        return self.query(query).column("game_date").to_pylist()

    def played_dates(self, start: date, end: date) -> list[date]:
        """The dates of [start, end] with box scores."""
        return self.query(sql.played_dates(self.dialect, start, end)).column("game_date").to_pylist()

    def replace_features(self, rows: pa.Table, start: date, end: date) -> int:
        """Replace the feature rows of every date in [start, end] for the contract's version."""
        condition = {"game_date": sql.Between(start, end), "feature_version": FEATURE_VERSION}
        return self._replace_input(ML_FEATURE_STORE, rows, condition, FEATURE_VERSION)

    def _replace_input(
        self, spec: TableSpec, rows: pa.Table, condition: sql.Condition, version: str | None = None
    ) -> int:
        """Replace an input's rows and the fingerprints of the dates `condition` covers (of the rows a
        prediction can use). The old fingerprints go first: a crash in between leaves those dates
        without one, which reads as changed (redo), never as unchanged."""
        name = input_name(spec, version)
        covered = {"input": name, "game_date": condition["game_date"]}
        self._replace_where(INPUT_FINGERPRINTS, INPUT_FINGERPRINTS.schema.empty_table(), covered)
        conformed = conform(rows, spec)
        written = self._replace_where(spec, conformed, condition)
        used = self.usable(spec, conformed)
        self._replace_where(INPUT_FINGERPRINTS, date_fingerprints(used, spec, name), covered)
        return written

    def read_fingerprints(self, start: date, end: date) -> dict[date, dict[str, str]]:
        """{date: {input: fingerprint}} for every date in [start, end] that has inputs: one query."""
        return by_date(self._read(INPUT_FINGERPRINTS, {"game_date": sql.Between(start, end)}))

    def read_freshness(
        self, run_key: str, start: date, end: date
    ) -> tuple[dict[date, dict[str, Any]], dict[date, dict[str, str]]]:
        """A run key's checkpoints ({date: {status, inputs, attempt}}) and the input fingerprints of
        [start, end] ({date: {input: fingerprint}}), in one query: what a backfill plan needs."""
        checkpoints: dict[date, dict[str, Any]] = {}
        fingerprints: dict[date, dict[str, str]] = {}
        for row in self.query(sql.freshness(self.dialect, run_key, start, end)).to_pylist():
            if row["kind"] == "checkpoint":
                checkpoints[row["game_date"]] = {
                    "status": row["name"],
                    "inputs": row["value"],
                    "attempt": row["n"],
                }
            else:
                fingerprints.setdefault(row["game_date"], {})[row["name"]] = row["value"]
        return checkpoints, fingerprints

    def feature_dates(self) -> list[date]:
        """Every game date with feature rows of the contract's version: what a catch-up run covers."""
        return self.query(sql.feature_dates(self.dialect, FEATURE_VERSION)).column("game_date").to_pylist()

    def read_features(self, start: date, end: date) -> pa.Table:
        condition = {"game_date": sql.Between(start, end), "feature_version": FEATURE_VERSION}
        return self._read(ML_FEATURE_STORE, condition, "game_date, player_lookup")

    def read_training_rows(self, start: date, end: date) -> pa.Table:
        """Feature rows of played games in [start, end] with `actual_points` and `actual_minutes`."""
        return self.query(sql.training_rows(self.dialect, start, end, FEATURE_VERSION))

    # ---- the batch loader ------------------------------------------------------------------------
    def date_players(self, game_date: date) -> list[str]:
        query = sql.date_players(self.dialect, game_date, FEATURE_VERSION)
        return self.query(query).column("player_lookup").to_pylist()

    def feature_counts(self, start: date, end: date) -> dict[date, int]:
        """{date: feature rows} of the dates in [start, end] that have any."""
        table = self.query(sql.feature_counts(self.dialect, start, end, FEATURE_VERSION))
        return dict(zip(table["game_date"].to_pylist(), table["n"].to_pylist(), strict=True))

    def players_with_history(self, game_date: date) -> int:
        """The date's players with a played game before it (see `sql.players_with_history`)."""
        return int(self.query(sql.players_with_history(self.dialect, game_date)).column("players")[0].as_py())

    def load_date(self, game_date: date) -> DateBatch:
        """The date's features, history and lines in a few queries, chunked and concurrent above
        `chunk_size` players; a chunk that times out is split in two and each half loaded again."""
        players = self.date_players(game_date)
        if not players:
            return DateBatch.empty(game_date)
        size = self.batching.chunk_size
        chunks = [players[i : i + size] for i in range(0, len(players), size)]
        if len(chunks) == 1:
            return self._load_adaptive(game_date, chunks[0])
        workers = min(len(chunks), self.batching.max_concurrent_chunks)
        with ThreadPoolExecutor(workers, thread_name_prefix="load-chunk") as pool:
            parts = list(pool.map(lambda chunk: self._load_adaptive(game_date, chunk), chunks))
        return DateBatch.concat(game_date, parts)

    def load_block(self, dates: Sequence[date]) -> BlockBatch:
        """The inputs of a block of game dates in one query per input (three round trips, however
        many dates). A block whose load fails (a timeout, a bad partition) is split in two and each
        half loaded again, down to single dates, which load as `load_date` does (chunked by players):
        one date that cannot be loaded fails alone (in `failed`)."""
        try:
            return self._load_block_queries(dates)
        except WarehouseError as err:
            if len(dates) == 1:
                try:
                    return BlockBatch.of_date(self.load_date(dates[0]))
                except WarehouseError as failure:
                    empty = BlockBatch.of_date(DateBatch.empty(dates[0]))
                    return dataclasses.replace(empty, failed={dates[0]: failure})
            log.info("load of %d dates from %s failed (%s); splitting", len(dates), dates[0], err)
            half = len(dates) // 2
            return BlockBatch.concat([self.load_block(dates[:half]), self.load_block(dates[half:])])

    def _load_block_queries(self, dates: Sequence[date]) -> BlockBatch:
        since = min(dates) - timedelta(days=HISTORY_WINDOW_DAYS)
        features, history, lines = self._load_concurrently(
            (
                (sql.block_features(self.dialect, dates, FEATURE_VERSION), ML_FEATURE_STORE.schema),
                (sql.block_history(self.dialect, dates, since, FEATURE_VERSION), BLOCK_HISTORY_SCHEMA),
                (sql.block_lines(self.dialect, {d: self.tips.tip(d) for d in dates}), BLOCK_LINES_SCHEMA),
            )
        )
        order = pc.sort_indices(
            features, sort_keys=[("game_date", "ascending"), ("player_lookup", "ascending")]
        )
        # Each date's history window starts HISTORY_WINDOW_DAYS before it (the query used the first's).
        window_start = pc.cast(history["as_of"], pa.date32())
        starts = pc.subtract(pc.cast(window_start, pa.int32()), HISTORY_WINDOW_DAYS)
        in_window = pc.greater_equal(pc.cast(history["game_date"], pa.int32()), starts)
        return BlockBatch(tuple(dates), features.take(order), history.filter(in_window), lines)

    def _load_concurrently(self, queries: Sequence[tuple[sql.Query, pa.Schema]]) -> list[pa.Table]:
        """The queries at once; timeouts propagate (not retried) so the caller can split the load."""

        def run(item: tuple[sql.Query, pa.Schema]) -> pa.Table:
            query, schema = item
            timeout = self.batching.query_timeout_seconds
            table = self._with_retries(lambda: self._run(query, timeout), retry_timeouts=False)
            return table.select(schema.names).cast(schema)

        with ThreadPoolExecutor(len(queries), thread_name_prefix="load-query") as pool:
            return list(pool.map(run, queries))

    def _load_adaptive(self, game_date: date, players: Sequence[str]) -> DateBatch:
        try:
            return self.load_players(game_date, players)
        except QueryTimeout as err:
            if len(players) == 1:
                raise WarehouseError(f"loading {players[0]} on {game_date} timed out: {err}") from err
            half = len(players) // 2
            log.info("load of %d players on %s timed out; splitting", len(players), game_date)
            halves = [
                self._load_adaptive(game_date, players[:half]),
                self._load_adaptive(game_date, players[half:]),
            ]
            return DateBatch.concat(game_date, halves)

    def load_players(self, game_date: date, players: Sequence[str]) -> DateBatch:
        """One chunk: the three queries run concurrently; timeouts propagate so the caller can split."""
        since, tip = game_date - timedelta(days=HISTORY_WINDOW_DAYS), self.tips.tip(game_date)
        features, history, lines = self._load_concurrently(
            (
                (
                    sql.features_for(self.dialect, game_date, players, FEATURE_VERSION),
                    ML_FEATURE_STORE.schema,
                ),
                (sql.history_for(self.dialect, game_date, players, since, FEATURE_VERSION), HISTORY_SCHEMA),
                (sql.lines_for(self.dialect, game_date, players, tip), LINE_SNAPSHOT_SCHEMA),
            )
        )
        order = pc.sort_indices(features, sort_keys=[("player_lookup", "ascending")])
        return DateBatch(game_date, features.take(order), history, lines)

    # ---- predictions, grading, checkpoints -------------------------------------------------------
    def write_predictions(
        self,
        rows: pa.Table,
        dates: Sequence[date],
        systems: Sequence[str],
        *,
        mode: str = STANDARD,
        checkpoints: tuple[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> int:
        """One bulk load that atomically replaces the rows of (dates × systems) in `mode` with `rows`
        (the other mode's predictions of the same dates stay). `checkpoints` (a run key and its rows
        for these dates) are written in the same atomic replace: a date is marked done exactly when
        its predictions are in."""
        rows = conform(rows, PLAYER_PROP_PREDICTIONS)
        others = sorted(set(pc.unique(rows["prediction_mode"]).to_pylist()) - {mode}, key=str)
        if others:
            raise ValueError(f"write_predictions in mode {mode!r} got rows of mode(s) {others}")
        condition = {"game_date": list(dates), "system_id": list(systems), "prediction_mode": mode}
        replacements = [self._replacement(PLAYER_PROP_PREDICTIONS, rows, condition)]
        if checkpoints is not None:
            replacements.append(self._checkpoints_replacement(*checkpoints, prefix="c"))
        self._with_retries(lambda: self._replace(replacements))
        return rows.num_rows

    def read_predictions(self, start: date, end: date, *, mode: str | None = None) -> pa.Table:
        """Predictions of [start, end], of one mode when given."""
        return self._read(
            PLAYER_PROP_PREDICTIONS, dated(start, end, mode), "game_date, player_lookup, system_id"
        )

    def replace_accuracy(self, rows: pa.Table, start: date, end: date, *, mode: str = STANDARD) -> int:
        return self._replace_where(PREDICTION_ACCURACY, rows, dated(start, end, mode))

    def read_accuracy(self, start: date, end: date, *, mode: str | None = None) -> pa.Table:
        return self._read(PREDICTION_ACCURACY, dated(start, end, mode), "game_date, player_lookup, system_id")

    def write_checkpoints(self, run_key: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Upsert the checkpoint rows of one run key (one write for a whole group of dates)."""
        replacement = self._checkpoints_replacement(run_key, rows)
        self._with_retries(lambda: self._replace([replacement]))

    def _checkpoints_replacement(
        self, run_key: str, rows: Sequence[Mapping[str, Any]], prefix: str = "w"
    ) -> Replacement:
        table = pa.Table.from_pylist([dict(row) for row in rows], schema=BACKFILL_CHECKPOINTS.schema)
        dates = [row["game_date"] for row in rows]
        return self._replacement(
            BACKFILL_CHECKPOINTS, table, {"run_key": run_key, "game_date": dates}, prefix
        )

    def read_checkpoints(self, run_key: str | None = None) -> pa.Table:
        condition: sql.Condition = {"run_key": run_key} if run_key else {}
        return self._read(BACKFILL_CHECKPOINTS, condition, "run_key, game_date")

    # ---- the model registry ----------------------------------------------------------------------
    def register_model(self, row: pa.Table) -> None:
        """Store one model's registry row (registering the same version again replaces it)."""
        versions = pc.unique(row.column("model_version")).to_pylist()
        if row.num_rows != 1 or len(versions) != 1:
            raise ValueError(f"register_model takes exactly one row, got {row.num_rows}")
        self._replace_where(MODEL_REGISTRY, row, {"model_version": versions[0]})

    def list_models(self, system_id: str | None = None) -> pa.Table:
        """Every registered model (without the artifact bytes), oldest training range first."""
        condition: sql.Condition = {"system_id": system_id} if system_id else {}
        return self._read(MODEL_REGISTRY, condition, "train_end, created_at", MODEL_REGISTRY_LISTING)

    def read_models(self, versions: Sequence[str]) -> pa.Table:
        """The full registry rows (artifact bytes included) of `versions`; unknown versions are absent."""
        return self._read(MODEL_REGISTRY, {"model_version": list(versions)}, "model_version")

    def table_counts(self) -> dict[str, int]:
        return {
            spec.name: int(self.query(sql.count_rows(self.dialect, spec.name)).column("n")[0].as_py())
            for spec in TABLES
        }


def dated(start: date, end: date, mode: str | None) -> sql.Condition:
    """[start, end], in one prediction mode when given."""
    condition: dict[str, Any] = {"game_date": sql.Between(start, end)}
    if mode is not None:
        condition["prediction_mode"] = mode
    return condition
