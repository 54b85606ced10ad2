-- Registration, the orchestration of everything before it: badge_register, badge_sync,
-- badge_unregister and badge_preview, in one direction.
--
--   definitions --validate (core/validation.sql, triggers/rules.sql: every key, writing nothing)
--               --> registry (gamification.badge, gamification.badge_rule)
--               --> predicates (triggers/predicates.sql: each condition compiled and checked)
--               --> generated trigger functions (triggers/generate.sql) installed by
--                   _sync_table (triggers/sync.sql: names, hash, prune)
--               --> backfills (awards through core/runtime.sql)
--
-- The public functions are SECURITY INVOKER wrappers that pass the caller's search_path
-- and role to SECURITY DEFINER internals (_registrant checks the role). Each runs in the
-- caller's transaction: it applies fully or not at all. Registering an existing code
-- updates it in place; a registration is the full definition, so an omitted optional key
-- goes back to its default. Past events are never rewritten.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

{%- from "macros.j2" import reraise, error_vars %}
CREATE {{ or_replace }}FUNCTION gamification._rules_apply(p_codes text[], p_rules gamification.badge_rule[],
                                                           p_backfill text[], p_registrant name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r gamification.badge_rule;
    v_label text;
    v_function regprocedure;
    v_tables regclass[];
    v_table regclass;
    v_code text;
BEGIN
    -- The badges registered lose the rules they no longer have (now manual badges) or get
    -- their new ones; changing a badge changes the triggers of its old table too.
    FOR r IN SELECT * FROM gamification.badge_rule b WHERE b.badge_code = ANY (p_codes) ORDER BY b.badge_code LOOP
        PERFORM gamification._require_trigger_privilege(pg_catalog.format('badge "%s"', r.badge_code), r, p_registrant);
    END LOOP;
    SELECT pg_catalog.array_agg(b.table_name) INTO v_tables FROM gamification.badge_rule b WHERE b.badge_code = ANY (p_codes);
    DELETE FROM gamification.badge_rule b
     WHERE b.badge_code = ANY (p_codes)
       AND b.badge_code <> ALL (ARRAY(SELECT x.badge_code FROM pg_catalog.unnest(p_rules) x));
    FOREACH r IN ARRAY p_rules LOOP
        v_label := pg_catalog.format('badge "%s"', r.badge_code);
        INSERT INTO gamification.badge_rule AS b
        SELECT (r).*
        ON CONFLICT (badge_code) DO UPDATE
           SET kind = EXCLUDED.kind, table_name = EXCLUDED.table_name, event = EXCLUDED.event,
               user_field = EXCLUDED.user_field, condition = EXCLUDED.condition,
               counter_where = EXCLUDED.counter_where, update_of = EXCLUDED.update_of,
               search_path = EXCLUDED.search_path, fire_on_replica = EXCLUDED.fire_on_replica;
        -- The condition is compiled and checked now: a refusal fails the registration.
        -- (Two statements: the second must see the catalog rows the first wrote.)
        v_function := gamification._predicate_install(v_label, r);
        PERFORM gamification._require_reads(v_label, v_function, p_registrant);
        v_tables := coalesce(v_tables, '{}') || r.table_name;
    END LOOP;
    -- Triggers first: CREATE TRIGGER locks out writers of the table until commit, so
    -- the backfill below sees every row that will never reach the new trigger.
    FOR v_table IN SELECT DISTINCT t FROM pg_catalog.unnest(v_tables) t
                    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t) ORDER BY 1 LOOP
        PERFORM gamification._sync_table(v_table);
    END LOOP;
    FOREACH v_code IN ARRAY p_backfill LOOP
        PERFORM gamification._backfill(v_code, p_registrant);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION gamification._rules_apply(text[], gamification.badge_rule[], text[], name) IS
    'Internal, called by badge_register() after the badge rows are written: give the badges p_codes exactly the validated rules p_rules (others lose theirs), compile each predicate (checking that the registrant may read what it reads), re-sync the affected tables'' triggers, then run the backfills p_backfill.';
CREATE {{ or_replace }}FUNCTION gamification._backfill_sql(r gamification.badge_rule)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Users who meet the rule over the table as it is now: (user_id, n) where n is
    -- what a counting rule has counted (1 for a plain condition badge).
    SELECT CASE WHEN gamification._rule_counts(r)
                THEN gamification._rule_counts_sql(r, gamification._qualified(r.table_name), gamification._qualified(r.table_name))
                ELSE pg_catalog.format('SELECT DISTINCT q.user_id, 1::bigint AS n FROM (%s) q',
                         gamification._rule_users_sql(r, gamification._qualified(r.table_name), gamification._qualified(r.table_name)))
           END
$$;
COMMENT ON FUNCTION gamification._backfill_sql(gamification.badge_rule) IS
    'Internal: the set-based query behind a backfill and a preview.';

CREATE {{ or_replace }}FUNCTION gamification._rule_runtime_error(p_label text, r gamification.badge_rule, p_what text,
                                                  p_sqlstate text, p_message text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- The condition compiled, but failed on the rows that exist (a division by zero, a
    -- bad cast, no right to read them): keep its SQLSTATE, say which badge and field.
    RAISE EXCEPTION USING ERRCODE = p_sqlstate,
        MESSAGE = pg_catalog.format('%s: field "%s" failed on the existing rows of %s during the %s: %s', p_label,
                          gamification._rule_field(r.kind, 'condition'),
                          gamification._qualified(r.table_name), p_what, p_message),
        HINT = coalesce(CASE WHEN p_sqlstate = '42501'
             THEN 'A backfill or preview reads the table''s existing rows with your rights: you need SELECT on it (and on what the condition reads); nothing was registered.'
             ELSE 'Make the condition hold (true or false) for every row of the table, e.g. guard a division or a cast with CASE; nothing was registered.' END, '');
END;
$$;
COMMENT ON FUNCTION gamification._rule_runtime_error(text, gamification.badge_rule, text, text, text) IS
    'Internal: re-raise an error that a compiled condition raised on existing rows during a backfill or preview, with its SQLSTATE, naming the badge and field.';

CREATE {{ or_replace }}FUNCTION gamification._require_select(p_label text, r gamification.badge_rule, p_what text, p_registrant name)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT pg_catalog.has_table_privilege(p_registrant, r.table_name, 'SELECT') THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('%s: permission denied for table %s, whose existing rows the %s reads (role %I)', p_label,
                              gamification._qualified(r.table_name), p_what, p_registrant),
            HINT = 'A backfill or preview reads the table''s existing rows with your rights: you need SELECT on it (and on what the condition reads); nothing was registered.';
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._require_select(text, gamification.badge_rule, text, name) IS
    'Internal: 42501 unless the registrant may read the existing rows of a rule''s table (for a backfill or a preview).';

CREATE {{ or_replace }}FUNCTION gamification._backfill(p_code text, p_registrant name)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r gamification.badge_rule;
    v_target bigint := (gamification._badge_must_exist(p_code)).target;
    v_users text[];
    v_counts bigint[];
BEGIN
    SELECT * INTO r FROM gamification.badge_rule b WHERE b.badge_code = p_code;
    PERFORM gamification._require_select(pg_catalog.format('badge "%s"', p_code), r, 'backfill', p_registrant);
    BEGIN
        EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(g.user_id ORDER BY g.user_id), pg_catalog.array_agg(g.n ORDER BY g.user_id) FROM (%s) g',
                                  gamification._backfill_sql(r))
           INTO v_users, v_counts;
    EXCEPTION WHEN OTHERS THEN
        PERFORM gamification._rule_runtime_error(pg_catalog.format('badge "%s"', p_code), r, 'backfill', SQLSTATE, SQLERRM);
    END;
    IF v_users IS NULL THEN
        RETURN 0;
    END IF;
    IF NOT gamification._rule_counts(r) THEN
        RETURN gamification._grant_retroactive(p_code, v_users, 'backfill');
    END IF;
    -- A counting badge's progress becomes the count of rows that already exist.
    INSERT INTO gamification.progress AS p (user_id, badge_code, progress)
    SELECT u.user_id, p_code, u.n FROM ROWS FROM (pg_catalog.unnest(v_users), pg_catalog.unnest(v_counts)) AS u(user_id, n) ORDER BY u.user_id
    ON CONFLICT (user_id, badge_code) DO UPDATE SET progress = EXCLUDED.progress, updated_at = pg_catalog.now();
    RETURN gamification._grant_retroactive(p_code, ARRAY(SELECT u.user_id FROM ROWS FROM (pg_catalog.unnest(v_users), pg_catalog.unnest(v_counts)) AS u(user_id, n)
                                              WHERE u.n >= v_target ORDER BY u.user_id), 'backfill');
END;
$$;
COMMENT ON FUNCTION gamification._backfill(text, name) IS
    'Internal: award, set-based, every user who already meets a trigger badge over the existing rows (a counting badge''s progress is set to the rows counted), once the registrant may read them. Returns the number awarded.';

CREATE {{ or_replace }}FUNCTION gamification._preview_sql(r gamification.badge_rule, p_target bigint)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The users who already meet a rule over its table as it is now (reaching its target,
    -- for a counting one).
    SELECT CASE WHEN r.kind = 'counter' OR p_target IS NOT NULL
                THEN pg_catalog.format('SELECT g.user_id FROM (%s) g WHERE g.n >= %s',
                                       gamification._rule_counts_sql(r, gamification._qualified(r.table_name),
                                                                     gamification._qualified(r.table_name)),
                                       coalesce(p_target, 1))
                ELSE pg_catalog.format('SELECT DISTINCT q.user_id FROM (%s) q',
                                       gamification._rule_users_sql(r, gamification._qualified(r.table_name),
                                                                    gamification._qualified(r.table_name)))
           END
$$;
COMMENT ON FUNCTION gamification._preview_sql(gamification.badge_rule, bigint) IS
    'Internal: the query of the users a preview reports: those who already meet a rule (or reach its target) over its table as it is now.';

CREATE {{ or_replace }}FUNCTION gamification._badge_preview(p_definition jsonb, p_search_path text, p_registrant name)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_registrant name := gamification._registrant(p_registrant);
    v_label text;
    v_code text;
    v_target bigint;
    r gamification.badge_rule;
    v_query text;
    v_count bigint;
    v_sample jsonb;
    v_plan text := '';
    v_line text;
    v_function regprocedure;
BEGIN
    IF p_definition IS NULL OR pg_catalog.jsonb_typeof(p_definition) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'gamification.badge_preview(): the definition must be one JSON object',
            HINT = 'Pass the same object you would give gamification.badge_register().';
    END IF;
    v_label := gamification._label('badge', p_definition, 1);
    v_code := gamification._text_field(v_label, p_definition, 'code', true, true, 'Give the badge a "code".');
    v_target := gamification._int_field(v_label, p_definition, 'target', 1, NULL, 'a positive integer',
                                        'Omit "target" for a badge awarded at the first qualifying row.');
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(p_definition) k WHERE k = ANY (gamification._trigger_keys())) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = pg_catalog.format('%s: a preview needs a trigger badge (condition or counter)', v_label),
            HINT = 'Manual badges are awarded by gamification.badge_award(); there is nothing to preview.';
    END IF;
    -- Everything below, the predicate it compiles included, is undone at the end: a
    -- preview writes nothing (and a condition may only read: _predicate_problem).
    BEGIN
        r := gamification._rule_from_json(v_label, v_code, p_definition, p_search_path, v_registrant);
        v_function := gamification._predicate_install(v_label, r);
        PERFORM gamification._require_reads(v_label, v_function, v_registrant);
        PERFORM gamification._require_select(v_label, r, 'preview', v_registrant);
        v_query := gamification._preview_sql(r, v_target);
        BEGIN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM (%s) w', v_query) INTO v_count;
        EXCEPTION WHEN OTHERS THEN
            PERFORM gamification._rule_runtime_error(v_label, r, 'preview', SQLSTATE, SQLERRM);
        END;
        EXECUTE pg_catalog.format('SELECT coalesce(pg_catalog.jsonb_agg(s.user_id ORDER BY s.user_id), ''[]'') FROM (SELECT w.user_id FROM (%s) w ORDER BY 1 LIMIT 10) s', v_query)
           INTO v_sample;
        FOR v_line IN EXECUTE 'EXPLAIN ' || v_query LOOP
            v_plan := v_plan || v_line || E'\n';
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'GMPRV', MESSAGE = 'preview done';
    EXCEPTION WHEN SQLSTATE 'GMPRV' THEN
        NULL;  -- the variables keep what was computed; every write is undone
    END;
    RETURN pg_catalog.jsonb_build_object('code', v_code, 'would_award', v_count, 'sample', v_sample,
                                         'plan', pg_catalog.rtrim(v_plan, E'\n'));
END;
$$;
COMMENT ON FUNCTION gamification._badge_preview(jsonb, text, name) IS
    'Internal: badge_preview() for a registrant (checked by _registrant), with the search_path its names resolve with.';

CREATE {{ or_replace }}FUNCTION gamification.badge_preview(definition jsonb)
RETURNS jsonb
LANGUAGE plpgsql
-- No SET clause: the definition's names resolve with the caller's search_path.
AS $$
{{ error_vars }}
BEGIN
    RETURN gamification._badge_preview($1, gamification._caller_search_path(), current_user);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.badge_preview(jsonb) IS
    'Dry run of a trigger badge''s backfill: validates the definition as badge_register() would and returns {"code", "would_award": users who already meet it, "sample": up to 10 of them, "plan": EXPLAIN of the set-based query}. Writes nothing.';

CREATE {{ or_replace }}FUNCTION gamification._badge_unregister(p_code text, p_keep_awards boolean, p_registrant name)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_registrant name := gamification._registrant(p_registrant);
    v_code text := gamification._require_code('badge', p_code, 'gamification.badge_unregister()');
    v_table regclass;
    v_category text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM gamification.badge b WHERE b.code = v_code AND b.retired_at IS NULL) THEN
        RETURN false;
    END IF;
    PERFORM gamification._require_trigger_privilege(pg_catalog.format('badge "%s"', v_code), r, v_registrant)
       FROM gamification.badge_rule r WHERE r.badge_code = v_code;
    IF EXISTS (SELECT 1 FROM gamification.badge b JOIN gamification.leaderboard l ON l.category = b.category
                WHERE b.code = v_code) THEN
        PERFORM gamification._writers_pause();  -- before the revokes below lock users
    END IF;
    DELETE FROM gamification.badge_rule b WHERE b.badge_code = v_code RETURNING b.table_name INTO v_table;
    IF v_table IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = v_table) THEN
        PERFORM gamification._sync_table(v_table);
    END IF;
    IF NOT coalesce(p_keep_awards, true) THEN
        PERFORM gamification._revoke(v_code, ARRAY(SELECT a.user_id FROM gamification.award a
                                                    WHERE a.badge_code = v_code ORDER BY a.user_id), 'revoke');
    END IF;
    DELETE FROM gamification.progress p WHERE p.badge_code = v_code;
    IF EXISTS (SELECT 1 FROM gamification.award a WHERE a.badge_code = v_code) THEN
        -- Awards are kept, so the definition stays, retired: out of the catalogue,
        -- still behind the awards in user_badges. Registering the code again revives it.
        UPDATE gamification.badge b SET retired_at = pg_catalog.now(), updated_at = pg_catalog.now() WHERE b.code = v_code;
    ELSE
        DELETE FROM gamification.badge b WHERE b.code = v_code RETURNING b.category INTO v_category;
        IF v_category IS NOT NULL THEN  -- its past awards leave its category's boards
            PERFORM gamification._leaderboard_categories_rebuild(ARRAY[v_category]);
        END IF;
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION gamification._badge_unregister(text, boolean, name) IS
    'Internal: badge_unregister() for a registrant (checked by _registrant), who needs the TRIGGER privilege on the badge''s table.';

CREATE {{ or_replace }}FUNCTION gamification.badge_unregister(code text, keep_awards boolean DEFAULT true)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
{{ error_vars }}
BEGIN
    RETURN gamification._badge_unregister($1, $2, current_user);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.badge_unregister(text, boolean) IS
    'Remove a badge and its machinery: its trigger rule goes, and the table''s trigger and generated function with it when no other badge uses them. Awards already made are kept (the badge is retired: gone from the catalogue, still shown with its awards) unless keep_awards is false, which revokes them and subtracts their points. Returns false if no such badge is registered. Needs the TRIGGER privilege on the badge''s table.';

CREATE {{ or_replace }}FUNCTION gamification._badge_from_json(p_label text, p_code text, p_obj jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_item jsonb;
BEGIN
    -- One definition's badge fields (its code checked by _definition_code), validated and
    -- normalised; the trigger keys are the rule's: _rule_from_json.
    v_item := pg_catalog.jsonb_build_object(
        'code', p_code,
        'name', gamification._text_field(p_label, p_obj, 'name', true, false,
                    'Give every badge a non-empty "name".'),
        'description', gamification._text_field(p_label, p_obj, 'description', false, false,
                    'Omit "description" or give a string.'),
        'points', gamification._int_field(p_label, p_obj, 'points', 0, 0, 'an integer >= 0',
                    'Omit "points" for a badge worth nothing; use gamification.award_points() with a negative amount for a penalty.'),
        'category', gamification._text_field(p_label, p_obj, 'category', false, true,
                    'Omit "category" or give a category code; unknown categories are created.'),
        'target', gamification._int_field(p_label, p_obj, 'target', 1, NULL, 'a positive integer',
                    'Omit "target" for a badge without progression.'),
        'secret', gamification._bool_field(p_label, p_obj, 'secret', false,
                    'Omit "secret" for a badge everyone can see.'),
        'next', gamification._text_field(p_label, p_obj, 'next', false, true,
                    'Omit "next" or give the code of another badge.'),
        'point_type', gamification._point_type_field(p_label, p_obj),
        'definition', p_obj);
    IF v_item ->> 'next' = v_item ->> 'code' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('%s: field "next" must not be the badge itself', p_label),
            HINT = 'Give the code of another badge, or omit "next".';
    END IF;
    RETURN v_item;
END;
$$;
COMMENT ON FUNCTION gamification._badge_from_json(text, text, jsonb) IS
    'Internal: validate the badge fields of one definition and return them normalised (code, name, description, points, category, target, secret, next, point_type, definition). Raises documented SQLSTATEs naming the badge and field; writes nothing.';

CREATE {{ or_replace }}FUNCTION gamification._check_next(p_norm jsonb, p_codes text[])
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    v_cycle text[];
BEGIN
    -- Every "next" must exist by the end of the call (in this call or already registered).
    SELECT n.code, n.next INTO r
      FROM pg_catalog.jsonb_to_recordset(p_norm) AS n(code text, next text)
     WHERE n.next IS NOT NULL
       AND n.next <> ALL (p_codes)
       AND NOT EXISTS (SELECT 1 FROM gamification.badge b WHERE b.code = n.next)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '42704',
            MESSAGE = pg_catalog.format('badge "%s": field "next" refers to unknown badge "%s"', r.code, r.next),
            HINT = pg_catalog.format('Register badge "%s" in the same call or before.', r.next);
    END IF;
    -- No cycle through "next", over the registered badges as they will be after this call.
    WITH RECURSIVE
    input AS (
        SELECT n.code, n.next FROM pg_catalog.jsonb_to_recordset(p_norm) AS n(code text, next text)
    ),
    edges AS (
        SELECT i.code, i.next FROM input i WHERE i.next IS NOT NULL
        UNION ALL
        SELECT b.code, b.next FROM gamification.badge b WHERE b.next IS NOT NULL AND b.code <> ALL (p_codes)
    ),
    walk (start, cur, path) AS (
        SELECT e.code, e.next, ARRAY[e.code] FROM edges e WHERE e.code = ANY (p_codes)
        UNION ALL
        SELECT w.start, e.next, w.path || w.cur
          FROM walk w JOIN edges e ON e.code = w.cur
         WHERE w.cur <> w.start AND w.cur <> ALL (w.path)
    )
    SELECT w.path || w.cur INTO v_cycle FROM walk w WHERE w.cur = w.start ORDER BY w.start LIMIT 1;
    IF v_cycle IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('badge "%s": field "next" makes a cycle: %s', v_cycle[1],
                              pg_catalog.array_to_string(v_cycle, ' -> ')),
            HINT = 'Badges chained by "next" must not lead back to themselves.';
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._check_next(jsonb, text[]) IS
    'Internal: 42704 if a "next" of the normalised definitions names no badge (in this call or registered), 22023 if "next" makes a cycle.';

CREATE {{ or_replace }}FUNCTION gamification._badges_write(p_norm jsonb, p_codes text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_old jsonb;
    v_moved text[];
    r record;
BEGIN
    -- Categories first, then badges (locked in code order).
    INSERT INTO gamification.category (code, name)
    SELECT DISTINCT n.category, n.category
      FROM pg_catalog.jsonb_to_recordset(p_norm) AS n(category text)
     WHERE n.category IS NOT NULL
     ORDER BY 1
    ON CONFLICT (code) DO NOTHING;

    -- FOR NO KEY UPDATE, not FOR UPDATE: an award's foreign key check takes KEY SHARE
    -- on its badge's row, and the awarding writer may hold a user's lock that this
    -- registration then waits for (a lowered target awards): FOR UPDATE made that a deadlock.
    SELECT pg_catalog.jsonb_object_agg(b.code, b.target) INTO v_old
      FROM (SELECT b.code, b.target FROM gamification.badge b
             WHERE b.code = ANY (p_codes) ORDER BY b.code FOR NO KEY UPDATE) b;
    -- The categories badges move out of and into: their leaderboards are refilled below.
    SELECT pg_catalog.array_agg(DISTINCT c.category) INTO v_moved
      FROM gamification.badge b
      JOIN pg_catalog.jsonb_to_recordset(p_norm) AS n(code text, category text) ON n.code = b.code
     CROSS JOIN LATERAL (VALUES (b.category), (n.category)) AS c(category)
     WHERE b.category IS DISTINCT FROM n.category AND c.category IS NOT NULL;

    INSERT INTO gamification.badge AS b
           (code, name, description, points, category, target, secret, next, point_type, definition)
    SELECT n.code, n.name, n.description, n.points, n.category, n.target, n.secret, n.next, n.point_type, n.definition
      FROM pg_catalog.jsonb_to_recordset(p_norm)
           AS n(code text, name text, description text, points bigint, category text,
                target bigint, secret boolean, next text, point_type text, definition jsonb)
     ORDER BY n.code
    ON CONFLICT (code) DO UPDATE
       SET name = EXCLUDED.name, description = EXCLUDED.description, points = EXCLUDED.points,
           category = EXCLUDED.category, target = EXCLUDED.target, secret = EXCLUDED.secret,
           next = EXCLUDED.next, point_type = EXCLUDED.point_type, definition = EXCLUDED.definition,
           updated_at = pg_catalog.now(), retired_at = NULL;
    IF v_moved IS NOT NULL THEN  -- before the awards below take users' locks (_writers_pause)
        PERFORM gamification._leaderboard_categories_rebuild(v_moved);
    END IF;

    -- A new or changed target awards at once the users whose stored progress already
    -- reaches it, unless they hold the badge or it was revoked from them by hand (their
    -- last badge event for it is badge_revoked).
    FOR r IN
        SELECT n.code, n.target
          FROM pg_catalog.jsonb_to_recordset(p_norm) AS n(code text, target bigint)
         WHERE n.target IS NOT NULL
           AND (v_old IS NULL OR (v_old -> n.code) IS NULL OR (v_old ->> n.code)::bigint IS DISTINCT FROM n.target)
         ORDER BY n.code
    LOOP
        PERFORM gamification._grant_retroactive(r.code, ARRAY(
            SELECT p.user_id
              FROM gamification.progress p
             WHERE p.badge_code = r.code
               AND p.progress >= r.target
               AND NOT EXISTS (SELECT 1 FROM gamification.award a
                                WHERE a.user_id = p.user_id AND a.badge_code = r.code)
               AND coalesce((SELECT e.kind FROM gamification.event e
                              WHERE e.user_id = p.user_id AND e.subject = r.code
                                AND e.kind IN ('badge_awarded', 'badge_revoked', 'badge_reset')
                              ORDER BY e.id DESC LIMIT 1), '') <> 'badge_revoked'
             ORDER BY p.user_id), 'target');
    END LOOP;
END;
$$;
COMMENT ON FUNCTION gamification._badges_write(jsonb, text[]) IS
    'Internal: write validated, normalised badge definitions (categories created, badges upserted in code order), refill the leaderboards of the categories badges moved out of or into, and award at once the users whose stored progress reaches a new or changed target.';

CREATE {{ or_replace }}FUNCTION gamification._badge_keys()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['code', 'name', 'description', 'points', 'category', 'target', 'secret', 'next', 'point_type'] || gamification._trigger_keys()
$$;
COMMENT ON FUNCTION gamification._badge_keys() IS
    'Internal: every key a badge definition may have, trigger keys included.';

CREATE {{ or_replace }}FUNCTION gamification._badge_register(definitions jsonb, p_search_path text, p_registrant name)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_registrant name := gamification._registrant(p_registrant);
    v_defs jsonb := gamification._as_array('badge', definitions, 'badge_register');
    v_obj jsonb;
    v_idx integer;
    v_label text;
    v_item jsonb;
    v_codes text[] := '{}'::text[];
    v_norm jsonb := '[]'::jsonb;
    v_rules gamification.badge_rule[] := '{}'::gamification.badge_rule[];
    v_backfill text[] := '{}'::text[];
BEGIN
    -- 1. Validate every key of every definition, trigger keys included: nothing is
    --    written before all are valid.
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(v_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := gamification._label('badge', v_obj, v_idx);
        v_item := gamification._badge_from_json(v_label,
            gamification._definition_code('badge', v_label, v_obj, gamification._badge_keys(), v_idx, v_codes), v_obj);
        v_codes := v_codes || (v_item ->> 'code');
        v_norm := v_norm || pg_catalog.jsonb_build_array(v_item);
        IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(v_obj) k WHERE k = ANY (gamification._trigger_keys())) THEN
            v_rules := v_rules || gamification._rule_from_json(v_label, v_item ->> 'code', v_obj, p_search_path, v_registrant);
            IF gamification._bool_field(v_label, v_obj, 'backfill', false, '') THEN
                v_backfill := v_backfill || (v_item ->> 'code');
            END IF;
        END IF;
    END LOOP;
    PERFORM gamification._check_next(v_norm, v_codes);
    -- 2. Write the registry: badges, then rules (their predicates compiled and checked),
    -- 3. install the generated functions and triggers, 4. run the backfills asked for.
    PERFORM gamification._badges_write(v_norm, v_codes);
    PERFORM gamification._rules_apply(v_codes, v_rules, v_backfill, v_registrant);
    RETURN QUERY SELECT pg_catalog.unnest(v_codes);
END;
$$;
COMMENT ON FUNCTION gamification._badge_register(jsonb, text, name) IS
    'Internal: badge_register() for a registrant (checked by _registrant: it writes the registry as the extension''s owner), with the search_path (the registrant''s) that trigger badges'' names resolve with. Validates everything, then writes badges, rules, generated code and backfills, in that order.';
CREATE {{ or_replace }}FUNCTION gamification.badge_register(definitions jsonb)
RETURNS SETOF text
LANGUAGE plpgsql
-- No SET clause on purpose: a trigger badge's table and condition resolve with the
-- caller's search_path (see _caller_search_path), and its rights are the caller's.
AS $$
{{ error_vars }}
BEGIN
    RETURN QUERY SELECT gamification._badge_register($1, gamification._caller_search_path(), current_user);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.badge_register(jsonb) IS
    'Register one badge (JSON object) or several (JSON array of objects). Keys: code (required), name (required), description, points (integer >= 0, default 0), point_type (the registered point type its points are paid in, default points), category (created if unknown), target (positive integer or null), secret (default false), next (code of another badge, may come later in the same array; no cycles). Trigger badges add condition, trigger_condition, trigger_table, user_field, update_of (the django-pg-badges badge.json format) or counter, and backfill, fire_on_replica: see the README. An existing code is updated in place; omitted keys go back to their defaults. A new or changed target awards at once users whose stored progress reaches it. The whole input is validated before anything is written. Returns the codes registered. Idempotent.';

CREATE {{ or_replace }}FUNCTION gamification._badge_form(p_badge jsonb, r gamification.badge_rule)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- What a badge is, in one comparable form: its badge fields and its rule, the table by
    -- OID. Built from the registry's columns for a badge in force, and from a validated
    -- definition for a file's badge, so an edit behind the file's back shows.
    SELECT pg_catalog.jsonb_build_object(
        'name', p_badge -> 'name', 'description', p_badge -> 'description', 'points', p_badge -> 'points',
        'category', p_badge -> 'category', 'target', p_badge -> 'target', 'secret', p_badge -> 'secret',
        'next', p_badge -> 'next', 'point_type', p_badge -> 'point_type',
        'rule', CASE WHEN r.badge_code IS NOT NULL THEN pg_catalog.jsonb_build_object(
            'kind', r.kind, 'table', r.table_name::oid, 'event', r.event, 'user_field', r.user_field,
            'condition', r.condition, 'counter_where', r.counter_where, 'update_of', pg_catalog.to_jsonb(r.update_of),
            'search_path', r.search_path, 'fire_on_replica', r.fire_on_replica) END)
$$;
COMMENT ON FUNCTION gamification._badge_form(jsonb, gamification.badge_rule) IS
    'Internal: a badge''s fields (name, description, points, category, target, secret, next, point_type) and rule (NULL for a manual badge) as one jsonb, for comparing what is in force with a definition.';

CREATE {{ or_replace }}FUNCTION gamification._sync_plan(p_defs jsonb, p_prune boolean, p_search_path text)
RETURNS TABLE (code text, action text, definition jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_obj jsonb;
    v_idx integer;
    v_label text;
    v_item jsonb;
    v_codes text[] := '{}'::text[];
    r gamification.badge_rule;
BEGIN
    -- Each definition validated and resolved as a registration would (but for the caller's
    -- rights: a kept badge is never registered again), then compared with what is in force:
    -- the badge's and its rule's columns, and the definition recorded.
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(p_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := gamification._label('badge', v_obj, v_idx);
        v_item := gamification._badge_from_json(v_label,
            gamification._definition_code('badge', v_label, v_obj, gamification._badge_keys(), v_idx, v_codes), v_obj);
        v_codes := v_codes || (v_item ->> 'code');
        r := NULL;
        IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(v_obj) k WHERE k = ANY (gamification._trigger_keys())) THEN
            r := gamification._rule_resolve(v_label, v_item ->> 'code', v_obj, p_search_path);
        END IF;
        SELECT v_item ->> 'code',
               CASE WHEN b.code IS NULL OR b.retired_at IS NOT NULL THEN 'add'
                    WHEN b.definition = v_obj
                         AND gamification._badge_form(pg_catalog.to_jsonb(b), (SELECT x FROM gamification.badge_rule x
                                                                                WHERE x.badge_code = b.code))
                             = gamification._badge_form(v_item, r) THEN 'keep'
                    ELSE 'change' END,
               v_obj
          INTO code, action, definition
          FROM (SELECT 1) one LEFT JOIN gamification.badge b ON b.code = v_item ->> 'code';
        RETURN NEXT;
    END LOOP;
    -- Registered badges the definitions do not list: removed only when asked.
    RETURN QUERY SELECT b.code, CASE WHEN p_prune THEN 'remove' ELSE 'unlisted' END, NULL::jsonb
                   FROM gamification.badge b WHERE b.retired_at IS NULL AND b.code <> ALL (v_codes);
END;
$$;
COMMENT ON FUNCTION gamification._sync_plan(jsonb, boolean, text) IS
    'Internal: badge_sync()''s plan: each definition (validated, names resolved with the given search_path, the caller''s rights not checked) with add, change (its definition, fields or rule differ from what is in force) or keep, and each registered badge not listed with remove (p_prune) or unlisted.';

CREATE {{ or_replace }}FUNCTION gamification._badge_sync(p_definitions jsonb, p_dry_run boolean, p_prune boolean,
                                                         p_search_path text, p_registrant name)
RETURNS TABLE (code text, action text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_registrant name := gamification._registrant(p_registrant);
    v_defs jsonb := gamification._as_array('badge', p_definitions, 'gamification.badge_sync()');
    v_codes text[];
    v_actions text[];
    v_changed jsonb;
    v_code text;
BEGIN
    -- The plan, taken before anything changes. Kept in variables rather than a temp
    -- table: nothing to create per call, and every statement can be checked statically.
    SELECT pg_catalog.array_agg(s.code ORDER BY s.code), pg_catalog.array_agg(s.action ORDER BY s.code),
           coalesce(pg_catalog.jsonb_agg(s.definition ORDER BY s.code) FILTER (WHERE s.action IN ('add', 'change')), '[]')
      INTO v_codes, v_actions, v_changed
      FROM gamification._sync_plan(v_defs, coalesce(p_prune, false), p_search_path) s;
    -- Only what is added or changed is registered, with the caller's rights (checked even
    -- in a dry run: the registration runs, then is undone); kept badges are left as they
    -- are, whoever registered them.
    BEGIN
        IF pg_catalog.jsonb_array_length(v_changed) > 0 THEN
            PERFORM gamification._badge_register(v_changed, p_search_path, v_registrant);
        END IF;
        FOR v_code IN SELECT p.code FROM ROWS FROM (pg_catalog.unnest(v_codes), pg_catalog.unnest(v_actions)) AS p(code, action)
                       WHERE p.action = 'remove' ORDER BY p.code LOOP
            PERFORM gamification._badge_unregister(v_code, true, v_registrant);
        END LOOP;
        IF p_dry_run THEN
            RAISE EXCEPTION USING ERRCODE = 'GMDRY', MESSAGE = 'dry run';
        END IF;
    EXCEPTION WHEN SQLSTATE 'GMDRY' THEN
        NULL;
    END;
    RETURN QUERY SELECT p.code, p.action FROM ROWS FROM (pg_catalog.unnest(v_codes), pg_catalog.unnest(v_actions)) AS p(code, action) ORDER BY p.code;
END;
$$;
COMMENT ON FUNCTION gamification._badge_sync(jsonb, boolean, boolean, text, name) IS
    'Internal: badge_sync() for a registrant (checked by _registrant), with the search_path its names resolve with.';

CREATE {{ or_replace }}FUNCTION gamification.badge_sync(definitions jsonb, dry_run boolean DEFAULT false,
                                                        prune boolean DEFAULT false)
RETURNS TABLE (code text, action text)
LANGUAGE plpgsql
-- No SET clause: the definitions' names resolve with the caller's search_path.
AS $$
{{ error_vars }}
BEGIN
    RETURN QUERY SELECT * FROM gamification._badge_sync($1, $2, $3, gamification._caller_search_path(), current_user);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.badge_sync(jsonb, boolean, boolean) IS
    'Make the registered badges the given array, in one transaction: add the new codes and change those whose definition, fields or rule differ from what is in force (an edit behind the definitions'' back included), with the caller''s rights; badges that are the same are kept untouched, whoever registered them. Registered badges not listed are kept (action unlisted) unless prune is true, which unregisters them, keeping their awards (action remove). Returns each code with add, change, keep, unlisted or remove. With dry_run, validates everything and returns the plan without changing anything.';
