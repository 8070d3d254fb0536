"""`ensemble_v1` (SYSTEMS.md §3.5): a confidence-weighted combination of the component results.

It reads the results the runner already computed (`components`), never re-runs a system, and uses only
the configured components that produced a prediction for the player; fewer than `min_components` → skip
(`insufficient_components`). Component confidences are used on 0–100.

Choices where SYSTEMS.md is silent:
- if every contributing confidence is 0, the prediction is the plain mean of the component predictions;
- `prediction_variance` is the population variance of the contributing predictions (the square of the
  spread used for the confidence bonus);
- the majority rule counts every contributing component's recommendation (PASS included): a strict majority
  (more than half) of one recommendation is adopted — so a PASS majority passes — otherwise the ensemble's
  own side of the line decides;
- `contributing_systems` lists the contributors in SYSTEM_IDS order, comma-joined.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from nba_ray.systems.base import (
    INSUFFICIENT_COMPONENTS,
    NO_LINE,
    PASS,
    RECOMMENDATIONS,
    SYSTEM_IDS,
    PlayerBatch,
    PredictionSystem,
    SystemResult,
    make_skips,
)
from nba_ray.systems.rules import passes, publish_confidence, publish_points, side, tiered
from nba_ray.systems.settings import EnsembleSettings, SystemsSettings

_CONFIDENCE_SCALE = 100.0


def _stack(
    players: pd.Index, components: Mapping[str, SystemResult], ids: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(players × components) matrices of predictions, confidences (0–100) and recommendations; NaN / None
    where a component has no prediction for the player."""
    shape = (len(players), len(ids))
    points, confidence = np.full(shape, np.nan), np.full(shape, np.nan)
    recommendation = np.full(shape, None, dtype=object)
    for j, system_id in enumerate(ids):
        frame = components[system_id].predictions
        pos = frame.index.get_indexer(players)
        found = pos >= 0
        points[found, j] = frame["predicted_points"].to_numpy(dtype=float)[pos[found]]
        confidence[found, j] = frame["confidence"].to_numpy(dtype=float)[pos[found]]
        recommendation[found, j] = frame["recommendation"].to_numpy(dtype=object)[pos[found]]
    return points, confidence * _CONFIDENCE_SCALE, recommendation


def majority(recommendation: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per row, the recommendation held by more than half of the present components, else ""."""
    count = present.sum(axis=1)
    out = np.full(recommendation.shape[0], "", dtype=object)
    for label in RECOMMENDATIONS:
        votes = ((recommendation == label) & present).sum(axis=1)
        out[votes * 2 > count] = label
    return out


def joined_ids(present: np.ndarray, ids: list[str]) -> np.ndarray:
    """Comma-joined ids of the present components, per row."""
    out = np.full(present.shape[0], "", dtype=object)
    for j, system_id in enumerate(ids):
        out = np.where(present[:, j], np.where(out == "", system_id, out + "," + system_id), out)
    return out


class Ensemble(PredictionSystem[EnsembleSettings]):
    """Σ pred·conf / Σ conf over the contributing components; confidence = their mean ± spread bonuses."""

    system_id = "ensemble_v1"
    settings_key = "ensemble"

    @classmethod
    def needs(cls, settings: SystemsSettings) -> tuple[str, ...]:
        """Its configured components: an ensemble row is only ever built from all of them."""
        return tuple(settings.ensemble.components)

    def _predict(self, batch: PlayerBatch, components: Mapping[str, SystemResult]) -> SystemResult:
        s = self.settings
        ids = [i for i in SYSTEM_IDS if i in s.components and i in components]
        if not ids:
            return SystemResult.skipped(make_skips(batch.players, INSUFFICIENT_COMPONENTS))
        points, conf, recs = _stack(batch.players, components, ids)
        enough = np.isfinite(points).sum(axis=1) >= s.min_components
        skips = make_skips(batch.players[~enough], INSUFFICIENT_COMPONENTS)
        if not enough.any():
            return SystemResult.skipped(skips)

        sub = batch.select(enough)
        points, conf, recs = points[enough], conf[enough], recs[enough]
        present = np.isfinite(points)
        count = present.sum(axis=1)
        conf_sum = np.where(present, conf, 0.0).sum(axis=1)
        weighted = np.where(present, points * conf, 0.0).sum(axis=1)
        mean_points = np.nanmean(points, axis=1)
        raw = np.divide(weighted, conf_sum, out=mean_points.copy(), where=conf_sum > 0)
        spread = np.nanstd(points, axis=1)
        native = (
            np.nanmean(conf, axis=1)
            + tiered(spread, s.spread)
            + np.where(count == len(s.components), s.all_present_bonus, 0.0)
        )
        native = np.clip(native, s.low, s.high)

        published = publish_points(raw)
        confidence = publish_confidence(native, _CONFIDENCE_SCALE)
        line = sub.line_values
        called = majority(recs, present)
        recommendation = np.where(called == "", side(published, line), called)
        recommendation = np.where(
            passes(published, line, confidence * _CONFIDENCE_SCALE, s.recommendation), PASS, recommendation
        )
        recommendation = np.where(np.isnan(line), NO_LINE, recommendation).astype(object)
        result = SystemResult.build(
            sub.players,
            published,
            confidence,
            recommendation,
            {
                "contributing_systems": joined_ids(present, ids),
                "prediction_variance": np.round(np.nanvar(points, axis=1), 3),
            },
        )
        return result.with_skips(skips)
