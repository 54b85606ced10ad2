"""Scenario 4 (reference): the same 20 badges as naive per-row count(*) triggers."""

from __future__ import annotations

from ..badges import MIXED20, naive20, plain, with_badges
from ..common import Options, Progress, Target
from ..measure import Scenario, bulk_measure, interleaved, ratio_figure, single_rows, single_turns


def scenario_naive(opts: Options, target: Target, progress: Progress) -> Scenario:
    bulk_size = f"{opts.naive_rows:,} rows, {opts.naive_users:,} users"
    rows = single_rows(opts.single, opts.users)
    single_size = f"{opts.single:,} autocommit inserts, {len({r[0] for r in rows}):,} users"
    sc = Scenario(4, "Reference: the same 20 badges as naive per-row count(*) triggers",
                  f"bulk {bulk_size}; single {single_size}")
    settings = [plain(), with_badges(MIXED20), naive20()]
    base = settings[0].name
    times = interleaved(opts, progress, "4 (naive, bulk)", settings,
                        bulk_measure(target, sc, opts.naive_rows, opts.naive_users, settings), sc)
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"bulk: {s.name}", s.name, base, times[s.name], times[base], None,
                                       bulk_size))
    bulk_settings = sc.settings
    sc.settings = {}
    times = single_turns(opts, progress, "4 (naive, single)", target, settings, rows, sc)
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"single: {s.name}", s.name, base, times[s.name], times[base], None,
                                       single_size))
    sc.settings = {"bulk": bulk_settings, "single": sc.settings}
    sc.notes.append(f"Bulk at reduced size ({bulk_size}, the same 100 rows per user shape) so the naive "
                    "triggers finish; the naive setting adds the index on events(user_id, kind) its "
                    "count(*) needs, and writes no points, history or progress.")
    return sc
