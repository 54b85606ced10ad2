"""One benchmark run: the server, the chosen scenarios, the JSON results and the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path

import psycopg

from gamification.project import find_project
from gamification.server import embedded_installation, server_with_extension

from .common import BenchError, Options, Progress, Target, check_extension_available, find_pgbench
from .measure import Scenario
from .report import machine_info, project_info, summary, top_functions
from .scenarios import SCENARIOS, TITLES


def run(opts: Options) -> int:
    progress = Progress()
    with ExitStack() as stack:
        if opts.dsn:
            version = check_extension_available(opts.dsn)
            pgbench = find_pgbench(None)
            target = Target(opts.dsn, f"gamification_bench_{os.getpid()}", pgbench, None,
                            f"--dsn server (extension {version} available)")
        else:
            installation = embedded_installation()
            progress(f"starting a throwaway {installation.describe()}")
            server = stack.enter_context(server_with_extension(find_project(), installation))
            target = Target(server.dsn(), "bench", installation.tool("pgbench"), server.logfile,
                            f"throwaway embedded {installation.describe()}")
        stack.callback(target.drop_all)
        machine = machine_info(target)
        info = project_info()
        if info.get("extension_matches_sql") is False:
            progress("warning: extension/ differs from sql/ (run `gamification build`): "
                     "the benchmark measures extension/")
        progress(f"{machine['postgresql'].split(',')[0]} on {machine['cpu']}, {machine['cores']} cores, "
                 f"{machine['ram']}; scenarios {','.join(map(str, opts.scenarios))}, {opts.runs} run(s)"
                 + (" (quick)" if opts.quick else ""))
        scenarios = []
        for number in opts.scenarios:
            try:
                sc = SCENARIOS[number](opts, target, progress)
            except (BenchError, psycopg.Error, OSError, subprocess.SubprocessError) as exc:
                progress(f"scenario {number} FAILED: {exc}")
                sc = Scenario(number, TITLES[number], status="failed",
                              error=f"{type(exc).__name__}: {exc}")
                sc.notes.append(traceback.format_exc())
            scenarios.append(sc)
        machine["settings"]["track_functions (scratch databases)"] = "pl" if target.track_functions else "unchanged"
        json_path = opts.json_path or find_project().root / "bench-results" / "latest.json"
        result = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "duration_s": round(time.perf_counter() - progress.start, 1),
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()},
            "machine": machine, "project": info, "notes": target.notes,
            "json_path": str(json_path),
            "scenarios": [sc.as_json() for sc in scenarios],
        }
        result["options"]["dsn"] = "given" if opts.dsn else None  # never write credentials
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(summary(result))
    print(top_functions(result))
    for note in target.notes:
        print(f"note: {note}")
    failed = [sc for sc in scenarios if sc.status == "failed"]
    if failed:
        print(f"make bench: {len(failed)} scenario(s) broke: "
              + ", ".join(f"{sc.number} ({sc.error})" for sc in failed), file=sys.stderr)
        return 1
    return 0
