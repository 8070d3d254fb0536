"""The five prediction systems, lines, shared rules and the chunk runner (models live in `nba_ray.models`).

Import the interface from here; see `base` for the batch/result types and `runner.Predictor` for what a
Ray actor calls.
"""

from nba_ray.systems.base import (
    ENSEMBLE_COMPONENT_IDS,
    HISTORY_COLUMNS,
    SYSTEM_IDS,
    PlayerBatch,
    PredictionSystem,
    SystemResult,
    TrainedModel,
)
from nba_ray.systems.ensemble import Ensemble
from nba_ray.systems.lines import resolve_lines
from nba_ray.systems.moving_average import MovingAverageBaseline
from nba_ray.systems.runner import SKIPS_SCHEMA, ChunkResult, Predictor, build_systems
from nba_ray.systems.settings import (
    EnsembleSettings,
    LinesSettings,
    MovingAverageSettings,
    SimilaritySettings,
    SystemsSettings,
    XGBoostSettings,
    XGBoostTrainParams,
    ZoneMatchupSettings,
)
from nba_ray.systems.similarity import SimilarityBalanced
from nba_ray.systems.xgboost_system import XGBoostSystem
from nba_ray.systems.zone_matchup import ZoneMatchup

__all__ = [
    "ENSEMBLE_COMPONENT_IDS",
    "HISTORY_COLUMNS",
    "SKIPS_SCHEMA",
    "SYSTEM_IDS",
    "ChunkResult",
    "Ensemble",
    "EnsembleSettings",
    "LinesSettings",
    "MovingAverageBaseline",
    "MovingAverageSettings",
    "PlayerBatch",
    "PredictionSystem",
    "Predictor",
    "SimilarityBalanced",
    "SimilaritySettings",
    "SystemResult",
    "SystemsSettings",
    "TrainedModel",
    "XGBoostSettings",
    "XGBoostSystem",
    "XGBoostTrainParams",
    "ZoneMatchup",
    "ZoneMatchupSettings",
    "build_systems",
    "resolve_lines",
]
