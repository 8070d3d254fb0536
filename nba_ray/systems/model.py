"""The `xgboost_v1` model artifact: training (walk-forward), saving, loading against the feature contract.

Training (`train_model`). Rows are feature-store rows (the features of the mode's contract: standard
models read `v2_avail_40`, pre-tip models `v3_lineups_43`, `MODE_CONTRACTS`) joined to the actual
points of that game, all dated within [train_start, train_end] — rows outside the range are an error,
because a model used for a date range must be trained only on games before it. The last
`validation_fraction` of the distinct dates (by date, never at random) are held out; each candidate
objective is trained on the earlier dates with early stopping on the held-out MAE, and the objective with
the lowest validation MAE whose |bias| ≤ `max_abs_bias` is chosen (the project's target is MAE below the
0.5·L5+0.3·L10+0.2·season blend with |bias| ≤ 0.3; the blend's validation MAE is recorded beside it).
The final booster is then **refit on all rows** with that objective and the early-stopped number of
rounds, so the most recent games — the most informative for the dates that follow — are in the model;
the recorded validation figures are those of the held-out fit. Deterministic: fixed seed, `tree_method =
hist`, `nthread` from the parameters (results are reproducible for a given nthread).

Artifact. A directory with `booster.json` (xgboost's JSON model) and `metadata.json` (feature version and
exact feature list, training range, row counts, validation figures, objective, rounds, params, xgboost
version, created_at, the booster file's sha256). `ModelArtifact.load` refuses — with a one-line
`ModelContractError` — a model whose feature version or feature list differs from the contract, or whose
booster file does not match its recorded hash.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pydantic import BaseModel, ConfigDict, ValidationError

from nba_ray.features.contract import (
    CONTRACTS,
    FEATURE_NAMES,
    FEATURE_VERSION,
    MODE_CONTRACTS,
    STANDARD,
    Contract,
)
from nba_ray.systems.rules import blend_baseline
from nba_ray.systems.settings import XGBoostTrainParams

BOOSTER_FILE = "booster.json"
METADATA_FILE = "metadata.json"
MODEL_SYSTEM_ID = "xgboost_v1"
TARGET_COLUMN = "actual_points"
DATE_COLUMN = "game_date"


class ModelContractError(ValueError):
    """A model artifact that cannot be used with this build's feature contract (or is missing/corrupt)."""


class WalkForwardError(ValueError):
    """A model trained on games at or after the first date it would predict."""


class ObjectiveScore(BaseModel):
    """Held-out figures of one candidate objective."""

    model_config = ConfigDict(frozen=True)

    validation_mae: float
    validation_bias: float
    rounds: int


class ModelMetadata(BaseModel):
    """Everything needed to know what a booster is and whether it may be used."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    system_id: str = MODEL_SYSTEM_ID
    mode: str = STANDARD  # models registered before pre-tip mode existed were all standard
    feature_version: str
    features: list[str]
    train_start: date
    train_end: date
    rows: int
    train_rows: int
    validation_rows: int
    validation_start: date
    validation_mae: float
    validation_bias: float
    validation_blend_mae: float
    objective: str
    rounds: int
    objective_scores: dict[str, ObjectiveScore]
    xgboost_version: str
    params: dict[str, Any]
    created_at: datetime
    booster_sha256: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ModelArtifact:
    """A trained booster and its metadata."""

    booster: xgb.Booster
    metadata: ModelMetadata

    @property
    def version_id(self) -> str:
        """`xgboost_v1@<train_end>-<hash8>`: the `model_version` stored with every prediction."""
        return f"{MODEL_SYSTEM_ID}@{self.metadata.train_end.isoformat()}-{self.metadata.booster_sha256[:8]}"

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The model's inputs, in order: its contract version's features (v1 models read 25 of v2's)."""
        return tuple(self.metadata.features)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Predicted points for a (rows, features) matrix in the model's feature order (rows independent)."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        width = len(self.feature_names)
        if matrix.ndim != 2 or matrix.shape[1] != width:
            raise ValueError(f"model input must have shape (n, {width}), got {matrix.shape}")
        if matrix.shape[0] == 0:
            return np.empty(0)
        return np.asarray(self.booster.inplace_predict(matrix), dtype=float)

    @property
    def raw(self) -> bytes:
        """The booster's bytes (xgboost JSON): what the registry stores and `from_raw` reads back."""
        return bytes(self.booster.save_raw("json"))

    def save(self, path: str | Path) -> Path:
        """Write `booster.json` and `metadata.json` into the directory `path` (created if needed)."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        raw = self.raw
        if _sha256(raw) != self.metadata.booster_sha256:
            raise ModelContractError("booster does not match its metadata hash; refusing to save")
        (directory / BOOSTER_FILE).write_bytes(raw)
        (directory / METADATA_FILE).write_text(self.metadata.model_dump_json(indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, path: str | Path, *, nthread: int = 1) -> ModelArtifact:
        """Load a saved artifact; raise `ModelContractError` (one line) if it does not fit the contract."""
        directory = Path(path)
        meta_path, booster_path = directory / METADATA_FILE, directory / BOOSTER_FILE
        if not meta_path.is_file() or not booster_path.is_file():
            raise ModelContractError(
                f"no xgboost_v1 model at {directory} (need {METADATA_FILE} and {BOOSTER_FILE}); "
                "train one with `nba-ray train`"
            )
        metadata = parse_metadata(meta_path.read_text(), source=str(meta_path))
        return cls.from_raw(metadata, booster_path.read_bytes(), source=str(booster_path), nthread=nthread)

    @classmethod
    def from_raw(cls, metadata: ModelMetadata, raw: bytes, *, source: str, nthread: int = 1) -> ModelArtifact:
        """The artifact of `metadata` and booster bytes `raw`, after checking the contract and the hash;
        `source` names where they came from in the one-line `ModelContractError`."""
        check_contract(metadata, source=source)
        if _sha256(raw) != metadata.booster_sha256:
            raise ModelContractError(f"model booster {source} does not match the sha256 hash in its metadata")
        try:
            booster = xgb.Booster(params={"nthread": nthread}, model_file=bytearray(raw))
        except xgb.core.XGBoostError as err:
            raise ModelContractError(
                f"model booster {source} is not a readable XGBoost model "
                f"({str(err).strip().splitlines()[0][:120]}): retrain with `nba-ray train`"
            ) from None
        if list(booster.feature_names or []) != list(metadata.features):
            raise ModelContractError(
                f"model booster {source} has feature names that differ from the contract"
            )
        return cls(booster, metadata)


def parse_metadata(text: str, *, source: str) -> ModelMetadata:
    """Validated metadata, or a one-line `ModelContractError` naming `source`."""
    try:
        return ModelMetadata.model_validate_json(text)
    except ValidationError as exc:
        raise ModelContractError(
            f"model metadata {source} is invalid ({exc.error_count()} error(s)); retrain with `nba-ray train`"
        ) from None


def check_contract(metadata: ModelMetadata, *, source: str) -> None:
    """The model's feature version must be a known contract version and its feature list exactly that
    version's (every version's features are in the current contract, so the store has them all)."""
    known = CONTRACTS.get(metadata.feature_version)
    if known is None or list(metadata.features) != list(known.names):
        expected = known.names if known is not None else FEATURE_NAMES
        extra = [f for f in metadata.features if f not in expected]
        missing = [f for f in expected if f not in metadata.features]
        detail = f"missing {missing}, unknown {extra}" if extra or missing else "feature order differs"
        raise ModelContractError(
            f"model at {source} was trained on feature_version {metadata.feature_version!r} with "
            f"{len(metadata.features)} features ({detail}); this build's contracts are "
            f"{', '.join(CONTRACTS)} (current {FEATURE_VERSION!r}, {len(FEATURE_NAMES)} features): "
            "retrain with `nba-ray train`"
        )


def check_walk_forward(model_version: str, train_end: date, first_predicted_date: date) -> None:
    """Raise `WalkForwardError` unless the model's training ended before the first date it predicts: a
    model is never used on or before its `train_end`."""
    if train_end >= first_predicted_date:
        raise WalkForwardError(
            f"model {model_version} was trained on games up to {train_end}, not before the first "
            f"predicted date {first_predicted_date}: pin a model trained before {first_predicted_date} "
            "(see `nba-ray models`), or use the per-season policy"
        )


def _booster_params(params: XGBoostTrainParams, objective: str, nthread: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "objective": objective,
        "eval_metric": "mae",
        "tree_method": "hist",
        "learning_rate": params.learning_rate,
        "max_depth": params.max_depth,
        "min_child_weight": params.min_child_weight,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "reg_lambda": params.reg_lambda,
        "seed": params.seed,
        "nthread": nthread,
    }
    if objective == "reg:pseudohubererror":
        out["huber_slope"] = params.huber_slope
    return out


def _matrix(rows: pd.DataFrame, names: tuple[str, ...], nthread: int) -> xgb.DMatrix:
    return xgb.DMatrix(
        rows.loc[:, list(names)].to_numpy(dtype=np.float32, na_value=np.nan),
        label=rows[TARGET_COLUMN].to_numpy(dtype=np.float32),
        feature_names=list(names),
        nthread=nthread,
    )


def _validation_split(rows: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame, date]:
    dates = np.sort(rows[DATE_COLUMN].unique())
    if len(dates) < 2:
        raise ValueError("training needs rows on at least 2 distinct dates (the last ones are held out)")
    held_out = min(len(dates) - 1, max(1, math.ceil(len(dates) * fraction)))
    first_validation = dates[len(dates) - held_out]
    is_validation = rows[DATE_COLUMN] >= first_validation
    return rows.loc[~is_validation], rows.loc[is_validation], first_validation


def _prepare(rows: pd.DataFrame, names: tuple[str, ...], train_start: date, train_end: date) -> pd.DataFrame:
    missing = [c for c in (*names, TARGET_COLUMN, DATE_COLUMN) if c not in rows.columns]
    if missing:
        raise ValueError(f"training rows: missing column(s) {', '.join(missing)}")
    if train_start > train_end:
        raise ValueError(f"train_start {train_start} is after train_end {train_end}")
    out = rows.loc[:, [*names, TARGET_COLUMN, DATE_COLUMN]].copy()
    out[DATE_COLUMN] = pd.to_datetime(out[DATE_COLUMN]).dt.date
    outside = (out[DATE_COLUMN] < train_start) | (out[DATE_COLUMN] > train_end)
    if outside.any():
        raise ValueError(
            f"training rows: {int(outside.sum())} row(s) dated outside [{train_start}, {train_end}] "
            "(walk-forward: select the training range before calling train_model)"
        )
    if out[TARGET_COLUMN].isna().any():
        raise ValueError(
            f"training rows: {int(out[TARGET_COLUMN].isna().sum())} row(s) without actual_points"
        )
    # A canonical row order, so the model does not depend on the order a query returned the rows in
    # (row subsampling follows row order).
    return out.sort_values([DATE_COLUMN, TARGET_COLUMN, *names], kind="stable").reset_index(drop=True)


def train_model(
    rows: pd.DataFrame,
    *,
    train_start: date,
    train_end: date,
    params: XGBoostTrainParams | None = None,
    nthread: int | None = None,
    created_at: datetime | None = None,
    mode: str = STANDARD,
    contract: Contract | None = None,
) -> ModelArtifact:
    """Train `xgboost_v1` walk-forward on `rows` (the mode's contract features, actual_points,
    game_date); see the module doc. `contract` overrides the mode's only to reproduce an older model."""
    contract = contract or MODE_CONTRACTS[mode]
    params = params or XGBoostTrainParams()
    threads = nthread or params.nthread
    names = contract.names
    data = _prepare(rows, names, train_start, train_end)
    early, late, validation_start = _validation_split(data, params.validation_fraction)
    d_early, d_late = _matrix(early, names, threads), _matrix(late, names, threads)
    actual = late[TARGET_COLUMN].to_numpy(dtype=float)

    scores: dict[str, ObjectiveScore] = {}
    for objective in params.objectives:
        booster = xgb.train(
            _booster_params(params, objective, threads),
            d_early,
            num_boost_round=params.max_rounds,
            evals=[(d_late, "validation")],
            early_stopping_rounds=params.early_stopping_rounds,
            verbose_eval=False,
        )
        rounds = int(booster.best_iteration) + 1
        errors = booster.predict(d_late, iteration_range=(0, rounds)).astype(float) - actual
        scores[objective] = ObjectiveScore(
            validation_mae=float(np.mean(np.abs(errors))),
            validation_bias=float(np.mean(errors)),
            rounds=rounds,
        )
    chosen = _choose_objective(scores, params.max_abs_bias)

    final = xgb.train(
        _booster_params(params, chosen, threads),
        _matrix(data, names, threads),
        num_boost_round=scores[chosen].rounds,
    )
    raw = bytes(final.save_raw("json"))
    metadata = ModelMetadata(
        mode=mode,
        feature_version=contract.version,
        features=list(names),
        train_start=train_start,
        train_end=train_end,
        rows=len(data),
        train_rows=len(early),
        validation_rows=len(late),
        validation_start=validation_start,
        validation_mae=scores[chosen].validation_mae,
        validation_bias=scores[chosen].validation_bias,
        validation_blend_mae=float(np.mean(np.abs(blend_baseline(late) - actual))),
        objective=chosen,
        rounds=scores[chosen].rounds,
        objective_scores=scores,
        xgboost_version=xgb.__version__,
        params=json.loads(params.model_dump_json()),
        created_at=created_at or datetime.now(UTC),
        booster_sha256=_sha256(raw),
    )
    return ModelArtifact(xgb.Booster(params={"nthread": 1}, model_file=bytearray(raw)), metadata)


def _choose_objective(scores: dict[str, ObjectiveScore], max_abs_bias: float) -> str:
    """Lowest validation MAE among objectives with |bias| in bounds, else the least biased."""
    acceptable = [name for name, s in scores.items() if abs(s.validation_bias) <= max_abs_bias]
    if acceptable:
        return min(acceptable, key=lambda name: scores[name].validation_mae)
    return min(scores, key=lambda name: abs(scores[name].validation_bias))
