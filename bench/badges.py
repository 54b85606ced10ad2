"""The badges the scenarios register, and the settings of the tracked table they are
measured in: no extension, badges, a no-op statement trigger (the floor) or naive triggers."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import Any, Callable

import psycopg
from psycopg.types.json import Jsonb

from .common import EVENTS_DDL, Target, VerificationError


@dataclass(frozen=True)
class Badge:
    code: str
    definition: dict[str, Any]
    expected_sql: str     # how many users the data says must hold the badge
    naive_test: str       # the django-pg-badges style condition, for the naive trigger


def counter_badge(i: int, target: int, where: str, backfill: bool = False) -> Badge:
    definition: dict[str, Any] = {
        "code": f"cnt{i}", "name": f"Counter {i}", "points": 1, "target": target,
        "counter": {"table": "events", "user_field": "user_id", "on": "insert", "where": where},
    }
    if backfill:
        definition["backfill"] = True
    return Badge(
        f"cnt{i}", definition,
        f"SELECT count(*) FROM (SELECT user_id FROM events WHERE {where} GROUP BY user_id "
        f"HAVING count(*) >= {target}) s",
        f"(SELECT count(*) FROM events WHERE user_id = NEW.user_id AND {where}) >= {target}")


def condition_badge(j: int, threshold: int) -> Badge:
    return Badge(
        f"cond{j}",
        {"code": f"cond{j}", "name": f"Condition {j}", "points": 1,
         "condition": f"NEW.points >= {threshold}", "trigger_condition": "insert",
         "trigger_table": "events", "user_field": "user_id"},
        f"SELECT count(DISTINCT user_id) FROM events WHERE points >= {threshold}",
        f"NEW.points >= {threshold}")


def counters(n: int) -> list[Badge]:
    """Counters on kind = 'k<i%5>' with targets 1..n."""
    return [counter_badge(i, i, f"kind = 'k{i % 5}'") for i in range(1, n + 1)]


def conditions(n: int) -> list[Badge]:
    """Conditions NEW.points >= t, t spread over the top of 0..1023 (some users, not all)."""
    return [condition_badge(j, 1000 - 2 * j) for j in range(n)]


BADGE_SETS: dict[str, Callable[[], list[Badge]]] = {
    "1 counter badge": lambda: counters(1),
    "1 condition badge": lambda: conditions(1),
    "20 badges (10 counters + 10 conditions)": lambda: counters(10) + conditions(10),
    "20 counter badges": lambda: counters(20),
    "20 condition badges": lambda: conditions(20),
}
MIXED20 = "20 badges (10 counters + 10 conditions)"


def naive_sql(badges: list[Badge]) -> list[str]:
    """The naive reference: one per-row trigger per badge, each recounting the user's
    rows (django-pg-badges style), idempotent through ON CONFLICT DO NOTHING. It needs
    an index on the user to be usable at all, which is part of its cost."""
    sql = ["CREATE INDEX events_user_kind_idx ON events (user_id, kind)",
           "CREATE TABLE naive_award (user_id int NOT NULL, badge text NOT NULL, "
           "awarded_at timestamptz DEFAULT now(), PRIMARY KEY (user_id, badge))"]
    for b in badges:
        sql.append(f"""
CREATE FUNCTION naive_{b.code}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT {b.naive_test}) THEN
        INSERT INTO naive_award (user_id, badge) VALUES (NEW.user_id, '{b.code}') ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$""")
        sql.append(f"CREATE TRIGGER naive_{b.code} AFTER INSERT ON events "
                   f"FOR EACH ROW EXECUTE FUNCTION naive_{b.code}()")
    return sql


@dataclass(frozen=True)
class Setting:
    """One configuration of the tracked table: no extension, badges, or naive triggers."""

    name: str
    extension: bool = False
    badges: tuple[Badge, ...] = ()
    naive: bool = False
    ddl: tuple[str, ...] = ()

    def prepare(self, target: Target, dbname: str = "run") -> str:
        dsn = target.fresh_db(self.extension, dbname)
        with closing(psycopg.connect(dsn, autocommit=True)) as conn:
            conn.execute(EVENTS_DDL)
            for ddl in self.ddl:
                conn.execute(ddl)
            if self.naive:
                for ddl in naive_sql(list(self.badges)):
                    conn.execute(ddl)
            elif self.badges:
                conn.execute("SELECT gamification.badge_register(%s)",
                             (Jsonb([b.definition for b in self.badges]),))
        return dsn

    def verify(self, conn: psycopg.Connection) -> dict[str, Any]:
        """Awards per badge against what the rows in events imply; raises if they differ."""
        if not self.badges:
            return {"checked": False}
        if self.naive:
            actual = dict(conn.execute("SELECT badge, count(*) FROM naive_award GROUP BY 1").fetchall())
        else:
            actual = dict(conn.execute(
                "SELECT badge_code, count(*) FROM gamification.award GROUP BY 1").fetchall())
            broken = conn.execute("SELECT count(*) FROM gamification.badge_error").fetchone()[0]
            if broken:
                raise VerificationError(f"{self.name}: {broken} badge evaluation error(s) in gamification.badge_error")
        expected = {b.code: conn.execute(b.expected_sql).fetchone()[0] for b in self.badges}
        wrong = {code: (n, actual.get(code, 0)) for code, n in expected.items() if actual.get(code, 0) != n}
        if wrong:
            detail = ", ".join(f"{c}: expected {e}, got {a}" for c, (e, a) in sorted(wrong.items()))
            raise VerificationError(f"{self.name}: awards differ from what the data implies: {detail}")
        return {"checked": True, "ok": True, "awards": sum(expected.values()),
                "expected": sum(expected.values())}


def plain() -> Setting:
    return Setting("no badges (extension not installed)")


def with_badges(name: str) -> Setting:
    return Setting(name, extension=True, badges=tuple(BADGE_SETS[name]()))


# The floor of any statement-level trigger design, ours included: PostgreSQL captures
# every inserted row in the transition table (a tuplestore, spilled to a temporary file
# past work_mem), and the trigger reads it once. Nothing else happens.
FLOOR_DDL = (
    "CREATE FUNCTION floor_read() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM count(*) FROM new_rows; RETURN NULL; END $$",
    "CREATE TRIGGER floor_read AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION floor_read()",
)
FLOOR = "floor: no-op statement trigger + transition table"


def floor() -> Setting:
    return Setting(FLOOR, ddl=FLOOR_DDL)


def naive20() -> Setting:
    return Setting("naive: 20 per-row count(*) triggers", badges=tuple(BADGE_SETS[MIXED20]()), naive=True)
