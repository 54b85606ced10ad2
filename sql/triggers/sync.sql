-- Installing the generated machinery on users' tables, as django-pgtrigger does:
-- deterministic names, a hash of the generated SQL to detect drift, install and prune
-- in the caller's transaction. The hash lives in the comment of the generated function.
-- A trigger is the extension's only if its function is one of those generated
-- functions: other triggers are never touched. Everything here runs as the extension's
-- owner (its callers are SECURITY DEFINER) and hands what it creates to
-- gamification_runner; it regenerates from the registry only, re-checking every
-- condition (_predicate_install) before anything is generated.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._ddl_quiet(p_on boolean DEFAULT NULL)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    -- With p_on: switch the machinery's own DDL on or off (transaction-local). Returns
    -- whether it is on.
    SELECT coalesce(CASE WHEN p_on IS NULL THEN pg_catalog.current_setting('gamification.ddl_quiet', true)
                         ELSE pg_catalog.set_config('gamification.ddl_quiet', CASE WHEN p_on THEN 'on' ELSE '' END, true) END,
                    '') = 'on'
$$;
COMMENT ON FUNCTION gamification._ddl_quiet(boolean) IS
    'Internal: whether DDL now running is the machinery''s own (the event triggers ignore it); with an argument, say so or stop saying so, until the end of the transaction.';

CREATE {{ or_replace }}FUNCTION gamification._generated_comment(p_table regclass, p_event text, p_row boolean,
                                                                 p_function_sql text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The hash of what was rendered (once, by the caller), its trigger and the predicates
    -- it calls, which are part of what it is.
    SELECT pg_catalog.format('gamification: generated trigger function for %s %s%s; do not edit (generator %s, hash %s)',
               gamification._qualified(p_table), pg_catalog.upper(p_event), CASE WHEN p_row THEN ' OF' ELSE '' END,
               gamification._generator_version(),
               pg_catalog.md5(p_function_sql || E'\n' || gamification._trigger_sql(p_table, p_event, p_row)
                              || (SELECT pg_catalog.string_agg(gamification._predicate_sql(b), E'\n' ORDER BY b.badge_code)
                                    FROM gamification._rules_of(p_table, p_event, p_row) b)))
$$;
COMMENT ON FUNCTION gamification._generated_comment(regclass, text, boolean, text) IS
    'Internal: the comment a generated trigger function carries, from its rendered SQL: what it is for, the generator version and the hash of it, its trigger and its predicates.';

CREATE {{ or_replace }}FUNCTION gamification._trigger_function_comment(p_table regclass, p_event text, p_row boolean)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT gamification._generated_comment(p_table, p_event, p_row, f)
      FROM gamification._trigger_function_sql(p_table, p_event, p_row) f
$$;
COMMENT ON FUNCTION gamification._trigger_function_comment(regclass, text, boolean) IS
    'Internal: the comment a generated trigger function carries when it and its trigger are exactly what the registry generates, hash included (NULL if no badge needs that trigger).';

CREATE {{ or_replace }}FUNCTION gamification._is_generated(p_function oid)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                    WHERE p.oid = p_function AND p.pronamespace = 'gamification'::regnamespace
                      AND pg_catalog.obj_description(p.oid, 'pg_proc') LIKE 'gamification: generated %')
$$;
COMMENT ON FUNCTION gamification._is_generated(oid) IS
    'Internal: whether a function is a trigger function the extension generated.';

CREATE {{ or_replace }}FUNCTION gamification._our_trigger(p_table regclass, p_name name)
RETURNS oid
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_oid oid;
    v_function oid;
BEGIN
    SELECT t.oid, t.tgfoid INTO v_oid, v_function FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = p_table AND t.tgname = p_name;
    IF v_oid IS NOT NULL AND NOT gamification._is_generated(v_function) THEN
        RAISE EXCEPTION USING ERRCODE = '42710',
            MESSAGE = pg_catalog.format('table %s already has a trigger named %s that the gamification extension did not create',
                              gamification._qualified(p_table), p_name),
            HINT = 'Rename that trigger; the extension uses the names gamification_on_insert, _on_update, _on_delete and _on_update_of.';
    END IF;
    RETURN v_oid;
END;
$$;
COMMENT ON FUNCTION gamification._our_trigger(regclass, name) IS
    'Internal: the OID of the extension''s trigger of that name on a table, NULL if absent; raises 42710 if a trigger of that name exists that the extension did not create.';

CREATE {{ or_replace }}FUNCTION gamification._prune_functions()
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_fn regprocedure;
BEGIN
    -- Trigger functions no trigger uses, predicates of rules that are gone.
    FOR v_fn IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'gamification'::regnamespace AND gamification._is_generated(p.oid)
           AND CASE WHEN p.prorettype = 'pg_catalog.trigger'::regtype
                    THEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgfoid = p.oid)
                    ELSE NOT EXISTS (SELECT 1 FROM gamification.badge_rule b
                                      WHERE gamification._predicate_name(b.badge_code) = p.proname) END
         ORDER BY 1
    LOOP
        EXECUTE pg_catalog.format('DROP FUNCTION %s', v_fn);
        RETURN NEXT pg_catalog.format('dropped function %s', v_fn);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION gamification._prune_functions() IS
    'Internal: drop generated trigger functions that no trigger uses any more, and predicates whose rule is gone.';

CREATE {{ or_replace }}FUNCTION gamification._predicates_sync(p_table regclass)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r gamification.badge_rule;
BEGIN
    -- Each condition is compiled into its predicate and checked (or kept if unchanged).
    -- One that is refused (a rule edited outside the API, a column dropped under it) gets
    -- no predicate, so no generated code calls it: it is skipped, with a WARNING, and
    -- badge_status reports it broken.
    FOR r IN SELECT * FROM gamification.badge_rule b WHERE b.table_name = p_table ORDER BY b.badge_code LOOP
        BEGIN
            -- The columns the generated code compares itself, then the condition.
            PERFORM gamification._require_plain_type(pg_catalog.format('badge "%s"', r.badge_code), 'update_of', r.table_name, c)
               FROM pg_catalog.unnest(r.update_of) c;
            PERFORM gamification._predicate_install(pg_catalog.format('badge "%s"', r.badge_code), r);
        EXCEPTION WHEN OTHERS THEN
            PERFORM gamification._predicate_drop(r.badge_code);
            RAISE WARNING USING MESSAGE = pg_catalog.format('gamification: badge "%s" skipped: %s', r.badge_code, SQLERRM),
                                HINT = 'See SELECT * FROM gamification.badge_status WHERE broken IS NOT NULL.';
            RETURN NEXT pg_catalog.format('skipped badge %s: %s', r.badge_code, SQLERRM);
        END;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION gamification._predicates_sync(regclass) IS
    'Internal: compile and check the predicate of every rule on a table (kept when unchanged); a refused one is dropped and reported (one line per skipped badge), never installed.';

CREATE {{ or_replace }}FUNCTION gamification._sync_table(p_table regclass)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_event text;
    v_row boolean;
    v_name name;
    v_function_sql text;
    v_comment text;
    v_trigger oid;
    v_function regprocedure;
    v_replica boolean;
BEGIN
    -- One loop over the four triggers a table may have (64 lines, kept whole: handing the
    -- generated SQL to a helper through a text parameter is what plpgsql_check flags).
    RETURN QUERY SELECT gamification._predicates_sync(p_table);  -- conditions first
    FOR v_event, v_row IN SELECT e.event, e.row_level FROM gamification._trigger_events() e LOOP
        v_name := gamification._trigger_name(v_event, v_row);
        v_trigger := gamification._our_trigger(p_table, v_name);
        v_function_sql := gamification._trigger_function_sql(p_table, v_event, v_row);
        IF v_function_sql IS NULL THEN
            IF v_trigger IS NOT NULL THEN
                EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', v_name, gamification._qualified(p_table));
                RETURN NEXT pg_catalog.format('dropped trigger %s on %s', v_name, gamification._qualified(p_table));
            END IF;
            CONTINUE;
        END IF;
        v_comment := gamification._generated_comment(p_table, v_event, v_row, v_function_sql);  -- rendered once
        IF v_trigger IS NULL
           OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
                           WHERE t.oid = v_trigger
                             AND p.proname = gamification._trigger_function_name(p_table, v_event, v_row)
                             AND p.pronamespace = 'gamification'::regnamespace
                             AND pg_catalog.obj_description(p.oid, 'pg_proc') = v_comment) THEN
            EXECUTE v_function_sql;
            v_function := pg_catalog.format('gamification.%I()',
                                            gamification._trigger_function_name(p_table, v_event, v_row))::regprocedure;
            EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO gamification_runner', v_function);
            EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', v_function, v_comment);
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_function);
            -- DROP EXTENSION then refuses while badges are registered (the triggers on
            -- users' tables depend on this function), and with CASCADE removes those
            -- triggers too: users' writes never call a function whose tables are gone.
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = v_function
                              AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'x') THEN
                EXECUTE pg_catalog.format('ALTER FUNCTION %s DEPENDS ON EXTENSION gamification', v_function);
            END IF;
            EXECUTE gamification._trigger_sql(p_table, v_event, v_row);
            -- Errors met before this are history: badge_status shows later ones only.
            UPDATE gamification.badge_rule b SET generated_at = pg_catalog.now()
             WHERE b.badge_code IN (SELECT x.badge_code FROM gamification._rules_of(p_table, v_event, v_row) x);
            RETURN NEXT pg_catalog.format('%s trigger %s on %s', CASE WHEN v_trigger IS NULL THEN 'created' ELSE 'updated' END,
                                          v_name, gamification._qualified(p_table));
        END IF;
        -- Replicas and logical-replication apply skip ordinary triggers; ENABLE ALWAYS
        -- makes them fire there too, for tables whose badges ask for it.
        SELECT pg_catalog.bool_or(b.fire_on_replica) INTO v_replica FROM gamification._rules_of(p_table, v_event, v_row) b;
        IF (SELECT t.tgenabled FROM pg_catalog.pg_trigger t WHERE t.tgrelid = p_table AND t.tgname = v_name)
           <> (CASE WHEN v_replica THEN 'A' ELSE 'O' END)::"char" THEN
            PERFORM gamification._ddl_quiet(true);  -- the machinery's own ALTER TABLE (triggers/ddl.sql)
            EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE %s TRIGGER %I', gamification._qualified(p_table),
                                      CASE WHEN v_replica THEN 'ALWAYS' ELSE '' END, v_name);
            PERFORM gamification._ddl_quiet(false);
        END IF;
    END LOOP;
    RETURN QUERY SELECT gamification._prune_functions();
END;
$$;
COMMENT ON FUNCTION gamification._sync_table(regclass) IS
    'Internal: make the triggers and generated functions on one table exactly what its registered badges need: create or replace what changed, drop what no badge needs. Returns one line per action.';

CREATE {{ or_replace }}FUNCTION gamification.triggers_sync()
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table regclass;
    v_trigger record;
BEGIN
    FOR v_table IN
        SELECT DISTINCT b.table_name FROM gamification.badge_rule b
         WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = b.table_name)
         ORDER BY 1
    LOOP
        RETURN QUERY SELECT gamification._sync_table(v_table);
    END LOOP;
    -- The extension's triggers on tables where no badge is registered any more.
    FOR v_trigger IN
        SELECT t.tgname, t.tgrelid::regclass AS tbl FROM pg_catalog.pg_trigger t
         WHERE t.tgname IN (SELECT gamification._trigger_name(e.event, e.row_level) FROM gamification._trigger_events() e)
           AND gamification._is_generated(t.tgfoid)
           AND NOT EXISTS (SELECT 1 FROM gamification.badge_rule b WHERE b.table_name = t.tgrelid)
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = t.tgrelid
                              AND EXISTS (SELECT 1 FROM gamification.badge_rule b WHERE b.table_name = i.inhparent))
         ORDER BY 2, 1
    LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', v_trigger.tgname, gamification._qualified(v_trigger.tbl));
        RETURN NEXT pg_catalog.format('dropped trigger %s on %s', v_trigger.tgname, gamification._qualified(v_trigger.tbl));
    END LOOP;
    RETURN QUERY SELECT gamification._prune_functions();
END;
$$;
COMMENT ON FUNCTION gamification.triggers_sync() IS
    'Re-create the triggers, generated functions and condition predicates of every registered trigger badge from the registry (after a restore, a manual DROP TRIGGER or an upgrade), re-checking every condition first, and drop the extension''s own triggers and functions that no badge needs. Never touches other triggers. Returns one line per action; nothing when all is in place.';
