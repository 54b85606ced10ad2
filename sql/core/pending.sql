-- Awards and counter steps found inside an application's write are not applied there:
-- each statement appends one row of them to gamification.pending, and they are applied
-- when the transaction commits, by the deferred constraint trigger of those rows (its
-- first firing takes every row of the transaction; the others find none), with every user concerned locked in one global
-- order (_lock_users). So two transactions that would not conflict without the
-- extension never wait for each other inside their statements, and never deadlock at
-- commit. What cannot be applied at commit (the writer's lock_timeout) stays queued,
-- committed, and is applied by the next commit or by pending_apply().
{#- Created once: by the install script, and by the upgrade that introduced it. #}

-- Unlogged: a transaction's staged rows are deleted by its own commit, so they never need
-- WAL; what outlives a transaction moves to the logged pending_queue.
CREATE UNLOGGED TABLE gamification.pending (
    txid  xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    users text[] NOT NULL,
    codes text[] NOT NULL,
    steps bigint[] NOT NULL,  -- steps[i] NULL: a condition met (an award); n: a counter step of n
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_txid_idx ON gamification.pending (txid);
COMMENT ON TABLE gamification.pending IS
    'What one statement of a write found, one row per statement: badge codes[i] for users[i], awarded (steps[i] NULL) or advanced by steps[i]; applied at the writing transaction''s commit and deleted then. Only the transaction that staged them sees them. Unlogged.';

CREATE CONSTRAINT TRIGGER pending_apply_at_commit
    AFTER INSERT ON gamification.pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION gamification._apply_at_commit();
-- Also where ordinary triggers do not fire (replicas, logical replication's apply): the
-- fire_on_replica badges stage there too.
ALTER TABLE gamification.pending ENABLE ALWAYS TRIGGER pending_apply_at_commit;

CREATE TABLE gamification.pending_queue (
    id         bigserial PRIMARY KEY,
    user_id    text NOT NULL,
    badge_code text NOT NULL,
    steps      bigint,
    at         timestamptz NOT NULL
);
COMMENT ON TABLE gamification.pending_queue IS
    'Staged awards and steps that their transaction could not apply at commit (a lock its lock_timeout did not allow): committed with the write, applied exactly once by the next commit or gamification.pending_apply(); counted in badge_status.pending.';

-- The users' locks (_lock_users): a row per user key hash, locked FOR NO KEY UPDATE by
-- every writer of that user's state. Unlogged: locking writes no WAL, and the rows come
-- back on first use after a crash. Not dumped; no user key in it.
CREATE UNLOGGED TABLE gamification.user_lock (
    key bigint PRIMARY KEY
);
COMMENT ON TABLE gamification.user_lock IS
    'One row per user ever written (key: hashtextextended(user_id, 0)), locked by every writer of that user''s state before it writes, in key order (_lock_users). Only the runner and the extension''s owner can lock them. Unlogged.';

-- Queued steps are data: pg_dump keeps them, like the awards they will become.
SELECT pg_catalog.pg_extension_config_dump('gamification.pending_queue', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.pending_queue_id_seq', '');

CREATE FUNCTION gamification.pending_apply()
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER  -- operators apply the queue; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN gamification._apply_pending(pg_catalog.pg_current_xact_id()) + gamification._apply_queue(NULL);
END;
$$;
COMMENT ON FUNCTION gamification.pending_apply() IS
    'Apply now the awards and counter steps that are queued (left by transactions that could not apply them at commit, see badge_status.pending) and those staged by the calling transaction. Returns how many were applied. Safe to run concurrently (each queued row is applied once).';
