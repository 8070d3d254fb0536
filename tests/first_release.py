"""A warehouse in the shape the first release made, for the upgrade tests.

The first release (the six tables below, before availability, lineups, fingerprints, the model registry
and recorded versions) created its DuckDB tables with exactly these columns; the DDL is copied from its
schemas. `make_first_release` writes such a warehouse from one of today's: the rows of the tables the
first release had, only the columns it had, and its feature contract's name on the feature rows and
the predictions made from them (`FIRST_FEATURE_VERSION`). What the first release stored is a subset of
today's columns with the same types, so no value is made up.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

FIRST_FEATURE_VERSION = "v1_box_25"
# Table -> its columns as the first release declared them, in its order.
FIRST_RELEASE_DDL: dict[str, str] = {
    "player_game_summary": (
        "season VARCHAR, game_id VARCHAR, game_date DATE, team_abbr VARCHAR, "
        "opponent_team_abbr VARCHAR, is_home BOOLEAN, player_id VARCHAR, player_name VARCHAR, "
        "player_lookup VARCHAR, starter BOOLEAN, minutes_played DOUBLE, points BIGINT, fg_made BIGINT, "
        "fg_attempted BIGINT, three_pt_made BIGINT, three_pt_attempted BIGINT, ft_made BIGINT, "
        "ft_attempted BIGINT, offensive_rebounds BIGINT, defensive_rebounds BIGINT, rebounds BIGINT, "
        "assists BIGINT, steals BIGINT, blocks BIGINT, turnovers BIGINT, personal_fouls BIGINT, "
        "plus_minus BIGINT, dnp BOOLEAN, dnp_reason VARCHAR"
    ),
    "ml_feature_store": (
        "game_date DATE, player_lookup VARCHAR, feature_version VARCHAR, season VARCHAR, "
        "game_id VARCHAR, player_id VARCHAR, team_abbr VARCHAR, opponent_team_abbr VARCHAR, "
        "points_avg_last_5 DOUBLE, points_avg_last_10 DOUBLE, points_avg_season DOUBLE, "
        "points_std_last_10 DOUBLE, minutes_avg_last_10 DOUBLE, fatigue_score DOUBLE, "
        "shot_zone_mismatch_score DOUBLE, pace_score DOUBLE, usage_spike_score DOUBLE, "
        "rest_advantage DOUBLE, games_in_last_7_days DOUBLE, recent_trend DOUBLE, "
        "minutes_change DOUBLE, opponent_def_rating_last_15 DOUBLE, opponent_pace_last_15 DOUBLE, "
        "is_home DOUBLE, days_rest DOUBLE, back_to_back DOUBLE, three_pt_rate_last_10 DOUBLE, "
        "ft_rate_last_10 DOUBLE, pct_points_from_three_last_10 DOUBLE, "
        "pct_points_from_ft_last_10 DOUBLE, team_pace_last_10 DOUBLE, team_off_rating_last_10 DOUBLE, "
        "usage_rate_last_10 DOUBLE, opp_two_pct_allowed_delta DOUBLE, "
        "opp_three_pct_allowed_delta DOUBLE, opp_ft_rate_allowed_delta DOUBLE, league_two_pct DOUBLE, "
        "league_three_pct DOUBLE, league_ft_rate DOUBLE, player_exp_points_two DOUBLE, "
        "player_exp_points_three DOUBLE, player_exp_points_ft DOUBLE, league_def_rating_p33 DOUBLE, "
        "league_def_rating_p67 DOUBLE, feature_quality_score DOUBLE, games_in_history BIGINT, "
        "data_source VARCHAR"
    ),
    "prop_lines": (
        "game_date DATE, player_lookup VARCHAR, bookmaker VARCHAR, snapshot_ts TIMESTAMPTZ, "
        "points_line DOUBLE, over_price BIGINT, under_price BIGINT"
    ),
    "player_prop_predictions": (
        "prediction_id VARCHAR, system_id VARCHAR, system_version VARCHAR, game_date DATE, "
        "game_id VARCHAR, player_lookup VARCHAR, player_id VARCHAR, team_abbr VARCHAR, "
        "opponent_team_abbr VARCHAR, predicted_points DOUBLE, confidence_score DOUBLE, "
        "recommendation VARCHAR, line_value DOUBLE, line_source VARCHAR, line_margin DOUBLE, "
        "similar_games_count BIGINT, avg_similarity_score DOUBLE, contributing_systems VARCHAR, "
        "prediction_variance DOUBLE, feature_version VARCHAR, feature_quality_score DOUBLE, "
        "model_version VARCHAR, run_id VARCHAR, created_at TIMESTAMPTZ"
    ),
    "prediction_accuracy": (
        "game_date DATE, player_lookup VARCHAR, system_id VARCHAR, game_id VARCHAR, "
        "predicted_points DOUBLE, actual_points DOUBLE, confidence_score DOUBLE, "
        "recommendation VARCHAR, line_value DOUBLE, line_source VARCHAR, absolute_error DOUBLE, "
        "signed_error DOUBLE, within_3_points BOOLEAN, within_5_points BOOLEAN, "
        "predicted_margin DOUBLE, actual_margin DOUBLE, prediction_correct BOOLEAN, "
        "confidence_decile BIGINT, minutes_played DOUBLE, blend_points DOUBLE, is_voided BOOLEAN, "
        "void_reason VARCHAR, graded_at TIMESTAMPTZ"
    ),
    "backfill_checkpoints": (
        "run_key VARCHAR, game_date DATE, status VARCHAR, players BIGINT, predictions BIGINT, "
        "skipped BIGINT, load_seconds DOUBLE, predict_seconds DOUBLE, write_seconds DOUBLE, "
        "error VARCHAR, attempt BIGINT, run_id VARCHAR, updated_at TIMESTAMPTZ"
    ),
}


def make_first_release(source: Path, target: Path) -> None:
    """Write `target`, a first-release warehouse holding what `source` (today's shape) holds in the
    first release's tables and columns, features and predictions labelled with its contract."""
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH '{source}' AS today (READ_ONLY)")
        for table, columns in FIRST_RELEASE_DDL.items():
            con.execute(f'CREATE TABLE "{table}" ({columns})')
            names = [column.split()[0] for column in columns.split(", ")]
            selected = ", ".join(
                f"'{FIRST_FEATURE_VERSION}' AS feature_version" if name == "feature_version" else name
                for name in names
            )
            con.execute(f'INSERT INTO "{table}" SELECT {selected} FROM today."{table}"')
        con.execute("DETACH today")
    finally:
        con.close()
