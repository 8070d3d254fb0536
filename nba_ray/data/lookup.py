"""`player_lookup`: the join key for players across box scores, lines and predictions."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]")


def player_lookup(name: str) -> str:
    """Fold a player's name to ASCII, lower-case, and keep only a-z0-9 (`Nikola Jokić` → `nikolajokic`)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub("", ascii_name.lower())
