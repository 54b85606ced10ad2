"""The scenarios, one module each, by number (``--scenarios``); docs/benchmarks.md
describes them and their targets."""

from __future__ import annotations

from typing import Callable

from ..common import Options, Progress, Target
from ..measure import Scenario
from .backfill import scenario_backfill
from .bulk import scenario_bulk
from .concurrency import scenario_concurrency
from .delivery import scenario_delivery
from .history import scenario_history
from .leaderboard import scenario_leaderboard
from .naive import scenario_naive
from .single import scenario_single


SCENARIOS: dict[int, Callable[[Options, Target, Progress], Scenario]] = {
    1: scenario_bulk, 2: scenario_single, 3: scenario_history, 4: scenario_naive,
    5: scenario_backfill, 6: scenario_leaderboard, 7: scenario_concurrency, 8: scenario_delivery,
}
TITLES = {1: "Bulk INSERT ... SELECT", 2: "Single-row autocommit INSERTs", 3: "Counter cost vs history",
          4: "Naive per-row triggers (reference)", 5: "Backfill vs plain GROUP BY", 6: "Leaderboard reads",
          7: "Concurrency (pgbench)", 8: "Event delivery (NOTIFY and a consumer)"}
