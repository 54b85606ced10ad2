-- Privileges: who may do what. Three levels, as NOLOGIN group roles that a DBA
-- grants to login roles (they are cluster-wide, so they are created only if missing
-- and survive DROP EXTENSION):
--   gamification_reader    reads the views (never the conditions);
--   gamification_operator  + awards, revokes, progress, points and resets by hand;
--   gamification_admin     + registers, changes and removes definitions, through the API only.
-- Two more roles are never granted to people:
--   gamification_runner    owns and runs the generated trigger functions and condition
--                          predicates inside other roles' writes: it may read what the
--                          conditions read and write what an award writes, nothing else;
--                          it bypasses row security so that no table owner's policy runs.
--   gamification_pooler    grant it to a connection pool's login role: only sessions that
--                          log in as one of its members may choose the user that row
--                          security shows (SET gamification.user_id).
-- Everything else, PUBLIC included, gets nothing. An application role that only writes
-- to tracked tables needs nothing either. Nobody but the extension's owner can create
-- objects in schema gamification or write its tables directly. The README's "Security
-- model" has the threat model these grants implement.

DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['gamification_reader', 'gamification_operator', 'gamification_admin',
                                  'gamification_runner', 'gamification_pooler'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_role) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
    -- Whatever an earlier install or a DBA did to it: the runner logs in nowhere and
    -- holds no power beyond its grants (and BYPASSRLS, see above). Only a superuser may
    -- give BYPASSRLS: an installer that is not one (pg_tle) leaves it to the DBA.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'gamification_runner'
                  AND (r.rolcanlogin OR r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication
                       OR r.rolinherit OR NOT r.rolbypassrls)) THEN
        BEGIN
            ALTER ROLE gamification_runner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT BYPASSRLS;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING USING
                MESSAGE = 'gamification: role gamification_runner could not be given BYPASSRLS (or lose a power it has)',
                HINT = 'As a superuser: ALTER ROLE gamification_runner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT BYPASSRLS. Until then row-security policies on the tables conditions read run as that role.';
        END;
    END IF;
    -- A member of the runner could act as it (read what conditions read, award): the
    -- role is cluster-wide and may predate this install, so say so if anyone is.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                WHERE m.roleid = 'gamification_runner'::regrole AND m.member <> current_user::regrole) THEN
        RAISE WARNING USING
            MESSAGE = pg_catalog.format('gamification: roles are members of gamification_runner: %s',
                (SELECT pg_catalog.string_agg(m.member::regrole::text, ', ') FROM pg_catalog.pg_auth_members m
                  WHERE m.roleid = 'gamification_runner'::regrole)),
            HINT = 'Nobody should be able to act as the role that runs badge conditions: REVOKE gamification_runner FROM them.';
    END IF;
    IF NOT pg_catalog.pg_has_role('gamification_operator', 'gamification_reader', 'MEMBER') THEN
        GRANT gamification_reader TO gamification_operator;
    END IF;
    IF NOT pg_catalog.pg_has_role('gamification_admin', 'gamification_operator', 'MEMBER') THEN
        GRANT gamification_operator TO gamification_admin;
    END IF;
END
$roles$;

-- Start from nothing, for everyone (an upgrade runs this file again): functions are
-- executable by PUBLIC by default, so revoke them all.
-- The extension's own functions only: the predicates and trigger functions generated for
-- registered badges keep the runner's EXECUTE (an upgrade that took it stopped every badge).
DO $revoke$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN
        SELECT d.objid::regprocedure FROM pg_catalog.pg_depend d
         WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
           AND d.refclassid = 'pg_catalog.pg_extension'::regclass
           AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'gamification')
         ORDER BY 1::text
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, gamification_reader, gamification_operator, '
                                  'gamification_admin, gamification_runner', v_function);
        -- Admins may execute every function of the extension (see "Admins" below).
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO gamification_admin', v_function);
    END LOOP;
END
$revoke$;
REVOKE ALL ON ALL TABLES IN SCHEMA gamification
    FROM PUBLIC, gamification_reader, gamification_operator, gamification_admin, gamification_runner;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA gamification
    FROM PUBLIC, gamification_reader, gamification_operator, gamification_admin, gamification_runner;
REVOKE ALL ON SCHEMA gamification
    FROM PUBLIC, gamification_reader, gamification_operator, gamification_admin, gamification_runner;
GRANT USAGE ON SCHEMA gamification TO gamification_reader, gamification_runner;

-- Readers: the views, and the tables under them (the views run with the reader's own
-- rights, security_invoker, so optional row security applies to them). Not the
-- conditions: gamification.badge without its definition column, and not the registry.
GRANT SELECT ON gamification.user_badges, gamification.user_points, gamification.user_progress,
                gamification.user_unlockables, gamification.badges, gamification.points_history,
                gamification.award_history, gamification.points_ledger,
                gamification.point_types, gamification.user_points_by_type, gamification.levels,
                gamification.user_levels, gamification.leaderboards
   TO gamification_reader;
GRANT SELECT ON gamification.category, gamification.award, gamification.event, gamification.progress,
                gamification.points_total, gamification.unlockable, gamification.unlock,
                gamification.point_type, gamification.level, gamification.leaderboard,
                gamification.leaderboard_score
   TO gamification_reader;
GRANT SELECT (code, name, description, points, category, target, secret, next, created_at, updated_at, retired_at,
              point_type)
   ON gamification.badge TO gamification_reader;
ALTER VIEW gamification.user_badges SET (security_invoker = true);
ALTER VIEW gamification.user_points SET (security_invoker = true);
ALTER VIEW gamification.user_progress SET (security_invoker = true);
ALTER VIEW gamification.user_unlockables SET (security_invoker = true);
ALTER VIEW gamification.points_history SET (security_invoker = true);
ALTER VIEW gamification.badges SET (security_invoker = true);
ALTER VIEW gamification.award_history SET (security_invoker = true);
ALTER VIEW gamification.points_ledger SET (security_invoker = true);
ALTER VIEW gamification.point_types SET (security_invoker = true);
ALTER VIEW gamification.user_points_by_type SET (security_invoker = true);
ALTER VIEW gamification.levels SET (security_invoker = true);
ALTER VIEW gamification.user_levels SET (security_invoker = true);
ALTER VIEW gamification.leaderboards SET (security_invoker = true);
-- badges_for() runs with the reader's rights too: row security decides whose awards it shows.
GRANT EXECUTE ON FUNCTION gamification.badges_for(text), gamification.badges_for(anyelement),
                          gamification._require_user(text, text), gamification._raise(text, text, text)
   TO gamification_reader;
-- user_levels reads a level through _level_at(), with the reader's rights.
GRANT EXECUTE ON FUNCTION gamification._level_at(text, bigint) TO gamification_reader;
-- Leaderboards (core/leaderboards.sql): a ranking shows every ranked user's key and score
-- (SECURITY DEFINER, row security or not): that is what a leaderboard is; exclude users
-- who must not appear. Excluding is the operators'; definitions and verify the admins'.
GRANT EXECUTE ON FUNCTION gamification.leaderboard_top(text, integer, integer, timestamptz),
                          gamification.leaderboard_rank(text, text, integer, timestamptz),
                          gamification.leaderboard_rank(text, anyelement, integer, timestamptz),
                          gamification.leaderboard_periods(text)
   TO gamification_reader;
GRANT EXECUTE ON FUNCTION gamification.leaderboard_exclude(text, text, boolean),
                          gamification.leaderboard_exclude(text, anyelement, boolean)
   TO gamification_operator;

-- Operators: awarding by hand. Those functions are SECURITY DEFINER (in their headers,
-- search_path pinned), so operators need no rights on the tables and cannot write them.
GRANT EXECUTE ON FUNCTION
    gamification.badge_award(text, text), gamification.badge_award(anyelement, text),
    gamification.badge_revoke(text, text), gamification.badge_revoke(anyelement, text),
    gamification.badge_progress(text, text, bigint), gamification.badge_progress(anyelement, text, bigint),
    gamification.award_points(text, bigint, text), gamification.award_points(anyelement, bigint, text),
    gamification.award_points(text, bigint, text, text), gamification.award_points(anyelement, bigint, text, text),
    gamification.reset(text), gamification.reset(anyelement),
    gamification.points_award(text, bigint, text), gamification.points_award(anyelement, bigint, text),
    gamification.points_award(text, bigint, text, text), gamification.points_award(anyelement, bigint, text, text),
    gamification.user_reset(text), gamification.user_reset(anyelement),
    gamification.user_erase(text), gamification.user_erase(anyelement)
TO gamification_operator;
-- data_reset() empties every user's data, so it is for admins; operators may call it only
-- to be told so (42501 with a hint from _data_reset, rather than PostgreSQL's bare refusal).
GRANT EXECUTE ON FUNCTION gamification.data_reset(), gamification._data_reset(name) TO gamification_operator;

-- Admins: definitions, through the API only. The public functions are SECURITY INVOKER
-- wrappers that pass the caller's search_path and role to SECURITY DEFINER internals
-- (which check that the session may act as that role: _registrant), so the registry is
-- written only after validation, and generated objects are created by the extension's
-- owner and handed to gamification_runner. Admins read everything, conditions included.
-- Admins may execute every function of the extension (badge_status and the wrappers run
-- the generator's helpers with the admin's rights): the SECURITY INVOKER ones run with
-- the admin's own, read-only rights on these tables, and each SECURITY DEFINER one checks
-- what it is asked (_registrant) or needs nothing (triggers_sync regenerates from the
-- registry). Functions generated later are not included.
GRANT SELECT ON ALL TABLES IN SCHEMA gamification TO gamification_admin;
-- (Granted at the top of this file, function by function: the extension's own only.)
-- badge_status reads only the catalog and the registry (it evaluates no condition), with
-- the viewing admin's own rights.
ALTER VIEW gamification.badge_status SET (security_invoker = true);

-- The runner: what generated code calls (the runtime interface, sql/core/runtime.sql, frozen
-- signatures) and what an award writes.
GRANT EXECUTE ON FUNCTION
    gamification._grant_many(text[], text[], text), gamification._grant(text, text[], text),
    gamification._count_many(text[], text[], bigint[]), gamification._count(text, text[], bigint[]),
    gamification._badge_failed(text, text, text), gamification._crosses(bigint, bigint, bigint),
    gamification._unlocks_reached(text, text, bigint, text[]), gamification._points_apply(text[], bigint[], text[]),
    gamification._level_at(text, bigint), gamification._leaderboard_period(text, text, text, timestamptz),
    gamification._leaderboard_bucket(bigint), gamification._leaderboard_fold(text[], timestamptz[], integer[]),
    gamification._leaderboard_fold_rows(tid[]), gamification._leaderboard_add(text[], text[], bigint[]),
    gamification._leaderboard_badges_add(text[], text[], integer),
    gamification._badge_must_exist(text), gamification._levenshtein(text, text),
    gamification._raise(text, text, text),
    gamification._stage(text[], text[], bigint[]), gamification._lock_users(text[]),
    gamification._apply_grants(text[], text[], text), gamification._apply_counts(text[], text[], bigint[]),
    gamification._apply_steps(text[], text[], bigint[]), gamification._apply_pending(xid8),
    gamification._apply_queue(integer)
TO gamification_runner;
-- Staged awards and steps (core/pending.sql): written inside writes, applied at commit by
-- _apply_at_commit(), which the runner owns (it runs inside the committing role's transaction).
GRANT SELECT, INSERT, UPDATE, DELETE ON gamification.pending, gamification.pending_queue
   TO gamification_runner;  -- UPDATE: the queue is taken FOR UPDATE SKIP LOCKED
-- The users' locks: rows locked FOR NO KEY UPDATE (which needs UPDATE), created on first use.
GRANT SELECT, INSERT, UPDATE ON gamification.user_lock TO gamification_runner;
GRANT USAGE ON SEQUENCE gamification.pending_queue_id_seq TO gamification_runner;
DO $owner$
BEGIN
    ALTER FUNCTION gamification._apply_at_commit() OWNER TO gamification_runner;
    -- Its privileges from nothing: an upgrade's REVOKE above took even the owner's own.
    REVOKE ALL ON FUNCTION gamification._apply_at_commit() FROM gamification_runner, gamification_admin;
    GRANT EXECUTE ON FUNCTION gamification._apply_at_commit() TO gamification_runner;
    GRANT EXECUTE ON FUNCTION gamification._apply_at_commit() TO gamification_admin;
EXCEPTION WHEN insufficient_privilege THEN  -- an installer that is not a superuser (pg_tle)
    RAISE WARNING USING
        MESSAGE = 'gamification: _apply_at_commit() stays owned by the installing role (it is not a member of gamification_runner)',
        HINT = 'As a superuser: ALTER FUNCTION gamification._apply_at_commit() OWNER TO gamification_runner.';
END
$owner$;
GRANT EXECUTE ON FUNCTION gamification.pending_apply() TO gamification_operator;
-- Consumers of the event log (core/consumers.sql): application workers, as operators.
GRANT EXECUTE ON FUNCTION gamification.consumer_register(text, boolean, boolean), gamification.consumer_unregister(text),
                          gamification.events_fetch(text, integer), gamification.events_ack(text, xid8, bigint)
   TO gamification_operator;
-- Readers read the log with their own rights (row security applies), in the same order.
GRANT EXECUTE ON FUNCTION gamification.events_since(xid8, bigint, integer) TO gamification_reader;
GRANT SELECT ON gamification.badge, gamification.unlockable, gamification.level, gamification.leaderboard
   TO gamification_runner;
GRANT SELECT, INSERT, UPDATE ON gamification.leaderboard_score TO gamification_runner;
-- Score-range counts: deltas inserted; folded by locking rows FOR UPDATE SKIP LOCKED (which
-- needs UPDATE) and deleting them (_leaderboard_fold).
GRANT SELECT, INSERT, UPDATE, DELETE ON gamification.leaderboard_count TO gamification_runner;
GRANT SELECT, INSERT ON gamification.award TO gamification_runner;
GRANT SELECT, INSERT, UPDATE ON gamification.progress, gamification.points_total, gamification.unlock
   TO gamification_runner;
GRANT INSERT ON gamification.event, gamification.badge_error TO gamification_runner;
GRANT USAGE ON SEQUENCE gamification.event_id_seq, gamification.badge_error_id_seq TO gamification_runner;
