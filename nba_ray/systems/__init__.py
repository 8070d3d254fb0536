"""The five prediction systems, lines, shared rules, the xgboost_v1 model artifact and the chunk runner.

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
)
from nba_ray.systems.ensemble import Ensemble
from nba_ray.systems.lines import resolve_lines
from nba_ray.systems.model import (
    ModelArtifact,
    ModelContractError,
    WalkForwardError,
    check_walk_forward,
    train_model,
)
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
    "ModelArtifact",
    "ModelContractError",
    "MovingAverageBaseline",
    "MovingAverageSettings",
    "PlayerBatch",
    "PredictionSystem",
    "Predictor",
    "SimilarityBalanced",
    "SimilaritySettings",
    "SystemResult",
    "SystemsSettings",
    "WalkForwardError",
    "XGBoostSettings",
    "XGBoostSystem",
    "XGBoostTrainParams",
    "ZoneMatchup",
    "ZoneMatchupSettings",
    "build_systems",
    "check_walk_forward",
    "resolve_lines",
    "train_model",
]
