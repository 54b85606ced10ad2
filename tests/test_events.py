"""Event delivery (issue 18): consumers read the event log in commit-safe order.

Event ids are taken at insert time, so a transaction that took a lower id and commits
later would be skipped by a reader of "ids above my cursor". These tests interleave real
sessions to show that a consumer (events_fetch/events_ack, core/consumers.sql) skips
nothing, delivers nothing twice and never delivers a rolled-back event.
"""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest


@pytest.fixture
def db(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""SELECT gamification.badge_register('{"code": "hello", "name": "Hello", "points": 3}')""")
        conn.execute("SELECT gamification.consumer_register('app', from_start => true)")
        yield conn


def fetch_and_ack(conn: psycopg.Connection, consumer: str = "app", batch: int = 100) -> list[int]:
    """One worker's turn: fetch a batch, acknowledge it, in one transaction."""
    with conn.transaction():
        rows = conn.execute("SELECT id, txid FROM gamification.events_fetch(%s, %s)", (consumer, batch)).fetchall()
        if rows:
            conn.execute("SELECT gamification.events_ack(%s, %s, %s)", (consumer, rows[-1][1], rows[-1][0]))
    return [row[0] for row in rows]


def test_a_transaction_that_took_a_lower_id_and_commits_later_is_not_skipped(db, dsn):
    with psycopg.connect(dsn) as early, psycopg.connect(dsn) as late, psycopg.connect(dsn, autocommit=True) as reader:
        early.execute("SELECT gamification.points_award('a', 1, 'first')")  # takes the lower id
        late.execute("SELECT gamification.points_award('b', 1, 'second')")
        late.commit()
        (second,) = db.execute("SELECT id FROM gamification.event").fetchone()
        # What a reader of "ids above my cursor" would do now: see only the later id, move
        # its cursor past the earlier one, and skip that one when it commits.
        assert fetch_and_ack(reader) == [], "delivered while an older transaction was still open"
        early.commit()
        (first,) = db.execute("SELECT id FROM gamification.event WHERE user_id = 'a'").fetchone()
        assert first < second
        assert fetch_and_ack(reader) == [first, second]
        assert fetch_and_ack(reader) == []


def test_events_of_a_rollback_are_never_delivered(db, dsn):
    with psycopg.connect(dsn) as writer, psycopg.connect(dsn, autocommit=True) as reader:
        writer.execute("SELECT gamification.badge_award('r', 'hello')")
        writer.rollback()
        db.execute("SELECT gamification.badge_award('c', 'hello')")
        delivered = fetch_and_ack(reader)
        users = {db.execute("SELECT user_id FROM gamification.event WHERE id = %s", (i,)).fetchone()[0]
                 for i in delivered}
        assert users == {"c"}


def test_two_workers_of_one_consumer_never_get_the_same_batch_and_a_crash_rereads(db, dsn):
    db.execute("SELECT gamification.points_award(u::text, 1, 'x') FROM generate_series(1, 5) u")
    with psycopg.connect(dsn) as one, psycopg.connect(dsn) as two:
        batch = [r[0] for r in one.execute("SELECT id FROM gamification.events_fetch('app', 3)")]
        assert len(batch) == 3
        assert two.execute("SELECT count(*) FROM gamification.events_fetch('app', 3)").fetchone() == (0,)
        two.commit()
        one.rollback()  # the worker died before acknowledging: the batch comes back
        assert [r[0] for r in two.execute("SELECT id FROM gamification.events_fetch('app', 3)")] == batch


def test_concurrent_writers_every_committed_event_delivered_exactly_once(db, dsn):
    """Writers commit in random order with random pauses inside their transactions (some
    roll back) while a consumer reads and acknowledges in a loop."""
    stop = time.monotonic() + 3.0
    errors: list[str] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(dsn) as conn:
            while time.monotonic() < stop:
                try:
                    # One user per transaction: a manual call locks its user until commit.
                    user = str(rng.randint(1, 50))
                    conn.execute("SELECT gamification.points_award(%s, 1, 'w')", (user,))
                    time.sleep(rng.random() * 0.02)
                    conn.execute("SELECT gamification.badge_award(%s, 'hello')", (user,))
                    if rng.random() < 0.2:
                        conn.rollback()
                    else:
                        conn.commit()
                except psycopg.Error as exc:  # pragma: no cover - reported below
                    conn.rollback()
                    errors.append(str(exc))

    delivered: list[int] = []
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    with psycopg.connect(dsn, autocommit=True) as reader:
        while any(t.is_alive() for t in threads):
            delivered += fetch_and_ack(reader, batch=7)
        for t in threads:
            t.join()
        while batch := fetch_and_ack(reader, batch=7):
            delivered += batch
    assert not errors
    committed = [r[0] for r in db.execute("SELECT id FROM gamification.event ORDER BY id")]
    assert len(committed) > 20
    assert len(delivered) == len(set(delivered)), "an event was delivered twice"
    assert sorted(delivered) == committed, "an event was skipped"


def test_a_listener_is_woken_after_commit_and_not_by_a_rollback(db, dsn):
    with psycopg.connect(dsn, autocommit=True) as listener, psycopg.connect(dsn) as writer:
        listener.execute("LISTEN gamification_events")
        writer.execute("SELECT gamification.badge_award('n1', 'hello')")
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == [], "woken before the commit"
        writer.rollback()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == [], "woken by a rollback"
        writer.execute("SELECT gamification.badge_award('n2', 'hello')")
        writer.execute("SELECT gamification.points_award('n2', 4, 'more')")
        writer.commit()
        woken = list(listener.notifies(timeout=2, stop_after=2))
        assert [(n.channel, n.payload) for n in woken] == [("gamification_events", "")], "one wake-up per transaction"
        # Points alone wake nobody by default (a stream of them would serialise commits on
        # NOTIFY's lock): the next award's wake-up, or a poll, delivers them.
        writer.execute("SELECT gamification.points_award('n2', 1, 'tick')")
        writer.commit()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == [], "woken by points alone"
        writer.execute("SET gamification.notify = 'all'")
        writer.execute("SELECT gamification.points_award('n2', 1, 'tick')")
        writer.commit()
        assert len(list(listener.notifies(timeout=2, stop_after=1))) == 1, "notify = all: not woken by points"
        # Off for a database or role: polling still works.
        writer.execute("SET gamification.notify = off")
        writer.execute("SELECT gamification.badge_award('n3', 'hello')")
        writer.commit()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        assert len(fetch_and_ack(listener)) == 5  # n2's award and three point changes, n3's award


def test_a_backfill_wakes_no_listener(db, dsn):
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute("LISTEN gamification_events")
        db.execute("CREATE TABLE sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0)")
        db.execute("INSERT INTO sketch (user_id, hit_views) SELECT g, 2000 FROM generate_series(1, 50) g")
        db.execute("""SELECT gamification.badge_register('{"code": "star", "name": "Star", "points": 10,
            "condition": "NEW.hit_views >= 1000", "trigger_condition": "update", "trigger_table": "sketch",
            "user_field": "user_id", "backfill": true}')""")
        assert db.execute("SELECT count(*) FROM gamification.award WHERE badge_code = 'star'").fetchone() == (50,)
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == [], "a backfill woke listeners"
        db.execute("UPDATE sketch SET hit_views = 10")
        db.execute("INSERT INTO sketch (user_id, hit_views) VALUES (77, 10)")
        db.execute("UPDATE sketch SET hit_views = 5000 WHERE user_id = 77")
        assert len(list(listener.notifies(timeout=2, stop_after=1))) == 1, "a live award woke nobody"


def test_the_events_cli_prints_json_lines_resumes_and_stops_on_ctrl_c(db, dsn):
    import json
    import signal
    import subprocess
    import sys

    db.execute("SELECT gamification.badge_award('cli', 'hello')")
    db.execute("SELECT gamification.points_award('cli', 2, 'gift')")
    command = [sys.executable, "-m", "gamification", "events", "--dsn", dsn, "--consumer", "app"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    events = [json.loads(line) for line in first.stdout.splitlines()]
    assert [(e["kind"], e["subject"], e["points"]) for e in events] == [
        ("badge_awarded", "hello", 3), ("points_changed", None, 2)]
    assert isinstance(events[0]["id"], int) and "T" in events[0]["at"]
    assert [(e["point_type"], e["origin"]) for e in events] == [("points", "live")] * 2
    # A second run resumes after what the first printed: nothing new.
    assert subprocess.run(command, capture_output=True, text=True, timeout=60).stdout == ""
    # --follow prints what a later commit makes, then stops cleanly on Ctrl-C.
    follow = subprocess.Popen([*command, "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        db.execute("SELECT gamification.points_award('cli', 5, 'later')")
        line = follow.stdout.readline()
        assert json.loads(line)["points"] == 5
    finally:
        follow.send_signal(signal.SIGINT)
        assert follow.wait(timeout=20) == 0, follow.stderr.read()
    unknown = subprocess.run([*command[:-1], "nobody"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and 'consumer "nobody" does not exist' in unknown.stderr


def test_a_live_only_consumer_skips_backfills_and_imports_and_moves_past_them(db, dsn):
    """The notification avalanche: a backfill (and a bulk import) would push thousands of
    "you earned it" messages; a live_only consumer gets only what happens as it happens."""
    db.execute("SELECT gamification.consumer_register('push', from_start => true, live_only => true)")
    db.execute("CREATE TABLE sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0)")
    db.execute("INSERT INTO sketch (user_id, hit_views) SELECT g, 2000 FROM generate_series(1, 200) g")
    db.execute("""SELECT gamification.badge_register('{"code": "star", "name": "Star", "points": 10,
        "condition": "NEW.hit_views >= 1000", "trigger_condition": "update", "trigger_table": "sketch",
        "user_field": "user_id", "backfill": true}')""")
    with psycopg.connect(dsn) as etl:
        etl.execute("SET LOCAL gamification.event_origin = 'import'")
        etl.execute("SELECT gamification.points_award(u::text, 1, 'import') FROM generate_series(1, 50) u")
        etl.commit()
    with psycopg.connect(dsn, autocommit=True) as worker:
        assert fetch_and_ack(worker, "push") == [], "a live_only consumer got backfill or import events"
        # The skipped events are behind its cursor now: the next fetch does not read them again.
        (after,) = db.execute("SELECT after_id FROM gamification.consumer WHERE name = 'push'").fetchone()
        assert after == db.execute("SELECT max(id) FROM gamification.event").fetchone()[0]
        db.execute("UPDATE sketch SET hit_views = 5000 WHERE user_id = 1")  # held already: nothing
        db.execute("INSERT INTO sketch (user_id, hit_views) VALUES (999, 10)")
        db.execute("UPDATE sketch SET hit_views = 5000 WHERE user_id = 999")
        live = fetch_and_ack(worker, "push")
        kinds = db.execute("SELECT user_id, kind, origin FROM gamification.event WHERE id = ANY(%s) ORDER BY id",
                           (live,)).fetchall()
        assert kinds == [("999", "badge_awarded", "live")]
        # Every other consumer still gets everything, each event marked.
        everything = fetch_and_ack(worker, "app", batch=1000)
        origins = db.execute("SELECT origin, count(*) FROM gamification.event WHERE id = ANY(%s) GROUP BY 1 ORDER BY 1",
                             (everything,)).fetchall()
        assert origins == [("backfill", 200), ("import", 50), ("live", 1)]


def total_and_log(db, user: str) -> tuple[int, int]:
    """A user's total (user_points) and what the log accounts for (pruned + sum of events)."""
    return db.execute(
        "SELECT coalesce((SELECT points FROM gamification.points_total WHERE user_id = %(u)s), 0),"
        "       coalesce((SELECT pruned FROM gamification.points_total WHERE user_id = %(u)s), 0)"
        "       + coalesce((SELECT sum(points) FROM gamification.event WHERE user_id = %(u)s), 0)",
        {"u": user}).fetchone()


def test_pruning_waits_for_every_consumer_and_keeps_totals_and_revokes_right(db, dsn):
    db.execute("SELECT gamification.points_award('a', 5, 'one'), gamification.points_award('a', 7, 'two')")
    db.execute("SELECT gamification.badge_award('a', 'hello')")
    db.execute("SELECT gamification.badge_revoke('a', 'hello')")
    db.execute("SELECT gamification.badge_award('a', 'hello')")  # the event a later revoke reads
    db.execute("SELECT gamification.points_award('b', 2, 'one')")
    db.execute("SELECT gamification.consumer_register('slow', from_start => true)")
    with psycopg.connect(dsn, autocommit=True) as worker:
        assert len(fetch_and_ack(worker, "app")) == 6  # "slow" acknowledges nothing
    assert db.execute("SELECT gamification.events_prune('0 seconds')").fetchone() == (0,), \
        "pruned events a consumer had not acknowledged"
    assert db.execute("SELECT gamification.consumer_unregister('slow')").fetchone() == (True,)
    assert db.execute("SELECT gamification.events_prune('1 hour')").fetchone() == (0,), "pruned events too young"
    assert db.execute("SELECT gamification.events_prune('0 seconds')").fetchone() == (5,)
    left = db.execute("SELECT user_id, kind, points FROM gamification.event ORDER BY id").fetchall()
    assert left == [("a", "badge_awarded", 3)], "kept more, or less, than a revoke needs"
    assert total_and_log(db, "a") == (15, 15) and total_and_log(db, "b") == (2, 2)
    assert db.execute("SELECT points FROM gamification.user_points WHERE user_id = 'a'").fetchone() == (15,)
    assert db.execute("SELECT gamification.totals_rebuild()").fetchone() == (0,), "a rebuild disagreed with the prune"
    db.execute("SELECT gamification.badge_revoke('a', 'hello')")
    assert total_and_log(db, "a") == (12, 12), "a revoke after pruning took back the wrong points"
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="older_than"):
        db.execute("SELECT gamification.events_prune('-1 day')")


def test_a_log_restored_from_another_cluster_is_rebased_and_nothing_is_skipped(db, dsn):
    """A dump keeps the events' and cursors' transaction ids; a new cluster hands out its own,
    maybe lower. Here the restore is simulated by moving every id a million ahead."""
    db.execute("SELECT gamification.points_award(u::text, 1, 'before') FROM generate_series(1, 4) u")
    with psycopg.connect(dsn, autocommit=True) as worker:
        with worker.transaction():
            rows = worker.execute("SELECT id, txid FROM gamification.events_fetch('app', 2)").fetchall()
            worker.execute("SELECT gamification.events_ack('app', %s, %s)", (rows[-1][1], rows[-1][0]))
        with db.transaction():
            db.execute("SET LOCAL gamification.rebasing = on")
            db.execute("UPDATE gamification.event SET txid = (txid::text::bigint + 1000000)::text::xid8")
            db.execute("UPDATE gamification.consumer SET after_txid = (after_txid::text::bigint + 1000000)::text::xid8"
                       " WHERE after_txid <> '0'")
        db.execute("SELECT gamification.points_award('new', 1, 'after the restore')")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="events_rebase"):
            fetch_and_ack(worker)
        assert db.execute("SELECT gamification.events_rebase()").fetchone()[0] == 5
        delivered = fetch_and_ack(worker)
        users = [db.execute("SELECT user_id FROM gamification.event WHERE id = %s", (i,)).fetchone()[0]
                 for i in delivered]
        assert users == ["3", "4", "new"]
        db.execute("SELECT gamification.points_award('later', 1, 'x')")
        assert len(fetch_and_ack(worker)) == 1


def test_pruning_and_importing_beside_writers_neither_fail_nor_deadlock_and_totals_stay_exact(db, dsn):
    """events_prune() and history_import() lock many users (in the one key order of every
    writer) while writers award points to the same hot users: no error, no deadlock, and
    every total equals what was awarded and imported (points_total.pruned + the log)."""
    import json

    users = [f"h{i}" for i in range(8)]
    stop = time.monotonic() + 3.0
    errors: list[str] = []
    awarded: dict[str, int] = {u: 0 for u in users}
    lock = threading.Lock()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < stop:
                user = rng.choice(users)
                try:
                    conn.execute("SELECT gamification.points_award(%s, 1, 'w')", (user,))
                    with lock:
                        awarded[user] += 1
                except psycopg.Error as exc:  # pragma: no cover - reported below
                    errors.append(str(exc))

    def admin() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT gamification.consumer_unregister('app')")  # nothing holds pruning back
            while time.monotonic() < stop:
                try:
                    conn.execute("SELECT gamification.events_prune('0 seconds')")
                    conn.execute("SELECT gamification.history_import(%s)",
                                 (json.dumps({"points": [{"user_id": u, "amount": 2} for u in reversed(users)]}),))
                    with lock:
                        for u in users:
                            awarded[u] += 2
                except psycopg.Error as exc:  # pragma: no cover - reported below
                    errors.append(str(exc))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)] + [threading.Thread(target=admin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    for user in users:
        assert total_and_log(db, user) == (awarded[user], awarded[user]), user
    assert db.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone() == (0,)
