"""The benchmark (bench/, run by ``make bench`` as ``python -m bench``): a quick run on the
embedded server produces complete, verified figures. No timing thresholds: only the shape of
the results and their correctness."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmark is not installed: it is run from the repository root

from bench.measure import AWARD_TABLES, STAGING_TABLES, rows_written  # noqa: E402
from bench.report import fmt_ratio, per_award_text  # noqa: E402
from bench.scenarios.concurrency import PGBENCH_TWO_USERS_SCRIPT, parse_pgbench  # noqa: E402

SCENARIOS = {1, 2, 3, 5, 6, 7, 8}


def test_quick_bench_writes_every_figure_and_verifies_awards(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--runs", "1",
         "--scenarios", ",".join(map(str, sorted(SCENARIOS))), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    # Progress lines while it runs, then the summary with a verdict per target.
    assert "scenario 1 (bulk), run 1/1" in result.stdout
    assert "targets met:" in result.stdout
    assert "scenario 6 (leaderboard), today" in result.stdout

    data = json.loads(out.read_text())
    machine = data["machine"]
    assert machine["cores"] and machine["cpu"] and machine["ram_bytes"]
    assert "PostgreSQL 18" in machine["postgresql"]
    for name in ("fsync", "synchronous_commit", "shared_buffers"):
        assert machine["settings"][name]

    scenarios = {sc["number"]: sc for sc in data["scenarios"]}
    assert set(scenarios) == SCENARIOS
    # Leaderboard reads: absolute times of what the views allow today, checked against rank().
    board = scenarios[6]
    assert board["status"] == "ok", board["error"]
    assert {f["kind"] for f in board["figures"]} == {"time", "ratio", "count"}
    timed = [f for f in board["figures"] if f["kind"] == "time"]
    assert sorted(f["label"] for f in timed if f["target"]) == ["one user's rank (leaderboard API)",
                                                                 "the user and 5 on each side (leaderboard API)",
                                                                 "top 100 (leaderboard API)"]
    assert all(f["target"]["limit"] == 10 and f["value"]["median"] > 0 for f in timed if f["target"])
    # Writers with three leaderboards against none (verified against the log), no errors.
    writers = next(f for f in board["figures"] if f["kind"] == "ratio")
    assert writers["target"]["limit"] == 0.85 and writers["ratio"]["median"] > 0
    assert next(f for f in board["figures"] if f["kind"] == "count")["total"] == 0
    assert board["verification"] and all(v["checked"] and v["ok"] for v in board["verification"])
    # Every target comes with a reason measured in the same run, printed under the figure
    # when the target is not met.
    for number in SCENARIOS:
        for figure in scenarios[number]["figures"]:
            if figure["target"] is not None and figure["kind"] != "count":
                assert figure.get("why"), (number, figure["label"])
    for number in SCENARIOS - {6, 7, 8}:
        sc = scenarios[number]
        assert sc["status"] == "ok", sc["error"]
        assert sc["figures"], number
        for figure in sc["figures"]:
            ratio = figure["ratio"]
            for key in ("median", "min", "max"):
                assert ratio[key] > 0, (number, figure["label"], key)
            assert ratio["min"] <= ratio["median"] <= ratio["max"]
            assert "met" in figure
        targeted = [f for f in sc["figures"] if f["target"] is not None]
        assert targeted and all(isinstance(f["met"], bool) for f in targeted), number
        # Every badge run was checked: awards produced, and equal to what the data implies.
        assert sc["verification"], number
        assert all(v["checked"] and v["ok"] for v in sc["verification"]), number
        assert all(v["awards"] > 0 for v in sc["verification"]), number

    bulk = scenarios[1]
    twenty = [v for v in bulk["verification"] if v["setting"].startswith("20 badges")]
    assert twenty and twenty[0]["awards"] == twenty[0]["expected"] > 0
    assert {f["target"]["limit"] for f in bulk["figures"] if f["target"]} == {1.2, 1.5, 2.0}
    # The floor of any statement-level trigger, measured in the same run, next to the targets.
    assert any(f["label"].startswith("bulk: floor") for f in bulk["figures"])
    # pgbench: the award storm against the baseline, the same badges already held (the run
    # awards nothing) and a hand-written one-upsert trigger, for reference; then two users
    # per transaction in random order against the same script without badges; no errors,
    # no deadlocks.
    bench7 = scenarios[7]
    assert bench7["status"] == "ok", bench7["error"]
    ratios = [f for f in bench7["figures"] if f["kind"] == "ratio"]
    assert [f["target"] is not None for f in ratios] == [True, True, False, False]
    assert all(f["ratio"]["median"] > 0 for f in ratios)
    assert ratios[3]["label"].startswith("two users per transaction")
    assert ratios[3]["baseline"] == "no badges, two users per transaction"
    runs = {name: s["pgbench"] for name, s in bench7["settings"].items()}
    holding = next(r for name, r in runs.items() if "already holding" in name)
    storm = runs["extension: counter + update condition"]
    pair = runs["extension: counter + update condition, two users per transaction"]
    assert all(r["awards_in_run"] == 0 for r in holding) and all(r["awards_in_run"] > 0 for r in storm)
    assert all(r["awards_in_run"] > 0 and r["transactions"] > 0 for r in pair)
    counts = {f["label"]: f["total"] for f in bench7["figures"] if f["kind"] == "count"}
    assert counts == {"errors (failed txns, aborted clients, logged ERRORs)": 0, "deadlocks": 0,
                      "  two users per transaction: errors": 0, "  two users per transaction: deadlocks": 0}
    assert all(v["checked"] and v["ok"] for v in bench7["verification"])
    # Delivery: NOTIFY and a consumer against neither, on scenario 7's writes (the target), on
    # an event in every transaction and on single-row inserts; the consumer got every event
    # of the log in every delivery run (the scenario fails otherwise).
    delivery = scenarios[8]
    assert delivery["status"] == "ok", delivery["error"]
    assert [f["target"] and f["target"]["limit"] for f in delivery["figures"]] == [0.9, None, None, 0.9]
    assert all(f.get("why") for f in delivery["figures"])
    assert all(f["ratio"]["median"] > 0 for f in delivery["figures"])
    for setting in delivery["settings"].values():
        consumed = [runs for key, runs in setting.items() if key.startswith("NOTIFY ")]
        assert consumed and all(r["delivered"] > 0 for runs in consumed for r in runs)
    unmet = [f for sc in scenarios.values() for f in sc["figures"] if f["met"] is False and f.get("why")]
    assert ("why: " in result.stdout) == bool(unmet)
    # The cost per award next to the figures that award: time in _apply_grants and rows
    # written, over run 1's awards. Every award writes exactly one award row and one event.
    priced = {1: [f for f in bulk["figures"] if not f["label"].startswith("bulk: floor")],
              2: scenarios[2]["figures"], 5: scenarios[5]["figures"], 7: [ratios[0], ratios[3]]}
    for number, figures in priced.items():
        for figure in figures:
            cost = figure.get("per_award")
            assert cost, (number, figure["label"])
            assert cost["awards"] > 0 and cost["us"] > 0 and cost["settled"], (number, figure["label"])
            assert cost["rows_by_table"]["award"] == cost["rows_by_table"]["event"] == 1, (number, figure["label"])
            assert cost["rows"] >= 2
    assert "per award: " in result.stdout
    # Function statistics of the generated triggers, for profiling.
    stats = bulk["function_stats"]["20 badges (10 counters + 10 conditions)"]
    assert any(row["function"].startswith("gamification.trg_events_insert_") for row in stats)


def test_parse_pgbench_reads_tps_and_failures() -> None:
    out = """transaction type: mixed.sql
number of transactions actually processed: 12345
number of failed transactions: 3 (0.024%)
number of serialization failures: 0 (0.000%)
number of deadlock failures: 3 (0.024%)
latency average = 3.1 ms
tps = 2582.123456 (without initial connection time)
client 3 aborted in command 4 (SQL) of script 0; ERROR:  boom
"""
    parsed = parse_pgbench(out)
    assert parsed["tps"] == 2582.123456
    assert parsed["transactions"] == 12345
    assert parsed["failed"] == 3 and parsed["deadlock_failures"] == 3
    assert parsed["aborted_clients"] == 1


def test_ratio_never_prints_as_its_target_when_it_misses() -> None:
    assert fmt_ratio(0.6967, 0.7) == "0.697x"
    assert fmt_ratio(0.6967) == "0.70x"
    assert fmt_ratio(0.70, 0.7) == "0.70x"
    assert fmt_ratio(1.234, 1.5) == "1.23x"


def test_rows_written_and_the_per_award_line() -> None:
    def snapshot(ins: int, upd: int) -> dict:
        return {"settled": True, "tables": {t: {"ins": ins, "upd": upd} for t in AWARD_TABLES + STAGING_TABLES}}
    written = rows_written(snapshot(1, 2), snapshot(4, 7))
    assert written["award"] == 8 and written["total"] == 8 * len(AWARD_TABLES)
    assert written["staged"] == 8 * len(STAGING_TABLES) and written["settled"]
    cost = {"awards": 1959, "us": 29.76, "rows": 2.61, "settled": True,
            "rows_by_table": {"award": 1.0, "event": 1.0, "points_total": 0.1, "unlock": 0.0, "progress": 0.51}}
    assert per_award_text(cost) == "per award: 30 us, 2.6 rows, 0.5 of them progress (run 1, 1,959 awards)"
    cost["rows_by_table"]["progress"] = 0.0
    assert per_award_text({**cost, "settled": False}) == (
        "per award: 30 us, 2.6 rows (run 1, 1,959 awards; row statistics incomplete)")


def test_two_users_script_writes_both_orders_of_two_distinct_users() -> None:
    lines = PGBENCH_TWO_USERS_SCRIPT.splitlines()
    branch = lines.index("\\if :low_first")
    other = lines.index("\\else")
    assert [line.split("VALUES (")[1][:3] for line in lines[branch + 1:other]] == [":lo", ":hi"]
    assert [line.split("VALUES (")[1][:3] for line in lines[other + 1:lines.index("\\endif")]] == [":hi", ":lo"]
    # b = 1 + (a + r) % users with r in 0..users-2 is never a: the two users differ.
    users = 7
    assert all(1 + (a + r) % users != a and 1 <= 1 + (a + r) % users <= users
               for a in range(1, users + 1) for r in range(users - 1))
