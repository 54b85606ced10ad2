-- Unlockables. Holding one is derived (points of its type >= points_required), so it
-- re-locks exactly when points drop; gamification.unlock only keeps the first
-- unlock time. Registering a new unlockable or changing a threshold records the
-- first unlock of every user already at or above it, set-based.
{%- from "macros.j2" import reraise %}
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification.unlockable_register(definitions jsonb)
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
    v_defs := gamification._as_array('unlockable', $1, 'unlockable_register');  -- in the body: the block's handler sees its errors
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(v_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := gamification._label('unlockable', v_obj, v_idx);
        v_code := gamification._definition_code('unlockable', v_label, v_obj,
                                                ARRAY['code', 'name', 'description', 'points_required', 'point_type'], v_idx, v_codes);
        v_codes := v_codes || v_code;
        IF (v_obj -> 'points_required') IS NULL OR v_obj -> 'points_required' = 'null'::jsonb THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "points_required" is required', v_label),
                HINT = 'Give the number of points (>= 0) a user needs to hold it.';
        END IF;
        v_norm := v_norm || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'code', v_code,
            'name', gamification._text_field(v_label, v_obj, 'name', true, false,
                        'Give every unlockable a non-empty "name".'),
            'description', gamification._text_field(v_label, v_obj, 'description', false, false,
                        'Omit "description" or give a string.'),
            'points_required', gamification._int_field(v_label, v_obj, 'points_required', 0, NULL,
                        'an integer >= 0', 'Give the number of points (>= 0) a user needs to hold it.'),
            'point_type', gamification._point_type_field(v_label, v_obj),
            'definition', v_obj));
    END LOOP;

    INSERT INTO gamification.unlockable AS u (code, name, description, points_required, point_type, definition)
    SELECT n.code, n.name, n.description, n.points_required, n.point_type, n.definition
      FROM pg_catalog.jsonb_to_recordset(v_norm)
           AS n(code text, name text, description text, points_required bigint, point_type text, definition jsonb)
     ORDER BY n.code
    ON CONFLICT (code) DO UPDATE
       SET name = EXCLUDED.name, description = EXCLUDED.description,
           points_required = EXCLUDED.points_required, point_type = EXCLUDED.point_type,
           definition = EXCLUDED.definition, updated_at = pg_catalog.now();

    WITH first_unlock AS (
        INSERT INTO gamification.unlock (user_id, unlockable_code, first_unlocked_at)
        SELECT r.user_id, r.unlockable_code, pg_catalog.now()
          FROM gamification.points_total t
         CROSS JOIN LATERAL gamification._unlocks_reached(t.user_id, t.point_type, t.points, v_codes) r
         ORDER BY r.user_id, r.unlockable_code
        ON CONFLICT (user_id, unlockable_code) DO NOTHING
        RETURNING user_id, unlockable_code
    )
    INSERT INTO gamification.event (user_id, kind, subject, reason, origin, point_type)
    SELECT f.user_id, 'unlockable_unlocked', f.unlockable_code, 'register', 'backfill', u.point_type
      FROM first_unlock f JOIN gamification.unlockable u ON u.code = f.unlockable_code
     ORDER BY f.user_id, f.unlockable_code;

    RETURN QUERY SELECT pg_catalog.unnest(v_codes);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.unlockable_register(jsonb) IS
    'Register one unlockable (JSON object) or several (JSON array) with keys code (required), name (required), description, points_required (required, integer >= 0), point_type (the point type whose total it reads; default points). An existing code is updated in place. Users already at or above the threshold get their first unlock time recorded at once, with an unlockable_unlocked event (reason register) when it is their first. Returns the codes registered. Idempotent.';
