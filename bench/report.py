"""What a run reports besides its figures: the machine and the project it ran on, the
summary table, and the functions that took the most time."""

from __future__ import annotations

import os
import platform
import subprocess
import textwrap
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg

from gamification.project import find_project

from .common import Target


SETTINGS_THAT_MATTER = (
    "server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
    "shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size", "checkpoint_timeout",
    "effective_io_concurrency", "jit", "autovacuum", "max_connections", "track_functions",
)


# --------------------------------------------------------------------------- machine info

def machine_info(target: Target) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    with closing(target.admin()) as conn:
        version = conn.execute("SELECT version()").fetchone()[0]
        known = {r[0] for r in conn.execute("SELECT name FROM pg_settings").fetchall()}
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in SETTINGS_THAT_MATTER if name in known}
    settings["track_functions (scratch databases)"] = "pl" if target.track_functions else "unchanged"
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_bytes": ram,
            "ram": f"{ram / 2**30:.1f} GiB" if ram else None, "os": platform.platform(),
            "python": platform.python_version(), "psycopg": psycopg.__version__,
            "server": target.description, "postgresql": version, "settings": settings}


def project_info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        project = find_project()
        from gamification import build as build_mod
        info["version"] = project.version
        info["extension_matches_sql"] = build_mod.check(project).ok
        git = subprocess.run(["git", "-C", str(project.root), "describe", "--always", "--dirty"],
                             capture_output=True, text=True)
        if git.returncode == 0:
            info["git"] = git.stdout.strip()
    except Exception as exc:  # informative only
        info["error"] = str(exc)
    return info


# --------------------------------------------------------------------------- summary

def fmt_ratio(x: float, limit: float | None = None) -> str:
    """Two decimals, or three where two would print the limit itself (0.6967 is not 0.70)."""
    text = f"{x:.2f}x"
    if limit is not None and round(x, 2) == limit and x != limit:
        text = f"{x:.3f}x"
    return text


def per_award_text(cost: dict[str, Any]) -> str:
    """The line under a figure that awards: run 1's time applying awards (_apply_grants)
    and rows written to the award tables, each per award."""
    progress = cost.get("rows_by_table", {}).get("progress", 0)
    of_which = f", {progress:.1f} of them progress" if progress >= 0.05 else ""
    unsettled = "; row statistics incomplete" if cost.get("settled") is False else ""
    return (f"per award: {cost['us']:.0f} us, {cost['rows']:.1f} rows{of_which} "
            f"(run 1, {cost['awards']:,} awards{unsettled})")


def summary(result: dict[str, Any]) -> str:
    m = result["machine"]
    s = m["settings"]
    lines = [
        "",
        "make bench: every ratio is the median of per-run ratios against the baseline of the "
        f"same run ({result['options']['runs']} run(s)), with min-max",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; {m['postgresql'].split(',')[0]}; "
        f"fsync={s.get('fsync')} synchronous_commit={s.get('synchronous_commit')} "
        f"shared_buffers={s.get('shared_buffers')} jit={s.get('jit')}",
        "",
        f"{'#':<2} {'figure':<58} {'median':>8} {'min-max':>13} {'target':>8}  verdict",
        "-" * 100,
    ]
    for sc in result["scenarios"]:
        head = f"{sc['number']:<2} {sc['title']}  [{sc['size']}]" if sc["size"] else f"{sc['number']:<2} {sc['title']}"
        lines.append(head)
        if sc["status"] == "skipped":
            lines.append(f"{'':<2}   {'; '.join(sc['notes'])}")
            continue
        if sc["status"] == "failed":
            lines.append(f"{'':<2}   BENCHMARK FAILED: {sc['error']}")
            continue
        for f in sc["figures"]:
            target = "" if f["target"] is None else f"{f['target']['op']}{f['target']['limit']:g}" + (
                {"ratio": "x", "time": "ms"}.get(f["kind"], ""))
            verdict = "" if f["met"] is None else ("met" if f["met"] else "NOT met")
            if f["kind"] == "ratio":
                r = f["ratio"]
                label = f["label"]
                med = fmt_ratio(r["median"], f["target"]["limit"] if f["target"] else None)
                rng = f"{r['min']:.2f}-{r['max']:.2f}"
            elif f["kind"] == "time":
                v = f["value"]
                label, med = f["label"], f"{v['median']:.1f}ms"
                rng = f"{v['min']:.1f}-{v['max']:.1f}"
            else:
                label, med = f["label"], f"{f['total']}"
                rng = f"{f['value']['min']}-{f['value']['max']}"
            lines.append(f"{'':<2} {label[:58]:<58} {med:>8} {rng:>13} {target:>8}  {verdict}")
            if f.get("per_award"):
                lines.append(" " * 6 + per_award_text(f["per_award"]))
            if f["met"] is False and f.get("why"):
                lines.extend(textwrap.wrap(f"why: {f['why']}", 97, initial_indent=" " * 6,
                                           subsequent_indent=" " * 11))
        checked = [v for v in sc["verification"] if v.get("checked") and "awards" in v]
        if checked:
            lines.append(f"{'':<2}   awards verified in {len(checked)} badge run(s)")
    lines.append("-" * 100)
    targets = [f for sc in result["scenarios"] for f in sc["figures"] if f["met"] is not None]
    met = sum(1 for f in targets if f["met"])
    lines.append(f"targets met: {met} of {len(targets)}; results: {result['json_path']}")
    return "\n".join(lines)


def top_functions(result: dict[str, Any], n: int = 3) -> str:
    lines = []
    for sc in result["scenarios"]:
        for setting, rows in sc.get("function_stats", {}).items():
            if rows and ("20 badges" in setting or sc["number"] in (3, 5, 7)):
                tops = ", ".join(f"{r['function'].split('.', 1)[1]} {r['self_ms']:.0f}/{r['total_ms']:.0f} ms "
                                 f"x{r['calls']}" for r in rows[:n])
                lines.append(f"  {sc['number']} {setting}: {tops}")
    if not lines:
        return ""
    return "\npg_stat_user_functions, run 1, top self time (self/total ms x calls):\n" + "\n".join(lines)
