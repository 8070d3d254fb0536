"""The one interface of the prediction systems: ids, the batch they read, the result they return.

scikit-learn-like and small: a system is built once from its settings and has one method,
`predict(batch, components) -> SystemResult`, vectorised over the batch's players. Only the ensemble reads
`components` (the results of the systems that ran before it); it never re-runs them.

Features are read only through `PlayerBatch.feature(name)` / `PlayerBatch.context(name)`, which check the
name against the feature contract: a name the contract does not have is an `UnknownFeatureError`, never
a default (the first implementation's XGBoost saw real values for 9 of its 25 inputs that way).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from nba_ray.features.contract import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    ZONE_CONTEXT_COLUMNS,
    UnknownFeatureError,
    require,
)
from nba_ray.warehouse.schemas import HISTORY_SCHEMA

if TYPE_CHECKING:
    from nba_ray.systems.settings import SystemsSettings


class TrainedModel(Protocol):
    """What a system with a model predicts with: a loaded, checked artifact (booster and metadata).

    The systems only predict: loading, checking, training and registering models is `nba_ray.models`'s
    work (its `ModelArtifact` is the one implementation), which keeps this package free of them.
    """

    @property
    def version_id(self) -> str:
        """The `model_version` stored with every prediction."""
        ...

    @property
    def mode(self) -> str:
        """The predictions it was trained for: `standard` or `pre_tip`."""
        ...

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Its inputs, in the order `predict` reads them."""
        ...

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Predicted points for a (rows, features) matrix in `feature_names` order."""
        ...


# Dependency order: every system may read the results of the ones before it (only the ensemble does).
SYSTEM_IDS: tuple[str, ...] = (
    "moving_average_baseline_v1",
    "zone_matchup_v1",
    "similarity_balanced_v1",
    "xgboost_v1",
    "ensemble_v1",
)
ENSEMBLE_ID = "ensemble_v1"


def check_known(system_ids: Iterable[str]) -> None:
    """ValueError naming every id that is not a system of this build (config and `--systems` alike)."""
    unknown = [s for s in system_ids if s not in SYSTEM_IDS]
    if unknown:
        raise ValueError(f"unknown system id(s) {', '.join(unknown)} (known: {', '.join(SYSTEM_IDS)})")


ENSEMBLE_COMPONENT_IDS: tuple[str, ...] = tuple(s for s in SYSTEM_IDS if s != ENSEMBLE_ID)

# Per player: up to 30 most recent PLAYED games in the 90 days before the date. The last six columns come
# from the feature-store row of that past game and are NaN when that game had none.
HISTORY_COLUMNS: tuple[str, ...] = tuple(HISTORY_SCHEMA.names)

# Columns of the feature frame besides the 25 features and the zone context.
FEATURE_META_COLUMNS: tuple[str, ...] = (
    "feature_quality_score",
    "games_in_history",
    "availability_source",
    "lineup_source",
)
REQUIRED_FEATURE_COLUMNS: tuple[str, ...] = FEATURE_NAMES + ZONE_CONTEXT_COLUMNS + FEATURE_META_COLUMNS

# Lines (SYSTEMS.md §4).
ACTUAL_PROP = "ACTUAL_PROP"
ESTIMATED_AVG = "ESTIMATED_AVG"
NO_LINE_SOURCE = "NONE"
LINE_SOURCES: tuple[str, ...] = (ACTUAL_PROP, ESTIMATED_AVG, NO_LINE_SOURCE)
LINE_COLUMNS: tuple[str, ...] = ("line_value", "line_source")

# Recommendations.
OVER = "OVER"
UNDER = "UNDER"
PASS = "PASS"
NO_LINE = "NO_LINE"
RECOMMENDATIONS: tuple[str, ...] = (OVER, UNDER, PASS, NO_LINE)

# Every prediction is clamped to this range (SYSTEMS.md §3, common rules).
POINTS_MIN = 0.0
POINTS_MAX = 60.0

# Skip reasons (a player a system cannot predict gets no row and one of these).
INSUFFICIENT_HISTORY = "insufficient_history"
INSUFFICIENT_SIMILAR_GAMES = "insufficient_similar_games"
INSUFFICIENT_COMPONENTS = "insufficient_components"
NON_FINITE_PREDICTION = "non_finite_prediction"

PREDICTION_COLUMNS: tuple[str, ...] = ("predicted_points", "confidence", "recommendation")
COMPONENT_COLUMNS: tuple[str, ...] = (
    "similar_games_count",
    "avg_similarity_score",
    "contributing_systems",
    "prediction_variance",
)
SKIP_COLUMNS: tuple[str, ...] = ("player_lookup", "reason")


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the integer form of dates used in vectorised comparisons)."""
    return int(np.datetime64(day, "D").astype(np.int64))


def require_context(name: str) -> str:
    """Return `name` if it is a zone-context column of the contract; raise `UnknownFeatureError` otherwise."""
    if name not in ZONE_CONTEXT_COLUMNS:
        raise UnknownFeatureError(
            f"context column {name!r} is not in the {FEATURE_VERSION} contract; "
            f"known: {', '.join(ZONE_CONTEXT_COLUMNS)}"
        )
    return name


@dataclass(frozen=True, eq=False)
class PlayerBatch:
    """The players of one game date, as the systems see them.

    features: one row per player, index `player_lookup`, the columns of `ml_feature_store`.
    history:  columns `HISTORY_COLUMNS`, several rows per player (past played games, most recent first or not:
              systems sort what they need).
    lines:    index `player_lookup`, `line_value` (float or NaN) and `line_source` — `resolve_lines`'s output.
              Players missing from it are given no line (`NONE`).
    """

    game_date: date
    features: pd.DataFrame
    history: pd.DataFrame
    lines: pd.DataFrame
    _subsets: dict[int, PlayerBatch] = field(default_factory=dict, init=False, repr=False, compare=False)
    _floats: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [c for c in REQUIRED_FEATURE_COLUMNS if c not in self.features.columns]
        if missing:
            raise ValueError(f"features: missing column(s) {', '.join(missing)}")
        if self.features.index.name != "player_lookup":
            raise ValueError("features must be indexed by player_lookup")
        if not self.features.index.is_unique:
            dupes = sorted(set(self.features.index[self.features.index.duplicated()]))
            raise ValueError(f"features: duplicate player_lookup {dupes[:5]}")
        missing_hist = [c for c in HISTORY_COLUMNS if c not in self.history.columns]
        if missing_hist:
            raise ValueError(f"history: missing column(s) {', '.join(missing_hist)}")
        missing_lines = [c for c in LINE_COLUMNS if c not in self.lines.columns]
        if missing_lines:
            raise ValueError(f"lines: missing column(s) {', '.join(missing_lines)}")
        if not self.lines.index.equals(self.features.index):
            lines = self.lines.loc[:, list(LINE_COLUMNS)].reindex(self.features.index)
            lines["line_source"] = lines["line_source"].where(lines["line_value"].notna(), NO_LINE_SOURCE)
            object.__setattr__(self, "lines", lines)

    # --- players -------------------------------------------------------------------------------------
    @property
    def players(self) -> pd.Index:
        return self.features.index

    def __len__(self) -> int:
        return len(self.features)

    def select(self, mask: np.ndarray) -> PlayerBatch:
        """The same date restricted to the players where `mask` is true (history and lines follow)."""
        mask = np.asarray(mask, dtype=bool)
        positions = self.history_positions
        in_subset = np.zeros(len(positions), dtype=bool)
        known = positions >= 0
        in_subset[known] = mask[positions[known]]
        features = self.features.iloc[np.flatnonzero(mask)]
        return PlayerBatch(
            self.game_date, features, self.history.iloc[np.flatnonzero(in_subset)], self.lines.iloc[mask]
        )

    def with_min_history(self, min_games: int) -> PlayerBatch:
        """The players with at least `min_games` games of history (computed once per batch and threshold:
        every system applies the same rule)."""
        if min_games not in self._subsets:
            eligible = self.games_in_history >= min_games
            self._subsets[min_games] = self if eligible.all() else self.select(eligible)
        return self._subsets[min_games]

    # --- history, vectorised ---------------------------------------------------------------------------
    @cached_property
    def history_positions(self) -> np.ndarray:
        """For each history row, the position of its player in `players` (−1 if not in the batch)."""
        return self.players.get_indexer(self.history["player_lookup"])

    @cached_property
    def history_days(self) -> np.ndarray:
        """Each history row's game date as a day number (`day_number`)."""
        return np.asarray(self.history["game_date"].to_numpy(), dtype="datetime64[D]").astype(np.int64)

    # --- features (through the contract) -------------------------------------------------------------
    def feature(self, name: str) -> np.ndarray:
        """A contract feature as float array in player order; an unknown name raises `UnknownFeatureError`."""
        return self._float(require(name))

    def context(self, name: str) -> np.ndarray:
        """A zone-context column (SYSTEMS.md §2.2); an unknown name raises `UnknownFeatureError`."""
        return self._float(require_context(name))

    def _float(self, column: str) -> np.ndarray:
        """A feature-frame column as floats, converted once per batch (every system reads the same
        few); read-only, since every caller shares it."""
        if column not in self._floats:
            values = self.features[column].to_numpy(dtype=float, na_value=np.nan)
            values.flags.writeable = False
            self._floats[column] = values
        return self._floats[column]

    def feature_matrix(self, names: Sequence[str] = FEATURE_NAMES) -> np.ndarray:
        """Contract features in the given order (default: the whole current contract), shape
        (players, len(names)): a model's input."""
        if len(self) == 0:
            return np.empty((0, len(names)))
        return np.column_stack([self.feature(name) for name in names])

    @property
    def quality(self) -> np.ndarray:
        return self._float("feature_quality_score")

    @property
    def games_in_history(self) -> np.ndarray:
        return self.features["games_in_history"].to_numpy(dtype=float, na_value=0.0)

    @property
    def line_values(self) -> np.ndarray:
        return self.lines["line_value"].to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True, eq=False)
class SystemResult:
    """What a system returns for a batch.

    predictions: index `player_lookup`; `predicted_points` (0–60, 1 dp, as published), `confidence` (0–1,
                 2 dp),
                 `recommendation`, and optionally the system's `COMPONENT_COLUMNS`.
    skips:       columns `player_lookup`, `reason`: players the system could not predict (no row for them).
    """

    predictions: pd.DataFrame
    skips: pd.DataFrame

    @staticmethod
    def build(
        players: pd.Index,
        points: np.ndarray,
        confidence: np.ndarray,
        recommendation: np.ndarray,
        components: Mapping[str, np.ndarray] | None = None,
        skips: pd.DataFrame | None = None,
    ) -> SystemResult:
        columns: dict[str, np.ndarray] = {
            "predicted_points": np.asarray(points, dtype=float),
            "confidence": np.asarray(confidence, dtype=float),
            "recommendation": np.asarray(recommendation, dtype=object),
        }
        for name, values in (components or {}).items():
            if name not in COMPONENT_COLUMNS:
                raise ValueError(f"unknown component column {name!r}")
            columns[name] = np.asarray(values)
        index = players if isinstance(players, pd.Index) else pd.Index(players, dtype=object)
        frame = pd.DataFrame(columns, index=index.rename("player_lookup"), copy=False)
        return SystemResult(frame, skips if skips is not None else make_skips([], ""))

    @staticmethod
    def skipped(skips: pd.DataFrame) -> SystemResult:
        """A result with no predictions, only skips."""
        return SystemResult.build(pd.Index([], dtype=object), [], [], [], skips=skips)

    def with_skips(self, skips: pd.DataFrame, *, first: bool = False) -> SystemResult:
        """The same predictions with `skips` added to this result's skips (before them if `first`)."""
        both = (skips, self.skips) if first else (self.skips, skips)
        return SystemResult(self.predictions, concat_skips(*both))

    def predicted(self, players: pd.Index) -> np.ndarray:
        """Mask over `players`: which of them this result has a prediction for."""
        return np.asarray(players.isin(self.predictions.index))


def make_skips(players: pd.Index | list[str] | np.ndarray, reason: str) -> pd.DataFrame:
    """A skips frame giving every player in `players` the same reason."""
    players = list(players)
    return pd.DataFrame(
        {"player_lookup": pd.Series(players, dtype=object), "reason": [reason] * len(players)}
    )


def concat_skips(*frames: pd.DataFrame) -> pd.DataFrame:
    nonempty = [f for f in frames if len(f)]
    if len(nonempty) <= 1:
        return nonempty[0] if nonempty else frames[0]
    return pd.concat(nonempty, ignore_index=True)


SettingsT = TypeVar("SettingsT")


class PredictionSystem(ABC, Generic[SettingsT]):
    """A prediction system: `system_id`, `system_version`, and `predict`.

    `predict` applies the rules common to every system — players with fewer than `min_history_games` games
    are skipped (`insufficient_history`), a prediction that is not a finite number is never published
    (`non_finite_prediction`) — and delegates the rest to `_predict`, which sees only eligible players.
    """

    system_id: ClassVar[str]
    # The `SystemsSettings` field that holds this system's settings.
    settings_key: ClassVar[str]
    # 2.x: the spec's corrections of the first implementation (fatigue and zone signs, a trained model,
    # real lines) change outputs under the same system ids.
    system_version: ClassVar[str] = "2.0.0"

    def __init__(self, settings: SettingsT, *, min_history_games: int) -> None:
        self.settings = settings
        self.min_history_games = min_history_games

    @property
    def model_version(self) -> str | None:
        """Identifier of a trained artifact behind the predictions (None for rule-based systems)."""
        return None

    @classmethod
    def needs(cls, settings: SystemsSettings) -> tuple[str, ...]:
        """Ids of the systems whose results this one reads: they run before it, in the same call, and
        running any of them redoes this one (`nba_ray.systems.graph`)."""
        return ()

    @classmethod
    def build(cls, settings: SystemsSettings, artifact: TrainedModel | None) -> PredictionSystem[Any]:
        """The system from the `systems` settings (`artifact`: the model, for a system that has one)."""
        return cls(getattr(settings, cls.settings_key), min_history_games=settings.min_history_games)

    def predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
        eligible = batch.with_min_history(self.min_history_games)
        history_skips = make_skips(
            batch.players[batch.games_in_history < self.min_history_games], INSUFFICIENT_HISTORY
        )
        if len(eligible) == 0:
            return SystemResult.skipped(history_skips)
        result = self._predict(eligible, components)
        finite = np.isfinite(result.predictions["predicted_points"].to_numpy(dtype=float))
        if finite.all():
            return result.with_skips(history_skips, first=True)
        bad = make_skips(result.predictions.index[~finite], NON_FINITE_PREDICTION)
        return SystemResult(result.predictions.loc[finite], concat_skips(history_skips, result.skips, bad))

    @abstractmethod
    def _predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
        """Predict the batch's players (all have enough history)."""
