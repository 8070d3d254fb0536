"""The market beside each system: prices and their break-even, the Wilson interval, the figures of the
market table on hand-built graded rows, `market_daily` with its trailing windows, and — on a backfilled
synthetic fortnight — `grade --report` with the market section and its plot, one daily row per date and
system, and `status` summarising it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nba_ray.backfill.driver import run_backfill
from nba_ray.cli import main
from nba_ray.grading.market import break_even, daily, market_table, payout, wilson
from nba_ray.grading.market_report import GAP_PLOT
from nba_ray.systems.base import ACTUAL_PROP, ESTIMATED_AVG, OVER, PASS, UNDER
from nba_ray.warehouse.duckdb_backend import DuckDBWarehouse
from tests.backfill_fixtures import BACKFILL_END, BACKFILL_START, League, backfill_dates

START = date(2023, 1, 1)


def test_prices_break_even_and_payouts() -> None:
    assert break_even(-110) == pytest.approx(0.5238, abs=1e-4)  # 52.4 % at −110
    assert break_even(150) == pytest.approx(0.4)
    assert payout(-110) == pytest.approx(100 / 110) and payout(150) == pytest.approx(1.5)


def test_wilson_interval() -> None:
    low, high = wilson(60, 100)
    assert (round(low, 4), round(high, 4)) == (0.5020, 0.6906)
    assert np.isnan(wilson(0, 0)[0])


def row(
    day: int, system: str, predicted: float, line: float, actual: float, rec: str, **extra: object
) -> dict:
    return {
        "game_date": START + timedelta(days=day),
        "player_lookup": f"p{day}",
        "system_id": system,
        "prediction_mode": "standard",
        "predicted_points": predicted,
        "actual_points": actual,
        "line_value": line,
        "line_source": extra.get("source", ACTUAL_PROP),
        "recommendation": rec,
        "prediction_correct": None if rec == PASS else (actual > line) == (rec == OVER),
        "confidence_decile": 8,
        "is_voided": False,
        "over_price": extra.get("over"),
        "under_price": extra.get("under"),
    }


def test_market_table_on_hand_built_rows() -> None:
    rows = pd.DataFrame(
        [
            row(0, "a", 20.0, 18.5, 22.0, OVER, over=-110),  # hit at −110: +0.909
            row(1, "a", 10.0, 12.5, 14.0, UNDER, under=150),  # miss: −1
            row(2, "a", 15.0, 15.5, 15.0, PASS),  # no call
            row(3, "a", 30.0, 24.5, 20.0, OVER, source=ESTIMATED_AVG),  # estimated: not here
        ]
    )
    table = market_table(rows).loc["a"]
    assert table["n"] == 3 and table["calls"] == 2 and table["hit_rate"] == 0.5
    assert table["model_mae"] == pytest.approx((2 + 4 + 0) / 3)
    assert table["line_mae"] == pytest.approx((3.5 + 1.5 + 0.5) / 3)
    assert table["gap"] == pytest.approx(table["model_mae"] - table["line_mae"])
    assert table["line_bias"] == pytest.approx((-3.5 - 1.5 + 0.5) / 3)
    assert table["break_even"] == pytest.approx((break_even(-110) + break_even(150)) / 2)
    assert table["roi"] == pytest.approx((100 / 110 - 1) / 2)


def test_daily_rows_and_trailing_windows() -> None:
    rows = pd.DataFrame(
        [row(d, "a", 20.0, 18.5, 22.0 if d % 2 else 10.0, OVER) for d in range(20)]
        + [row(d, "b", 20.0, 18.5, 22.0, UNDER) for d in (0, 10)]
    )
    table = daily(rows, pd.Timestamp.now(tz="UTC")).set_index(["system_id", "game_date"])
    assert len(table) == 22  # one row per date and system with graded real lines
    last = table.loc[("a", START + timedelta(days=19))]
    assert last["n_7d"] == 7 and last["n_14d"] == 14 and last["calls_14d"] == 14
    assert last["hit_rate_7d"] == pytest.approx(4 / 7) and last["hit_rate_14d"] == pytest.approx(0.5)
    assert last["line_mae_14d"] == pytest.approx((7 * 3.5 + 7 * 8.5) / 14)
    b = table.loc[("b", START + timedelta(days=10))]
    assert b["n_7d"] == 1 and b["n_14d"] == 2  # calendar days: day 0 is within 14 days of day 10


def test_the_daily_table_grades_the_systems_own_calls() -> None:
    """A blocked system's calls were turned into PASS: the market still grades the call it made, so its
    state can recover; the market table (what was recommended) counts no bet."""
    rows = pd.DataFrame(
        [
            {**row(0, "a", 20.0, 18.5, 22.0, PASS), "system_recommendation": OVER},
            {**row(1, "a", 20.0, 18.5, 12.0, PASS), "system_recommendation": OVER},
            {**row(2, "a", 20.0, 18.5, 12.0, UNDER), "system_recommendation": UNDER},
        ]
    )
    table = daily(rows, pd.Timestamp.now(tz="UTC")).set_index("game_date")
    assert list(table["calls_14d"]) == [1, 2, 3] and table["hit_rate_14d"].iloc[-1] == pytest.approx(2 / 3)
    assert market_table(rows).loc["a", "calls"] == 1


@pytest.mark.usefixtures("local_ray")
def test_grade_reports_the_market_daily_table_and_status(
    league: League, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = league.copy_to(tmp_path / "w")
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        assert run_backfill(settings, warehouse, backfill_dates()).exit_code == 0
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse:\n  path: {settings.warehouse.path}\n")
    report = tmp_path / "report"
    span = ["--start", str(BACKFILL_START), "--end", str(BACKFILL_END)]
    capsys.readouterr()
    assert main(["grade", "--config", str(config), *span, "--report", str(report)]) == 0
    assert "against real lines (ACTUAL_PROP" in capsys.readouterr().out
    text = (report / "report.md").read_text()
    assert "## The market" in text and f"![Rolling MAE gap]({GAP_PLOT})" in text
    assert "not a market" in text and (report / GAP_PLOT).stat().st_size > 10_000

    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        table = warehouse.read_market_daily().to_pandas()
        accuracy = warehouse.read_accuracy(BACKFILL_START, BACKFILL_END).to_pandas()
    systems = set(settings.systems.enabled_in_order)
    graded_dates = set(accuracy.loc[accuracy["line_source"] == ACTUAL_PROP, "game_date"])
    assert len(table) == len(graded_dates) * len(systems)
    assert not table.duplicated(["game_date", "system_id", "prediction_mode"]).any()
    assert set(table["model_state"]) <= {"healthy", "watch", "degrading", "blocked"}
    # The daily line MAE is |line − actual| on the system's graded real-line rows of the date.
    day, system = min(graded_dates), "xgboost_v1"
    mine = accuracy[
        (accuracy["game_date"] == day)
        & (accuracy["system_id"] == system)
        & (accuracy["line_source"] == ACTUAL_PROP)
        & ~accuracy["is_voided"]
    ]
    stored = table[(table["game_date"] == day) & (table["system_id"] == system)].iloc[0]
    assert stored["n"] == len(mine)
    assert stored["line_mae"] == pytest.approx((mine["line_value"] - mine["actual_points"]).abs().mean())
    assert accuracy.loc[accuracy["line_source"] == ACTUAL_PROP, "over_price"].notna().mean() > 0.99

    assert main(["status", "--config", str(config)]) == 0
    lines = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("  ") and "as of" in line
    ]
    assert len(lines) == len(systems) and all(str(BACKFILL_END) in line for line in lines)

    # The states graded before each date are an input of its predictions: every date after the first
    # graded one is stale for them, and once redone and graded again, nothing is (states are computed on
    # the systems' own calls, so turning a blocked system's calls into PASS does not move them).
    def plan() -> list[tuple[date, str]]:
        with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
            report = run_backfill(settings, warehouse, backfill_dates(), dry_run=True)
        return [(s.game_date, s.describe()) for s in report.states if s.needs_work]

    stale = plan()
    assert [d for d, _ in stale] == sorted(d for d in graded_dates if d > min(graded_dates))
    assert {why for _, why in stale} == {"stale: model state"}
    with DuckDBWarehouse(settings.warehouse.path, settings.batching) as warehouse:
        assert run_backfill(settings, warehouse, backfill_dates()).exit_code == 0
    assert main(["grade", "--config", str(config), *span]) == 0
    assert plan() == []
    with DuckDBWarehouse(settings.warehouse.path) as warehouse:
        redone = warehouse.read_predictions(BACKFILL_START, BACKFILL_END).to_pandas()
    later = redone[redone["game_date"] > min(graded_dates)]
    assert later["model_state"].notna().all() and redone["system_recommendation"].notna().all()
    turned = redone["recommendation"] != redone["system_recommendation"]
    assert (redone.loc[turned, "model_state"] == "blocked").all()
    assert redone.loc[turned, "state_reason"].str.startswith("PASS: blocked").all()
