-- Points: the event log is append-only, and award_points(). _points_apply()
-- (core/runtime.sql) keeps points_total equal to the sum of each user's event points.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Only user_erase(), data_reset() and events_prune() delete, with this set for their own statements
    -- (set_config); nobody else holds DELETE or TRUNCATE on these tables anyway.
    IF pg_catalog.current_setting('gamification.erasing', true) = 'on' AND TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RETURN NULL;
    END IF;
    -- events_rebase() renumbers the log's txid after a restore into another cluster.
    IF pg_catalog.current_setting('gamification.rebasing', true) = 'on' AND TG_OP = 'UPDATE' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING ERRCODE = '55000',
        MESSAGE = pg_catalog.format('%I.%I is append-only: %s is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP),
        HINT = 'Append a correcting row instead (gamification.award_points() with the opposite amount).';
END;
$$;
COMMENT ON FUNCTION gamification._append_only() IS
    'Internal trigger: refuses UPDATE, DELETE and TRUNCATE on append-only tables (55000), except the DELETE of user_erase() and events_prune(), the TRUNCATE of data_reset() and the UPDATE of events_rebase().';

CREATE {{ or_replace }}TRIGGER event_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON gamification.event
    FOR EACH STATEMENT EXECUTE FUNCTION gamification._append_only();

CREATE {{ or_replace }}FUNCTION gamification._unlocks_reached(p_user text, p_type text, p_points bigint, p_codes text[])
RETURNS TABLE (user_id text, unlockable_code text)
LANGUAGE sql
STABLE
-- The one definition of an unlock to record: an unlockable of point type p_type (of p_codes,
-- NULL for all) that a user's points of that type reach and whose first unlock is not
-- recorded yet. A SQL-standard body and no SET clause, so the planner inlines it into the
-- statements that record unlocks.
BEGIN ATOMIC
    SELECT p_user, u.code
      FROM gamification.unlockable u
     WHERE u.point_type = p_type
       AND p_points >= u.points_required
       AND (p_codes IS NULL OR u.code = ANY (p_codes))
       AND NOT EXISTS (SELECT 1 FROM gamification.unlock x WHERE x.user_id = p_user AND x.unlockable_code = u.code);
END;
COMMENT ON FUNCTION gamification._unlocks_reached(text, text, bigint, text[]) IS
    'Internal: the unlockables of point type p_type (of p_codes, or all) that p_points of that type reach and whose first unlock for p_user is not recorded yet.';

CREATE {{ or_replace }}FUNCTION gamification.award_points(user_id text, amount bigint, reason text, point_type text)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user text := gamification._require_user($1::text, 'award_points');
    v_type text := gamification._point_type_must_exist('gamification.award_points()', 'point_type', $4);
    v_total bigint;
BEGIN
    IF $2 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'gamification.award_points(): amount must not be null',
            HINT = 'Pass a non-zero number of points; negative amounts are penalties.';
    END IF;
    IF $2 = 0 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'gamification.award_points(): amount must not be 0',
            HINT = 'Pass a non-zero number of points; negative amounts are penalties.';
    END IF;
    IF $3 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'gamification.award_points(): reason must not be null',
            HINT = 'Say why the points are given, e.g. ''daily_login''; it shows in gamification.points_history.';
    END IF;
    IF pg_catalog.btrim($3) = '' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'gamification.award_points(): reason must not be empty',
            HINT = 'Say why the points are given, e.g. ''daily_login''; it shows in gamification.points_history.';
    END IF;
    PERFORM gamification._lock_users(ARRAY[v_user]);  -- the one lock order of every writer (core/runtime.sql)
    INSERT INTO gamification.event (user_id, kind, points, reason, point_type)
    VALUES (v_user, 'points_changed', $2, $3, v_type);
    PERFORM gamification._points_apply(ARRAY[v_user], ARRAY[$2], ARRAY[v_type]);
    SELECT t.points INTO v_total FROM gamification.points_total t WHERE t.user_id = v_user AND t.point_type = v_type;
    RETURN v_total;
END;
$$;
COMMENT ON FUNCTION gamification.award_points(text, bigint, text, text) IS
    'The 0.1.0 name of gamification.points_award(), kept as an alias: append a points_changed event of amount points of point_type (non-zero; negative is a penalty) with a reason to the user''s log and return the new total of that type. 42704 for a point type that is not registered.';

CREATE {{ or_replace }}FUNCTION gamification.award_points(user_id text, amount bigint, reason text)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN gamification.award_points($1, $2, $3, 'points'::text);
END;
$$;
COMMENT ON FUNCTION gamification.award_points(text, bigint, text) IS
    'The 0.1.0 name of gamification.points_award(), kept as an alias: append a points_changed event of amount points (non-zero; negative is a penalty) of the default point type with a reason to the user''s log and return the new total.';

CREATE {{ or_replace }}FUNCTION gamification.award_points(user_id anyelement, amount bigint, reason text)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.award_points($1::text, $2, $3) $$;
COMMENT ON FUNCTION gamification.award_points(anyelement, bigint, text) IS
    'Same as gamification.award_points(text, ...) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}FUNCTION gamification.award_points(user_id anyelement, amount bigint, reason text, point_type text)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.award_points($1::text, $2, $3, $4) $$;
COMMENT ON FUNCTION gamification.award_points(anyelement, bigint, text, text) IS
    'Same as gamification.award_points(text, bigint, text, text) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';
