{#- Created once: by the install script, and by the upgrade that introduced it (0.3.0). #}
-- Consumers of the event log: an application (or each of its workers) reads the events
-- after its cursor, in a batch, and acknowledges them; a crash before the acknowledgement
-- commits reads them again (at least once; the event id makes handling idempotent).
--
-- Commit order. Event ids are taken when a row is written, not when its transaction
-- commits: a reader asking for "ids above my cursor" would skip the events of a
-- transaction that took lower ids and committed later. So events are read in the order
-- of their transaction's id (event.txid, then id), and only those of transactions older
-- than the reader's snapshot's xmin: every transaction below that horizon has ended, so
-- nothing can later appear below the cursor (PgQ's idea, with pg_current_xact_id()). A
-- transaction that stays open holds delivery back until it ends; events of a transaction
-- that rolled back are never seen.

CREATE TABLE gamification.consumer (
    name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,63}$'),
    after_txid  xid8 NOT NULL,
    after_id    bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    acked_at    timestamptz
);
COMMENT ON TABLE gamification.consumer IS
    'Named consumers of the event log and their durable cursors: every event whose (txid, id) is at or below (after_txid, after_id) has been acknowledged.';
SELECT pg_catalog.pg_extension_config_dump('gamification.consumer', '');

CREATE FUNCTION gamification.consumer_register(name text, from_start boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER  -- operators register consumers; they hold no rights on the table
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF $1 IS NULL OR $1 !~ '^[A-Za-z0-9_.:-]{1,63}$' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('gamification.consumer_register(): consumer name must be 1 to 63 characters from A-Z a-z 0-9 _ . : -, got %s', coalesce(pg_catalog.quote_literal($1), 'null')),
            HINT = 'Name it after the application or worker that reads, e.g. ''mobile_push''.';
    END IF;
    -- From now: the events of transactions that end from here on; from the start: all.
    INSERT INTO gamification.consumer (name, after_txid, after_id)
    VALUES ($1, CASE WHEN $2 THEN '0'::xid8 ELSE pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) END,
            CASE WHEN $2 THEN 0 ELSE -1 END)
    ON CONFLICT (name) DO NOTHING;
END;
$$;
COMMENT ON FUNCTION gamification.consumer_register(text, boolean) IS
    'Create a named consumer of the event log (idempotent: an existing one keeps its cursor). It reads the events of transactions that end after this call, or every event with from_start => true. Operators and admins.';

CREATE FUNCTION gamification.events_fetch(consumer text, max_events integer DEFAULT 100)
RETURNS TABLE (id bigint, txid xid8, at timestamptz, user_id text, kind text, subject text, points bigint,
               reason text, data jsonb)
LANGUAGE plpgsql
SECURITY DEFINER  -- operators consume; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_consumer gamification.consumer;
BEGIN
    -- The consumer's row is locked to the end of the caller's transaction: fetch, handle
    -- and acknowledge in one transaction; another worker of the same consumer meanwhile
    -- gets no rows (SKIP LOCKED) instead of the same batch.
    SELECT * INTO v_consumer FROM gamification.consumer c WHERE c.name = $1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM gamification.consumer c WHERE c.name = $1) THEN
            RAISE EXCEPTION USING ERRCODE = '42704',
                MESSAGE = pg_catalog.format('consumer "%s" does not exist', $1),
                HINT = pg_catalog.format('Create it once with SELECT gamification.consumer_register(%L).', $1);
        END IF;
        RETURN;  -- another worker holds this consumer's batch
    END IF;
    RETURN QUERY
    SELECT e.id, e.txid, e.at, e.user_id, e.kind, e.subject, e.points, e.reason, e.data
      FROM gamification.event e
     WHERE (e.txid, e.id) > (v_consumer.after_txid, v_consumer.after_id)
       AND e.txid < pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())
     ORDER BY e.txid, e.id
     LIMIT greatest(coalesce($2, 100), 1);
END;
$$;
COMMENT ON FUNCTION gamification.events_fetch(text, integer) IS
    'The next events (at most max_events) for a consumer, in commit-safe order (by txid, then id): only events of transactions that have ended, none skipped, none of a rolled-back transaction. Locks the consumer to the end of the transaction; another worker of the same consumer gets no rows meanwhile. Acknowledge with events_ack() in the same transaction. 42704 for an unknown consumer.';

CREATE FUNCTION gamification.events_ack(consumer text, txid xid8, id bigint)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER  -- operators consume; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- Only forward: acknowledging an older position again changes nothing.
    UPDATE gamification.consumer c
       SET after_txid = $2, after_id = $3, acked_at = pg_catalog.now()
     WHERE c.name = $1 AND ($2, $3) > (c.after_txid, c.after_id);
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM gamification.consumer c WHERE c.name = $1) THEN
        RAISE EXCEPTION USING ERRCODE = '42704',
            MESSAGE = pg_catalog.format('consumer "%s" does not exist', $1),
            HINT = pg_catalog.format('Create it once with SELECT gamification.consumer_register(%L).', $1);
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification.events_ack(text, xid8, bigint) IS
    'Acknowledge every event of a consumer up to and including the one at (txid, id), the last event of the batch handled: the cursor moves there (never back). 42704 for an unknown consumer.';

-- Wake-ups: a NOTIFY on channel gamification_events, with an empty payload, from every
-- transaction that appends events (PostgreSQL folds a transaction's identical
-- notifications into one, sent at commit and never after a rollback). Listeners then
-- call events_fetch(); polling works without it. NOTIFY serialises committing
-- transactions that notify (docs/benchmarks.md), so it can be turned off per database or
-- role: ALTER DATABASE app SET gamification.notify = off.
CREATE FUNCTION gamification._events_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.current_setting('gamification.notify', true) IS DISTINCT FROM 'off' THEN
        PERFORM pg_catalog.pg_notify('gamification_events', '');
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION gamification._events_notify() IS
    'Internal trigger (AFTER INSERT ... FOR EACH STATEMENT on event): NOTIFY gamification_events, empty payload, unless gamification.notify is off.';

CREATE TRIGGER event_notify
    AFTER INSERT ON gamification.event
    FOR EACH STATEMENT EXECUTE FUNCTION gamification._events_notify();
