"""Scenario 2: single-row autocommit INSERTs, one connection per setting, taking turns."""

from __future__ import annotations

from ..badges import MIXED20, plain, with_badges
from ..common import Options, Progress, Target
from ..measure import (Scenario, attach_per_award, award_ms, commit_ms, explain, ratio_figure, run1_awards,
                       single_rows, single_turns, trigger_ms)


def scenario_single(opts: Options, target: Target, progress: Progress) -> Scenario:
    rows = single_rows(opts.single, opts.users)
    users = len({r[0] for r in rows})
    size = f"{opts.single:,} autocommit inserts, {users:,} users"
    sc = Scenario(2, "Single-row autocommit INSERTs (one connection)", size)
    settings = [plain(), with_badges("1 counter badge"), with_badges("1 condition badge"),
                with_badges(MIXED20), with_badges("20 counter badges"), with_badges("20 condition badges")]
    times = single_turns(opts, progress, "2 (single)", target, settings, rows, sc)
    base = settings[0].name
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"single: {s.name}", s.name, base, times[s.name], times[base],
                                       1.4 if s.name == MIXED20 else None, size))
        attach_per_award(sc.figures[-1], sc, s.name)
    trigger, commit, awards = trigger_ms(sc, MIXED20), commit_ms(sc, MIXED20), award_ms(sc, MIXED20)
    if trigger and commit is not None and awards is not None:
        plain_us = sc.settings[base]["latency_us"][0]["mean"]
        per = 1000 / opts.single
        figure = next(f for f in sc.figures if f["setting"] == MIXED20)
        explain(figure, f"run 1: a plain insert takes {plain_us:.0f} us (1.5x leaves {plain_us / 2:.0f} us); "
                        f"per insert the trigger with its callees (staging) took {trigger * per:.0f} us and the "
                        f"apply at commit {commit * per:.0f} us, {awards * per:.0f} us of it applying "
                        f"{run1_awards(sc, MIXED20):,} awards (_apply_grants)")
    return sc
