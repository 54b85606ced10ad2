-- Erasure: one user's every row (user_erase, for data-protection requests and deleted
-- accounts), or every user's (data_reset, for test suites), definitions and generated
-- triggers kept; and totals_rebuild(), a repair of the totals from the log. The append-only tables
-- refuse DELETE and TRUNCATE to everyone else: the erasing functions alone lift that
-- guard, for their own statements only: they set gamification.erasing on, and off again
-- before they return. (Not a SET clause: pg_tle
-- installs as a role that may not put a custom setting in a function's header.)
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._user_data_tables()
RETURNS regclass[]
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['gamification.award', 'gamification.event', 'gamification.progress',
                 'gamification.points_total', 'gamification.unlock',
                 'gamification.pending_queue', 'gamification.leaderboard_score',
                 'gamification.leaderboard_exclusion']::regclass[]
$$;
COMMENT ON FUNCTION gamification._user_data_tables() IS
    'Internal: the tables holding per-user rows (a user_id column), which user_erase() and data_reset() empty and row security filters. A new per-user table belongs here.';

CREATE {{ or_replace }}FUNCTION gamification._key_pattern(p_user text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The key as a whole word: not preceded or followed by a letter, digit or underscore.
    SELECT '(^|[^[:alnum:]_])' || pg_catalog.regexp_replace(p_user, '([][\\.^$*+?(){}|-])', '\\\1', 'g')
           || '($|[^[:alnum:]_])'
$$;
COMMENT ON FUNCTION gamification._key_pattern(text) IS
    'Internal: a regular expression matching the user key as a whole word (its special characters escaped), to find the badge errors whose message mentions the user.';

CREATE {{ or_replace }}FUNCTION gamification.user_erase(user_id text)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER  -- operators erase through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user text := gamification._require_user($1, 'user_erase');
    v_table regclass;
    v_rows bigint;
    v_counts jsonb := '{}'::jsonb;
BEGIN
    -- Lock the user first, as every writer does: their changes wait for the erasure.
    PERFORM gamification._lock_users(ARRAY[v_user]);  -- the one lock order of every writer (core/runtime.sql)
    PERFORM pg_catalog.set_config('gamification.erasing', 'on', true);  -- lets _append_only() allow these DELETEs
    -- The user leaves the score ranges' counts of every board and period they are on.
    INSERT INTO gamification.leaderboard_count (leaderboard, period_start, bucket, users)
    SELECT s.leaderboard, s.period_start, gamification._leaderboard_bucket(s.score), -1
      FROM gamification.leaderboard_score s
     WHERE s.user_id = v_user;
    FOREACH v_table IN ARRAY gamification._user_data_tables() LOOP
        EXECUTE pg_catalog.format('DELETE FROM %s t WHERE t.user_id OPERATOR(pg_catalog.=) $1', v_table) USING v_user;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_counts := v_counts || pg_catalog.jsonb_build_object(
            (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = v_table), v_rows);
    END LOOP;
    -- Errors met inside writes may quote the user's key (a value that did not convert).
    DELETE FROM gamification.badge_error e WHERE e.message OPERATOR(pg_catalog.~) gamification._key_pattern(v_user);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    PERFORM pg_catalog.set_config('gamification.erasing', '', true);
    RETURN v_counts || pg_catalog.jsonb_build_object('badge_error', v_rows);
END;
$$;
COMMENT ON FUNCTION gamification.user_erase(text) IS
    'Erase one user, for a data-protection request or a deleted account: delete every row about them (awards, events, total, progress, unlock times, staged steps, leaderboard scores of every period and exclusions, and badge errors whose message mentions their key as a whole word). Unlike reset() nothing is kept: the user is off every view and leaderboard, and every other total still equals the sum of its events. Returns the rows removed per table, e.g. {"award": 2, "event": 5, ...}. Idempotent; the key may earn again afterwards, from nothing.';

CREATE {{ or_replace }}FUNCTION gamification.user_erase(user_id anyelement)
RETURNS jsonb
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.user_erase($1::text) $$;
COMMENT ON FUNCTION gamification.user_erase(anyelement) IS
    'Same as gamification.user_erase(text) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}FUNCTION gamification._data_reset(p_registrant name)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_registrant name := gamification._registrant(p_registrant);
    v_table regclass;
    v_rows bigint;
    v_counts jsonb := '{}'::jsonb;
BEGIN
    IF NOT pg_catalog.pg_has_role(v_registrant, 'gamification_admin', 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('gamification.data_reset(): role %s is not a member of gamification_admin', v_registrant),
            HINT = pg_catalog.format('It deletes every user''s badges, points and history, so only admins may: GRANT gamification_admin TO %I (the role your test suite runs as). To erase one user, call gamification.user_erase().', v_registrant);
    END IF;
    FOREACH v_table IN ARRAY gamification._user_data_tables() || 'gamification.badge_error'::regclass LOOP
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s', v_table) INTO v_rows;
        v_counts := v_counts || pg_catalog.jsonb_build_object(
            (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = v_table), v_rows);
    END LOOP;
    -- One statement: ACCESS EXCLUSIVE on these eleven tables until the transaction ends.
    PERFORM pg_catalog.set_config('gamification.erasing', 'on', true);  -- lets _append_only() allow this TRUNCATE
    TRUNCATE gamification.award, gamification.event, gamification.progress, gamification.points_total, gamification.unlock, gamification.pending, gamification.pending_queue, gamification.badge_error,
             gamification.leaderboard_score, gamification.leaderboard_count, gamification.leaderboard_exclusion
             RESTART IDENTITY;
    PERFORM pg_catalog.set_config('gamification.erasing', '', true);
    RETURN v_counts;
END;
$$;
COMMENT ON FUNCTION gamification._data_reset(name) IS
    'Internal: data_reset() for a registrant (checked by _registrant), who must be a member of gamification_admin (42501 otherwise).';

CREATE {{ or_replace }}FUNCTION gamification.data_reset()
RETURNS jsonb
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification._data_reset(current_user) $$;
COMMENT ON FUNCTION gamification.data_reset() IS
    'For test suites: delete every user''s data in one call (awards, events, totals, progress, unlock times, staged steps, leaderboard scores and exclusions, badge errors; their id sequences restart), keeping badges, rules, categories, unlockables and the generated triggers, which go on awarding. Returns the rows removed per table. Uses TRUNCATE: it takes an ACCESS EXCLUSIVE lock on those tables until the transaction ends, so it waits for, and then blocks, every transaction that reads them or awards. Meant for test databases; erase one user with user_erase(). Admins only (42501 otherwise).';

CREATE {{ or_replace }}FUNCTION gamification._totals_rebuild(p_registrant name)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_registrant name := gamification._registrant(p_registrant);
    v_changed bigint;
    v_gone bigint;
BEGIN
    IF NOT pg_catalog.pg_has_role(v_registrant, 'gamification_admin', 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('gamification.totals_rebuild(): role %s is not a member of gamification_admin', v_registrant),
            HINT = 'Run it as the role that restored the data, or GRANT gamification_admin to it.';
    END IF;
    -- Every user with events or pruned points, locked first in one order like every
    -- writer; totals set to what events_prune() kept of their pruned events plus the sum
    -- of the events left (never added to: running it twice changes nothing).
    PERFORM gamification._lock_users(ARRAY(SELECT e.user_id FROM gamification.event e
                                           UNION SELECT t.user_id FROM gamification.points_total t WHERE t.pruned <> 0));
    WITH sums AS (
        SELECT p.user_id, p.point_type, pg_catalog.sum(p.points)::bigint AS points
          FROM (SELECT e.user_id, e.point_type, e.points FROM gamification.event e
                UNION ALL
                SELECT t.user_id, t.point_type, t.pruned FROM gamification.points_total t WHERE t.pruned <> 0) p
         GROUP BY p.user_id, p.point_type
         HAVING pg_catalog.bool_or(p.points <> 0)
    ),
    upserted AS (
        INSERT INTO gamification.points_total AS t (user_id, point_type, points)
        SELECT s.user_id, s.point_type, s.points FROM sums s ORDER BY s.user_id, s.point_type
        ON CONFLICT (user_id, point_type) DO UPDATE SET points = EXCLUDED.points WHERE t.points <> EXCLUDED.points
        RETURNING 1
    )
    SELECT pg_catalog.count(*) INTO v_changed FROM upserted;
    DELETE FROM gamification.points_total t
     WHERE t.pruned = 0
       AND NOT EXISTS (SELECT 1 FROM gamification.event e
                        WHERE e.user_id = t.user_id AND e.point_type = t.point_type AND e.points <> 0);
    GET DIAGNOSTICS v_gone = ROW_COUNT;
    RETURN v_changed + v_gone;
END;
$$;
COMMENT ON FUNCTION gamification._totals_rebuild(name) IS
    'Internal: totals_rebuild() for a registrant (checked by _registrant), who must be a member of gamification_admin (42501 otherwise).';

CREATE {{ or_replace }}FUNCTION gamification.totals_rebuild()
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification._totals_rebuild(current_user) $$;
COMMENT ON FUNCTION gamification.totals_rebuild() IS
    'Set every user''s points total of every point type (user_points, user_points_by_type) to the sum of their events'' points of that type (plus the points of their events that events_prune() deleted): a repair for totals that no longer match the log (after rows were loaded into gamification.event by hand, or a restore of some tables only). A dump restores the totals with the log, so restores need no call. Idempotent; returns how many totals it changed. Admins only (42501 otherwise).';
