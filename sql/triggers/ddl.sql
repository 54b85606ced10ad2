-- Living with the application's migrations: event triggers that keep trigger badges
-- working through ALTER TABLE and refuse, by name, the drops that would break them.
--
-- A predicate depends on the columns it reads (that is what makes it follow renames and
-- resolve once), and PostgreSQL refuses ALTER COLUMN TYPE on a column a function
-- depends on. An event trigger at ddl_command_start cannot see which table a statement
-- will alter, so before every ALTER TABLE or DROP TABLE (and only while trigger badges
-- exist) the predicates are set aside: each rule's columns and its condition as
-- PostgreSQL deparsed it are kept in a transaction-local setting, and the predicates are
-- dropped (function DDL: no lock on any table). At ddl_command_end:
--   1. renames are followed: a rule's user_field and update_of by column number, its
--      condition by renaming the columns and tables in the deparsed text;
--   2. every predicate is compiled again from the registry and checked as at
--      registration (a type change is thus re-resolved: int to bigint just works);
--   3. generated trigger functions are regenerated where a name changed (nothing else
--      is touched: an unrelated ALTER TABLE locks no tracked table beyond the
--      ACCESS SHARE that compiling a condition takes).
-- A badge the statement would break (a condition that no longer compiles on a table the
-- statement touched, its user column or table dropped) makes the statement fail with
-- 2BP01, naming the badge and the fix; nothing is ever broken silently.
-- The machinery's own DDL (ALTER TABLE ... ENABLE TRIGGER, dropping predicates) runs
-- with gamification.ddl_quiet on, which these handlers skip.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._regex_literal(p_text text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- In an ARE a backslash before any character that is not alphanumeric makes it literal.
    SELECT pg_catalog.regexp_replace(p_text, '([^[:alnum:]_])', '\\\1', 'g')
$$;
COMMENT ON FUNCTION gamification._regex_literal(text) IS
    'Internal: a text escaped to match itself in a regular expression.';

CREATE {{ or_replace }}FUNCTION gamification._deparsed_condition(r gamification.badge_rule, p_function regprocedure)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- What PostgreSQL holds of a predicate (objects by identity, so renames included),
    -- written back as a condition: NEW.x rather than (new).x or (cond_..._hash.new).x,
    -- tables schema-qualified, and a query-form condition without the (SELECT ...) that
    -- _predicate_sql wrapped it in.
    SELECT CASE WHEN r.kind = 'condition' AND NOT gamification._condition_is_expression(r.condition)
                THEN pg_catalog.regexp_replace(c, '^\(SELECT (.*)\)$', '\1')
                ELSE c END
      FROM (SELECT pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.regexp_replace(
                       pg_catalog.pg_get_function_sqlbody(p_function), '^RETURN ', ''),
                       '\((?:[[:alnum:]_]+\.)?new\)\.', 'NEW.', 'g'), '\((?:[[:alnum:]_]+\.)?old\)\.', 'OLD.', 'g') AS c) x
$$;
COMMENT ON FUNCTION gamification._deparsed_condition(gamification.badge_rule, regprocedure) IS
    'Internal: a rule''s predicate body as PostgreSQL deparses it, in the rule''s condition form (NEW./OLD. columns, qualified tables).';

CREATE {{ or_replace }}FUNCTION gamification._ddl_snapshot(r gamification.badge_rule)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Everything needed to follow a rename: the table's columns by number, the
    -- relations the predicate reads by OID (with their names and aliases now), and the
    -- condition as deparsed before the statement.
    SELECT pg_catalog.jsonb_build_object(
        'code', r.badge_code,
        'table', r.table_name::oid,
        'columns', (SELECT pg_catalog.jsonb_object_agg(a.attnum, a.attname) FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid = r.table_name AND a.attnum > 0 AND NOT a.attisdropped),
        'reads', (SELECT pg_catalog.jsonb_object_agg(c.oid, pg_catalog.jsonb_build_array(gamification._qualified(c.oid), c.relname))
                    FROM pg_catalog.pg_class c
                   WHERE c.oid = r.table_name
                      OR c.oid IN (SELECT d.refobjid FROM pg_catalog.pg_depend d
                                    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = x.p
                                      AND d.refclassid = 'pg_catalog.pg_class'::regclass)),
        'body', CASE WHEN x.p IS NOT NULL THEN gamification._deparsed_condition(r, x.p) END)
      FROM (SELECT gamification._predicate_of(r) AS p) x
$$;
COMMENT ON FUNCTION gamification._ddl_snapshot(gamification.badge_rule) IS
    'Internal: what _ddl_follow needs to follow renames of a rule''s columns and tables: its table''s columns by number, the relations its predicate reads and its deparsed condition, taken before a statement.';

CREATE {{ or_replace }}FUNCTION gamification._renamed_condition(p_snapshot jsonb, p_renames jsonb)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_body text := p_snapshot ->> 'body';
    v_renamed boolean := false;
    v_key text;
    v_old text;
    v_new text;
    v_names jsonb;
BEGIN
    -- Columns of the rule's table renamed since the snapshot (p_renames, old -> new):
    -- NEW.old -> NEW.new.
    FOR v_old, v_new IN SELECT * FROM pg_catalog.jsonb_each_text(p_renames) LOOP
        v_body := pg_catalog.regexp_replace(v_body,
            '\m(NEW|OLD)\.' || gamification._regex_literal(pg_catalog.quote_ident(v_old)) || '(?![[:alnum:]_$])',
            '\1.' || pg_catalog.replace(pg_catalog.quote_ident(v_new), '\', '\\'), 'g');
        v_renamed := true;
    END LOOP;
    -- Relations renamed (or moved) since: their qualified name, and the name that
    -- deparsing used as their alias.
    FOR v_key, v_names IN SELECT * FROM pg_catalog.jsonb_each(p_snapshot -> 'reads') LOOP
        SELECT gamification._qualified(c.oid), c.relname::text INTO v_old, v_new FROM pg_catalog.pg_class c WHERE c.oid = v_key::oid;
        IF v_old IS DISTINCT FROM (v_names ->> 0) AND v_old IS NOT NULL THEN
            v_body := pg_catalog.replace(v_body, v_names ->> 0, v_old);
            v_body := pg_catalog.regexp_replace(v_body,
                '(?<![[:alnum:]_$.])' || gamification._regex_literal(pg_catalog.quote_ident(v_names ->> 1)) || '\.',
                pg_catalog.replace(pg_catalog.quote_ident(v_new), '\', '\\') || '.', 'g');
            v_renamed := true;
        END IF;
    END LOOP;
    RETURN CASE WHEN v_renamed THEN v_body END;
END;
$$;
COMMENT ON FUNCTION gamification._renamed_condition(jsonb, jsonb) IS
    'Internal: a rule''s condition (from its snapshot) with the columns renamed by the statement (p_renames, old name -> new name) and the relations renamed since the snapshot renamed in it, or NULL if nothing it uses was renamed.';

CREATE {{ or_replace }}FUNCTION gamification._ddl_follow(p_snapshot jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r gamification.badge_rule;
    v_renames jsonb;
    v_condition text;
BEGIN
    SELECT * INTO r FROM gamification.badge_rule b WHERE b.badge_code = p_snapshot ->> 'code';
    IF NOT FOUND OR gamification._qualified(r.table_name) IS NULL THEN
        RETURN;
    END IF;
    -- old name -> new name, for the columns of the rule's table renamed by the statement.
    SELECT pg_catalog.jsonb_object_agg(c.value, a.attname) INTO v_renames
      FROM pg_catalog.jsonb_each_text(p_snapshot -> 'columns') c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = r.table_name AND a.attnum = c.key::smallint AND NOT a.attisdropped
     WHERE a.attname <> c.value;
    v_renames := coalesce(v_renames, '{}');
    v_condition := gamification._renamed_condition(p_snapshot, v_renames);
    IF v_renames = '{}' AND v_condition IS NULL THEN
        RETURN;
    END IF;
    UPDATE gamification.badge_rule b
       SET user_field = coalesce(v_renames ->> b.user_field, b.user_field),
           update_of = (SELECT pg_catalog.array_agg(coalesce(v_renames ->> u.c, u.c)::name ORDER BY u.o)
                          FROM pg_catalog.unnest(b.update_of) WITH ORDINALITY AS u(c, o)),
           condition = CASE WHEN b.kind = 'condition' THEN coalesce(v_condition, b.condition) END,
           counter_where = CASE WHEN b.counter_where IS NOT NULL THEN coalesce(v_condition, b.counter_where) END
     WHERE b.badge_code = r.badge_code;
END;
$$;
COMMENT ON FUNCTION gamification._ddl_follow(jsonb) IS
    'Internal: follow in the registry the renames a statement made to what a rule uses (its user_field, update_of, and the columns and tables in its condition).';

CREATE {{ or_replace }}FUNCTION gamification._ddl_hint(p_code text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('Unregister the badge first (SELECT gamification.badge_unregister(%L); its awards are kept), or register it again without that, earlier in the same migration (Django: a RunSQL operation before this one). Nothing was changed.', p_code)
$$;
COMMENT ON FUNCTION gamification._ddl_hint(text) IS
    'Internal: the hint of a refused DDL statement (2BP01): how to change or unregister the badge it would break first.';

CREATE {{ or_replace }}FUNCTION gamification._ddl_before()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r gamification.badge_rule;
BEGIN
    IF gamification._ddl_quiet() OR NOT EXISTS (SELECT 1 FROM gamification.badge_rule) THEN
        RETURN;
    END IF;
    PERFORM pg_catalog.set_config('gamification.ddl_snapshot',
        (SELECT pg_catalog.jsonb_agg(gamification._ddl_snapshot(b) ORDER BY b.badge_code)::text
           FROM gamification.badge_rule b
          WHERE gamification._qualified(b.table_name) IS NOT NULL), true);
    PERFORM gamification._ddl_quiet(true);
    FOR r IN SELECT * FROM gamification.badge_rule b ORDER BY b.badge_code LOOP  -- one order: no deadlock between two migrations
        PERFORM gamification._predicate_drop(r.badge_code);
    END LOOP;
    PERFORM gamification._ddl_quiet(false);
END;
$$;
COMMENT ON FUNCTION gamification._ddl_before() IS
    'Internal (event trigger gamification_ddl_before, ddl_command_start of ALTER TABLE and DROP TABLE): keep what renames need to be followed, and set the predicates aside so that a column''s type can change under them.';

CREATE {{ or_replace }}FUNCTION gamification._ddl_rebuild(p_touched oid[])
RETURNS TABLE (code text, problem text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r gamification.badge_rule;
    v_reads oid[];
BEGIN
    -- Returns the first badge the statement broke (a table it touched), to be refused by
    -- the caller; badges broken by nothing this statement did are only warned about.
    FOR r IN SELECT * FROM gamification.badge_rule b ORDER BY b.badge_code LOOP
        BEGIN
            PERFORM gamification._predicate_install(pg_catalog.format('badge "%s"', r.badge_code), r);
        EXCEPTION WHEN OTHERS THEN
            SELECT pg_catalog.array_agg(k::oid) INTO v_reads
              FROM pg_catalog.jsonb_array_elements(pg_catalog.current_setting('gamification.ddl_snapshot')::jsonb) s,
                   pg_catalog.jsonb_object_keys(s -> 'reads') k
             WHERE s ->> 'code' = r.badge_code;
            IF r.table_name::oid = ANY (p_touched) OR v_reads && p_touched THEN
                RETURN QUERY SELECT r.badge_code, SQLERRM;
                RETURN;
            END IF;
            RAISE WARNING USING MESSAGE = pg_catalog.format('gamification: badge "%s" cannot be evaluated: %s', r.badge_code, SQLERRM),
                                HINT = 'See SELECT * FROM gamification.badge_status WHERE broken IS NOT NULL.';
        END;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION gamification._ddl_rebuild(oid[]) IS
    'Internal: compile every predicate again after a statement; returns the first badge the statement broke on a table it touched (with why), and warns about others.';

CREATE {{ or_replace }}FUNCTION gamification._ddl_after()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_snapshot jsonb := NULLIF(pg_catalog.current_setting('gamification.ddl_snapshot', true), '')::jsonb;
    v_touched oid[];
    v_table regclass;
    v_code text;
    v_problem text;
BEGIN
    IF gamification._ddl_quiet() OR v_snapshot IS NULL THEN
        RETURN;
    END IF;
    SELECT pg_catalog.array_agg(DISTINCT c.objid) INTO v_touched FROM pg_catalog.pg_event_trigger_ddl_commands() c
     WHERE c.classid = 'pg_catalog.pg_class'::regclass;
    PERFORM gamification._ddl_quiet(true);
    PERFORM gamification._ddl_follow(s) FROM pg_catalog.jsonb_array_elements(v_snapshot) s;
    SELECT x.code, x.problem INTO v_code, v_problem FROM gamification._ddl_rebuild(coalesce(v_touched, '{}')) x;
    IF v_code IS NOT NULL THEN  -- raised here, so that the user reads the message, not our call stack
        RAISE EXCEPTION USING ERRCODE = '2BP01', MESSAGE = 'this statement would break ' || v_problem,
                              HINT = gamification._ddl_hint(v_code);
    END IF;
    PERFORM pg_catalog.set_config('gamification.ddl_snapshot', '', true);
    -- Regenerate what changed (a renamed column or table) where the extension's triggers
    -- are; installing missing ones is triggers_sync()'s job (pg_restore creates them
    -- itself, after the ALTER TABLEs of its data section).
    FOR v_table IN SELECT DISTINCT b.table_name FROM gamification.badge_rule b
                    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                   WHERE t.tgrelid = b.table_name AND gamification._is_generated(t.tgfoid))
                    ORDER BY 1 LOOP
        PERFORM gamification._sync_table(v_table);
    END LOOP;
    PERFORM gamification._ddl_quiet(false);
END;
$$;
COMMENT ON FUNCTION gamification._ddl_after() IS
    'Internal (event trigger gamification_ddl_after, ddl_command_end of ALTER TABLE and DROP TABLE): follow renames, compile every predicate again and regenerate what changed; 2BP01 if the statement broke a badge.';

CREATE {{ or_replace }}FUNCTION gamification._ddl_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_code text;
    v_what text;
BEGIN
    IF gamification._ddl_quiet() OR EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_dropped_objects() d
                                             WHERE d.object_type = 'extension' AND d.object_name = 'gamification') THEN
        RETURN;
    END IF;
    -- A badge's table, its user column or an update_of column, or a relation its
    -- condition reads (known from the snapshot), dropped while the badge is registered.
    SELECT b.badge_code,
           CASE WHEN d.objsubid = 0 THEN pg_catalog.format('table %s', d.object_identity)
                ELSE pg_catalog.format('column %s', d.object_identity) END
      INTO v_code, v_what
      FROM gamification.badge_rule b
      JOIN pg_catalog.pg_event_trigger_dropped_objects() d
        ON d.classid = 'pg_catalog.pg_class'::regclass
       AND ((d.objid = b.table_name AND (d.objsubid = 0 OR d.address_names[3] = b.user_field
                                         OR d.address_names[3] = ANY (coalesce(b.update_of, '{}'))))
            OR (d.objsubid = 0 AND EXISTS (
                   SELECT 1 FROM pg_catalog.jsonb_array_elements(
                                     coalesce(NULLIF(pg_catalog.current_setting('gamification.ddl_snapshot', true), ''), '[]')::jsonb) s
                    WHERE s ->> 'code' = b.badge_code AND s -> 'reads' ? d.objid::text)))
     ORDER BY b.badge_code LIMIT 1;
    IF v_code IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '2BP01', MESSAGE = pg_catalog.format('badge "%s" uses %s', v_code, v_what),
                              HINT = gamification._ddl_hint(v_code);
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._ddl_drop() IS
    'Internal (event trigger gamification_ddl_drop, sql_drop): refuse (2BP01) a statement that drops a registered badge''s table, user or update_of column, or a table its condition reads.';

-- Event triggers need a superuser; an installer that is not one (pg_tle) goes without,
-- and says what that means.
DO $events$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        CREATE EVENT TRIGGER gamification_ddl_before ON ddl_command_start
            WHEN TAG IN ('ALTER TABLE', 'DROP TABLE') EXECUTE FUNCTION gamification._ddl_before();
        CREATE EVENT TRIGGER gamification_ddl_after ON ddl_command_end
            WHEN TAG IN ('ALTER TABLE', 'DROP TABLE') EXECUTE FUNCTION gamification._ddl_after();
        CREATE EVENT TRIGGER gamification_ddl_drop ON sql_drop
            EXECUTE FUNCTION gamification._ddl_drop();
    ELSE
        RAISE WARNING USING
            MESSAGE = 'gamification: no event triggers (they need a superuser): trigger badges will not follow ALTER TABLE on tracked tables',
            HINT = 'Changing the type of a column a badge reads will fail, and renames will break badges until they are registered again: see docs/reference.md, "Schema changes".';
    END IF;
END
$events$;
