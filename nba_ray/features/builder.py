"""Feature-store builder: box scores → `ml_feature_store` rows (SYSTEMS.md §2, `FEATURE_VERSION`).

`build_features(box_scores, start, end)` returns, for every game date D in [start, end], one row per
box-score row on D (or appearance in a coming game, `coming.py`) whose player has at least one played
game (minutes_played > 0) before D in any season, except rows whose `dnp_reason` is on the inactive
list ("Did Not Dress", "Not With Team", "Player Suspended"): those are known before tip-off. "Did Not
Play" (coach's decision) and "Played 0:00" are not, so those players get a row and grading later voids
their predictions.

Walk-forward: every figure of a row on D is computed only from games strictly before D (games on D, the
target game included, are never used), so a row never changes when later box scores change.

Determinism: a date's rows are the same, bit for bit, whatever range a build covered and whatever else
the input holds, as long as it holds every game before the date (the caller passes all of them): window
totals are exact fixed-point sums (`sequence.EventSequence`), and input rows are first sorted by
(game_date, game_id, team, player) so codes and summation orders do not depend on the caller's order.

The families, one module each (the decisions the spec leaves open are documented there and kept
identical in `tests/reference_features.py`):
- `inputs`: validation, team-game totals, event sequences, target rows;
- `player_windows`: the player's own windows (points, minutes, usage, shooting mix, trend);
- `availability`: who plays tonight (teammates' recent form, shares, points vacated);
- `lineups`: who starts tonight (the pre-tip model's inputs);
- `rest`: calendar figures (days of rest, back-to-backs, fatigue);
- `team_context`: league, team and opponent figures, pace_score, rest_advantage;
- `zones`: shot_zone_mismatch_score and the zone-context columns;
- `quality`: per-feature quality, the quality score, clipping and the output table.

Data source (`data_source`): `current_season` (≥ 3 current games, or 1–2 current games and no
previous-season game), `mixed` (1–2 current games plus previous-season games), `previous_season` (only
previous-season games), `defaults` (no game since the base: every player-window feature takes its
contract default).

Bad input (missing columns, null keys or dates, null stats on a played row, two rows for one player on
one date, season labels out of date order) raises ValueError: a date never "succeeds" on data the
builder had to guess.

Implementation: no Python loop per player or per row. Played games (and team-games) are sorted by
(group, day) with running sums that restart at each group (player, team); each target row finds its
window bounds with `np.searchsorted` on integer keys (group · 100000 + day), and a window total is a
difference of two running sums.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from nba_ray.data.availability import derive_availability, derive_lineups
from nba_ray.features.availability import availability_features
from nba_ray.features.coming import with_coming
from nba_ray.features.inputs import (
    league_sequence,
    load_box_scores,
    player_sequence,
    target_rows,
    team_game_totals,
    team_sequence,
)
from nba_ray.features.lineups import lineup_features
from nba_ray.features.player_windows import player_window_bounds, player_window_features
from nba_ray.features.quality import assemble, clip_to_contract
from nba_ray.features.rest import calendar_features
from nba_ray.features.sequence import Columns
from nba_ray.features.team_context import derived_features, league_to_date, team_features
from nba_ray.features.zones import zone_context, zone_features
from nba_ray.warehouse.schemas import ML_FEATURE_STORE

__all__ = ["build_features"]


def build_features(
    box_scores: pa.Table,
    start: date,
    end: date,
    availability: pa.Table | None = None,
    lineups: pa.Table | None = None,
    coming: pa.Table | None = None,
) -> pa.Table:
    """Build the feature-store rows for game dates in [start, end], conformed to `ML_FEATURE_STORE`.

    `box_scores` has the `player_game_summary` columns and holds every game the windows need (the
    caller passes all games up to `end`); only games strictly before each row's date are used.
    `availability` has the `player_availability` columns (the warehouse's: derived and feeds); without
    it, availability is derived from `box_scores` as the importer would; `lineups` (`starting_lineups`)
    likewise. `coming` (`coming.coming_appearances`): the players of games without box scores yet, each
    with a row on its date as if it were a box-score row where he has not played.
    """
    if availability is None:
        availability = derive_availability(box_scores)
    if lineups is None:
        lineups = derive_lineups(box_scores)
    if coming is not None:
        box_scores = with_coming(box_scores, coming)
    box = load_box_scores(box_scores)
    team_games = team_game_totals(box)
    played = player_sequence(box, team_games)
    teams = team_sequence(team_games)
    league = league_sequence(team_games)

    targets = target_rows(box, played, start, end)
    if len(targets.rows) == 0:
        return ML_FEATURE_STORE.schema.empty_table()
    values: Columns = {}
    quality: Columns = {}
    windows = player_window_bounds(targets, played)
    player_window_features(windows, played, values, quality)
    played, availability_source = availability_features(
        box, played, targets, windows, availability, values, quality
    )
    lineup_source = lineup_features(box, played, targets, windows, lineups, values, quality)
    calendar_features(targets, played, values, quality)
    league_now = league_to_date(targets, league, teams)
    opponent = team_features(targets, teams, league_now, values, quality)
    derived_features(league_now, opponent, values, quality)
    zone_features(league_now, opponent, values, quality)
    zone_context(league_now, opponent, values)
    clip_to_contract(values)
    sources = {"availability_source": availability_source, "lineup_source": lineup_source}
    return assemble(box, targets, windows, values, quality, sources)
