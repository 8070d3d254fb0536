from __future__ import annotations

from pathlib import Path

import pytest

from nba_ray.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_local_yaml_equals_the_builtin_defaults() -> None:
    assert load_settings(ROOT / "configs" / "local.yaml", environ={}) == Settings()


def test_bigquery_yaml_is_valid() -> None:
    settings = load_settings(ROOT / "configs" / "bigquery.yaml", environ={})
    assert settings.warehouse.kind == "bigquery"
    assert settings.warehouse.dataset == "nba"


def test_environment_overrides_a_key() -> None:
    settings = load_settings(
        None, environ={"NBA_RAY_WAREHOUSE__PATH": "/data/x.duckdb", "NBA_RAY_BATCHING__CHUNK_SIZE": "40"}
    )
    assert settings.warehouse.path == Path("/data/x.duckdb")
    assert settings.batching.chunk_size == 40


def test_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("batching:\n  chunk_sise: 10\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: batching.chunk_sise: unknown key"):
        load_settings(path, environ={})


@pytest.mark.parametrize("dataset", ["nba; DROP TABLE x", "nba`.x", "a b", "nba--", "x.y"])
def test_dataset_carrying_sql_is_rejected(dataset: str) -> None:
    with pytest.raises(ConfigError, match="NBA_RAY_WAREHOUSE__DATASET: dataset"):
        load_settings(None, environ={"NBA_RAY_WAREHOUSE__DATASET": dataset})


def test_project_carrying_sql_is_rejected() -> None:
    with pytest.raises(ConfigError, match="NBA_RAY_WAREHOUSE__PROJECT: project"):
        load_settings(None, environ={"NBA_RAY_WAREHOUSE__PROJECT": "proj`; select 1"})


def test_unknown_system_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"NBA_RAY_SYSTEMS__ENABLED: unknown system id\(s\) magic_v9"):
        load_settings(None, environ={"NBA_RAY_SYSTEMS__ENABLED": "[moving_average_baseline_v1, magic_v9]"})


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("warehouse: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad, environ={})


def test_pinned_model_policy_needs_its_version() -> None:
    with pytest.raises(ConfigError, match="NBA_RAY_MODEL__POLICY: .*pinned and version go together"):
        load_settings(None, environ={"NBA_RAY_MODEL__POLICY": "pinned"})
    with pytest.raises(ConfigError, match="NBA_RAY_MODEL__VERSION: .*pinned and version go together"):
        load_settings(None, environ={"NBA_RAY_MODEL__VERSION": "xgboost_v1@2022-10-17-abcdef12"})
    pinned = load_settings(
        None,
        environ={"NBA_RAY_MODEL__POLICY": "pinned", "NBA_RAY_MODEL__VERSION": "xgboost_v1@2022-10-17-ab"},
    )
    assert pinned.model.version == "xgboost_v1@2022-10-17-ab"


def test_each_report_status_has_a_probability_of_playing(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"NBA_RAY_AVAILABILITY__PLAY_PROBABILITY__QUESTIONABLE": "0.6"})
    assert settings.availability.play_probability == {
        "OUT": 0.0,
        "DOUBTFUL": 0.25,
        "QUESTIONABLE": 0.6,
        "PROBABLE": 0.75,
        "AVAILABLE": 1.0,
    }
    path = tmp_path / "play.yaml"
    for table, reason in (
        ("{OUT: 0.0, GTD: 0.5}", "unknown status\\(es\\) GTD \\(use OUT, DOUBTFUL"),
        (
            "{doubtful: 0.6}",
            "probabilities must lie in \\[0, 1\\] and not fall from OUT to DOUBTFUL",
        ),
        ("{OUT: -0.1}", "probabilities must lie in"),
    ):
        path.write_text(f"availability:\n  play_probability: {table}\n")
        with pytest.raises(ConfigError, match=f"play.yaml: availability.play_probability: {reason}"):
            load_settings(path, environ={})


def test_unpredicted_statuses_and_the_roster_window_are_checked() -> None:
    settings = load_settings(None, environ={"NBA_RAY_AVAILABILITY__UNPREDICTED": "[out]"})
    assert settings.availability.unpredicted == ("OUT",) and settings.availability.roster_games == 10
    with pytest.raises(ConfigError, match="NBA_RAY_AVAILABILITY__UNPREDICTED: unknown status\\(es\\) GTD"):
        load_settings(None, environ={"NBA_RAY_AVAILABILITY__UNPREDICTED": "[OUT, GTD]"})
    with pytest.raises(ConfigError, match="NBA_RAY_AVAILABILITY__ROSTER_GAMES"):
        load_settings(None, environ={"NBA_RAY_AVAILABILITY__ROSTER_GAMES": "0"})
