-- reset(): return one user to zero, keeping the history. Every held badge is
-- taken back (a badge_reset event each), progress and unlock rows are deleted, and one
-- points_changed event of minus the current total (reason 'reset') per point type brings
-- each total to 0.
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
    v_totals bigint[];
    v_types text[];
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
    -- Every point type's total back to 0, one points_changed event each (in type order).
    SELECT pg_catalog.array_agg(-t.points ORDER BY t.point_type), pg_catalog.array_agg(t.point_type ORDER BY t.point_type)
      INTO v_totals, v_types
      FROM gamification.points_total t WHERE t.user_id = v_user AND t.points <> 0;
    IF v_totals IS NOT NULL THEN
        INSERT INTO gamification.event (user_id, kind, points, reason, point_type)
        SELECT v_user, 'points_changed', r.points, 'reset', r.point_type
          FROM ROWS FROM (pg_catalog.unnest(v_totals), pg_catalog.unnest(v_types)) AS r(points, point_type);
        PERFORM gamification._points_apply(pg_catalog.array_fill(v_user, ARRAY[pg_catalog.cardinality(v_totals)]),
                                           v_totals, v_types);
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
