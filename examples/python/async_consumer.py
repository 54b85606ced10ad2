"""A consumer of the gamification event log with psycopg 3's asyncio connection.

    DATABASE_URL=postgresql://ops@localhost/app python async_consumer.py [CONSUMER] [MAX_EVENTS] [SECONDS]

The same program as examples/node/consumer.js: connects with DATABASE_URL (or libpq's PG*
variables), registers the consumer (default "python"; from now on; an existing one keeps
its cursor), LISTENs on gamification_events and prints each event as a JSON line, every
batch fetched, printed and acknowledged in one transaction (at least once: a crash before
the commit reads it again). Writes "listening" on stderr once ready. Stops after MAX_EVENTS
events (exit 0) or SECONDS seconds (exit 3); without them it runs until Ctrl-C.

In an asyncio application, import ``consume`` and pass your own ``handle``: it gets each
event as a dict with Python types (``points`` an int, ``at`` an aware datetime, ``data`` a
dict or None, ``txid`` a string) inside the transaction that acknowledges it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row

FETCH = ("SELECT id, txid, at, user_id, kind, subject, points, reason, data "
         "FROM gamification.events_fetch(%s, %s)")


async def consume(conn: psycopg.AsyncConnection, consumer: str,
                  handle: Callable[[dict[str, Any]], Awaitable[None]],
                  max_events: float = float("inf"), batch: int = 100) -> None:
    """Hand each event of ``consumer`` to ``handle``; return after ``max_events`` of them.

    ``conn`` must be in autocommit mode: each batch is its own transaction.
    """
    await conn.execute("LISTEN gamification_events")
    handled = 0
    while handled < max_events:
        async with conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            rows = await (await cur.execute(FETCH, (consumer, int(min(batch, max_events - handled))))).fetchall()
            for event in rows:
                await handle(event)
            if rows:
                await conn.execute("SELECT gamification.events_ack(%s, %s, %s)",
                                   (consumer, rows[-1]["txid"], rows[-1]["id"]))
        handled += len(rows)
        if not rows:  # sleep until a commit notifies (or 5 s); notifies that came meanwhile count
            async for _ in conn.notifies(timeout=5, stop_after=1):
                pass


async def print_event(event: dict[str, Any]) -> None:
    print(json.dumps({**event, "at": event["at"].isoformat()}), flush=True)


async def main(consumer: str = "python", max_events: str = "inf", seconds: str | None = None) -> int:
    async with await psycopg.AsyncConnection.connect(os.environ.get("DATABASE_URL", ""), autocommit=True) as conn:
        await conn.execute("SELECT gamification.consumer_register(%s)", (consumer,))
        await conn.execute("LISTEN gamification_events")
        print("listening", file=sys.stderr, flush=True)
        try:
            await asyncio.wait_for(consume(conn, consumer, print_event, float(max_events)),
                                   float(seconds) if seconds else None)
        except TimeoutError:
            print(f"stopped after {seconds} s", file=sys.stderr)
            return 3
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(*sys.argv[1:])))
    except KeyboardInterrupt:
        sys.exit(130)
    except psycopg.Error as exc:
        sys.exit(f"async_consumer.py: {exc}")
