"""The `xgboost_v1` model artifact: a booster and its metadata, saved, loaded and checked.

Artifact. A directory with `booster.json` (xgboost's JSON model) and `metadata.json` (feature version and
exact feature list, training range, row counts, validation figures, objective, rounds, params, xgboost
version, created_at, the booster file's sha256). `ModelArtifact.load` refuses — with a one-line
`ModelContractError` — a model whose feature version or feature list differs from the contract, or whose
booster file does not match its recorded hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from nba_ray.features.contract import (
    CONTRACTS,
    FEATURE_NAMES,
    FEATURE_VERSION,
    STANDARD,
    ModelContractError,
)

if TYPE_CHECKING:  # xgboost is imported where a booster is read, not by every importer
    import xgboost as xgb

BOOSTER_FILE = "booster.json"
METADATA_FILE = "metadata.json"
MODEL_SYSTEM_ID = "xgboost_v1"


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


def sha256_hex(data: bytes) -> str:
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
    def mode(self) -> str:
        """The predictions it is for: `standard` or `pre_tip`."""
        return self.metadata.mode

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
        if sha256_hex(raw) != self.metadata.booster_sha256:
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
        if sha256_hex(raw) != metadata.booster_sha256:
            raise ModelContractError(f"model booster {source} does not match the sha256 hash in its metadata")
        import xgboost as xgb

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
