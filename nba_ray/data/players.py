"""Which players a team has: a feed may only name players the warehouse knows for the team it lists.

A player belongs to the team of his latest box-score row on or before the feed's date (a traded player
to his new team); a player without any box score belongs to the team of his latest stored feed row (he
was admitted as new once, and stays known). Anyone else is refused, with the closest names the team
does have, unless the import admits him explicitly as a new player.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from nba_ray.data.lookup import player_lookup

__all__ = ["KnownPlayers", "UnknownPlayer", "admitted_lookups"]

# How many of the closest names a refusal suggests, and how close a name must be to be suggested.
_SUGGESTIONS, _CLOSENESS = 3, 0.6


@dataclass(frozen=True)
class UnknownPlayer:
    """Why a feed row's player is not one of its team's, for the refusal's message."""

    row: int  # position in the frame that was checked
    reason: str


@dataclass(frozen=True)
class KnownPlayers:
    """Every (date, team, player) a box score or a stored feed row shows, and the players admitted as new."""

    box_scores: pd.DataFrame  # game_date, team_abbr, player_lookup, player_name
    feeds: pd.DataFrame  # game_date, team_abbr, player_lookup
    admitted: frozenset[str]

    @classmethod
    def of(
        cls, box_scores: pa.Table, feeds: Iterable[pa.Table] = (), admitted: Iterable[str] = ()
    ) -> KnownPlayers:
        """From box-score rows (with `player_name`) and stored feed rows; `admitted`: player lookups."""
        columns = ["game_date", "team_abbr", "player_lookup"]
        box = box_scores.select([*columns, "player_name"]).to_pandas()
        listed = [table.select(columns).to_pandas() for table in feeds]
        stored = pd.concat(listed, ignore_index=True) if listed else pd.DataFrame(columns=columns)
        return cls(_dated(box), _dated(stored), frozenset(admitted))

    def check(self, rows: pd.DataFrame) -> UnknownPlayer | None:
        """The first of `rows` (game_date, team_abbr, player_lookup) whose player is not known for his
        team on his date, or None when every row's is."""
        if rows.empty:
            return None
        asked = _dated(rows[["game_date", "team_abbr", "player_lookup"]].reset_index(drop=True))
        team = _latest_team(self.box_scores, asked)
        without_box = team.isna()
        team = team.where(~without_box, _latest_team(self.feeds, asked, on_or_before=False))
        admitted = asked["player_lookup"].isin(self.admitted).to_numpy()
        bad = np.flatnonzero((team.to_numpy() != asked["team_abbr"].to_numpy()) & ~admitted)
        if not bad.size:
            return None
        first = asked.iloc[bad[0]]
        other = team.iloc[bad[0]]
        suggestions = self.closest(first["player_lookup"], first["team_abbr"], first["game_date"])
        closest = (
            f"closest of {first['team_abbr']}: {', '.join(suggestions)}"
            if suggestions
            else (f"no close name on {first['team_abbr']}")
        )
        if isinstance(other, str):
            whose = f"is a player of {other}, not {first['team_abbr']}"
        else:
            whose = f"is no known player of {first['team_abbr']}"
        return UnknownPlayer(
            int(bad[0]),
            f"player {first['player_lookup']!r} {whose} ({closest}; a genuinely new player is admitted "
            "with --new-player NAME)",
        )

    def team_players(self, team: str, on: pd.Timestamp) -> dict[str, str]:
        """{lookup: name} of the players whose latest box score on or before `on` is for `team`."""
        before = self.box_scores[self.box_scores["game_date"] <= on]
        latest = before.sort_values("game_date", kind="stable").drop_duplicates("player_lookup", keep="last")
        mine = latest[latest["team_abbr"] == team]
        return dict(zip(mine["player_lookup"], mine["player_name"], strict=True))

    def closest(self, lookup: str, team: str, on: pd.Timestamp) -> list[str]:
        names = self.team_players(team, on)
        return [names[m] for m in difflib.get_close_matches(lookup, list(names), _SUGGESTIONS, _CLOSENESS)]


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as datetime64 and names as plain objects, whatever reader made the frame (merges need one
    dtype on both sides)."""
    return frame.assign(
        game_date=pd.to_datetime(frame["game_date"]).astype("datetime64[ns]"),
        team_abbr=frame["team_abbr"].astype(object),
        player_lookup=frame["player_lookup"].astype(object),
    )


def _latest_team(history: pd.DataFrame, asked: pd.DataFrame, *, on_or_before: bool = True) -> pd.Series:
    """For each asked (player, date): the team of the player's latest row in `history` on or before the
    date (or of his latest row at all), NaN where he has none."""
    order = np.arange(len(asked))
    if history.empty:
        return pd.Series([np.nan] * len(asked), dtype=object)
    if not on_or_before:
        latest = history.sort_values("game_date", kind="stable").drop_duplicates("player_lookup", keep="last")
        found = asked.merge(
            latest[["player_lookup", "team_abbr"]], on="player_lookup", how="left", suffixes=("", "_known")
        )
        return found["team_abbr_known"].reset_index(drop=True).astype(object)
    left = asked.assign(_order=order).sort_values("game_date", kind="stable")
    right = history[["game_date", "player_lookup", "team_abbr"]].sort_values("game_date", kind="stable")
    found = pd.merge_asof(
        left, right.rename(columns={"team_abbr": "_team"}), on="game_date", by="player_lookup"
    )
    return found.sort_values("_order")["_team"].reset_index(drop=True).astype(object)


def admitted_lookups(names: Sequence[str]) -> frozenset[str]:
    """The lookups of the names an import admits as new players."""
    return frozenset(player_lookup(name) for name in names)
