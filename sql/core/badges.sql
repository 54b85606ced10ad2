-- Badge registration. badge_register() validates the whole input before it
-- writes anything, then upserts set-based; trigger badges then get their rules
-- and triggers (sql/triggers/lifecycle.sql). Registering an existing code updates
-- it in place; the registration is the full definition, so an omitted optional
-- key goes back to its default. Past ledger rows are never rewritten.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._badge_register(definitions jsonb, p_search_path text, p_registrant name)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c_allowed constant text[] := ARRAY['code', 'name', 'description', 'points', 'category',
                                       'target', 'secret', 'next'] || gamification._trigger_keys();
    v_registrant name := gamification._registrant(p_registrant);
    v_defs jsonb := gamification._as_array('badge', $1, 'badge_register');
    v_obj jsonb;
    v_idx integer;
    v_label text;
    v_code text;
    v_codes text[] := '{}'::text[];
    v_norm jsonb := '[]'::jsonb;
    v_item jsonb;
    v_cycle text[];
    v_old jsonb;
    r record;
BEGIN
    -- 1. Validate every definition; nothing is written before all are valid.
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(v_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := gamification._label('badge', v_obj, v_idx);
        PERFORM gamification._check_object(v_label, v_obj);
        PERFORM gamification._check_keys(v_label, v_obj, c_allowed);
        v_code := gamification._text_field(v_label, v_obj, 'code', true, true,
            'Give every badge a "code" of 1 to 63 letters, digits, "_", ".", ":" or "-".');
        IF v_code = ANY (v_codes) THEN
            PERFORM gamification._raise('42710',
                pg_catalog.format('%s: code appears more than once in this call (item #%s)', v_label, v_idx),
                'Register each badge code once per call.');
        END IF;
        v_codes := v_codes || v_code;
        v_item := pg_catalog.jsonb_build_object(
            'code', v_code,
            'name', gamification._text_field(v_label, v_obj, 'name', true, false,
                        'Give every badge a non-empty "name".'),
            'description', gamification._text_field(v_label, v_obj, 'description', false, false,
                        'Omit "description" or give a string.'),
            'points', gamification._int_field(v_label, v_obj, 'points', 0, 0, 'an integer >= 0',
                        'Omit "points" for a badge worth nothing; use gamification.award_points() with a negative amount for a penalty.'),
            'category', gamification._text_field(v_label, v_obj, 'category', false, true,
                        'Omit "category" or give a category code; unknown categories are created.'),
            'target', gamification._int_field(v_label, v_obj, 'target', 1, NULL, 'a positive integer',
                        'Omit "target" for a badge without progression.'),
            'secret', gamification._bool_field(v_label, v_obj, 'secret', false,
                        'Omit "secret" for a badge everyone can see.'),
            'next', gamification._text_field(v_label, v_obj, 'next', false, true,
                        'Omit "next" or give the code of another badge.'),
            'definition', v_obj);
        IF v_item ->> 'next' = v_code THEN
            PERFORM gamification._raise('22023',
                pg_catalog.format('%s: field "next" must not be the badge itself', v_label),
                'Give the code of another badge, or omit "next".');
        END IF;
        v_norm := v_norm || pg_catalog.jsonb_build_array(v_item);
    END LOOP;

    -- 2. Every "next" must exist by the end of the call (in this call or already registered).
    SELECT n.code, n.next INTO r
      FROM pg_catalog.jsonb_to_recordset(v_norm) AS n(code text, next text)
     WHERE n.next IS NOT NULL
       AND n.next <> ALL (v_codes)
       AND NOT EXISTS (SELECT 1 FROM gamification.badge b WHERE b.code = n.next)
     LIMIT 1;
    IF FOUND THEN
        PERFORM gamification._raise('42704',
            pg_catalog.format('badge "%s": field "next" refers to unknown badge "%s"', r.code, r.next),
            pg_catalog.format('Register badge "%s" in the same call or before.', r.next));
    END IF;

    -- 3. No cycle through "next", over the registered badges as they will be after this call.
    WITH RECURSIVE
    input AS (
        SELECT n.code, n.next FROM pg_catalog.jsonb_to_recordset(v_norm) AS n(code text, next text)
    ),
    edges AS (
        SELECT i.code, i.next FROM input i WHERE i.next IS NOT NULL
        UNION ALL
        SELECT b.code, b.next FROM gamification.badge b WHERE b.next IS NOT NULL AND b.code <> ALL (v_codes)
    ),
    walk (start, cur, path) AS (
        SELECT e.code, e.next, ARRAY[e.code] FROM edges e WHERE e.code = ANY (v_codes)
        UNION ALL
        SELECT w.start, e.next, w.path || w.cur
          FROM walk w JOIN edges e ON e.code = w.cur
         WHERE w.cur <> w.start AND w.cur <> ALL (w.path)
    )
    SELECT w.path || w.cur INTO v_cycle FROM walk w WHERE w.cur = w.start ORDER BY w.start LIMIT 1;
    IF v_cycle IS NOT NULL THEN
        PERFORM gamification._raise('22023',
            pg_catalog.format('badge "%s": field "next" makes a cycle: %s', v_cycle[1],
                              pg_catalog.array_to_string(v_cycle, ' -> ')),
            'Badges chained by "next" must not lead back to themselves.');
    END IF;

    -- 4. Write: categories first, then badges (locked in code order).
    INSERT INTO gamification.category (code, name)
    SELECT DISTINCT n.category, n.category
      FROM pg_catalog.jsonb_to_recordset(v_norm) AS n(category text)
     WHERE n.category IS NOT NULL
     ORDER BY 1
    ON CONFLICT (code) DO NOTHING;

    SELECT pg_catalog.jsonb_object_agg(b.code, b.target) INTO v_old
      FROM (SELECT b.code, b.target FROM gamification.badge b
             WHERE b.code = ANY (v_codes) ORDER BY b.code FOR UPDATE) b;

    INSERT INTO gamification.badge AS b
           (code, name, description, points, category, target, secret, next, definition)
    SELECT n.code, n.name, n.description, n.points, n.category, n.target, n.secret, n.next, n.definition
      FROM pg_catalog.jsonb_to_recordset(v_norm)
           AS n(code text, name text, description text, points bigint, category text,
                target bigint, secret boolean, next text, definition jsonb)
     ORDER BY n.code
    ON CONFLICT (code) DO UPDATE
       SET name = EXCLUDED.name, description = EXCLUDED.description, points = EXCLUDED.points,
           category = EXCLUDED.category, target = EXCLUDED.target, secret = EXCLUDED.secret,
           next = EXCLUDED.next, definition = EXCLUDED.definition, updated_at = pg_catalog.now(),
           retired_at = NULL;

    -- 5. A new or changed target awards at once the users whose stored progress
    --    already reaches it, unless they hold the badge or it was revoked from
    --    them by hand (their last history action for it is 'revoke').
    FOR r IN
        SELECT n.code, n.target
          FROM pg_catalog.jsonb_to_recordset(v_norm) AS n(code text, target bigint)
         WHERE n.target IS NOT NULL
           AND (v_old IS NULL OR (v_old -> n.code) IS NULL OR (v_old ->> n.code)::bigint IS DISTINCT FROM n.target)
         ORDER BY n.code
    LOOP
        PERFORM gamification._grant(r.code, ARRAY(
            SELECT p.user_id
              FROM gamification.progress p
             WHERE p.badge_code = r.code
               AND p.progress >= r.target
               AND NOT EXISTS (SELECT 1 FROM gamification.award a
                                WHERE a.user_id = p.user_id AND a.badge_code = r.code)
               AND coalesce((SELECT h.action FROM gamification.award_history h
                              WHERE h.user_id = p.user_id AND h.badge_code = r.code
                              ORDER BY h.id DESC LIMIT 1), '') <> 'revoke'
             ORDER BY p.user_id), 'target');
    END LOOP;

    -- 6. Trigger badges: rules, triggers on their tables, backfills.
    PERFORM gamification._rules_apply(v_defs, p_search_path, v_registrant);

    RETURN QUERY SELECT pg_catalog.unnest(v_codes);
END;
$$;
COMMENT ON FUNCTION gamification._badge_register(jsonb, text, name) IS
    'Internal: badge_register() for a registrant (checked by _registrant: it writes the registry as the extension''s owner), with the search_path (the registrant''s) that trigger badges'' names resolve with.';

CREATE {{ or_replace }}FUNCTION gamification.badge_register(definitions jsonb)
RETURNS SETOF text
LANGUAGE sql
-- No SET clause on purpose: a trigger badge's table and condition resolve with the
-- caller's search_path (see _caller_search_path), and its rights are the caller's.
AS $$
    SELECT gamification._badge_register($1, gamification._caller_search_path(), current_user)
$$;
COMMENT ON FUNCTION gamification.badge_register(jsonb) IS
    'Register one badge (JSON object) or several (JSON array of objects). Keys: code (required), name (required), description, points (integer >= 0, default 0), category (created if unknown), target (positive integer or null), secret (default false), next (code of another badge, may come later in the same array; no cycles). Trigger badges add condition, trigger_condition, trigger_table, user_field, update_of (the django-pg-badges badge.json format) or counter, and backfill, fire_on_replica: see the README. An existing code is updated in place; omitted keys go back to their defaults. A new or changed target awards at once users whose stored progress reaches it. The whole input is validated before anything is written. Returns the codes registered. Idempotent.';
