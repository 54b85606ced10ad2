-- Point types and levels (0.3.0). A point type is a kind of points (XP, coins); the
-- default type, points, is built in. A level is a threshold on a point type's total; a
-- user's level is derived (gamification._level_at, core/runtime.sql), like holding an
-- unlockable, and every change of it is a level_changed event: written by _points_apply
-- when a total crosses thresholds, and here when the thresholds change, for everyone at once.
{%- from "macros.j2" import reraise %}
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification.point_type_register(definitions jsonb)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER  -- admins write definitions only through the API
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_defs jsonb;
    v_obj jsonb;
    v_idx integer;
    v_label text;
    v_code text;
    v_codes text[] := '{}'::text[];
    v_norm jsonb := '[]'::jsonb;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    v_defs := gamification._as_array('point type', $1, 'point_type_register');  -- in the body: the block's handler sees its errors
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(v_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := gamification._label('point type', v_obj, v_idx);
        v_code := gamification._definition_code('point type', v_label, v_obj, ARRAY['code', 'name', 'description'],
                                                v_idx, v_codes);
        IF v_code = 'points' THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: the default point type is built in and cannot be registered', v_label),
                HINT = 'Register other point types (xp, coins, ...) under other codes; points is always there.';
        END IF;
        v_codes := v_codes || v_code;
        v_norm := v_norm || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'code', v_code,
            'name', coalesce(gamification._text_field(v_label, v_obj, 'name', false, false,
                                 'Omit "name" to use the code as the name.'), v_code),
            'description', gamification._text_field(v_label, v_obj, 'description', false, false,
                                 'Omit "description" or give a string.')));
    END LOOP;

    INSERT INTO gamification.point_type AS t (code, name, description)
    SELECT n.code, n.name, n.description
      FROM pg_catalog.jsonb_to_recordset(v_norm) AS n(code text, name text, description text)
     ORDER BY n.code
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description;

    RETURN QUERY SELECT pg_catalog.unnest(v_codes);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.point_type_register(jsonb) IS
    'Register one point type (JSON object) or several (JSON array) with keys code (required), name (default: the code), description. Badges (field point_type) pay in a type, points_award(user, amount, reason, point_type) awards in one, unlockables and levels read one. The default type, points, is built in (22023 if registered). An existing code is updated in place. Returns the codes registered. Idempotent. Admins only.';

CREATE {{ or_replace }}FUNCTION gamification._levels_change(p_types text[], p_levels jsonb, p_remove_type text,
                                                             p_remove_number integer)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_users text[];
    v_user_types text[];
    v_old integer[];
    r record;
    v_changed bigint;
BEGIN
    -- Writers paused (_writers_pause: a user whose first points of a type commit meanwhile
    -- crosses the new thresholds, not the ones their writer read before), then everyone
    -- with a total of these types locked, in the one order of every writer
    -- (core/runtime.sql): no total moves while their levels are compared before and after.
    PERFORM gamification._writers_pause();
    PERFORM gamification._lock_users(ARRAY(SELECT DISTINCT t.user_id FROM gamification.points_total t
                                            WHERE t.point_type = ANY (p_types)));
    SELECT pg_catalog.array_agg(t.user_id ORDER BY t.user_id, t.point_type),
           pg_catalog.array_agg(t.point_type ORDER BY t.user_id, t.point_type),
           pg_catalog.array_agg(o.number ORDER BY t.user_id, t.point_type)
      INTO v_users, v_user_types, v_old
      FROM gamification.points_total t
     CROSS JOIN LATERAL gamification._level_at(t.point_type, t.points) o
     WHERE t.point_type = ANY (p_types);

    INSERT INTO gamification.level AS l (point_type, number, name, description, points_required, definition)
    SELECT n.point_type, n.number, n.name, n.description, n.points_required, n.definition
      FROM pg_catalog.jsonb_to_recordset(coalesce(p_levels, '[]'::jsonb))
           AS n(point_type text, number integer, name text, description text, points_required bigint, definition jsonb)
     ORDER BY n.point_type, n.number
    ON CONFLICT (point_type, number) DO UPDATE
       SET name = EXCLUDED.name, description = EXCLUDED.description, points_required = EXCLUDED.points_required,
           definition = EXCLUDED.definition, updated_at = pg_catalog.now();
    DELETE FROM gamification.level l WHERE l.point_type = p_remove_type AND l.number = p_remove_number;

    -- Levels climb: each needs more points than every level below it.
    SELECT x.point_type, x.number, x.points_required, x.below, x.below_required INTO r
      FROM (SELECT l.point_type, l.number, l.points_required,
                   pg_catalog.lag(l.number) OVER w AS below, pg_catalog.lag(l.points_required) OVER w AS below_required
              FROM gamification.level l
             WHERE l.point_type = ANY (p_types)
            WINDOW w AS (PARTITION BY l.point_type ORDER BY l.number)) x
     WHERE x.below_required >= x.points_required
     ORDER BY x.point_type, x.number
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('level %s of point type "%s": field "points_required" must be more than level %s''s %s, got %s',
                                        r.number, r.point_type, r.below, r.below_required, r.points_required),
            HINT = 'A higher level needs more points than every level below it: change several levels in one call to move them past each other.';
    END IF;

    -- Everyone's level follows at once: one level_changed event per user and type whose
    -- level is now another (marked backfill: it happened to them, they did nothing).
    INSERT INTO gamification.event (user_id, kind, subject, point_type, reason, origin, data)
    SELECT o.user_id, 'level_changed', o.point_type, o.point_type, 'register', 'backfill',
           pg_catalog.jsonb_build_object('from', o.level, 'to', n.number, 'name', n.name)
      FROM ROWS FROM (pg_catalog.unnest(v_users), pg_catalog.unnest(v_user_types), pg_catalog.unnest(v_old))
           AS o(user_id, point_type, level)
      JOIN gamification.points_total t ON t.user_id = o.user_id AND t.point_type = o.point_type
     CROSS JOIN LATERAL gamification._level_at(t.point_type, t.points) n
     WHERE n.number <> o.level
     ORDER BY o.user_id, o.point_type;
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    RETURN v_changed;
END;
$$;
COMMENT ON FUNCTION gamification._levels_change(text[], jsonb, text, integer) IS
    'Internal: write validated levels (p_levels) and remove one (p_remove_type, p_remove_number) of the point types p_types, check that they climb (22023), and append a level_changed event (origin backfill, reason register) for every user whose level of those types is now another; every user with a total of those types is locked first. Returns the number of such events.';

CREATE {{ or_replace }}FUNCTION gamification.level_register(definitions jsonb)
RETURNS TABLE (point_type text, number integer)
LANGUAGE plpgsql
SECURITY DEFINER  -- admins write definitions only through the API
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_defs jsonb;
    v_obj jsonb;
    v_idx integer;
    v_label text;
    v_type text;
    v_number bigint;
    v_seen text[] := '{}'::text[];
    v_norm jsonb := '[]'::jsonb;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    v_defs := gamification._as_array('level', $1, 'level_register');  -- in the body: the block's handler sees its errors
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(v_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := pg_catalog.format('level #%s', v_idx);
        PERFORM gamification._check_object(v_label, v_obj);
        PERFORM gamification._check_keys(v_label, v_obj,
                                         ARRAY['point_type', 'number', 'name', 'description', 'points_required']);
        v_type := gamification._point_type_field(v_label, v_obj);
        IF (v_obj -> 'number') IS NULL OR v_obj -> 'number' = 'null'::jsonb THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "number" is required', v_label),
                HINT = 'Number the levels of a point type 1, 2, 3, ...';
        END IF;
        v_number := gamification._int_field(v_label, v_obj, 'number', 1, NULL, 'an integer from 1 to 1000000',
                                            'Number the levels of a point type 1, 2, 3, ...');
        IF v_number > 1000000 THEN
            PERFORM gamification._field_error(v_label, 'number', 'an integer from 1 to 1000000', v_obj -> 'number',
                                              'Number the levels of a point type 1, 2, 3, ...');
        END IF;
        v_label := pg_catalog.format('level %s of point type "%s"', v_number, v_type);
        IF pg_catalog.format('%s/%s', v_type, v_number) = ANY (v_seen) THEN
            RAISE EXCEPTION USING ERRCODE = '42710',
                MESSAGE = pg_catalog.format('%s: appears more than once in this call (item #%s)', v_label, v_idx),
                HINT = 'Register each level of a point type once per call.';
        END IF;
        v_seen := v_seen || pg_catalog.format('%s/%s', v_type, v_number);
        IF (v_obj -> 'points_required') IS NULL OR v_obj -> 'points_required' = 'null'::jsonb THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "points_required" is required', v_label),
                HINT = 'Give the total of the point type (>= 0) at which a user reaches the level.';
        END IF;
        v_norm := v_norm || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'point_type', v_type,
            'number', v_number,
            'name', gamification._text_field(v_label, v_obj, 'name', true, false,
                        'Give every level a non-empty "name", e.g. "Contributor".'),
            'description', gamification._text_field(v_label, v_obj, 'description', false, false,
                        'Omit "description" or give a string.'),
            'points_required', gamification._int_field(v_label, v_obj, 'points_required', 0, NULL,
                        'an integer >= 0', 'Give the total of the point type (>= 0) at which a user reaches the level.'),
            'definition', v_obj));
    END LOOP;

    PERFORM gamification._levels_change(
        ARRAY(SELECT DISTINCT n ->> 'point_type' FROM pg_catalog.jsonb_array_elements(v_norm) AS n ORDER BY 1),
        v_norm, NULL, NULL);
    RETURN QUERY SELECT n.point_type, n.number::integer
                   FROM pg_catalog.jsonb_to_recordset(v_norm) AS n(point_type text, number bigint);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.level_register(jsonb) IS
    'Register one level (JSON object) or several (JSON array) with keys point_type (default points), number (required, 1, 2, ...), name (required), description, points_required (required, integer >= 0): the total of that type at which a user reaches the level. An existing (point_type, number) is updated in place. A higher level must need more points than every level below it (22023; change several in one call to move them past each other). Thresholds may change at any time: everyone''s level follows at once, each user whose level changed gets a level_changed event (origin backfill, reason register); awards wait meanwhile. Returns the levels registered. Idempotent. Admins only.';

CREATE {{ or_replace }}FUNCTION gamification.level_unregister(point_type text, number integer)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- admins write definitions only through the API
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF $1 IS NULL OR $2 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = 'gamification.level_unregister(): point_type and number must not be null',
            HINT = 'Name the level: SELECT gamification.level_unregister(''xp'', 3);';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM gamification.level l WHERE l.point_type = $1 AND l.number = $2) THEN
        RETURN false;
    END IF;
    PERFORM gamification._levels_change(ARRAY[$1], NULL, $1, $2);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION gamification.level_unregister(text, integer) IS
    'Remove one level of a point type; everyone''s level follows at once (a level_changed event, origin backfill, for each user whose level changed). Returns false if there was no such level. Admins only.';
