"""Who was available for each team-game, derived from the box scores (`player_availability`, BOX_SCORE).

Box scores list few inactive players (Did Not Dress / Not With Team / Player Suspended: about a quarter
of a row per team-game); most players who miss a game have no row at all. So, per team-game:

- AVAILABLE: every row without an inactive-list reason. "Did Not Play" (coach's decision) and "Played 0:00"
  are AVAILABLE: the player was available, the coach did not use him, and that is not known before tip-off.
- OUT: every row with an inactive-list reason, and every *recent rotation player* without a row: a player
  who played (minutes > 0) for the team in one of its previous `ROTATION_GAMES` games of the same season.
  A player whose latest row before the date is for another team (traded, or signed elsewhere), or who has
  a row on the date for another team, is not out for this team: he has left it. A team's "previous games"
  are the games the data holds, so a missing game is simply not counted.

Only games before the date decide who is a rotation player, and only the date's rows (present or not,
inactive or not) decide who is out of them: the minutes, points and coach's-decision DNPs of the date
itself never change the date's availability.

A season's first games have no earlier rotation (the previous season's players may have left in the
summer): only inactive-list rows are OUT there.

Starting lineups (`starting_lineups`, BOX_SCORE) are the box scores' `starter` rows: five per team-game.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.warehouse.schemas import (
    AVAILABILITY_AVAILABLE,
    AVAILABILITY_OUT,
    PLAYER_AVAILABILITY,
    SOURCE_BOX_SCORE,
    STARTING_LINEUPS,
    TableSpec,
    conform,
)

__all__ = ["PRE_GAME_INACTIVE_REASONS", "ROTATION_GAMES", "derive_availability", "derive_lineups"]

# Reasons on the inactive list, known before tip-off.
PRE_GAME_INACTIVE_REASONS: tuple[str, ...] = ("Did Not Dress", "Not With Team", "Player Suspended")
# A player who played for the team in one of its previous this-many games is in its rotation.
ROTATION_GAMES = 10

_COLUMNS = ("season", "game_id", "game_date", "team_abbr", "player_lookup", "minutes_played", "dnp_reason")


def derive_availability(box_scores: pa.Table) -> pa.Table:
    """AVAILABLE / OUT rows (source BOX_SCORE) for every team-game in `box_scores`, sorted by key."""
    missing = [name for name in _COLUMNS if name not in box_scores.column_names]
    if missing:
        raise ValueError(f"box scores: missing column(s) {', '.join(missing)}")
    rows = box_scores.select(list(_COLUMNS)).to_pandas()
    rows["game_date"] = pd.to_datetime(rows["game_date"]).dt.date
    inactive = rows["dnp_reason"].isin(PRE_GAME_INACTIVE_REASONS).to_numpy()
    listed = pd.DataFrame(
        {
            "game_date": rows["game_date"],
            "team_abbr": rows["team_abbr"],
            "player_lookup": rows["player_lookup"],
            "status": np.where(inactive, AVAILABILITY_OUT, AVAILABILITY_AVAILABLE),
        }
    )
    unlisted = _rotation_players_without_a_row(rows)
    return _from_box_scores(pd.concat([listed, unlisted], ignore_index=True), PLAYER_AVAILABILITY)


def derive_lineups(box_scores: pa.Table) -> pa.Table:
    """The starters (source BOX_SCORE) of every team-game in `box_scores`, sorted by key."""
    missing = [
        name
        for name in ("game_date", "team_abbr", "player_lookup", "starter")
        if name not in box_scores.column_names
    ]
    if missing:
        raise ValueError(f"box scores: missing column(s) {', '.join(missing)}")
    rows = box_scores.select(["game_date", "team_abbr", "player_lookup", "starter"]).to_pandas()
    starters = rows.loc[
        rows["starter"].fillna(False).astype(bool), ["game_date", "team_abbr", "player_lookup"]
    ]
    starters = starters.assign(game_date=pd.to_datetime(starters["game_date"]).dt.date)
    return _from_box_scores(starters.reset_index(drop=True), STARTING_LINEUPS)


def _from_box_scores(frame: pd.DataFrame, spec: TableSpec) -> pa.Table:
    frame = frame.assign(source=SOURCE_BOX_SCORE, reported_at=pd.Series([None] * len(frame), dtype="object"))
    table = pa.Table.from_pandas(frame, preserve_index=False, schema=spec.schema)
    return conform(table, spec).sort_by([(k, "ascending") for k in spec.key])


def _rotation_players_without_a_row(rows: pd.DataFrame) -> pd.DataFrame:
    """OUT rows for players who played in one of the team's previous games and have no row tonight."""
    games = (
        rows[["season", "team_abbr", "game_date"]]
        .drop_duplicates()
        .sort_values(["season", "team_abbr", "game_date"], kind="stable")
        .reset_index(drop=True)
    )
    games["game_number"] = games.groupby(["season", "team_abbr"], sort=False).cumcount()
    played = rows.loc[
        rows["minutes_played"].fillna(0.0) > 0, ["season", "team_abbr", "game_date", "player_lookup"]
    ]
    played = played.merge(games, on=["season", "team_abbr", "game_date"])
    # Each played game makes the player a candidate for the team's next ROTATION_GAMES games.
    ahead = np.arange(1, ROTATION_GAMES + 1)
    candidates = pd.DataFrame(
        {
            "season": np.repeat(played["season"].to_numpy(), len(ahead)),
            "team_abbr": np.repeat(played["team_abbr"].to_numpy(), len(ahead)),
            "player_lookup": np.repeat(played["player_lookup"].to_numpy(), len(ahead)),
            "game_number": np.repeat(played["game_number"].to_numpy(), len(ahead))
            + np.tile(ahead, len(played)),
        }
    ).drop_duplicates()
    candidates = candidates.merge(
        games, on=["season", "team_abbr", "game_number"]
    )  # drops games past the end
    # Not out when he has any row on the date (this team: listed already; another team: he has left).
    on_date = rows[["game_date", "player_lookup"]].drop_duplicates().assign(_has_row=True)
    candidates = candidates.merge(on_date, on=["game_date", "player_lookup"], how="left")
    candidates = candidates[candidates["_has_row"].isna()]
    # Not out when his latest row before the date is for another team (traded or signed elsewhere).
    latest = _latest_team_before(rows, candidates[["player_lookup", "game_date"]])
    candidates = candidates[latest.to_numpy() == candidates["team_abbr"].to_numpy()]
    return pd.DataFrame(
        {
            "game_date": candidates["game_date"].to_numpy(),
            "team_abbr": candidates["team_abbr"].to_numpy(),
            "player_lookup": candidates["player_lookup"].to_numpy(),
            "status": AVAILABILITY_OUT,
        }
    )


def _latest_team_before(rows: pd.DataFrame, queries: pd.DataFrame) -> pd.Series:
    """For each (player, date) query, the team of the player's latest row strictly before the date."""
    if queries.empty:
        return pd.Series([], dtype=object)
    history = rows[["player_lookup", "game_date", "team_abbr"]].copy()
    history["_day"] = pd.to_datetime(history["game_date"])
    history = history.sort_values("_day", kind="stable")
    asked = queries.assign(_day=pd.to_datetime(queries["game_date"]), _order=np.arange(len(queries)))
    asked = asked.sort_values("_day", kind="stable")
    found = pd.merge_asof(
        asked,
        history[["player_lookup", "_day", "team_abbr"]],
        on="_day",
        by="player_lookup",
        allow_exact_matches=False,
    )
    return found.sort_values("_order")["team_abbr"].reset_index(drop=True)
