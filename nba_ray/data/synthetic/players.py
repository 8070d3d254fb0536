"""The league's players across seasons: who they are, how they play, and how careers move on.

`League` is the state one season hands to the next: every player ever generated (name, age, quality,
shot mix, per-minute rates, injury proneness), his team, and each team's pace and zone defense. Off-seasons
age, retire, draft and re-sign players so "previous season" fallbacks and turnover are exercised.
"""

from __future__ import annotations

import numpy as np

from nba_ray.data.league import TEAMS
from nba_ray.data.lookup import player_lookup

N_TEAMS = len(TEAMS)

# --- Players ------------------------------------------------------------------------------------------
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
INJURY_PRONE_SHAPE = 2.0
TEAM_PACE_SD = 0.028
DEF_TWO_SD = 0.10  # logit shift of 2P% allowed
DEF_THREE_SD = 0.05
DEF_FT_SD = 0.08  # log shift of free-throw rate allowed
TEAM_PERSISTENCE = 0.55

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


class League:
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
    def initial(cls, year: int, rng: np.random.Generator) -> League:
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
