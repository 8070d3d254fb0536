"""`ray job submit --working-dir . -- python jobs/catch_up.py …`: the same flags as `nba-ray catch-up`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the submitted working dir holds nba_ray/

from nba_ray.cli import main

if __name__ == "__main__":
    sys.exit(main(["catch-up", *sys.argv[1:]]))
