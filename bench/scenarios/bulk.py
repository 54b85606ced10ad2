"""Scenario 1: one bulk INSERT ... SELECT into a tracked table, per badge setting."""

from __future__ import annotations

from ..badges import MIXED20, floor, plain, with_badges
from ..common import Options, Progress, Target
from ..measure import (Scenario, attach_per_award, award_ms, bulk_measure, explain, interleaved, ratio_figure,
                       run1_awards)


def scenario_bulk(opts: Options, target: Target, progress: Progress) -> Scenario:
    size = f"{opts.rows:,} rows, {opts.users:,} users"
    sc = Scenario(1, "Bulk INSERT ... SELECT generate_series into a tracked table", size)
    settings = [plain(), floor(), with_badges("1 counter badge"), with_badges("1 condition badge"),
                with_badges(MIXED20), with_badges("20 counter badges"), with_badges("20 condition badges")]
    times = interleaved(opts, progress, "1 (bulk)", settings,
                        bulk_measure(target, sc, opts.rows, opts.users, settings), sc)
    base = settings[0].name
    # Issue 17's targets: 20 badges and their ~195,000 awards, and 20 conditions (~18,000).
    limits = {"1 counter badge": 1.2, MIXED20: 2.0, "20 condition badges": 1.5}
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"bulk: {s.name}", s.name, base, times[s.name], times[base],
                                       limits.get(s.name), size))
        attach_per_award(sc.figures[-1], sc, s.name)
        awards = award_ms(sc, s.name)
        if s.name in limits and awards is not None:
            b, t = times[base][0], times[s.name][0]
            explain(sc.figures[-1], f"run 1: {t:.2f} s vs {b:.2f} s; applying its {run1_awards(sc, s.name):,} "
                                    f"awards at commit (_apply_grants: award rows, events, totals) took "
                                    f"{awards / 1000:.2f} s, {awards / 1000 / b:.2f}x the baseline by itself")
    sc.notes.append("20 counters and 20 conditions are breakdowns of the 20-badge figure (no target).")
    sc.notes.append("The floor is what any statement-level trigger costs before doing any work: "
                    "the targets leave the badges themselves the difference.")
    return sc
