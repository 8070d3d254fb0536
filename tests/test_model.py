"""The xgboost_v1 artifact: deterministic walk-forward training, save/load round trip, contract checks."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from nba_ray.features.contract import (
    FEATURE_DEFAULTS,
    FEATURE_NAMES,
    FEATURE_VERSION,
    MODE_CONTRACTS,
    PRE_TIP,
    STANDARD,
    V1_BOX_25,
    V3_LINEUPS_43,
    ModelContractError,
)
from nba_ray.models.artifact import ModelArtifact
from nba_ray.models.policy import WalkForwardError, check_walk_forward
from nba_ray.models.training import train_model
from nba_ray.systems.settings import XGBoostTrainParams
from tests.systems_fixtures import (
    CREATED_AT,
    TINY_PARAMS,
    feature_row,
    make_batch,
    synthetic_training_rows,
    tiny_artifact,
)

# A standard model's inputs: the standard contract (no lineups).
MODEL_FEATURES = MODE_CONTRACTS[STANDARD].names


def row_matrix(**values: float) -> np.ndarray:
    row = np.array([FEATURE_DEFAULTS[name] for name in MODEL_FEATURES], dtype=float)
    for name, value in values.items():
        row[MODEL_FEATURES.index(name)] = value
    return row[None, :]


def test_predictions_move_with_the_known_relationship() -> None:
    model = tiny_artifact()

    def predict(**values: float) -> float:
        return float(model.predict(row_matrix(**values))[0])

    base = {"points_avg_last_5": 20.0, "points_avg_last_10": 20.0, "points_avg_season": 20.0}
    # truth: 0.7·L5 + 0.3·season + 3·home − 4·back_to_back
    assert predict(**{**base, "points_avg_last_5": 30.0}) > predict(**base) + 3.0
    assert predict(**base, is_home=1.0) > predict(**base, is_home=0.0) + 1.5
    assert predict(**base, back_to_back=1.0) < predict(**base, back_to_back=0.0) - 2.0
    assert abs(predict(**base, is_home=1.0) - 23.0) < 2.5


def test_metadata_describes_the_training() -> None:
    rows = synthetic_training_rows()
    meta = tiny_artifact().metadata
    assert meta.mode == STANDARD and meta.feature_version == MODE_CONTRACTS[STANDARD].version
    assert meta.features == list(MODEL_FEATURES)
    assert meta.train_start == date(2021, 10, 20) and meta.train_end == date(2021, 12, 18)
    assert meta.rows == len(rows) == meta.train_rows + meta.validation_rows
    # last ~15 % of the 60 dates (9) are held out, by date
    assert meta.validation_start == date(2021, 12, 10)
    assert meta.validation_rows == 9 * 40
    assert meta.objective in TINY_PARAMS.objectives and set(meta.objective_scores) == set(
        TINY_PARAMS.objectives
    )
    # the model beats the blend baseline on this relationship (it knows about home / back-to-back)
    assert meta.validation_mae < meta.validation_blend_mae
    assert tiny_artifact().version_id.startswith("xgboost_v1@2021-12-18-")


def test_training_is_deterministic() -> None:
    rows = synthetic_training_rows(n_dates=30, players_per_date=20, seed=3)
    kwargs = {"train_start": date(2021, 10, 20), "train_end": date(2021, 11, 18), "params": TINY_PARAMS}
    first = train_model(rows, created_at=CREATED_AT, **kwargs)
    second = train_model(rows.sample(frac=1.0, random_state=1), created_at=CREATED_AT, **kwargs)
    assert first.metadata == second.metadata
    assert first.version_id == second.version_id


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = tiny_artifact()
    model.save(tmp_path / "m")
    loaded = ModelArtifact.load(tmp_path / "m")
    assert loaded.metadata == model.metadata
    assert loaded.version_id == model.version_id
    matrix = np.vstack([row_matrix(points_avg_last_5=v) for v in (5.0, 15.0, 35.0)])
    np.testing.assert_array_equal(loaded.predict(matrix), model.predict(matrix))
    stored = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert {"feature_version", "features", "train_start", "train_end", "rows", "validation_mae"} <= set(
        stored
    )
    assert {"xgboost_version", "params", "created_at"} <= set(stored)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda meta: meta["features"].pop(),  # 24 features
        lambda meta: meta["features"].reverse(),  # same names, other order
        lambda meta: meta["features"].__setitem__(3, "points_avg_last_7"),  # a name not in the contract
        lambda meta: meta.__setitem__("feature_version", "v0_old"),
    ],
)
def test_tampered_feature_list_fails_to_load(tmp_path: Path, tamper) -> None:
    tiny_artifact().save(tmp_path)
    meta_path = tmp_path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    tamper(meta)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelContractError, match="retrain") as info:
        ModelArtifact.load(tmp_path)
    message = str(info.value)
    assert "\n" not in message and FEATURE_VERSION in message


def test_corrupt_or_missing_model_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelContractError, match="no xgboost_v1 model"):
        ModelArtifact.load(tmp_path / "nowhere")
    tiny_artifact().save(tmp_path)
    booster = tmp_path / "booster.json"
    booster.write_text(booster.read_text().replace('"num_feature"', '"num_feature" ', 1))
    with pytest.raises(ModelContractError, match="hash"):
        ModelArtifact.load(tmp_path)


def test_walk_forward_check() -> None:
    model = tiny_artifact()  # trained through 2021-12-18
    meta = model.metadata
    check_walk_forward(model.version_id, meta.train_end, date(2021, 12, 19))
    with pytest.raises(WalkForwardError, match="2021-12-18"):
        check_walk_forward(model.version_id, meta.train_end, date(2021, 12, 18))


def test_rows_outside_the_range_are_rejected() -> None:
    rows = synthetic_training_rows(n_dates=10, players_per_date=5)
    with pytest.raises(ValueError, match="outside"):
        train_model(rows, train_start=date(2021, 10, 20), train_end=date(2021, 10, 25), params=TINY_PARAMS)
    with pytest.raises(ValueError, match="actual_points"):
        train_model(
            rows.drop(columns=["actual_points"]),
            train_start=date(2021, 10, 20),
            train_end=date(2021, 10, 20) + timedelta(days=9),
        )


def test_predict_checks_the_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        tiny_artifact().predict(np.zeros((2, 24)))
    assert tiny_artifact().predict(np.zeros((0, len(MODEL_FEATURES)))).shape == (0,)


def test_objective_chosen_by_validation_with_bias_bound() -> None:
    from nba_ray.models.artifact import ObjectiveScore
    from nba_ray.models.training import _choose_objective

    scores = {
        "reg:squarederror": ObjectiveScore(validation_mae=4.0, validation_bias=0.1, rounds=10),
        "reg:absoluteerror": ObjectiveScore(validation_mae=3.9, validation_bias=-0.9, rounds=10),
        "reg:pseudohubererror": ObjectiveScore(validation_mae=3.95, validation_bias=-0.5, rounds=10),
    }
    assert _choose_objective(scores, max_abs_bias=0.6) == "reg:pseudohubererror"
    assert _choose_objective(scores, max_abs_bias=0.05) == "reg:squarederror"  # none qualifies: least biased
    with pytest.raises(ValueError):
        XGBoostTrainParams(objectives=("reg:gamma",))


def test_a_v1_model_still_loads_and_predicts_identically_from_v2_rows(tmp_path: Path) -> None:
    """A model trained on the 25 v1 features reads exactly those columns of v2 rows: same predictions."""
    rows = synthetic_training_rows()
    v1 = train_model(
        rows,
        train_start=min(rows["game_date"]),
        train_end=max(rows["game_date"]),
        params=TINY_PARAMS,
        created_at=CREATED_AT,
        contract=V1_BOX_25,
    )
    assert v1.metadata.feature_version == "v1_box_25" and v1.feature_names == V1_BOX_25.names
    v1.save(tmp_path)
    loaded = ModelArtifact.load(tmp_path)
    sample = rows.head(50)
    expected = v1.booster.inplace_predict(sample.loc[:, list(V1_BOX_25.names)].to_numpy(dtype=np.float32))
    # v2 rows: the same v1 values, every v2 column set (to values a v1 model must not see).
    v2_rows = [
        feature_row(f"p{i:02d}", **{name: float(row[name]) for name in V1_BOX_25.names})
        | {name: 123.0 for name in FEATURE_NAMES if name not in V1_BOX_25.names}
        for i, (_, row) in enumerate(sample.iterrows())
    ]
    batch = make_batch(v2_rows)
    assert np.array_equal(loaded.predict(batch.feature_matrix(loaded.feature_names)), expected)
    assert loaded.version_id == v1.version_id


def test_a_pre_tip_model_reads_the_lineup_features_and_says_so() -> None:
    """`mode="pre_tip"` trains on the whole current contract (lineups included) and records its mode;
    a system of the other mode refuses it, and the other way round."""
    from nba_ray.systems.settings import SystemsSettings
    from nba_ray.systems.xgboost_system import XGBoostSystem

    rows = synthetic_training_rows()
    rows["starter_tonight"] = (rows["points_avg_last_10"] > 15).astype(float)
    pre_tip = train_model(
        rows,
        train_start=min(rows["game_date"]),
        train_end=max(rows["game_date"]),
        params=TINY_PARAMS,
        created_at=CREATED_AT,
        mode=PRE_TIP,
    )
    meta = pre_tip.metadata
    assert meta.mode == PRE_TIP and meta.feature_version == V3_LINEUPS_43.version == FEATURE_VERSION
    assert pre_tip.feature_names == FEATURE_NAMES and "starter_tonight" in pre_tip.feature_names
    assert pre_tip.version_id != tiny_artifact().version_id
    XGBoostSystem.build(SystemsSettings(mode=PRE_TIP), pre_tip)
    with pytest.raises(ModelContractError, match="trained for pre_tip predictions, not standard"):
        XGBoostSystem.build(SystemsSettings(), pre_tip)
    with pytest.raises(ModelContractError, match="nba-ray train --pre-tip"):
        XGBoostSystem.build(SystemsSettings(mode=PRE_TIP), tiny_artifact())
