"""`xgboost_v1` (SYSTEMS.md §3.4): a trained booster on its contract's features.

The artifact is loaded and checked (hash, contract) by `nba_ray.models` and handed in; this module never
trains, loads or reads files.
Confidence is on 0–100: start + feature-quality tiers + std-L10 tiers, clamped; stored /100. A pre-tip
model's quality also counts its lineup features (100 with an announced lineup, 40 without), so its
confidence drops where no lineup was known.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nba_ray.features.contract import (
    LINEUP_FEATURE_NAMES,
    PRE_TIP,
    QUALITY_DEFAULT,
    QUALITY_FEATURE_NAMES,
    QUALITY_FULL,
    SOURCE_NONE,
    ModelContractError,
)
from nba_ray.systems.base import PlayerBatch, PredictionSystem, SystemResult, TrainedModel
from nba_ray.systems.rules import publish, tiered
from nba_ray.systems.settings import SystemsSettings, XGBoostConfidence, XGBoostSettings


def xgboost_confidence(
    quality: np.ndarray, points_std_last_10: np.ndarray, rule: XGBoostConfidence
) -> np.ndarray:
    raw = rule.start + tiered(quality, rule.quality) + tiered(points_std_last_10, rule.points_std_last_10)
    return np.clip(raw, rule.low, rule.high)


def pre_tip_quality(batch: PlayerBatch) -> np.ndarray:
    """The feature quality over the pre-tip contract: the standard features' score and the lineup
    features', full with an announced lineup and defaulted without."""
    announced = batch.features["lineup_source"].to_numpy(dtype=object) != SOURCE_NONE
    lineup = np.where(announced, QUALITY_FULL, QUALITY_DEFAULT)
    standard, extra = len(QUALITY_FEATURE_NAMES), len(LINEUP_FEATURE_NAMES)
    return (standard * batch.quality + extra * lineup) / (standard + extra)


class XGBoostSystem(PredictionSystem[XGBoostSettings]):
    """Predictions of a trained, contract-checked booster (no formula, no noise)."""

    system_id = "xgboost_v1"
    settings_key = "xgboost"

    def __init__(self, settings: XGBoostSettings, artifact: TrainedModel, *, min_history_games: int) -> None:
        super().__init__(settings, min_history_games=min_history_games)
        self.artifact = artifact

    @property
    def model_version(self) -> str | None:
        return self.artifact.version_id

    @classmethod
    def build(cls, settings: SystemsSettings, artifact: TrainedModel | None) -> XGBoostSystem:
        if artifact is None:
            raise ValueError(
                "xgboost_v1 is enabled but no model was given: train one with `nba-ray train`, "
                "or disable xgboost_v1"
            )
        if artifact.mode != settings.mode:
            flag = " --pre-tip" if settings.mode == PRE_TIP else ""
            raise ModelContractError(
                f"model {artifact.version_id} was trained for {artifact.mode} predictions, not "
                f"{settings.mode}: train one with `nba-ray train{flag}`"
            )
        return cls(settings.xgboost, artifact, min_history_games=settings.min_history_games)

    def _predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
        s = self.settings
        raw = self.artifact.predict(batch.feature_matrix(self.artifact.feature_names))
        quality = pre_tip_quality(batch) if self.artifact.mode == PRE_TIP else batch.quality
        confidence = xgboost_confidence(quality, batch.feature("points_std_last_10"), s.confidence)
        return publish(batch, raw, confidence, 100.0, s.recommendation)
