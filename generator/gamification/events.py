"""``gamification events --dsn DSN --consumer NAME [--follow]``: tail the event log.

Prints one JSON object per event, in the consumer's order (core/consumers.sql), each batch
acknowledged after it is printed, so a new run resumes after the last event it printed.
With ``--follow`` it waits for more (woken by ``LISTEN gamification_events``, polling every
few seconds too) until Ctrl-C, which stops it cleanly between batches.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

import psycopg

from .project import ProjectError

FETCH_SQL = ("SELECT id, txid::text, at, user_id, kind, subject, points, reason, data, origin, point_type "
             "FROM gamification.events_fetch(%s, %s)")
POLL_SECONDS = 5.0
# After a wake-up, wait this long before fetching: the commits of the next moment arrive in
# the same batch, so a busy log costs one fetch-and-acknowledge per gathering, not one per
# commit (make bench, scenario 8).
GATHER_SECONDS = 0.1


def as_json(row: tuple) -> str:
    """An event as applications want it: numbers as numbers, times as ISO strings."""
    id_, txid, at, user_id, kind, subject, points, reason, data, origin, point_type = row
    return json.dumps({"id": id_, "txid": txid, "at": at.isoformat(), "user_id": user_id, "kind": kind,
                       "subject": subject, "points": points, "point_type": point_type, "reason": reason,
                       "data": data, "origin": origin})


def print_batch(conn: psycopg.Connection, consumer: str, batch: int, out: TextIO) -> int:
    """Fetch, print and acknowledge one batch in one transaction; how many were printed."""
    with conn.transaction():
        rows = conn.execute(FETCH_SQL, (consumer, batch)).fetchall()
        for row in rows:
            print(as_json(row), file=out)
        out.flush()
        if rows:
            conn.execute("SELECT gamification.events_ack(%s, %s::xid8, %s)", (consumer, rows[-1][1], rows[-1][0]))
    return len(rows)


def tail(dsn: str, consumer: str, follow: bool, batch: int = 100, out: TextIO = sys.stdout) -> None:
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            if follow:
                conn.execute("LISTEN gamification_events")
            while True:
                while print_batch(conn, consumer, batch, out):
                    pass
                if not follow:
                    return
                if any(True for _ in conn.notifies(timeout=POLL_SECONDS, stop_after=1)):
                    time.sleep(GATHER_SECONDS)
    except KeyboardInterrupt:
        return
    except psycopg.Error as exc:
        raise ProjectError(f"{exc.diag.message_primary or exc}"
                           + (f" ({exc.diag.message_hint})" if exc.diag.message_hint else "")) from exc
