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
    live_only   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    acked_at    timestamptz
);
COMMENT ON TABLE gamification.consumer IS
    'Named consumers of the event log and their durable cursors: every event whose (txid, id) is at or below (after_txid, after_id) has been acknowledged.';
SELECT pg_catalog.pg_extension_config_dump('gamification.consumer', '');

CREATE FUNCTION gamification.consumer_register(name text, from_start boolean DEFAULT false, live_only boolean DEFAULT false)
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
    -- Registering again keeps the cursor and takes the new live_only.
    INSERT INTO gamification.consumer AS c (name, after_txid, after_id, live_only)
    VALUES ($1, CASE WHEN $2 THEN '0'::xid8 ELSE pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) END,
            CASE WHEN $2 THEN 0 ELSE -1 END, coalesce($3, false))
    ON CONFLICT (name) DO UPDATE SET live_only = EXCLUDED.live_only WHERE c.live_only <> EXCLUDED.live_only;
END;
$$;
COMMENT ON FUNCTION gamification.consumer_register(text, boolean, boolean) IS
    'Create a named consumer of the event log (idempotent: an existing one keeps its cursor). It reads the events of transactions that end after this call, or every event with from_start => true; with live_only => true it skips events whose origin is backfill or import (no notification avalanche). Operators and admins.';

CREATE FUNCTION gamification._consumer_must_exist(p_name text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM gamification.consumer c WHERE c.name = p_name) THEN
        RAISE EXCEPTION USING ERRCODE = '42704',
            MESSAGE = pg_catalog.format('consumer "%s" does not exist', p_name),
            HINT = pg_catalog.format('Create it once with SELECT gamification.consumer_register(%L).', p_name);
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._consumer_must_exist(text) IS
    'Internal: 42704 unless a consumer of that name is registered.';

CREATE FUNCTION gamification._events_restored_elsewhere()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Every row a snapshot sees was written by a transaction below its xmax, or by the
    -- caller's own; an event at or above it otherwise carries another cluster's
    -- transaction id (a dump restored here).
    SELECT EXISTS (SELECT 1 FROM gamification.event e
                    WHERE e.txid >= pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())
                      AND e.txid IS DISTINCT FROM pg_catalog.pg_current_xact_id_if_assigned())
$$;
COMMENT ON FUNCTION gamification._events_restored_elsewhere() IS
    'Internal: true when the event log holds transaction ids this cluster has not reached (a dump of another cluster restored here): events_rebase() must run before consumers read.';

CREATE FUNCTION gamification.events_fetch(consumer text, max_events integer DEFAULT 100)
RETURNS TABLE (id bigint, txid xid8, at timestamptz, user_id text, kind text, subject text, points bigint,
               reason text, data jsonb, origin text, point_type text)
LANGUAGE plpgsql
SECURITY DEFINER  -- operators consume; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_consumer gamification.consumer;
    -- Every transaction below this horizon has ended: its events can no longer appear.
    v_horizon xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
    v_delivered bigint;
BEGIN
    -- The consumer's row is locked to the end of the caller's transaction: fetch, handle
    -- and acknowledge in one transaction; another worker of the same consumer meanwhile
    -- gets no rows (SKIP LOCKED) instead of the same batch.
    SELECT * INTO v_consumer FROM gamification.consumer c WHERE c.name = $1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        PERFORM gamification._consumer_must_exist($1);
        RETURN;  -- another worker holds this consumer's batch
    END IF;
    IF gamification._events_restored_elsewhere() THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'the event log holds transaction ids of another cluster (it was restored from a dump)',
            HINT = 'An admin runs SELECT gamification.events_rebase(); once, then consumers resume where they were (README, "Backups, restores").';
    END IF;
    RETURN QUERY
    SELECT e.id, e.txid, e.at, e.user_id, e.kind, e.subject, e.points, e.reason, e.data, e.origin, e.point_type
      FROM gamification.event e
     WHERE (e.txid, e.id) > (v_consumer.after_txid, v_consumer.after_id)
       AND e.txid < v_horizon
       AND (NOT v_consumer.live_only OR e.origin = 'live')
     ORDER BY e.txid, e.id
     LIMIT greatest(coalesce($2, 100), 1);
    GET DIAGNOSTICS v_delivered = ROW_COUNT;
    -- Nothing live left below the horizon: a live_only consumer moves past the backfill
    -- and import events it skipped, so that the next fetch does not read them again.
    IF v_delivered = 0 AND v_consumer.live_only THEN
        UPDATE gamification.consumer c SET after_txid = l.txid, after_id = l.id
          FROM (SELECT e.txid, e.id FROM gamification.event e
                 WHERE (e.txid, e.id) > (v_consumer.after_txid, v_consumer.after_id) AND e.txid < v_horizon
                 ORDER BY e.txid DESC, e.id DESC LIMIT 1) l
         WHERE c.name = $1;
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification.events_fetch(text, integer) IS
    'The next events (at most max_events) for a consumer, in commit-safe order (by txid, then id): only events of transactions that have ended, none skipped, none of a rolled-back transaction; for a live_only consumer only origin live. Locks the consumer to the end of the transaction; another worker of the same consumer gets no rows meanwhile. Acknowledge with events_ack() in the same transaction. 42704 for an unknown consumer; 55000 when the log was restored from another cluster and events_rebase() has not run.';

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
    IF NOT FOUND THEN
        PERFORM gamification._consumer_must_exist($1);
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification.events_ack(text, xid8, bigint) IS
    'Acknowledge every event of a consumer up to and including the one at (txid, id), the last event of the batch handled: the cursor moves there (never back). 42704 for an unknown consumer.';

CREATE FUNCTION gamification.consumer_unregister(name text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- operators manage consumers; they hold no rights on the table
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- A consumer that no longer reads holds back events_prune(): drop it.
    DELETE FROM gamification.consumer c WHERE c.name = $1;
    RETURN FOUND;
END;
$$;
COMMENT ON FUNCTION gamification.consumer_unregister(text) IS
    'Remove a named consumer and its cursor (true if it existed). Every consumer holds back events_prune() until it has acknowledged, so remove the ones that no longer read. Operators and admins.';

CREATE FUNCTION gamification.events_since(after_txid xid8 DEFAULT '0', after_id bigint DEFAULT 0,
                                          max_events integer DEFAULT 100)
RETURNS TABLE (id bigint, txid xid8, at timestamptz, user_id text, kind text, subject text, points bigint,
               reason text, data jsonb, origin text, point_type text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- events_fetch() without a stored cursor, with the caller's own rights: row security
    -- shows a reader only their own events. The caller keeps (txid, id) of the last one.
    SELECT e.id, e.txid, e.at, e.user_id, e.kind, e.subject, e.points, e.reason, e.data, e.origin, e.point_type
      FROM gamification.event e
     WHERE (e.txid, e.id) > ($1, $2)
       AND e.txid < pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())
     ORDER BY e.txid, e.id
     LIMIT greatest(coalesce($3, 100), 1)
$$;
COMMENT ON FUNCTION gamification.events_since(xid8, bigint, integer) IS
    'The events after position (after_txid, after_id) in commit-safe order, like events_fetch() but with no stored cursor and with the caller''s rights: when row security is on, a reader gets only their own events. Pass the txid and id of the last event received to get the next ones. Readers and up.';

CREATE FUNCTION gamification.events_prune(older_than interval, max_events bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER  -- admins prune; nobody holds DELETE on the log
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_horizon xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
    v_slowest gamification.consumer;
    v_ids bigint[];
    v_users text[];
    v_deleted bigint;
BEGIN
    IF older_than IS NULL OR older_than < '0'::interval THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('gamification.events_prune(): older_than must be an interval of 0 or more, got %s', coalesce(older_than::text, 'null')),
            HINT = 'Say how old an event must be to go, e.g. SELECT gamification.events_prune(''180 days'');';
    END IF;
    -- Nothing a consumer has not acknowledged goes: the slowest cursor bounds the prune.
    SELECT * INTO v_slowest FROM gamification.consumer c ORDER BY c.after_txid, c.after_id LIMIT 1;
    -- What goes: events old enough, of ended transactions, acknowledged by every consumer,
    -- except what the extension still reads: a user's latest badge event per badge (what a
    -- revoke takes back, whether a badge was revoked).
    SELECT pg_catalog.array_agg(d.id ORDER BY d.id), pg_catalog.array_agg(DISTINCT d.user_id)
      INTO v_ids, v_users
      FROM (SELECT e.id, e.user_id
              FROM gamification.event e
             WHERE e.at <= pg_catalog.now() - older_than
               AND e.txid < v_horizon
               AND (v_slowest.name IS NULL OR (e.txid, e.id) <= (v_slowest.after_txid, v_slowest.after_id))
               AND (e.kind NOT IN ('badge_awarded', 'badge_revoked', 'badge_reset')
                    OR EXISTS (SELECT 1 FROM gamification.event n
                                WHERE n.user_id = e.user_id AND n.subject = e.subject AND n.id > e.id
                                  AND n.kind IN ('badge_awarded', 'badge_revoked', 'badge_reset')))
             ORDER BY e.id
             LIMIT max_events) d;
    IF v_ids IS NULL THEN
        RETURN 0::bigint;
    END IF;
    -- The users' locks first, in the one order of every writer; then each user's pruned
    -- points move into points_total.pruned, so that a total is still pruned + the sum of
    -- the log (totals_rebuild()).
    PERFORM gamification._lock_users(v_users);
    PERFORM pg_catalog.set_config('gamification.erasing', 'on', true);  -- lets _append_only() allow this DELETE
    WITH gone AS (
        DELETE FROM gamification.event e WHERE e.id = ANY (v_ids) RETURNING e.user_id, e.point_type, e.points
    ),
    folded AS (
        INSERT INTO gamification.points_total AS t (user_id, point_type, points, pruned)
        SELECT g.user_id, g.point_type, 0, pg_catalog.sum(g.points)::bigint FROM gone g
         GROUP BY g.user_id, g.point_type HAVING pg_catalog.sum(g.points) <> 0
         ORDER BY g.user_id, g.point_type
        ON CONFLICT (user_id, point_type) DO UPDATE SET pruned = t.pruned + EXCLUDED.pruned
    )
    SELECT pg_catalog.count(*) INTO v_deleted FROM gone;
    PERFORM pg_catalog.set_config('gamification.erasing', '', true);
    RETURN v_deleted;
END;
$$;
COMMENT ON FUNCTION gamification.events_prune(interval, bigint) IS
    'Retention: delete the events older than older_than (at <= now() - older_than) that every consumer has acknowledged, at most max_events of them (NULL: all), and return how many went. A user''s latest badge event per badge stays (revokes read it); user_points and every total are unchanged (the pruned points are kept in points_total.pruned); points_history and award_history then start later. 22023 for a negative or null age. Admins only.';

CREATE FUNCTION gamification.events_rebase()
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER  -- admins; nobody holds UPDATE on the log
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rebased bigint;
BEGIN
    -- After a dump of another cluster is restored here, events and cursors carry that
    -- cluster's transaction ids, which this one hands out again in another order. Every
    -- committed event gets txid 0 (read in id order, before any later event), and each
    -- consumer's cursor moves to just before its first unacknowledged event: events
    -- acknowledged but above it come again (at least once), none is skipped.
    LOCK TABLE gamification.consumer IN EXCLUSIVE MODE;  -- no fetch or ack meanwhile
    UPDATE gamification.consumer c
       SET after_txid = '0',
           after_id = coalesce((SELECT pg_catalog.min(e.id) - 1 FROM gamification.event e
                                 WHERE (e.txid, e.id) > (c.after_txid, c.after_id)),
                               (SELECT pg_catalog.max(e.id) FROM gamification.event e),
                               c.after_id)
     WHERE c.after_txid <> '0';
    PERFORM pg_catalog.set_config('gamification.rebasing', 'on', true);  -- lets _append_only() allow this UPDATE
    UPDATE gamification.event e SET txid = '0' WHERE e.txid <> '0';
    GET DIAGNOSTICS v_rebased = ROW_COUNT;
    PERFORM pg_catalog.set_config('gamification.rebasing', '', true);
    RETURN v_rebased;
END;
$$;
COMMENT ON FUNCTION gamification.events_rebase() IS
    'After restoring a dump into another cluster (whose transaction ids differ): renumber the log for delivery (the events of ended transactions get txid 0, read in id order) and move every consumer to its first unacknowledged event, so that none is skipped (some may come twice). Run once, as an admin, right after the restore; events_fetch() asks for it with 55000 when it finds ids of another cluster. Returns the number of events renumbered.';

-- Wake-ups: a NOTIFY on channel gamification_events, with an empty payload, sent at commit
-- and never after a rollback (PostgreSQL folds a transaction's identical notifications
-- into one). Listeners then call events_fetch(); polling works without it. NOTIFY takes a
-- cluster-wide lock at commit that serialises the commits of notifying transactions
-- (make bench, scenario 8: 0.3-0.5x when every transaction notifies), so by default only
-- what people are told about at once wakes listeners: live events other than
-- points_changed (a badge, an unlockable). gamification.notify, per database, role or
-- transaction: awards (the default), all (every transaction that appends events), off.
CREATE FUNCTION gamification._events_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Which events wake listeners is the trigger's WHEN, evaluated without calling this.
    PERFORM pg_catalog.pg_notify('gamification_events', '');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION gamification._events_notify() IS
    'Internal trigger (event_notify, AFTER INSERT ... FOR EACH ROW on event, for the events its WHEN picks by gamification.notify): NOTIFY gamification_events, empty payload.';

-- One row trigger whose WHEN (evaluated by PostgreSQL, no function call when false) says
-- which events wake listeners: with awards (the default, and any unknown value) live
-- events other than points_changed; with all, every event; with off, none.
CREATE TRIGGER event_notify
    AFTER INSERT ON gamification.event
    FOR EACH ROW
    WHEN (coalesce(pg_catalog.current_setting('gamification.notify', true), '') OPERATOR(pg_catalog.<>) 'off'
          AND ((NEW.kind OPERATOR(pg_catalog.<>) 'points_changed' AND NEW.origin OPERATOR(pg_catalog.=) 'live')
               OR pg_catalog.current_setting('gamification.notify', true) OPERATOR(pg_catalog.=) 'all'))
    EXECUTE FUNCTION gamification._events_notify();
