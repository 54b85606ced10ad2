-- reset(): return one user to zero, keeping the history. Every held badge is
-- taken back (a badge_reset event each), progress and unlock rows are deleted, and one
-- points_changed event of minus the current total (reason 'reset') brings it to 0.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification.reset(user_id text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER  -- operators reset through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user text := gamification._require_user($1::text, 'reset');
    v_code text;
    v_total bigint;
BEGIN
    -- Lock the user first, as every writer does (core/runtime.sql): their changes wait.
    PERFORM gamification._lock_users(ARRAY[v_user]);
    FOR v_code IN SELECT a.badge_code FROM gamification.award a WHERE a.user_id = v_user ORDER BY a.badge_code LOOP
        PERFORM gamification._revoke(v_code, ARRAY[v_user], 'reset');
    END LOOP;
    DELETE FROM gamification.progress p WHERE p.user_id = v_user;
    -- Unlockables needing no points stay held at 0 points, so their first unlock time is kept.
    DELETE FROM gamification.unlock u
     USING gamification.unlockable x
     WHERE u.user_id = v_user AND x.code = u.unlockable_code AND x.points_required > 0;
    SELECT t.points INTO v_total FROM gamification.points_total t WHERE t.user_id = v_user;
    IF v_total <> 0 THEN
        INSERT INTO gamification.event (user_id, kind, points, reason) VALUES (v_user, 'points_changed', -v_total, 'reset');
        PERFORM gamification._points_apply(ARRAY[v_user], ARRAY[-v_total]);
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification.reset(text) IS
    'The 0.1.0 name of gamification.user_reset(), kept as an alias: return one user to zero, keeping the history.';

CREATE {{ or_replace }}FUNCTION gamification.reset(user_id anyelement)
RETURNS void
LANGUAGE sql
SECURITY DEFINER  -- operators reset through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.reset($1::text) $$;
COMMENT ON FUNCTION gamification.reset(anyelement) IS
    'Same as gamification.reset(text) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';
