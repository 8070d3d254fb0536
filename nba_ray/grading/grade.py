"""Grade predictions against what happened (SYSTEMS.md §6): one `prediction_accuracy` row per prediction.

`grade` is pure and vectorised: it never reads the warehouse, and the same inputs give the same table
(rows sorted by the table key, `graded_at` the only value taken from outside the inputs), so re-grading
a range and replacing its rows is idempotent.

Choices where SYSTEMS.md is silent, kept consistent with the report:
- Matching. A prediction is joined to its box-score row on (game_id, player_lookup); a prediction without
  a game_id falls back to (game_date, player_lookup). Two box-score rows for one player on one date make
  that fallback ambiguous and raise `ValueError` rather than pick one. The output's game_id is the
  prediction's, or the matched box score's when the prediction had none.
- Voiding. The player did not play when the box score says `dnp`, when minutes_played is not > 0 (0 or
  unknown: "played" means minutes > 0 everywhere in this project), or when there is no box-score row for
  the game at all. Such a row is voided with `void_reason` "dnp: <dnp_reason>" (or "dnp: reason not
  recorded" / "dnp: no minutes played") or "no box score", and every outcome field — actual_points, the
  errors, within_3/5, actual_margin, prediction_correct — is NULL, so it drops out of every error metric
  and is only counted. Fields that describe the prediction itself (predicted_margin, confidence_decile,
  blend_points) and the recorded minutes_played stay. Note that a date whose box scores are not loaded
  yet is voided as "no box score" too: import box scores before grading.
- within_3_points / within_5_points are inclusive (|error| ≤ 3 / ≤ 5).
- prediction_correct is NULL for PASS and NO_LINE, without a line, and on a push (actual = line);
  otherwise OVER is correct when actual > line and UNDER when actual < line.
- confidence_decile = min(10, floor(confidence·10) + 1), so 0.0 → 1, 0.3 → 4, 0.95 and 1.0 → 10;
  NULL when the confidence is.
- blend_points is `blend_baseline` (0.5·L5 + 0.3·L10 + 0.2·season) of the prediction's feature row, matched
  on (game_date, player_lookup) — the same number for every system of a player-game, so the report can
  grade the baseline on exactly the rows each system is graded on. NULL when there is no feature row.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_ray.grading.market import prices_of
from nba_ray.systems.base import OVER, UNDER
from nba_ray.systems.rules import blend_baseline
from nba_ray.warehouse.schemas import PREDICTION_ACCURACY, conform

KEY: tuple[str, ...] = PREDICTION_ACCURACY.key
NO_BOX_SCORE = "no box score"
DNP_PREFIX = "dnp: "
DNP_NO_REASON = "reason not recorded"
DNP_NO_MINUTES = "no minutes played"
WITHIN_CLOSE = 3.0
WITHIN_NEAR = 5.0

# Columns copied unchanged from the prediction to its accuracy row.
_PASSTHROUGH = (
    "game_date",
    "player_lookup",
    "system_id",
    "prediction_mode",
    "predicted_points",
    "confidence_score",
    "recommendation",
    "system_recommendation",
    "line_value",
    "line_source",
)
_BOX_COLUMNS = ("game_id", "game_date", "player_lookup", "minutes_played", "points", "dnp", "dnp_reason")
_BLEND_INPUTS = ("points_avg_last_5", "points_avg_last_10", "points_avg_season")
_ROW = "_row"
_GRADED_AT_TYPE = PREDICTION_ACCURACY.schema.field("graded_at").type


def grade(
    predictions: pa.Table,
    box_scores: pa.Table,
    features: pa.Table,
    graded_at: datetime,
    closing: pd.DataFrame | None = None,
) -> pa.Table:
    """The accuracy rows of `predictions` (one each), conforming to `PREDICTION_ACCURACY.schema`;
    `closing` (`market.closing_lines`) gives the prices of the real lines graded against."""
    ordered = predictions.take(pc.sort_indices(predictions, sort_keys=[(k, "ascending") for k in KEY]))
    preds = ordered.select([*_PASSTHROUGH, "game_id"]).to_pandas()
    box = match_box_scores(preds, box_scores.select(list(_BOX_COLUMNS)).to_pandas())
    played = box["matched"] & ~box["dnp"] & (box["minutes_played"] > 0)
    actual = box["points"].where(played)
    columns = {
        **{name: ordered.column(name) for name in _PASSTHROUGH},
        "game_id": preds["game_id"].fillna(box["game_id"]),
        **prices_of(preds, closing),
        "actual_points": actual,
        **outcome_columns(preds, actual),
        "confidence_decile": confidence_decile(preds["confidence_score"]),
        "minutes_played": box["minutes_played"],
        "blend_points": blend_points(preds, features),
        "is_voided": ~played,
        "void_reason": void_reasons(box, played),
        "graded_at": pa.repeat(pa.scalar(_utc(graded_at), _GRADED_AT_TYPE), len(preds)),
    }
    arrays = [_arrow(columns[field.name], field.type) for field in PREDICTION_ACCURACY.schema]
    return conform(pa.Table.from_arrays(arrays, schema=PREDICTION_ACCURACY.schema), PREDICTION_ACCURACY)


def match_box_scores(preds: pd.DataFrame, box: pd.DataFrame) -> pd.DataFrame:
    """Each prediction's box-score row, aligned to `preds.index`, with `matched`, and `dnp` as plain bool
    (an unmatched prediction gets NaN values and `matched = False`)."""
    with_id = preds["game_id"].notna()
    by_id = _join(preds[with_id], box, ["game_id", "player_lookup"])
    by_date = _join(preds[~with_id], box, ["game_date", "player_lookup"])
    found = pd.concat([part for part in (by_id, by_date) if not part.empty] or [by_id])
    out = found.set_index(_ROW).reindex(preds.index)
    out["matched"] = out.index.isin(found[_ROW])
    out["dnp"] = out["dnp"].eq(True).to_numpy(dtype=bool)
    return out


def _join(preds: pd.DataFrame, box: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Inner join of `preds`' keys to `box` on `on`; a key with two box-score rows is an error."""
    keys = preds[on].rename_axis(_ROW).reset_index()
    candidates = box[box["player_lookup"].isin(keys["player_lookup"])]
    try:
        return keys.merge(candidates, on=on, how="inner", validate="many_to_one")
    except pd.errors.MergeError:
        raise ValueError(f"box scores: more than one row per ({', '.join(on)}) for a graded player") from None


def outcome_columns(preds: pd.DataFrame, actual: pd.Series) -> dict[str, pd.Series]:
    """Errors and margins (NaN where `actual` is, i.e. voided); the call's correctness (<NA> when not
    decided: PASS / NO_LINE, no line, push, voided)."""
    predicted, line = preds["predicted_points"], preds["line_value"]
    error = predicted - actual
    rec = preds["recommendation"]
    correct = np.select([rec.eq(OVER), rec.eq(UNDER)], [actual > line, actual < line], default=False)
    decided = rec.isin([OVER, UNDER]) & actual.notna() & line.notna() & (actual != line)
    return {
        "absolute_error": error.abs(),
        "signed_error": error,
        "within_3_points": _bool_or_null(error.abs() <= WITHIN_CLOSE, error.notna()),
        "within_5_points": _bool_or_null(error.abs() <= WITHIN_NEAR, error.notna()),
        "predicted_margin": predicted - line,
        "actual_margin": actual - line,
        "prediction_correct": _bool_or_null(pd.Series(correct, index=preds.index), decided),
    }


def confidence_decile(confidence: pd.Series) -> pd.Series:
    """min(10, floor(confidence·10) + 1), clipped at 1 below; <NA> where the confidence is missing."""
    decile = np.clip(np.floor(confidence.to_numpy(dtype=float) * 10) + 1, 1, 10)
    return pd.Series(decile, index=confidence.index).astype("Int64")


def blend_points(preds: pd.DataFrame, features: pa.Table) -> pd.Series:
    """The blend baseline from each prediction's feature row (same game_date and player)."""
    rows = features.select(["game_date", "player_lookup", *_BLEND_INPUTS]).to_pandas()
    rows = rows.assign(blend_points=blend_baseline(rows))[["game_date", "player_lookup", "blend_points"]]
    keys = preds[["game_date", "player_lookup"]]
    try:
        joined = keys.merge(rows, on=["game_date", "player_lookup"], how="left", validate="many_to_one")
    except pd.errors.MergeError:
        raise ValueError("features: more than one row per (game_date, player_lookup)") from None
    return joined["blend_points"].set_axis(preds.index)


def void_reasons(box: pd.DataFrame, played: pd.Series) -> pd.Series:
    """Why a prediction is voided ("no box score" / "dnp: <reason>"); None for a graded one."""
    reason = box["dnp_reason"].astype("string").str.strip()
    stated = (reason.notna() & reason.ne("")).to_numpy(dtype=bool)
    dnp = box["dnp"].to_numpy(dtype=bool)
    text = pd.Series(DNP_PREFIX + DNP_NO_MINUTES, index=box.index, dtype=object)
    text[dnp] = DNP_PREFIX + DNP_NO_REASON
    text[dnp & stated] = (DNP_PREFIX + reason[dnp & stated]).astype(object)
    text[~box["matched"].to_numpy(dtype=bool)] = NO_BOX_SCORE
    text[played.to_numpy(dtype=bool)] = None
    return text


def _bool_or_null(values: pd.Series, valid: pd.Series) -> pd.Series:
    return values.astype("boolean").where(valid.to_numpy(dtype=bool), pd.NA)


def _utc(moment: datetime) -> datetime:
    """`graded_at` in UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _arrow(values: pa.Array | pa.ChunkedArray | pd.Series, dtype: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.cast(dtype)
    return pa.array(values, type=dtype, from_pandas=True)
