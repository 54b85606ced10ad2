"""In-process delivery: the signals for the events of this process's transactions, sent
once each has committed (``transaction.on_commit``), read from the event log by the
transaction's id (``gamification.event.txid``, indexed).

An execute wrapper on the gamification database's connection notes the transaction id
after the first statement that may write (then registers one on_commit callback per
transaction and savepoint level); a write in autocommit mode is run inside its own ``atomic`` block so that it
has an id to read by. Nothing at all happens while no receiver is connected to any of the
signals. A rollback discards the callback: nothing is sent.
"""

from __future__ import annotations

import re

from django.db import connections, transaction
from django.db.backends.signals import connection_created

from . import conf, signals

# Statements that may append events: DML, and raw calls of the extension's functions.
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|COPY|WITH)\b", re.IGNORECASE)
_CALLS_EXTENSION = re.compile(r"\bgamification\.\w+\s*\(", re.IGNORECASE)


def _may_write(sql) -> bool:
    sql = sql if isinstance(sql, str) else str(sql)
    return bool(_WRITE.match(sql) or _CALLS_EXTENSION.search(sql))


class AfterCommit:
    """The on_commit callback of one transaction: sends the signals for its events."""

    def __init__(self, using: str, txid: str):
        self.using, self.txid = using, txid

    def __call__(self) -> None:
        dispatch_transaction(self.using, self.txid)


def dispatch_transaction(using: str, txid: str) -> None:
    connection = connections[using]
    connection.ensure_connection()
    # Several callbacks of one transaction (registered at different savepoint levels) send
    # each event once: the events after the last one sent for this transaction id.
    last_txid, last_id = getattr(connection, "_gamification_sent", (None, 0))
    after = last_id if last_txid == txid else 0
    # A raw cursor: this read must not pass through the wrapper below.
    with connection.connection.cursor() as cursor:
        cursor.execute(f"SELECT {signals.Event.COLUMNS} FROM gamification.event "
                       "WHERE txid = %s::xid8 AND id > %s ORDER BY id", [txid, after])
        events = [signals.Event.from_row(row) for row in cursor.fetchall()]
    if events:
        connection._gamification_sent = (txid, events[-1].id)
    signals.send(events, "commit", using)


def _registered(connection) -> bool:
    """A callback is registered at this savepoint level (one per level: a savepoint rolled
    back discards its own, and TestCase's captureOnCommitCallbacks sees only the test's)."""
    level = set(connection.savepoint_ids)
    return any(isinstance(callback, AfterCommit) and sids == level
               for sids, callback, *_ in connection.run_on_commit)


def _note_transaction(connection) -> None:
    if _registered(connection):
        return
    with connection.connection.cursor() as cursor:
        # (and whether the extension is there yet: migrations run before it is created)
        cursor.execute("SELECT pg_current_xact_id_if_assigned()::text, "
                       "to_regclass('gamification.event') IS NOT NULL")
        txid, installed = cursor.fetchone()
    if txid is not None and installed:
        transaction.on_commit(AfterCommit(connection.alias, txid), using=connection.alias)


def wrapper(execute, sql, params, many, context):
    connection = context["connection"]
    if not signals.listened() or not conf.signals_on_commit() or not _may_write(sql):
        return execute(sql, params, many, context)
    if connection.get_autocommit():
        with transaction.atomic(using=connection.alias):
            result = execute(sql, params, many, context)
            _note_transaction(connection)
        return result
    result = execute(sql, params, many, context)
    if connection.in_atomic_block:
        _note_transaction(connection)
    return result


def _on_connection(sender, connection, **kwargs) -> None:
    if connection.alias == conf.database() and connection.vendor == "postgresql" \
            and wrapper not in connection.execute_wrappers:
        # First (outermost): a `with connection.execute_wrapper(...)` around the first query
        # pops the last wrapper on exit, which must stay its own.
        connection.execute_wrappers.insert(0, wrapper)


def install() -> None:
    connection_created.connect(_on_connection, dispatch_uid="gamification.django.dispatch")
    # A connection opened before the app was ready (rare) gets the wrapper too.
    connection = connections[conf.database()]
    if connection.connection is not None:
        _on_connection(None, connection)
