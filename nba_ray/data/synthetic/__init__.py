"""A deterministic synthetic NBA league: the tests' fixture and the data a newcomer gets with no real data.

The point of the simulation is that every downstream module (features, the five systems, the model,
grading) sees data with the same *shape* as real box scores: the same schedule density and back-to-back
rate, the same share of DNP rows and their reasons, the same minutes and points distributions, players
who persist across seasons (so "previous season" fallbacks are exercised), trades and call-ups (so a
player's games span two teams), and points that really depend on the things the features measure —
role and minutes, usage when teammates are out, opponent defense by zone, pace, home court and rest.
Summary figures are checked against real seasons in `tests/test_synthetic.py`; no real data, names or
numbers-as-data are copied here, only league structure (the 30 tricodes and their divisions).

Everything is vectorised with numpy over arrays of rows; the few Python loops run over dates, trades
and names, never over box-score rows. All randomness comes from one `numpy.random.Generator` seeded by
`seed`, consumed in a fixed order, so the same seasons and seed give byte-identical tables.

The package follows the order a season is built in: `players` (the league's players and their careers),
`schedule` (calendar and games), `rosters` (stints, transactions and who is available each night),
`games` (rotation, minutes and stat lines), `lines` (the books' prop lines) and `season` (one season
end to end, and `generate_league` over several).
"""

from nba_ray.data.synthetic.season import GAME_ID_CODE, SyntheticLeague, generate_league

__all__ = ["GAME_ID_CODE", "SyntheticLeague", "generate_league"]
