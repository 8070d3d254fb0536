"""What a predictor actor calls: all enabled systems over one chunk of a date's players, Arrow in, Arrow out.

A `Predictor` is built once per actor from `SystemsSettings` (and the models when `xgboost_v1` is
enabled): it constructs the enabled systems once per model. `predict` then

1. filters the date's Arrow tables to the chunk's players and converts each to pandas once;
2. resolves each player's line (`resolve_lines`);
3. runs the enabled systems in `SYSTEM_IDS` order, passing the earlier results to the later ones (only the
   ensemble reads them, and only components that are enabled and predicted the player);
4. returns the predictions, conformed exactly to `PLAYER_PROP_PREDICTIONS.schema`, and the skips.

Every row depends only on its own player's inputs, so the result is the same however the date's players
are split into chunks, and rows come out ordered by player_lookup, then system (SYSTEM_IDS order).
A naive `created_at` is taken as UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.features.contract import FEATURE_VERSION
from nba_ray.systems.base import (
    HISTORY_COLUMNS,
    SYSTEM_IDS,
    PlayerBatch,
    PredictionSystem,
    SystemResult,
    TrainedModel,
)
from nba_ray.systems.graph import build_systems
from nba_ray.systems.lines import PROP_LINE_COLUMNS, resolve_lines
from nba_ray.systems.rules import publish_confidence, publish_points
from nba_ray.systems.settings import SystemsSettings
from nba_ray.systems.xgboost_system import XGBoostSystem
from nba_ray.warehouse.schemas import ML_FEATURE_STORE, PLAYER_PROP_PREDICTIONS, conform

SKIPS_SCHEMA = pa.schema(
    [
        pa.field("player_lookup", pa.string()),
        pa.field("system_id", pa.string()),
        pa.field("reason", pa.string()),
    ]
)
XGBOOST_ID = XGBoostSystem.system_id


@dataclass(frozen=True)
class ChunkResult:
    """Predictions (`PLAYER_PROP_PREDICTIONS.schema`) and skips (`SKIPS_SCHEMA`) of one chunk."""

    predictions: pa.Table
    skips: pa.Table


def _filter_players(table: pa.Table, players: pa.Array | None) -> pa.Table:
    if players is None:
        return table
    return table.filter(pc.is_in(table["player_lookup"], value_set=players))


def _require_columns(table: pa.Table, columns: Sequence[str], what: str) -> None:
    present = set(table.column_names)
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def _features_frame(features: pa.Table, game_date: date) -> pd.DataFrame:
    _require_columns(features, ML_FEATURE_STORE.columns, "features")
    frame = features.select(ML_FEATURE_STORE.columns).to_pandas()
    wrong_date = frame["game_date"] != game_date
    if wrong_date.any():
        raise ValueError(f"features: {int(wrong_date.sum())} row(s) are not dated {game_date}")
    versions = set(frame["feature_version"])
    if versions - {FEATURE_VERSION}:
        raise ValueError(
            f"features: feature_version {sorted(versions)}; the systems need {FEATURE_VERSION!r} only"
        )
    return frame.set_index("player_lookup").sort_index()


class Predictor:
    """All enabled systems, built once per model; `predict` runs them over a chunk of one date's players.

    `models` are every `xgboost_v1` model the dates this predictor serves need (a multi-season backfill
    preloads one per season); each date names its model in `predict`, and a predictor holding a single
    model uses it when none is named."""

    def __init__(self, settings: SystemsSettings, models: Sequence[TrainedModel] = ()) -> None:
        self.settings = settings
        self.models = {artifact.version_id: artifact for artifact in models}
        if XGBOOST_ID in settings.enabled:
            self._systems = {v: build_systems(settings, a) for v, a in self.models.items()}
            if not self._systems:
                build_systems(settings, None)  # raises: xgboost_v1 needs a model
        else:
            self._systems = {None: build_systems(settings, None)}

    @property
    def system_ids(self) -> tuple[str, ...]:
        return self.settings.enabled_in_order

    def systems(self, model_version: str | None = None) -> tuple[PredictionSystem, ...]:
        """The systems that predict with `model_version` (None: the only model, or no xgboost_v1)."""
        if model_version is None and len(self._systems) == 1:
            return next(iter(self._systems.values()))
        if model_version not in self._systems:
            raise ValueError(f"no model {model_version} among this predictor's models {sorted(self.models)}")
        return self._systems[model_version]

    def run_systems(self, batch: PlayerBatch, model_version: str | None = None) -> dict[str, SystemResult]:
        """Every enabled system over the batch, in order; later systems see earlier results."""
        results: dict[str, SystemResult] = {}
        for system in self.systems(model_version):
            results[system.system_id] = system.predict(batch, dict(results))
        return results

    def batch(
        self,
        game_date: date,
        features: pa.Table,
        history: pa.Table,
        prop_lines: pa.Table,
        players: Sequence[str] | None,
    ) -> PlayerBatch:
        """The chunk's PlayerBatch (lines resolved) from the date's Arrow tables."""
        wanted = None if players is None else pa.array(sorted(set(players)), pa.string())
        frame = _features_frame(_filter_players(features, wanted), game_date)
        if wanted is not None and len(frame) != len(wanted):
            unknown = sorted(set(players or []) - set(frame.index))
            raise ValueError(f"players without a feature row for {game_date}: {unknown[:10]}")
        _require_columns(history, HISTORY_COLUMNS, "history")
        hist = _filter_players(history.select(list(HISTORY_COLUMNS)), wanted).to_pandas(date_as_object=False)
        _require_columns(prop_lines, PROP_LINE_COLUMNS, "prop_lines")
        props = _filter_players(prop_lines, wanted)
        if "game_date" in props.column_names:
            props = props.filter(pc.equal(props["game_date"], pa.scalar(game_date, pa.date32())))
        lines = resolve_lines(frame, props.select(list(PROP_LINE_COLUMNS)).to_pandas(), self.settings.lines)
        return PlayerBatch(game_date, frame, hist, lines)

    def predict(
        self,
        game_date: date,
        features: pa.Table,
        history: pa.Table,
        prop_lines: pa.Table,
        players: Sequence[str] | None,
        run_id: str,
        created_at: datetime,
        model_version: str | None = None,
    ) -> ChunkResult:
        """Predictions and skips of every enabled system for `players` (None = every feature row) of
        `game_date`, `xgboost_v1` on `model_version`. `features` / `history` / `prop_lines` may hold the
        whole date: they are filtered here."""
        systems = self.systems(model_version)
        batch = self.batch(game_date, features, history, prop_lines, players)
        results = self.run_systems(batch, model_version)
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        context = _RowContext.of(batch)
        tables = [
            _prediction_table(
                context, game_date, system, results[system.system_id], run_id, created_at, self.settings.mode
            )
            for system in systems
        ]
        predictions = _ordered(pa.concat_tables(tables), self.system_ids)
        skips = _ordered(
            pa.concat_tables([_skips_table(sid, results[sid]) for sid in self.system_ids]), self.system_ids
        )
        return ChunkResult(conform(predictions, PLAYER_PROP_PREDICTIONS), skips.cast(SKIPS_SCHEMA))


def of_date(features: pa.Table, history: pa.Table, lines: pa.Table, game_date: date) -> DateTables:
    """One date's rows of a block's tables (`nba_ray.warehouse.base.BlockBatch`): its feature rows, the
    history rows `as_of` it (without that column) and its lines."""
    day = pa.scalar(game_date, pa.date32())
    return DateTables(
        features.filter(pc.equal(features["game_date"], day)),
        history.filter(pc.equal(history["as_of"], day)).drop_columns(["as_of"]),
        lines.filter(pc.equal(lines["game_date"], day)),
    )


@dataclass(frozen=True)
class DateTables:
    features: pa.Table
    history: pa.Table
    lines: pa.Table


def _ordered(table: pa.Table, system_ids: Sequence[str]) -> pa.Table:
    """Rows by player_lookup, then system in SYSTEM_IDS order."""
    order = pc.index_in(table["system_id"], value_set=pa.array(list(system_ids), pa.string()))
    keyed = table.append_column("_order", order)
    return keyed.sort_by([("player_lookup", "ascending"), ("_order", "ascending")]).drop_columns(["_order"])


def _skips_table(system_id: str, result: SystemResult) -> pa.Table:
    skips = result.skips
    return pa.table(
        {
            "player_lookup": pa.array(skips["player_lookup"].astype(object).tolist(), pa.string()),
            "system_id": pa.array([system_id] * len(skips), pa.string()),
            "reason": pa.array(skips["reason"].astype(object).tolist(), pa.string()),
        },
        schema=SKIPS_SCHEMA,
    )


def _optional(frame: pd.DataFrame, column: str, dtype: pa.DataType) -> pa.Array:
    if column not in frame.columns:
        return pa.nulls(len(frame), dtype)
    return pa.array(frame[column].to_numpy(dtype=object), dtype, from_pandas=True)


@dataclass(frozen=True)
class _RowContext:
    """The per-player columns every system's rows share, extracted once per chunk."""

    players: pd.Index
    columns: dict[str, np.ndarray]
    line_value: np.ndarray

    @staticmethod
    def of(batch: PlayerBatch) -> _RowContext:
        features = batch.features
        columns = {
            name: features[name].to_numpy(dtype=object)
            for name in (
                "game_id",
                "player_id",
                "team_abbr",
                "opponent_team_abbr",
                "feature_version",
                "availability_source",
            )
        }
        columns["feature_quality_score"] = features["feature_quality_score"].to_numpy(
            dtype=float, na_value=np.nan
        )
        columns["line_source"] = batch.lines["line_source"].to_numpy(dtype=object)
        columns["player_lookup"] = batch.players.to_numpy(dtype=object)
        return _RowContext(batch.players, columns, batch.line_values)


def _prediction_table(
    context: _RowContext,
    game_date: date,
    system: PredictionSystem,
    result: SystemResult,
    run_id: str,
    created_at: datetime,
    mode: str,
) -> pa.Table:
    """One system's rows in the `player_prop_predictions` layout (§5)."""
    pred = result.predictions
    n = len(pred)
    pos = context.players.get_indexer(pred.index)
    shared = {name: values[pos] for name, values in context.columns.items()}
    points = publish_points(pred["predicted_points"].to_numpy(dtype=float))
    line_value = context.line_value[pos]
    prefix, suffix = f"{game_date.isoformat()}_", f"_{system.system_id}"

    def strings(values: np.ndarray) -> pa.Array:
        return pa.array(values, pa.string(), from_pandas=True)

    def repeated(value: object, dtype: pa.DataType) -> pa.Array:
        return pa.array([value] * n, dtype)

    columns: dict[str, pa.Array] = {
        "prediction_id": pa.array([prefix + p + suffix for p in shared["player_lookup"]], pa.string()),
        "system_id": repeated(system.system_id, pa.string()),
        "system_version": repeated(system.system_version, pa.string()),
        "game_date": repeated(game_date, pa.date32()),
        "game_id": strings(shared["game_id"]),
        "player_lookup": strings(shared["player_lookup"]),
        "player_id": strings(shared["player_id"]),
        "team_abbr": strings(shared["team_abbr"]),
        "opponent_team_abbr": strings(shared["opponent_team_abbr"]),
        "predicted_points": pa.array(points, pa.float64()),
        "confidence_score": pa.array(
            publish_confidence(pred["confidence"].to_numpy(dtype=float), 1.0), pa.float64()
        ),
        "recommendation": strings(pred["recommendation"].to_numpy(dtype=object)),
        "system_recommendation": strings(pred["recommendation"].to_numpy(dtype=object)),
        "line_value": pa.array(line_value, pa.float64(), from_pandas=True),
        "line_source": strings(shared["line_source"]),
        "line_margin": pa.array(np.round(points - line_value, 1), pa.float64(), from_pandas=True),
        "similar_games_count": _optional(pred, "similar_games_count", pa.int64()),
        "avg_similarity_score": _optional(pred, "avg_similarity_score", pa.float64()),
        "contributing_systems": _optional(pred, "contributing_systems", pa.string()),
        "prediction_variance": _optional(pred, "prediction_variance", pa.float64()),
        "feature_version": strings(shared["feature_version"]),
        "feature_quality_score": pa.array(shared["feature_quality_score"], pa.float64(), from_pandas=True),
        "availability_source": strings(shared["availability_source"]),
        "model_version": repeated(system.model_version, pa.string()),
        "prediction_mode": repeated(mode, pa.string()),
        "run_id": repeated(run_id, pa.string()),
        "created_at": repeated(created_at, pa.timestamp("us", tz="UTC")),
        # Set by the driver from the graded market (`grading/state.py`), not by the systems.
        "model_state": repeated(None, pa.string()),
        "state_reason": repeated(None, pa.string()),
    }
    return pa.table(columns, schema=PLAYER_PROP_PREDICTIONS.schema)


__all__ = ["SKIPS_SCHEMA", "SYSTEM_IDS", "ChunkResult", "DateTables", "Predictor", "build_systems", "of_date"]
