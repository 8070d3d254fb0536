"""Coming games into the builder: who plays on a date against whom, before the box scores exist.

The builder builds a date's rows from the box-score rows of that date: each gives the player, his team,
the opponent, home or away, and whether he was on the inactive list; every figure comes from games
before the date and from the date's availability and lineups. A coming game has no box-score rows, so
`coming_appearances` writes the same keys for it from the schedule and the expected players (nothing
played, no inactive reason), and `with_coming` puts them beside the box scores. Since nothing else of
a date's own rows enters its figures, a coming player's row equals, bit for bit, the row the builder
makes once the game's box scores are in, given the same availability and lineups.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from nba_ray.features.inputs import REQUIRED_COLUMNS

__all__ = ["coming_appearances", "with_coming"]


def coming_appearances(box_scores: pa.Table, games: pa.Table, expected: pa.Table) -> pa.Table:
    """Box-score keys (`REQUIRED_COLUMNS`, nothing played) of the predicted `expected` players of
    `games` (`scheduled_games` rows of games to be played: not postponed, without box scores).

    A player who already has a box-score row on the date (a game of his that is in) gets none; his
    `player_id` is that of his latest box score (none for a player without one: he gets no row anyway,
    the builder needs a played game before the date)."""
    frame = games.to_pandas()
    sides = [
        frame.rename(columns={"home_team_abbr": "team_abbr", "away_team_abbr": "opponent_team_abbr"}).assign(
            is_home=True
        ),
        frame.rename(columns={"away_team_abbr": "team_abbr", "home_team_abbr": "opponent_team_abbr"}).assign(
            is_home=False
        ),
    ]
    team_games = pd.concat(sides, ignore_index=True)[
        ["season", "game_id", "game_date", "team_abbr", "opponent_team_abbr", "is_home"]
    ]
    players = expected.filter(expected["predicted"]).select(["game_date", "team_abbr", "player_lookup"])
    rows = team_games.merge(players.to_pandas(), on=["game_date", "team_abbr"])
    box = box_scores.select(["game_date", "player_lookup", "player_id"]).to_pandas()
    box["game_date"] = pd.to_datetime(box["game_date"]).dt.date
    on_date = set(zip(box["game_date"], box["player_lookup"], strict=True))
    rows = rows[[key not in on_date for key in zip(rows["game_date"], rows["player_lookup"], strict=True)]]
    latest = box.sort_values("game_date", kind="stable").drop_duplicates("player_lookup", keep="last")
    rows = rows.merge(latest[["player_lookup", "player_id"]], on="player_lookup", how="left")
    schema = box_scores.select(list(REQUIRED_COLUMNS)).schema
    columns = {name: rows[name] if name in rows else pd.Series([None] * len(rows)) for name in schema.names}
    table = pa.Table.from_pandas(pd.DataFrame(columns), schema=schema, preserve_index=False)
    return table.sort_by(
        [(name, "ascending") for name in ("game_date", "game_id", "team_abbr", "player_lookup")]
    )


def with_coming(box_scores: pa.Table, coming: pa.Table) -> pa.Table:
    """The builder's input columns of the box scores and the coming games' rows, as one table."""
    played = box_scores.select(list(REQUIRED_COLUMNS))
    return pa.concat_tables([played, coming.select(list(REQUIRED_COLUMNS)).cast(played.schema)])
