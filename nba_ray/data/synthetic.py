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
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from nba_ray.data.league import CONFERENCES, TEAMS, season_start_year
from nba_ray.data.lookup import player_lookup
from nba_ray.warehouse.schemas import PLAYER_GAME_SUMMARY, PROP_LINES, STAT_COLUMNS, conform

# --- League structure ---------------------------------------------------------------------------------
# Game ids use Basketball-Reference codes, like the real files, which differ for three teams.
GAME_ID_CODE: dict[str, str] = {"BKN": "BRK", "CHA": "CHO", "PHX": "PHO"}
N_TEAMS = len(TEAMS)
GAMES_PER_TEAM = 82
N_GAMES = N_TEAMS * GAMES_PER_TEAM // 2

# --- Calendar and schedule ----------------------------------------------------------------------------
OPENING_EARLIEST = (10, 18)  # opening night is the first Tuesday on or after this (month, day)
CLOSING_EARLIEST = (4, 9)  # the last day is the first Sunday on or after this, next year
THANKSGIVING_EARLIEST = (11, 22)  # fourth Thursday of November: no games
ALL_STAR_EARLIEST = (2, 15)  # All-Star Sunday is the third Sunday of February
ALL_STAR_BREAK = range(-2, 4)  # days around All-Star Sunday without games (Friday..Wednesday)
TUESDAY, THURSDAY, SUNDAY = 1, 3, 6  # datetime.weekday()
CHRISTMAS_EVE, CHRISTMAS = (12, 24), (12, 25)  # no games on Christmas Eve
CHRISTMAS_GAMES = 5
OPENING_NIGHT_GAMES = 2
LIGHT_DATES = 2  # single-game Thursdays (a national-TV-only night), like the real calendar
LIGHT_DATE_MARGIN_DAYS = 21  # not in the first or last three weeks
MAX_GAMES_PER_DATE = 13  # except the last day, when every team plays
WEEKDAY_WEIGHTS = np.array([1.0, 0.95, 1.35, 0.65, 1.2, 1.05, 0.8])  # Monday..Sunday game density
DATE_WEIGHT_SD = 0.25
SCHEDULE_NOISE = 0.6  # random tie-breaking between candidate match-ups
B2B_PENALTY = 1.3  # how reluctantly the scheduler gives a team a second night in a row
REMATCH_PENALTY = 2.0
REMATCH_DAYS = 9
MAX_B2B_PER_TEAM = 17
THREE_IN_THREE_COST = 10  # in back-to-backs: placing a leftover game there is a last resort

# --- Players and rosters ------------------------------------------------------------------------------
ROSTER_SIZE = 15  # 13 standard contracts + 2 two-way players
TWO_WAY_PER_TEAM = 2
ARCHETYPE_SHARES = np.array([0.40, 0.34, 0.26])  # guard, wing, big
# Per archetype: mean and sd of 3PA/FGA, FTA/FGA, 2P%, 3P%, FT%.
SHOT_MIX_MEAN = np.array(
    [[0.49, 0.23, 0.465, 0.347, 0.81], [0.52, 0.21, 0.49, 0.352, 0.77], [0.16, 0.31, 0.555, 0.327, 0.69]]
)
SHOT_MIX_SD = np.array(
    [[0.09, 0.07, 0.030, 0.025, 0.05], [0.09, 0.07, 0.030, 0.025, 0.06], [0.11, 0.09, 0.035, 0.030, 0.07]]
)
# Per archetype, per minute: offensive and defensive rebounds, assists, steals, blocks, turnovers, fouls.
# The first five are weights for sharing the team's totals, so only their ratios between players matter.
RATE_MEAN = np.array(
    [
        [0.016, 0.094, 0.158, 0.034, 0.009, 0.066, 0.069],
        [0.033, 0.143, 0.077, 0.030, 0.017, 0.047, 0.083],
        [0.101, 0.236, 0.058, 0.025, 0.044, 0.054, 0.104],
    ]
)
RATE_SD = 0.25  # lognormal spread of a player's rates around his archetype
SHOT_MIX_BOUNDS = ((0.0, 0.05, 0.38, 0.20, 0.45), (0.80, 0.70, 0.70, 0.46, 0.95))
USAGE_FROM_QUALITY = 0.30  # log shot share per unit of quality: better players take more shots
USAGE_SCORER_SD = 0.25  # scorers vs role players at equal quality
USAGE_RANGE = (0.4, 2.4)  # even the heaviest scorer takes about twice an average player's shots
EFFICIENCY_FROM_QUALITY = 0.015  # shooting percentages rise a little with quality
INITIAL_PLAYERS = 560  # 450 roster places plus the unsigned pool that call-ups come from
INITIAL_AGE = (20, 37)
ROOKIES_PER_SEASON = 2 * N_TEAMS
UNDRAFTED_PER_SEASON = 40
ROOKIE_QUALITY = (-0.7, 0.75)  # mean, sd
FRINGE_QUALITY = (-1.3, 0.45)  # undrafted players and call-ups from outside the league
ROOKIE_AGE, UNDRAFTED_AGE, CALLUP_AGE = (19, 22), (21, 23), (21, 27)
FREE_AGENT_SCOUTING_SD = 0.3  # teams sign free agents by quality as they judge it
AGE_CURVE = (
    (22, 0.28),
    (25, 0.14),
    (29, 0.0),
    (32, -0.12),
    (99, -0.28),
)  # (up to age, yearly quality change)
QUALITY_DRIFT_SD = 0.28
SHOT_DRIFT_SD = 0.012
RETIRE_AGE = 33
RETIRE_BASE = 0.05
RETIRE_PER_YEAR = 0.12  # added per year over RETIRE_AGE
RETIRE_YOUNG = 0.01
RETIRE_UNSIGNED = 0.15  # extra, for a player unsigned for YEARS_UNSIGNED_BEFORE_LEAVING seasons
FREE_AGENT_CHURN = 0.28  # share of rostered players who change team in an off-season
YEARS_UNSIGNED_BEFORE_LEAVING = 2
TRADES_PER_SEASON = (18, 28)
TRADE_WINDOW = ((12, 15), (2, 9))  # (month, day) from .. to
CALLUPS_PER_TEAM = 4.5
WAIVER_MOVES_PER_SEASON = (20, 35)  # bench players waived and signed by another team
WAIVER_GAP_DAYS = (2, 10)
CALLUP_START = (11, 10)
CALLUP_DAYS = (10, 35)
CALLUP_FROM_POOL = 0.55  # share of call-ups who are unsigned league players rather than newcomers

# --- Availability -------------------------------------------------------------------------------------
INJURY_HAZARD = 0.035  # per game, before the player's own proneness
INJURY_PRONE_SHAPE = 2.0
SEVERE_INJURY_SHARE = 0.12
INJURY_GAMES_MEAN = (2.6, 24.0)  # minor, severe
P_HURT_IN_GAME = 0.3  # share of injuries that happen during the previous game (he leaves it early)
P_LISTED_WHEN_OUT = 0.15  # injured players mostly sit on the inactive list, not in the box score
P_DID_NOT_DRESS = 0.5  # of injured players who are listed
P_NOT_WITH_TEAM = 0.0016
P_SUSPENDED = 0.00025
P_TWO_WAY_PRESENT = 0.4
P_PLAYED_ZERO = 0.003  # of coach's decisions: checked in for 0 seconds
PLAYED_ZERO = "Played 0:00"  # a DNP row that keeps its (all-zero) stats, as in the real files
MIN_AVAILABLE = 8
MAX_LISTED = 15
LISTING_PRIORITY = 100.0  # healthy standard contracts, then healthy two-ways, then absentees; quality within

# --- Rotation and minutes -----------------------------------------------------------------------------
STARTERS = 5
ROLE_SD_STINT = 0.18  # coach's lasting preference for a player, beyond his quality
ROLE_SD_GAME = 0.10
MINUTES_TEMPLATE = np.array(
    [36.0, 35.0, 34.0, 32.5, 30.5, 26.0, 23.0, 20.0, 15.0, 10.0, 6.0, 4.0, 3.0, 3.0, 3.0]
)
MINUTES_SD = np.array([0.13] * 5 + [0.3] * 5 + [0.55] * 5)
PLAY_PROB = np.array([1.0] * 7 + [0.96, 0.86, 0.6, 0.28, 0.12, 0.06, 0.04, 0.04])  # in the rotation, by rank
CLOSING_POWER = 1.6  # the fourth quarter of a close game leans on the best players
GARBAGE_WEIGHT = np.array(
    [0.04] * 5 + [0.35] * 3 + [1.0, 1.0, 0.9, 0.7, 0.5, 0.35, 0.25]
)  # fourth-quarter minutes in a blowout, by rank
GARBAGE_SD = 0.35
GARBAGE_MARGIN = (12.0, 28.0)  # margin after three quarters where garbage time starts / takes the quarter
B2B_STARTER_MINUTES = 0.97
MIN_STINT_MINUTES = 1.5
HURT_MINUTES_SHARE = (0.01, 0.7)  # of his usual first-three-quarter minutes, for a player hurt in the game
THREE_QUARTERS, FOURTH_QUARTER, OVERTIME = 36.0, 12.0, 5.0  # period lengths; a team plays 5x each
OT_CLOSE_MARGIN = 2
P_OT_WHEN_CLOSE = 0.45  # a game decided by a point or two is often one that was tied after 48 minutes

# --- Scoring ------------------------------------------------------------------------------------------
FGA_PER_MINUTE = 88.0 / 240.0  # team field-goal attempts per player-minute at league pace
TEAM_PACE_SD = 0.028
GAME_PACE_SD = 0.045
DEF_TWO_SD = 0.10  # logit shift of 2P% allowed
DEF_THREE_SD = 0.05
DEF_FT_SD = 0.08  # log shift of free-throw rate allowed
TEAM_PERSISTENCE = 0.55
HOME_LOGIT = 0.025
HOME_FT = 0.03
B2B_LOGIT = -0.04
TEAM_FGA_SD = 2.0  # a team's field-goal attempts beyond what pace explains, per 48 minutes
TEAM_FTA_SD = 5.5  # its free-throw attempts (how the game is called)
FTA_PER_POSSESSION = 0.44
FIRST_SHOT_SHARE = 0.915  # of expected field-goal attempts; putbacks after offensive rebounds make the rest
OREB_PER_MISS = 0.243
PUTBACK_PER_OREB = 0.7
PUTBACK_LOGIT = 0.3
DREB_PER_REBOUND = 0.95  # the rest are team rebounds, not credited to a player
ASSIST_PER_BASKET = 0.605
STEAL_PER_TURNOVER = 0.57
BLOCK_PER_MISS = 0.103
AGGRESSION_SHAPE = 14.0  # gamma shape of a player's share of his team's shots on the night
HOT_HAND_SD = 0.12  # logit noise of a player's shooting on the night
PLUS_MINUS_SD = 8.0
MAX_FOULS = 6

# --- Prop lines ---------------------------------------------------------------------------------------
BOOKMAKERS = ("draftkings", "fanduel")
LINE_MIN_EXPECTED_MINUTES = 15.0
LINE_ROLE_SHARE = 0.5  # a player gets lines when he has a role on more than this share of his games
P_BOOK_OFFERS = 0.93
P_SECOND_SNAPSHOT = 0.5
MARKET_SCALE_SD = 0.06
MARKET_SD = 0.9
BOOK_SD = 0.35
LINE_MOVE_SD = 0.5
MIN_LINE = 1.5
SNAPSHOT_WINDOWS_UTC = ((14 * 3600, 17 * 3600), (19 * 3600, 22 * 3600 + 1800))  # before an evening tip-off
PRICE_STEP = 5  # cents of American odds per PRICE_EDGE_STEP points between the book's number and its line
PRICE_EDGE_STEP = 0.125
MAX_TILT = 2
STANDARD_PRICE = -110
EVEN_MONEY = 100

# --- Names --------------------------------------------------------------------------------------------
FIRST_NAMES: tuple[str, ...] = (
    "Aaron", "Adrian", "Alec", "Andre", "Andrés", "Arlo", "Barrett", "Beau", "Bennett", "Brady", "Caleb",
    "Camden", "Carter", "Cedric", "Colby", "Corey", "Dalton", "Damon", "Dario", "Darnell", "Davion", "Deon",
    "Desmond", "Dominic", "Elijah", "Emeka", "Evan", "Felipe", "Garrett", "Grady", "Isaiah", "Ivan", "Jalen",
    "Jamal", "Jaylen", "Jerome", "Joaquin", "Jordan", "Josh", "Julian", "Kai", "Keon", "Lamar", "Landon",
    "Luca", "Malik", "Marcus", "Mateo", "Miles", "Moses", "Nate", "Nico", "Omar", "Oscar", "Pascal",
    "Quentin", "Rafael", "Reggie", "Rudy", "Samir", "Shane", "Simone", "Terrell", "Theo", "Tobias", "Trey",
    "Victor", "Wade", "Xavier", "Yuri", "Zaire", "Émile", "Ömer",
)  # fmt: skip
# Invented surnames: (weight, stems, endings) per naming tradition, a few with diacritics so that
# `player_lookup`'s ASCII folding is exercised (Kovačić -> kovacic).
SURNAME_STYLES: tuple[tuple[float, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        0.6,
        ("Ash", "Brad", "Cald", "Carr", "Dal", "Ell", "Fair", "Gar", "Hal", "Hol", "Kel", "Lang", "Mar",
         "Nor", "Pem", "Ram", "Shel", "Stan", "Thorn", "Wel", "Whit", "Yar"),
        ("by", "field", "ford", "ham", "ley", "low", "more", "ridge", "sey", "ton", "well", "wick", "wood"),
    ),
    (
        0.15,
        ("Bog", "Drag", "Kov", "Mil", "Rad", "Vuk", "Zel", "Bož", "Peš", "Kovač"),
        ("ić", "ović", "ar", "ek", "enko"),
    ),
    (
        0.15,
        ("Ade", "Chi", "Eme", "Ife", "Nna", "Oko", "Olu", "Uche"),
        ("bayo", "dike", "ke", "nwa", "wole", "ye"),
    ),
    (0.1, ("Alv", "Bar", "Cas", "Fer", "Mend", "Or", "Sant", "Vel"), ("ado", "ero", "ez", "illa", "ino")),
)  # fmt: skip
_SURNAME_STYLE_WEIGHTS = np.array([weight for weight, _, _ in SURNAME_STYLES])
NAME_SUFFIXES: tuple[str, ...] = ("Jr.", "II", "III", "IV")

# Row status while building a team-game's list of players.
_AVAILABLE, _OUT, _NOT_WITH_TEAM, _SUSPENDED, _AWAY_TWO_WAY = range(5)


@dataclass(frozen=True)
class SyntheticLeague:
    """A simulated league: box scores in the `player_game_summary` schema and lines in `prop_lines`."""

    box_scores: pa.Table
    prop_lines: pa.Table


def generate_league(seasons: Sequence[str], seed: int = 7) -> SyntheticLeague:
    """Simulate consecutive regular seasons (e.g. ["2021-22", "2022-23"]) with players carried over.

    A season's content depends on the seasons simulated before it, so a season generated alone differs
    from the same season generated as the second of two; only (seasons, seed) as a whole is reproducible.
    """
    years = _season_years(seasons)
    rng = np.random.default_rng(seed)
    league = _League.initial(years[0], rng)
    boxes: list[dict[str, pa.Array]] = []
    lines: list[dict[str, pa.Array]] = []
    for i, (season, year) in enumerate(zip(seasons, years, strict=True)):
        if i:
            league.offseason(year, rng)
        box, line = _simulate_season(league, season, year, rng)
        boxes.append(box)
        lines.append(line)
    return SyntheticLeague(
        box_scores=conform(pa.table(_concat(boxes)), PLAYER_GAME_SUMMARY),
        prop_lines=conform(pa.table(_concat(lines)), PROP_LINES),
    )


def _season_years(seasons: Sequence[str]) -> list[int]:
    """Validate season names and return their start years; they must be consecutive."""
    if not seasons:
        raise ValueError("generate_league: give at least one season, e.g. ['2021-22']")
    years = []
    for season in seasons:
        year = season_start_year(season)
        if year is None:
            raise ValueError(f"generate_league: season {season!r} is not like '2021-22'")
        years.append(year)
    if any(b != a + 1 for a, b in itertools.pairwise(years)):
        raise ValueError(f"generate_league: seasons must be consecutive and ascending, got {list(seasons)}")
    return years


def _concat(parts: list[dict[str, pa.Array]]) -> dict[str, pa.Array]:
    return {name: pa.concat_arrays([part[name] for part in parts]) for name in parts[0]}


# ======================================================================================================
# Players and teams
# ======================================================================================================


class _League:
    """The persistent state between seasons: every player ever generated, and team identities.

    Struct of arrays indexed by player number; `team` is the team index, -1 for an unsigned player and
    -2 for one who has left the league.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.slugs: list[str] = []
        self.lookups: list[str] = []
        self.used_lookups: set[str] = set()
        self.slug_counts: dict[str, int] = {}
        self.born = np.zeros(0, dtype=np.int64)
        self.quality = np.zeros(0)
        self.scorer = np.zeros(0)
        self.prone = np.zeros(0)
        self.shot = np.zeros((0, 5))  # 3PA/FGA, FTA/FGA, 2P%, 3P%, FT%
        self.rates = np.zeros((0, 7))
        self.team = np.zeros(0, dtype=np.int64)
        self.two_way = np.zeros(0, dtype=bool)
        self.unsigned_years = np.zeros(0, dtype=np.int64)
        self.team_pace = np.zeros(N_TEAMS)
        self.team_defense = np.zeros((N_TEAMS, 3))  # 2P% logit, 3P% logit, log FT rate allowed

    @classmethod
    def initial(cls, year: int, rng: np.random.Generator) -> _League:
        league = cls()
        ages = rng.integers(INITIAL_AGE[0], INITIAL_AGE[1] + 1, INITIAL_PLAYERS)
        players = league.add_players(year - ages, rng.normal(0.0, 1.0, INITIAL_PLAYERS), rng)
        league.fill_rosters(players[np.argsort(-league.quality[players], kind="stable")], rng)
        league.team_pace = np.exp(rng.normal(0.0, TEAM_PACE_SD, N_TEAMS))
        league.team_defense = rng.normal(0.0, 1.0, (N_TEAMS, 3)) * [DEF_TWO_SD, DEF_THREE_SD, DEF_FT_SD]
        return league

    @property
    def size(self) -> int:
        return len(self.names)

    def add_players(self, born: np.ndarray, quality: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Create players with an archetype, a shot mix and per-minute rates; returns their indices."""
        n = len(born)
        archetype = rng.choice(len(ARCHETYPE_SHARES), n, p=ARCHETYPE_SHARES)
        shot = rng.normal(SHOT_MIX_MEAN[archetype], SHOT_MIX_SD[archetype])
        shot[:, 2:] += EFFICIENCY_FROM_QUALITY * quality[:, None]
        rates = RATE_MEAN[archetype] * np.exp(rng.normal(-(RATE_SD**2) / 2, RATE_SD, (n, RATE_MEAN.shape[1])))
        first = self.size
        for _ in range(n):
            self._add_name(rng)
        self.born = np.concatenate([self.born, born])
        self.quality = np.concatenate([self.quality, quality])
        self.scorer = np.concatenate([self.scorer, rng.normal(0.0, 1.0, n)])
        self.prone = np.concatenate([self.prone, rng.gamma(INJURY_PRONE_SHAPE, 1 / INJURY_PRONE_SHAPE, n)])
        self.shot = np.concatenate([self.shot, _clip_shot(shot)])
        self.rates = np.concatenate([self.rates, rates])
        self.team = np.concatenate([self.team, np.full(n, -1)])
        self.two_way = np.concatenate([self.two_way, np.zeros(n, dtype=bool)])
        self.unsigned_years = np.concatenate([self.unsigned_years, np.zeros(n, dtype=np.int64)])
        return np.arange(first, self.size)

    def _add_name(self, rng: np.random.Generator) -> None:
        """Draw a name with an unused `player_lookup`; a clash first gets a generational suffix (Jr., II)."""
        name = None
        while name is None:
            first = FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
            _, stems, endings = SURNAME_STYLES[rng.choice(len(SURNAME_STYLES), p=_SURNAME_STYLE_WEIGHTS)]
            last = stems[rng.integers(len(stems))] + endings[rng.integers(len(endings))]
            options = [f"{first} {last}", *(f"{first} {last} {suffix}" for suffix in NAME_SUFFIXES)]
            name = next(
                (option for option in options if player_lookup(option) not in self.used_lookups), None
            )
        lookup = player_lookup(name)
        self.used_lookups.add(lookup)
        stem = player_lookup(last)[:5] + player_lookup(first)[:2]
        self.slug_counts[stem] = self.slug_counts.get(stem, 0) + 1
        self.names.append(name)
        self.lookups.append(lookup)
        self.slugs.append(f"{stem}{self.slug_counts[stem]:02d}")

    def fill_rosters(self, candidates: np.ndarray, rng: np.random.Generator) -> None:
        """Fill every roster to ROSTER_SIZE from `candidates` (best first), in random team order per round.

        Picking one player per team per round keeps teams close to each other in strength while the random
        order still makes some teams clearly better than others.
        """
        counts = np.bincount(self.team[self.team >= 0], minlength=N_TEAMS)
        pool = list(candidates)
        while pool and counts.min() < ROSTER_SIZE:
            for team in rng.permutation(N_TEAMS):
                if counts[team] < ROSTER_SIZE and pool:
                    self.team[pool.pop(0)] = team
                    counts[team] += 1
        self._assign_two_way()

    def _assign_two_way(self) -> None:
        """The two weakest players of each roster hold two-way contracts (often away in the G League)."""
        self.two_way[:] = False
        for team in range(N_TEAMS):
            members = np.flatnonzero(self.team == team)
            self.two_way[members[np.argsort(self.quality[members], kind="stable")[:TWO_WAY_PER_TEAM]]] = True

    def offseason(self, year: int, rng: np.random.Generator) -> None:
        """Age players, retire some, move free agents, add rookies and refill rosters for `year`."""
        active = np.flatnonzero(self.team >= -1)
        age = year - self.born[active]
        change = np.select([age <= limit for limit, _ in AGE_CURVE], [delta for _, delta in AGE_CURVE])
        self.quality[active] += change + rng.normal(0.0, QUALITY_DRIFT_SD, len(active))
        self.shot[active] = _clip_shot(self.shot[active] + rng.normal(0.0, SHOT_DRIFT_SD, (len(active), 5)))
        retire_p = np.where(
            age > RETIRE_AGE, RETIRE_BASE + RETIRE_PER_YEAR * (age - RETIRE_AGE), RETIRE_YOUNG
        )
        retire_p += RETIRE_UNSIGNED * (self.unsigned_years[active] >= YEARS_UNSIGNED_BEFORE_LEAVING)
        gone = active[rng.random(len(active)) < retire_p]
        self.team[gone] = -2
        rostered = np.flatnonzero(self.team >= 0)
        self.team[rostered[rng.random(len(rostered)) < FREE_AGENT_CHURN]] = -1
        self.unsigned_years[self.team == -1] += 1
        self.unsigned_years[self.team >= 0] = 0
        rookies = self.add_players(
            year - rng.integers(ROOKIE_AGE[0], ROOKIE_AGE[1] + 1, ROOKIES_PER_SEASON),
            rng.normal(*ROOKIE_QUALITY, ROOKIES_PER_SEASON),
            rng,
        )
        self.add_players(
            year - rng.integers(UNDRAFTED_AGE[0], UNDRAFTED_AGE[1] + 1, UNDRAFTED_PER_SEASON),
            rng.normal(*FRINGE_QUALITY, UNDRAFTED_PER_SEASON),
            rng,
        )
        # Two rounds of draft, weakest team first, then free agency fills the rosters.
        draft_order = np.tile(np.argsort(self._team_strength(), kind="stable"), 2)
        self.team[rookies[np.argsort(-self.quality[rookies], kind="stable")]] = draft_order
        pool = np.flatnonzero(self.team == -1)
        scouted = self.quality[pool] + rng.normal(0.0, FREE_AGENT_SCOUTING_SD, len(pool))
        self.fill_rosters(pool[np.argsort(-scouted, kind="stable")], rng)
        self._trim_rosters()
        # Team styles persist partly from one season to the next, with the same spread every season.
        fresh = np.sqrt(1 - TEAM_PERSISTENCE**2)
        self.team_pace = self.team_pace**TEAM_PERSISTENCE * np.exp(
            rng.normal(0.0, TEAM_PACE_SD * fresh, N_TEAMS)
        )
        new_defense = rng.normal(0.0, 1.0, (N_TEAMS, 3)) * [DEF_TWO_SD, DEF_THREE_SD, DEF_FT_SD]
        self.team_defense = TEAM_PERSISTENCE * self.team_defense + fresh * new_defense

    def _team_strength(self) -> np.ndarray:
        strength = np.zeros(N_TEAMS)
        rostered = self.team >= 0
        np.add.at(strength, self.team[rostered], self.quality[rostered])
        return strength

    def _trim_rosters(self) -> None:
        """Release the weakest players of any roster over ROSTER_SIZE (rookies can overfill one)."""
        for team in range(N_TEAMS):
            members = np.flatnonzero(self.team == team)
            surplus = len(members) - ROSTER_SIZE
            if surplus > 0:
                self.team[members[np.argsort(self.quality[members], kind="stable")[:surplus]]] = -1
        self._assign_two_way()


def _clip_shot(shot: np.ndarray) -> np.ndarray:
    return np.clip(shot, *SHOT_MIX_BOUNDS)


# ======================================================================================================
# Schedule
# ======================================================================================================


@dataclass(frozen=True)
class _Schedule:
    """Games of one season sorted by date: calendar day (0 = opening night), home and away team."""

    opening: dt.date
    day: np.ndarray
    home: np.ndarray
    away: np.ndarray

    @property
    def last_day(self) -> int:
        return int(self.day.max())


def _on_or_after(year: int, month_day: tuple[int, int], weekday: int) -> dt.date:
    day = dt.date(year, *month_day)
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def _offset(opening: dt.date, year: int, month_day: tuple[int, int]) -> int:
    return (dt.date(year, *month_day) - opening).days


def _calendar(year: int) -> tuple[dt.date, np.ndarray, int]:
    """Opening night, the calendar offsets that have games, and Christmas's offset."""
    opening = _on_or_after(year, OPENING_EARLIEST, TUESDAY)
    closing = _on_or_after(year + 1, CLOSING_EARLIEST, SUNDAY)
    all_star = _on_or_after(year + 1, ALL_STAR_EARLIEST, SUNDAY)
    off = [_on_or_after(year, THANKSGIVING_EARLIEST, THURSDAY), dt.date(year, *CHRISTMAS_EVE)]
    off += [all_star + dt.timedelta(days=k) for k in ALL_STAR_BREAK]
    days = np.arange((closing - opening).days + 1)
    game_days = days[~np.isin(days, [(d - opening).days for d in off])]
    return opening, game_days, _offset(opening, year, CHRISTMAS)


def _date_targets(
    opening: dt.date, days: np.ndarray, christmas: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """How many games each date should hold (weekday density with noise), and which dates are special.

    Special dates (opening night, Christmas, the light nights, the last night) keep their game count.
    """
    weekday = (opening.weekday() + days) % 7
    weights = WEEKDAY_WEIGHTS[weekday] * rng.lognormal(0.0, DATE_WEIGHT_SD, len(days))
    fixed = np.full(len(days), -1)
    fixed[0] = OPENING_NIGHT_GAMES
    fixed[days == christmas] = CHRISTMAS_GAMES
    fixed[-1] = N_TEAMS // 2
    inner = (days > LIGHT_DATE_MARGIN_DAYS) & (days < days[-1] - LIGHT_DATE_MARGIN_DAYS)
    thursdays = np.flatnonzero((weekday == THURSDAY) & (fixed < 0) & inner)
    fixed[rng.choice(thursdays, LIGHT_DATES, replace=False)] = 1
    free = fixed < 0
    share = np.cumsum(weights[free] / weights[free].sum() * (N_GAMES - fixed[~free].sum()))
    fixed[free] = np.minimum(np.diff(np.round(np.r_[0.0, share])), MAX_GAMES_PER_DATE)
    return fixed, ~free


def _matchups(rng: np.random.Generator) -> np.ndarray:
    """games[h, a]: how many times h hosts a — the NBA's 82-game formula, 41 home and 41 away for all.

    Division rivals meet 4 times, other conference rivals 4 times except four of them 3 times, the
    other conference twice. The 3-game pairs form a circulant between the divisions of a conference
    (seat k meets seats k and k+1 of the next division), oriented so every team hosts two of its four.
    """
    games = np.ones((N_TEAMS, N_TEAMS), dtype=np.int64)
    for c, conference in enumerate(CONFERENCES):
        members = np.arange(15) + 15 * c
        games[np.ix_(members, members)] = 2
        divisions = [rng.permutation(members[5 * i : 5 * i + 5]) for i in range(len(conference))]
        for a, seats in enumerate(divisions):
            following = divisions[(a + 1) % len(divisions)]
            for k, team in enumerate(seats):
                same, next_seat = following[k], following[(k + 1) % len(seats)]
                games[team, same], games[same, team] = 2, 1
                games[next_seat, team], games[team, next_seat] = 2, 1
    np.fill_diagonal(games, 0)
    return games


def _pick_home(remaining: np.ndarray, a: int, b: int, rng: np.random.Generator) -> tuple[int, int]:
    """(home, away) for a game of a and b, among the sides that still have that game to host.

    The team with more home games left hosts, so home stands and road trips stay balanced all season.
    """
    if remaining[a, b] and remaining[b, a]:
        balance = remaining.sum(axis=1) - remaining.sum(axis=0)
        if balance[a] != balance[b]:
            return (a, b) if balance[a] > balance[b] else (b, a)
        return (a, b) if rng.random() < 0.5 else (b, a)
    return (a, b) if remaining[a, b] else (b, a)


def _schedule(year: int, rng: np.random.Generator) -> _Schedule:
    """Place the season's 1,230 games on dates greedily, keeping every team on pace.

    Each date takes the match-ups whose two teams are furthest behind their pace, with a penalty for a
    second night in a row (the real rate is about 13 back-to-backs per team) and for a recent rematch;
    it never schedules three games in three nights. The last night has all 30 teams, as in the NBA.
    The few games the greedy pass leaves over go to the free dates that add the fewest back-to-backs.
    """
    remaining = _matchups(rng)
    opening, days, christmas = _calendar(year)
    targets, special = _date_targets(opening, days, christmas, rng)
    last = len(days) - 1
    placed: list[tuple[int, int, int]] = []
    for a, b in rng.permutation(N_TEAMS).reshape(-1, 2):
        home, away = _pick_home(remaining, int(a), int(b), rng)
        remaining[home, away] -= 1
        placed.append((last, home, away))
    pace = np.cumsum(targets[:last]) / targets[:last].sum() * (GAMES_PER_TEAM - 1)
    played = np.zeros(N_TEAMS)
    prev = np.full(N_TEAMS, -10)
    prev2 = np.full(N_TEAMS, -10)
    b2b = np.zeros(N_TEAMS, dtype=np.int64)
    met = np.full((N_TEAMS, N_TEAMS), -100)
    upper = np.triu(np.ones((N_TEAMS, N_TEAMS), dtype=bool), 1)
    for d in range(last):
        day = days[d]
        yesterday = prev == day - 1
        eligible = ~(yesterday & ((prev2 == day - 2) | (b2b >= MAX_B2B_PER_TEAM)))
        deficit = pace[d] - played
        score = (
            deficit[:, None]
            + deficit[None, :]
            - B2B_PENALTY * (yesterday[:, None].astype(float) + yesterday[None, :])
            - REMATCH_PENALTY * (day - met < REMATCH_DAYS)
            + rng.uniform(0.0, SCHEDULE_NOISE, (N_TEAMS, N_TEAMS))
        )
        ok = upper & (remaining + remaining.T > 0) & eligible[:, None] & eligible[None, :]
        score = np.where(ok, score, -np.inf)
        for _ in range(targets[d]):
            best = int(np.argmax(score))
            if not np.isfinite(score.flat[best]):
                break
            a, b = divmod(best, N_TEAMS)
            home, away = _pick_home(remaining, a, b, rng)
            remaining[home, away] -= 1
            placed.append((d, home, away))
            score[[a, b], :] = -np.inf
            score[:, [a, b]] = -np.inf
            for team in (a, b):
                b2b[team] += prev[team] == day - 1
                prev2[team], prev[team] = prev[team], day
                played[team] += 1
            met[a, b] = met[b, a] = day
    placed += _place_leftovers(remaining, placed, days, ~special)
    date_index, home, away = (np.array(col) for col in zip(*placed, strict=True))
    order = np.lexsort((home, days[date_index]))
    return _Schedule(opening, days[date_index][order], home[order], away[order])


def _place_leftovers(
    remaining: np.ndarray, placed: list[tuple[int, int, int]], days: np.ndarray, allowed: np.ndarray
) -> list[tuple[int, int, int]]:
    """Put each unplaced game on an ordinary date free for both teams, adding the fewest back-to-backs.

    Three games in three nights are avoided whenever any other free date exists.
    """
    busy = np.zeros((N_TEAMS, days[-1] + 5), dtype=bool)  # padded so day ± 2 never wraps
    for d, home, away in placed:
        busy[[home, away], days[d] + 2] = True
    col = days + 2
    extra = []
    for home, away in np.argwhere(remaining > 0).repeat(remaining[remaining > 0], axis=0):
        pair = busy[[home, away]]
        free = allowed & ~pair[:, col].any(axis=0)
        three_in_three = (
            (pair[:, col - 2] & pair[:, col - 1])
            | (pair[:, col - 1] & pair[:, col + 1])
            | (pair[:, col + 1] & pair[:, col + 2])
        ).any(axis=0)
        cost = (pair[:, col - 1] | pair[:, col + 1]).sum(axis=0) + THREE_IN_THREE_COST * three_in_three
        if not free.any():
            raise RuntimeError("synthetic schedule: no free date left for a game; try another seed")
        d = int(np.argmin(np.where(free, cost, np.iinfo(np.int64).max)))
        busy[[home, away], days[d] + 2] = True
        extra.append((d, int(home), int(away)))
    return extra


# ======================================================================================================
# One season
# ======================================================================================================


@dataclass(frozen=True)
class _Stints:
    """Who is on which roster when: calendar days [start, end) of a player's time with a team."""

    player: np.ndarray
    team: np.ndarray
    start: np.ndarray
    end: np.ndarray
    two_way: np.ndarray
    role: np.ndarray  # the coach's lasting preference for the player, added to his quality


class _StintBook:
    """Mutable list of stints while a season's transactions are applied in order."""

    def __init__(self, league: _League, end_of_season: int) -> None:
        self.league = league
        self.end_of_season = end_of_season
        rostered = np.flatnonzero(league.team >= 0)
        self.player = [int(p) for p in rostered]
        self.team = [int(t) for t in league.team[rostered]]
        self.start = [0] * len(rostered)
        self.end = [end_of_season] * len(rostered)
        self.two_way = [bool(w) for w in league.two_way[rostered]]
        self.moved: set[int] = set()

    def movable(self, team: int) -> np.ndarray:
        """Open stints of `team`'s standard-contract players who have not moved yet this season."""
        open_stints = [
            i
            for i, t in enumerate(self.team)
            if t == team
            and self.end[i] == self.end_of_season
            and not self.two_way[i]
            and self.player[i] not in self.moved
        ]
        return np.array(open_stints, dtype=np.int64)

    def add(self, player: int, team: int, start: int, end: int) -> None:
        self.player.append(player)
        self.team.append(team)
        self.start.append(start)
        self.end.append(min(end, self.end_of_season))
        self.two_way.append(False)

    def move(self, stint: int, team: int, leaves: int, joins: int) -> None:
        """End a stint on day `leaves`; the player joins `team` on day `joins` for the rest of the season."""
        player = self.player[stint]
        self.end[stint] = leaves
        self.add(player, team, joins, self.end_of_season)
        self.moved.add(player)
        self.league.team[player] = team

    def freeze(self, rng: np.random.Generator) -> _Stints:
        return _Stints(
            player=np.array(self.player, dtype=np.int64),
            team=np.array(self.team, dtype=np.int64),
            start=np.array(self.start, dtype=np.int64),
            end=np.array(self.end, dtype=np.int64),
            two_way=np.array(self.two_way, dtype=bool),
            role=rng.normal(0.0, ROLE_SD_STINT, len(self.player)),
        )


def _season_stints(league: _League, sched: _Schedule, year: int, rng: np.random.Generator) -> _Stints:
    """Season-long roster stints, changed by trades, waiver claims and short call-ups.

    Trades swap players of similar quality before the deadline; waived bench players sign elsewhere a
    few days later; call-ups (unsigned league players or newcomers) fill in for a few weeks. The
    league's `team` follows each player to where he ends the season, so the next off-season starts
    from the post-deadline rosters.
    """
    book = _StintBook(league, sched.last_day + 1)
    first_trade, deadline = (
        _offset(sched.opening, year + (month < 7), (month, day)) for month, day in TRADE_WINDOW
    )
    for _ in range(rng.integers(TRADES_PER_SEASON[0], TRADES_PER_SEASON[1] + 1)):
        day = int(rng.integers(first_trade, deadline + 1))
        team_a, team_b = (int(t) for t in rng.choice(N_TEAMS, 2, replace=False))
        side_a, side_b = book.movable(team_a), book.movable(team_b)
        if not len(side_a) or not len(side_b):
            continue
        give = int(rng.choice(side_a))
        gap = np.abs(league.quality[np.array(book.player)[side_b]] - league.quality[book.player[give]])
        take = int(side_b[np.argmin(gap)])
        book.move(give, team_b, day, day)
        book.move(take, team_a, day, day)
    first_callup = _offset(sched.opening, year, CALLUP_START)
    for _ in range(rng.integers(WAIVER_MOVES_PER_SEASON[0], WAIVER_MOVES_PER_SEASON[1] + 1)):
        day = int(rng.integers(first_callup, book.end_of_season - CALLUP_DAYS[1]))
        waived_by, signed_by = (int(t) for t in rng.choice(N_TEAMS, 2, replace=False))
        members = book.movable(waived_by)
        if not len(members):
            continue
        quality = league.quality[np.array(book.player)[members]]
        stint = int(rng.choice(members[quality <= np.median(quality)]))
        book.move(stint, signed_by, day, day + int(rng.integers(*WAIVER_GAP_DAYS)))
    called: set[int] = set()
    for team in np.repeat(np.arange(N_TEAMS), rng.poisson(CALLUPS_PER_TEAM, N_TEAMS)):
        pool = np.array(
            [p for p in np.flatnonzero(league.team == -1) if int(p) not in called], dtype=np.int64
        )
        if len(pool) and rng.random() < CALLUP_FROM_POOL:
            weights = np.exp(league.quality[pool] - league.quality[pool].max())
            recruit = int(rng.choice(pool, p=weights / weights.sum()))
        else:
            born = year - rng.integers(CALLUP_AGE[0], CALLUP_AGE[1] + 1, 1)
            recruit = int(league.add_players(born, rng.normal(*FRINGE_QUALITY, 1), rng)[0])
        called.add(recruit)
        league.unsigned_years[recruit] = 0
        day = int(rng.integers(first_callup, book.end_of_season - CALLUP_DAYS[0]))
        book.add(recruit, int(team), day, day + int(rng.integers(CALLUP_DAYS[0], CALLUP_DAYS[1] + 1)))
    return book.freeze(rng)


@dataclass(frozen=True)
class _TeamGames:
    """One row per team per game (index 2·game + is_home) with the game's context for that team."""

    game: np.ndarray
    team: np.ndarray
    opp: np.ndarray
    is_home: np.ndarray
    day: np.ndarray
    b2b: np.ndarray
    pace_expected: np.ndarray
    pace: np.ndarray

    @property
    def size(self) -> int:
        return len(self.team)


def _team_games(league: _League, sched: _Schedule, rng: np.random.Generator) -> _TeamGames:
    n_games = len(sched.day)
    game = np.repeat(np.arange(n_games), 2)
    team = np.stack([sched.away, sched.home], axis=1).ravel()
    opp = np.stack([sched.home, sched.away], axis=1).ravel()
    day = sched.day[game]
    order = np.lexsort((day, team))
    previous = np.full(len(team), -10)
    same_team = team[order][1:] == team[order][:-1]
    previous[order[1:][same_team]] = day[order][:-1][same_team]
    pace_expected = (league.team_pace[sched.home] + league.team_pace[sched.away]) / 2
    pace = pace_expected * np.exp(rng.normal(0.0, GAME_PACE_SD, n_games))
    return _TeamGames(
        game=game,
        team=team,
        opp=opp,
        is_home=np.tile([False, True], n_games),
        day=day,
        b2b=day - previous == 1,
        pace_expected=pace_expected[game],
        pace=pace[game],
    )


def _rank_within(groups: np.ndarray, key: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rank (0 = largest key) of each masked row within its group; unmasked rows get a large rank."""
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((-key[idx], groups[idx]))]
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1]
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.full(len(groups), np.iinfo(np.int32).max, dtype=np.int64)
    rank[order] = position
    return rank


def _roster_rows(stints: _Stints, tgs: _TeamGames) -> tuple[np.ndarray, np.ndarray]:
    """(team-game, stint) for every player on a roster on each game day, sorted by team-game."""
    tg_parts, stint_parts = [], []
    for team in range(N_TEAMS):
        games = np.flatnonzero(tgs.team == team)
        members = np.flatnonzero(stints.team == team)
        on_roster = (stints.start[members, None] <= tgs.day[games]) & (
            tgs.day[games] < stints.end[members, None]
        )
        member_idx, game_idx = np.nonzero(on_roster)
        tg_parts.append(games[game_idx])
        stint_parts.append(members[member_idx])
    tg, stint = np.concatenate(tg_parts), np.concatenate(stint_parts)
    order = np.lexsort((stint, tg))
    return tg[order], stint[order]


def _availability(
    league: _League,
    player: np.ndarray,
    tg: np.ndarray,
    two_way: np.ndarray,
    tgs: _TeamGames,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Status of each roster row, and whether the player gets hurt during that game.

    Injuries run over a player's consecutive games (across teams, if he is traded while out); some of
    them happen during the game before the first one missed, so the player leaves that game early.
    """
    n = len(player)
    by_player = np.lexsort((tgs.day[tg], player))
    sorted_player = player[by_player]
    position = np.arange(n)
    group_end = np.r_[np.flatnonzero(sorted_player[1:] != sorted_player[:-1]) + 1, n]
    group_end = np.repeat(group_end, np.diff(np.r_[0, group_end]))
    starts = rng.random(n) < INJURY_HAZARD * league.prone[sorted_player]
    severe = rng.random(n) < SEVERE_INJURY_SHARE
    length = np.where(
        severe, rng.geometric(1 / INJURY_GAMES_MEAN[1], n), rng.geometric(1 / INJURY_GAMES_MEAN[0], n)
    )
    injury_end = np.where(starts, np.minimum(position + length, group_end), -1)
    out = np.empty(n, dtype=bool)
    out[by_player] = np.maximum.accumulate(injury_end) > position
    hurt = np.zeros(n, dtype=bool)
    hurt[by_player[:-1]] = (
        starts[1:] & (sorted_player[1:] == sorted_player[:-1]) & (rng.random(n - 1) < P_HURT_IN_GAME)
    )
    status = np.full(n, _AVAILABLE)
    status[two_way & (rng.random(n) >= P_TWO_WAY_PRESENT)] = _AWAY_TWO_WAY
    draw = rng.random(n)
    status[draw < P_NOT_WITH_TEAM] = _NOT_WITH_TEAM
    status[(draw >= P_NOT_WITH_TEAM) & (draw < P_NOT_WITH_TEAM + P_SUSPENDED)] = _SUSPENDED
    status[out] = _OUT
    # A team with fewer than MIN_AVAILABLE healthy players recalls its best absentees (playing hurt).
    short = np.maximum(MIN_AVAILABLE - np.bincount(tg[status == _AVAILABLE], minlength=tgs.size), 0)
    recall = _rank_within(tg, league.quality[player], status != _AVAILABLE) < short[tg]
    status[recall] = _AVAILABLE
    return status, hurt


def _fit_minutes(tg: np.ndarray, raw: np.ndarray, n_tg: int, period: float) -> np.ndarray:
    """Share 5 × `period` minutes of each team-game in proportion to `raw`, nobody above `period`.

    Water-filling: players over the cap are held at it and the rest is re-shared, until nobody is over.
    Rows must be sorted by team-game: rounding the running total (not each row) to whole seconds keeps
    every team-game's sum exact, so a regulation game adds up to 240:00 as in real box scores.
    """
    capped = np.zeros(len(raw), dtype=bool)
    while True:
        free_weight = np.bincount(tg, np.where(capped, 0.0, raw), minlength=n_tg)
        left = STARTERS * period - period * np.bincount(tg, capped, minlength=n_tg)
        minutes = np.where(capped, period, raw * (left / np.where(free_weight > 0, free_weight, 1.0))[tg])
        over = minutes > period + 1e-9
        if not over.any():
            return np.diff(np.r_[0.0, np.round(np.cumsum(minutes * 60))])
        capped |= over


def _split(tg: np.ndarray, totals: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multinomial split of each team-game's integer total over its rows (sorted by team-game).

    Drawn as a chain of conditional binomials, one position within the team-game at a time, so the
    team's total is fixed (possessions bound a team's shots) while the players' shares stay random.
    """
    n = len(tg)
    starts = np.r_[0, np.flatnonzero(tg[1:] != tg[:-1]) + 1]
    sizes = np.diff(np.r_[starts, n])
    position = np.arange(n) - np.repeat(starts, sizes)
    is_last = position == np.repeat(sizes, sizes) - 1
    left = totals.astype(np.int64)
    weight_left = np.bincount(tg, weights, minlength=len(totals))
    out = np.zeros(n, dtype=np.int64)
    for k in range(int(sizes.max())):
        rows = np.flatnonzero(position == k)
        group = tg[rows]
        p = np.where(
            is_last[rows], 1.0, np.clip(weights[rows] / np.maximum(weight_left[group], 1e-12), 0.0, 1.0)
        )
        out[rows] = rng.binomial(left[group], p)
        left[group] -= out[rows]
        weight_left[group] -= weights[rows]
    return out


def _usage(league: _League, player: np.ndarray) -> np.ndarray:
    log_usage = USAGE_FROM_QUALITY * league.quality[player] + USAGE_SCORER_SD * league.scorer[player]
    return np.clip(np.exp(log_usage), *USAGE_RANGE)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@dataclass(frozen=True)
class _Shooting:
    """Per-row expected shot volume and make probabilities before the night's own luck."""

    fga: np.ndarray
    fta_per_fga: np.ndarray
    three_rate: np.ndarray
    two_pct_logit: np.ndarray
    three_pct_logit: np.ndarray
    ft_pct: np.ndarray

    def expected_points(self) -> np.ndarray:
        twos = self.fga * (1 - self.three_rate) * 2 * _expit(self.two_pct_logit)
        threes = self.fga * self.three_rate * 3 * _expit(self.three_pct_logit)
        return twos + threes + self.fga * self.fta_per_fga * self.ft_pct


def _shooting(
    league: _League,
    player: np.ndarray,
    tg: np.ndarray,
    minutes: np.ndarray,
    pace: np.ndarray,
    tgs: _TeamGames,
) -> _Shooting:
    """Shares of the team's shots by usage × minutes; efficiency shifted by the opponent's zone defense.

    The team's shot count follows the game's pace, so when a high-usage teammate is out the others'
    shares (and points) rise; home court helps and the second night of a back-to-back hurts a little.
    """
    weight = _usage(league, player) * minutes
    team_weight = np.bincount(tg, weight, minlength=tgs.size)[tg]
    team_minutes = np.bincount(tg, minutes, minlength=tgs.size)[tg]
    defense = league.team_defense[tgs.opp[tg]]
    shift = HOME_LOGIT * tgs.is_home[tg] + B2B_LOGIT * tgs.b2b[tg]
    shot = league.shot[player]
    return _Shooting(
        fga=weight / np.maximum(team_weight, 1e-9) * FGA_PER_MINUTE * team_minutes * pace[tg],
        fta_per_fga=shot[:, 1] * np.exp(defense[:, 2] + HOME_FT * tgs.is_home[tg]),
        three_rate=shot[:, 0],
        two_pct_logit=_logit(shot[:, 2]) + defense[:, 0] + shift,
        three_pct_logit=_logit(shot[:, 3]) + defense[:, 1] + shift,
        ft_pct=shot[:, 4],
    )


def _box_lines(
    league: _League,
    player: np.ndarray,
    tg: np.ndarray,
    minutes: np.ndarray,
    tgs: _TeamGames,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Stat lines of the rows that played in one period, both teams of each game at once.

    Team totals come first and players split them, the way possessions work: a team's first shots are
    bounded by its possessions (a night with more free throws has fewer), its offensive rebounds come
    from its own misses and most become putbacks, its defensive rebounds and blocks from the opponent's
    misses, its assists from its baskets, its steals from the opponent's turnovers. That gives team
    totals the real variance (misses are partly recovered) and keeps the two teams' lines consistent.
    Points are derived from makes by zone, so the box-score identities hold by construction.
    """
    n = len(player)
    plan = _shooting(league, player, tg, minutes, tgs.pace, tgs)
    aggression = rng.gamma(AGGRESSION_SHAPE, 1 / AGGRESSION_SHAPE, n)
    hot = rng.normal(0.0, HOT_HAND_SD, n)
    opp = np.arange(tgs.size) ^ 1

    def team(values: np.ndarray) -> np.ndarray:
        total = np.bincount(tg, values, minlength=tgs.size)
        return total.astype(np.int64) if values.dtype.kind == "i" else total

    period_share = np.sqrt(team(minutes) / (STARTERS * 48.0))
    extra_fta = rng.normal(0.0, TEAM_FTA_SD, tgs.size) * period_share
    first_shots = team(plan.fga) * FIRST_SHOT_SHARE + rng.normal(0.0, TEAM_FGA_SD, tgs.size) * period_share
    fga = _split(
        tg, np.maximum(np.round(first_shots - FTA_PER_POSSESSION * extra_fta), 0), plan.fga * aggression, rng
    )
    fta_weight = plan.fga * aggression * plan.fta_per_fga
    fta = _split(tg, np.maximum(np.round(team(plan.fga * plan.fta_per_fga) + extra_fta), 0), fta_weight, rng)
    threes_attempted = rng.binomial(fga, plan.three_rate)
    twos_made = rng.binomial(fga - threes_attempted, _expit(plan.two_pct_logit + hot))
    threes_made = rng.binomial(threes_attempted, _expit(plan.three_pct_logit + hot))
    ftm = rng.binomial(fta, plan.ft_pct)

    share = league.rates[player] * (minutes * tgs.pace[tg])[:, None]
    offensive = _split(tg, rng.binomial(team(fga - twos_made - threes_made), OREB_PER_MISS), share[:, 0], rng)
    putbacks = rng.binomial(offensive, PUTBACK_PER_OREB)
    fga += putbacks
    twos_made += rng.binomial(putbacks, _expit(plan.two_pct_logit + hot + PUTBACK_LOGIT))
    misses = team(fga - twos_made - threes_made)
    defensive = _split(tg, rng.binomial((misses - team(offensive))[opp], DREB_PER_REBOUND), share[:, 1], rng)
    relative_usage = plan.fga / (FGA_PER_MINUTE * tgs.pace[tg] * minutes)
    turnovers = rng.poisson(share[:, 5] * np.sqrt(relative_usage))
    return {
        "points": 2 * twos_made + 3 * threes_made + ftm,
        "fg_made": twos_made + threes_made,
        "fg_attempted": fga,
        "three_pt_made": threes_made,
        "three_pt_attempted": threes_attempted,
        "ft_made": ftm,
        "ft_attempted": fta,
        "offensive_rebounds": offensive,
        "defensive_rebounds": defensive,
        "rebounds": offensive + defensive,
        "assists": _split(
            tg, rng.binomial(team(twos_made + threes_made), ASSIST_PER_BASKET), share[:, 2], rng
        ),
        "steals": _split(tg, rng.binomial(team(turnovers)[opp], STEAL_PER_TURNOVER), share[:, 3], rng),
        "blocks": _split(tg, rng.binomial(misses[opp], BLOCK_PER_MISS), share[:, 4], rng),
        "turnovers": turnovers,
        "personal_fouls": rng.poisson(share[:, 6]),
    }


def _simulate_season(
    league: _League, season: str, year: int, rng: np.random.Generator
) -> tuple[dict[str, pa.Array], dict[str, pa.Array]]:
    """One regular season: schedule, rosters, availability, rotation, minutes, box scores and lines."""
    sched = _schedule(year, rng)
    stints = _season_stints(league, sched, year, rng)
    tgs = _team_games(league, sched, rng)
    tg, stint = _roster_rows(stints, tgs)
    player = stints.player[stint]
    status, hurt = _availability(league, player, tg, stints.two_way[stint], tgs, rng)

    # The box score lists the active players plus a few injured ones, at most MAX_LISTED; the two-way
    # players and the injured are the first left off.
    listed = (status != _AWAY_TWO_WAY) & ((status != _OUT) | (rng.random(len(tg)) < P_LISTED_WHEN_OUT))
    available = status == _AVAILABLE
    priority = np.select([available & ~stints.two_way[stint], available], [2.0, 1.0], 0.0)
    keep = _rank_within(tg, LISTING_PRIORITY * priority + league.quality[player], listed) < MAX_LISTED
    tg, stint, player, status, hurt, available = (
        a[keep] for a in (tg, stint, player, status, hurt, available)
    )

    # Rotation: the coach orders healthy players by quality plus his own preference, a little noisy.
    coach_value = league.quality[player] + stints.role[stint] + rng.normal(0.0, ROLE_SD_GAME, len(tg))
    slot = np.minimum(_rank_within(tg, coach_value, available), len(MINUTES_TEMPLATE) - 1)
    starter = slot < STARTERS
    rest_factor = np.where(starter & tgs.b2b[tg], B2B_STARTER_MINUTES, 1.0)
    game = _play_game(league, player, tg, available, slot, rest_factor, hurt, tgs, rng)
    reason = _dnp_reasons(status, game.seconds > 0, rng)

    # The market's pre-game view: tonight's rotation and matchup, expected pace, no luck.
    expected_minutes = np.where(available, MINUTES_TEMPLATE[slot] * PLAY_PROB[slot] * rest_factor, 0.0)
    expected_minutes *= (STARTERS * 48.0 / np.bincount(tg, expected_minutes, minlength=tgs.size))[tg]
    expected_points = _shooting(
        league, player, tg, expected_minutes, tgs.pace_expected, tgs
    ).expected_points()
    has_role = expected_minutes[available] >= LINE_MIN_EXPECTED_MINUTES
    role_games = np.bincount(player[available], has_role, minlength=league.size)
    games = np.bincount(player[available], minlength=league.size)
    gets_line = available & (role_games[player] > LINE_ROLE_SHARE * games[player])

    game_dates = np.datetime64(sched.opening, "D") + sched.day
    home_codes = [GAME_ID_CODE.get(TEAMS[t], TEAMS[t]) for t in sched.home]
    game_ids = np.array(
        [f"{d.astype(dt.date):%Y%m%d}0{c}" for d, c in zip(game_dates, home_codes, strict=True)]
    )
    game_of_row = tgs.game[tg]
    # Real files are sorted by date, game id, away team then home team, then box-score order.
    box_group = np.select([starter, game.seconds > 0], [0, 1], 2)
    game_rank = np.argsort(np.argsort(game_ids))[game_of_row]
    order = np.lexsort((-league.quality[player], -game.seconds, box_group, tgs.is_home[tg], game_rank))
    lookups = np.array(league.lookups, dtype=object)[player]
    played = game.seconds > 0
    box = {
        "season": pa.array(np.full(len(tg), season, dtype=object), pa.string()),
        "game_id": pa.array(game_ids[game_of_row], pa.string()),
        "game_date": pa.array(game_dates[game_of_row], pa.date32()),
        "team_abbr": pa.array(np.array(TEAMS, dtype=object)[tgs.team[tg]], pa.string()),
        "opponent_team_abbr": pa.array(np.array(TEAMS, dtype=object)[tgs.opp[tg]], pa.string()),
        "is_home": pa.array(tgs.is_home[tg]),
        "player_id": pa.array(np.array(league.slugs, dtype=object)[player], pa.string()),
        "player_name": pa.array(np.array(league.names, dtype=object)[player], pa.string()),
        "player_lookup": pa.array(lookups, pa.string()),
        "starter": pa.array(starter),
        "minutes_played": pa.array(game.seconds / 60),
        "dnp": pa.array(~played),
        "dnp_reason": pa.array(reason, pa.string()),
    }
    zero_minutes = reason == PLAYED_ZERO
    for column in STAT_COLUMNS:
        null = ~played if column == "plus_minus" else ~(played | zero_minutes)
        box[column] = pa.array(game.stats[column], pa.int64(), mask=null)
    box = {name: column.take(pa.array(order)) for name, column in box.items()}
    line_rows = order[gets_line[order]]
    lines = _prop_lines(
        game_dates[game_of_row[line_rows]], lookups[line_rows], expected_points[line_rows], rng
    )
    return box, lines


def _dnp_reasons(status: np.ndarray, played: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Box-score DNP reasons in the real mix: coach's decisions are "Did Not Play", like most injuries."""
    reason = np.full(len(status), None, dtype=object)
    benched = (status == _AVAILABLE) & ~played
    reason[benched] = "Did Not Play"
    reason[benched & (rng.random(len(status)) < P_PLAYED_ZERO)] = PLAYED_ZERO
    out = np.flatnonzero(status == _OUT)
    reason[out] = np.where(rng.random(len(out)) < P_DID_NOT_DRESS, "Did Not Dress", "Did Not Play")
    reason[status == _NOT_WITH_TEAM] = "Not With Team"
    reason[status == _SUSPENDED] = "Player Suspended"
    return reason


@dataclass(frozen=True)
class _GameLines:
    """Every row's total seconds on the floor and stat line (zeros where the player did not play)."""

    seconds: np.ndarray
    stats: dict[str, np.ndarray]


def _play_game(
    league: _League,
    player: np.ndarray,
    tg: np.ndarray,
    available: np.ndarray,
    slot: np.ndarray,
    rest_factor: np.ndarray,
    hurt: np.ndarray,
    tgs: _TeamGames,
    rng: np.random.Generator,
) -> _GameLines:
    """Play three quarters with the rotation, a fourth quarter shaped by the score, then overtime.

    Splitting the game lets the score drive minutes the way it does in real games: a close game gives
    the starters the fourth quarter, a blowout hands it to the deep bench (garbage time), and a tie goes
    to overtime with each team's five heaviest-minute players. A player hurt in the game plays only part
    of the first three quarters. Stat lines of the periods add up, so the box-score identities hold for
    the totals. Some games decided by a point or two also get an overtime: the final score hides whether
    a game was tied after 48 minutes, and real games go to overtime more often than a smooth score model
    ties.
    """
    n = len(tg)
    n_games = tgs.size // 2
    stats = {column: np.zeros(n, dtype=np.int64) for column in STAT_COLUMNS}
    expected_plus_minus = np.zeros(n)
    seconds = np.zeros(n)
    margin = np.zeros(tgs.size)

    def period(period_seconds: np.ndarray) -> None:
        nonlocal seconds, margin
        rows = np.flatnonzero(period_seconds > 0)
        lines = _box_lines(league, player[rows], tg[rows], period_seconds[rows] / 60, tgs, rng)
        for column, values in lines.items():
            stats[column][rows] += values
        points = np.bincount(tg[rows], lines["points"], minlength=tgs.size)
        period_margin = points - points[np.arange(tgs.size) ^ 1]
        team_seconds = np.bincount(tg, period_seconds, minlength=tgs.size)[tg[rows]]
        expected_plus_minus[rows] += period_margin[tg[rows]] * period_seconds[rows] * STARTERS / team_seconds
        seconds = seconds + period_seconds
        margin = margin + period_margin

    in_rotation = available & ((slot < STARTERS) | (rng.random(n) < PLAY_PROB[slot]))
    weight = MINUTES_TEMPLATE[slot] * np.exp(rng.normal(0.0, MINUTES_SD[slot])) * rest_factor
    weight = np.where(hurt, weight * rng.uniform(*HURT_MINUTES_SHARE, n), weight)
    period(_fit_minutes(tg, np.where(in_rotation, weight, 0.0), tgs.size, THREE_QUARTERS))

    garbage = np.clip(
        (np.abs(margin) - GARBAGE_MARGIN[0]) / (GARBAGE_MARGIN[1] - GARBAGE_MARGIN[0]), 0.0, 1.0
    )[tg]
    closing = _shares(tg, np.where(in_rotation & ~hurt, weight**CLOSING_POWER, 0.0), tgs.size)
    mop_up = np.where(available & ~hurt, GARBAGE_WEIGHT[slot] * np.exp(rng.normal(0.0, GARBAGE_SD, n)), 0.0)
    fourth = (1 - garbage) * closing + garbage * _shares(tg, mop_up, tgs.size)
    top_five = _rank_within(tg, fourth, np.ones(n, dtype=bool)) < STARTERS
    fourth = np.where(top_five | (fourth * STARTERS * FOURTH_QUARTER >= MIN_STINT_MINUTES), fourth, 0.0)
    period(_fit_minutes(tg, fourth, tgs.size, FOURTH_QUARTER))

    closers = _rank_within(tg, seconds, (seconds > 0) & ~hurt) < STARTERS
    home_margin = margin[1::2]
    extra = (home_margin == 0) | (
        (np.abs(home_margin) <= OT_CLOSE_MARGIN) & (rng.random(n_games) < P_OT_WHEN_CLOSE)
    )
    while extra.any():
        period(np.where(closers & extra[tgs.game[tg]], OVERTIME * 60, 0.0))
        extra &= margin[1::2] == 0

    stats["personal_fouls"] = np.minimum(stats["personal_fouls"], MAX_FOULS)
    share_of_game = seconds * STARTERS / np.bincount(tg, seconds, minlength=tgs.size)[tg]
    noise = rng.normal(0.0, PLUS_MINUS_SD, n) * np.sqrt(share_of_game)
    stats["plus_minus"] = np.round(expected_plus_minus + noise).astype(np.int64)
    return _GameLines(seconds=seconds, stats=stats)


def _shares(tg: np.ndarray, weight: np.ndarray, n_tg: int) -> np.ndarray:
    return weight / np.bincount(tg, weight, minlength=n_tg)[tg]


def _prop_lines(
    dates: np.ndarray, lookups: np.ndarray, expected: np.ndarray, rng: np.random.Generator
) -> dict[str, pa.Array]:
    """Two books' lines around a shared market view of the pre-game expectation, one or two snapshots.

    The market errs around the simulation's own pre-game expectation (never the realised points); each
    book adds its own opinion and may move its line between snapshots. Prices lean toward the side the
    book's own number favours (e.g. over -120 / under +100).
    """
    n = len(expected)
    market = expected * np.exp(rng.normal(0.0, MARKET_SCALE_SD, n)) + rng.normal(0.0, MARKET_SD, n)
    parts: list[dict[str, np.ndarray]] = []
    for book in range(len(BOOKMAKERS)):
        offered = rng.random(n) < P_BOOK_OFFERS
        opening = market + rng.normal(0.0, BOOK_SD, n)
        moves = offered & (rng.random(n) < P_SECOND_SNAPSHOT)
        moved = opening + rng.normal(0.0, LINE_MOVE_SD, n)
        for snap, (rows, opinions, (earliest, latest)) in enumerate(
            zip((offered, moves), (opening, moved), SNAPSHOT_WINDOWS_UTC, strict=True)
        ):
            idx = np.flatnonzero(rows)
            opinion = opinions[idx]
            line = np.maximum(np.round(opinion * 2) / 2, MIN_LINE)
            tilt = np.clip(np.round((opinion - line) / PRICE_EDGE_STEP), -MAX_TILT, MAX_TILT).astype(np.int64)
            seconds = rng.integers(earliest, latest, len(idx)).astype("timedelta64[s]")
            parts.append(
                {
                    "row": idx,
                    "book": np.full(len(idx), book),
                    "snap": np.full(len(idx), snap),
                    "snapshot_ts": dates[idx].astype("datetime64[us]") + seconds,
                    "points_line": line,
                    "over_price": _american(STANDARD_PRICE - PRICE_STEP * tilt),
                    "under_price": _american(STANDARD_PRICE + PRICE_STEP * tilt),
                }
            )
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    order = np.lexsort((columns["snap"], columns["book"], columns["row"]))
    row = columns["row"][order]
    return {
        "game_date": pa.array(dates[row], pa.date32()),
        "player_lookup": pa.array(lookups[row], pa.string()),
        "bookmaker": pa.array(np.array(BOOKMAKERS, dtype=object)[columns["book"][order]], pa.string()),
        "snapshot_ts": pa.array(columns["snapshot_ts"][order], pa.timestamp("us", tz="UTC")),
        "points_line": pa.array(columns["points_line"][order], pa.float64()),
        "over_price": pa.array(columns["over_price"][order], pa.int64()),
        "under_price": pa.array(columns["under_price"][order], pa.int64()),
    }


def _american(price: np.ndarray) -> np.ndarray:
    """American odds have no -100: even money is written +100."""
    return np.where(price == -EVEN_MONEY, EVEN_MONEY, price)
