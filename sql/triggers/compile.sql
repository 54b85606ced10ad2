-- Compiling a rule against its table: the same SELECT the trigger will run, over a
-- relation of the table's row type standing for its transition table, planned with
-- LIMIT 0. Unknown columns or tables, type errors and syntax errors fail at
-- registration, under the search_path pinned for the rule. Like the trigger, it needs
-- no SELECT on the tracked table itself (only what the condition reads besides NEW/OLD).
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._row_type_relation(p_table regclass)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('(SELECT (NULL::%s).*)', gamification._qualified(p_table))
$$;
COMMENT ON FUNCTION gamification._row_type_relation(regclass) IS
    'Internal: an empty relation with the row type of a table, standing for its NEW or OLD rows when a rule is compiled.';

CREATE {{ or_replace }}FUNCTION gamification._compile_sql(r gamification.badge_rule)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The trigger's own query over empty relations of the table's row type; an update_of
    -- rule (row-level, NEW and OLD as records) is compiled with both as relations.
    SELECT CASE WHEN r.update_of IS NOT NULL
                THEN pg_catalog.format('SELECT 1 FROM %1$s AS new, %1$s AS old WHERE (SELECT %2$s) IS TRUE LIMIT 0',
                                       gamification._row_type_relation(r.table_name), r.condition)
                ELSE gamification._rule_users_sql(r, gamification._row_type_relation(r.table_name),
                                                  gamification._row_type_relation(r.table_name)) || ' LIMIT 0'
           END
$$;
COMMENT ON FUNCTION gamification._compile_sql(gamification.badge_rule) IS
    'Internal: the query that compiles a rule (its trigger query with LIMIT 0, over its table''s row type), used at registration and by badge_status.';

CREATE {{ or_replace }}FUNCTION gamification._rule_problem(r gamification.badge_rule)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table text := gamification._qualified(r.table_name);
    v_column name;
BEGIN
    IF v_table IS NULL THEN
        RETURN pg_catalog.format('table with OID %s no longer exists', r.table_name::oid);
    END IF;
    FOREACH v_column IN ARRAY r.user_field || coalesce(r.update_of, '{}') LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.table_name
                          AND a.attname = v_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RETURN pg_catalog.format('column %I no longer exists in table %s', v_column, v_table);
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', r.search_path || ', pg_temp', true);
    BEGIN
        EXECUTE gamification._compile_sql(r);
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        RETURN pg_catalog.format('%s does not compile: %s (SQLSTATE %s)',
                                 CASE r.kind WHEN 'counter' THEN 'counter.where' ELSE 'condition' END, SQLERRM, SQLSTATE);
    END;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION gamification._rule_problem(gamification.badge_rule) IS
    'Internal: why a rule cannot be evaluated (its table or a column is gone, its condition no longer compiles), or NULL if it can.';

CREATE {{ or_replace }}FUNCTION gamification._require_trigger_owner(p_label text, r gamification.badge_rule)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner name := gamification._trigger_function_owner(r.table_name, r.event, r.update_of IS NOT NULL);
BEGIN
    -- A table's badges for an event share one generated function, run with its owner's
    -- rights: only that role (or a member of it, or a superuser) may change them.
    IF v_owner IS NOT NULL AND NOT pg_catalog.pg_has_role(current_user, v_owner, 'MEMBER') THEN
        PERFORM gamification._raise('42501',
            pg_catalog.format('%s: field "%s": the badges on %s %s are run by role %I, and you are not a member of it',
                              p_label, CASE r.kind WHEN 'counter' THEN 'counter.table' ELSE 'trigger_table' END,
                              gamification._qualified(r.table_name), pg_catalog.upper(r.event), v_owner),
            pg_catalog.format('Manage the badges of one table as one role: as %I, as a member of it, or as a superuser (see README, "Security model").', v_owner));
    END IF;
    IF NOT pg_catalog.has_table_privilege(r.table_name, 'TRIGGER') THEN
        PERFORM gamification._raise('42501',
            pg_catalog.format('%s: field "%s": permission denied to change the triggers on %s', p_label,
                              CASE r.kind WHEN 'counter' THEN 'counter.table' ELSE 'trigger_table' END,
                              gamification._qualified(r.table_name)),
            'The role changing a trigger badge needs the TRIGGER privilege on its table (or to own it).');
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._require_trigger_owner(text, gamification.badge_rule) IS
    'Internal: 42501 unless the caller may change the machinery of a rule''s table and event: the TRIGGER privilege on the table, and the generated function owned by the caller, a role it is a member of, or nobody yet.';

CREATE {{ or_replace }}FUNCTION gamification._compile_rule(p_label text, r gamification.badge_rule)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table text := gamification._qualified(r.table_name);
    v_field text := CASE r.kind WHEN 'counter' THEN 'counter.where' ELSE 'condition' END;
    -- The generated function runs with its owner's rights: the role that first put
    -- badges on this table. Compile as that role, which is who will run the condition.
    v_owner name := coalesce(gamification._trigger_function_owner(r.table_name, r.event, r.update_of IS NOT NULL),
                             current_user);
    v_role text := pg_catalog.current_setting('role');
BEGIN
    PERFORM gamification._require_trigger_owner(p_label, r);
    BEGIN
        IF v_owner <> current_user THEN
            PERFORM pg_catalog.set_config('role', v_owner, true);
        END IF;
        PERFORM pg_catalog.set_config('search_path', r.search_path || ', pg_temp', true);
        EXECUTE gamification._compile_sql(r);
    EXCEPTION WHEN OTHERS THEN  -- the block's role and search_path changes are undone here
        PERFORM gamification._raise(SQLSTATE,
            pg_catalog.format('%s: field "%s" does not compile against table %s: %s', p_label, v_field, v_table, SQLERRM),
            CASE WHEN SQLSTATE = '42501'
                 THEN pg_catalog.format('The condition runs with the rights of role %I, which owns this table''s badge triggers: grant it what the condition reads.', v_owner)
                 WHEN r.kind = 'counter'
                 THEN 'Give a boolean expression over the counted row, e.g. "published" or "NEW.kind = ''post''".'
                 ELSE 'Give the tail of a SELECT that yields one boolean, e.g. NEW.hit_views > 1000 or count(*) >= 5 FROM posts WHERE author_id = NEW.author_id; NEW is the row written (OLD the row before an update or delete).' END);
    END;
    PERFORM pg_catalog.set_config('role', v_role, true);
END;
$$;
COMMENT ON FUNCTION gamification._compile_rule(text, gamification.badge_rule) IS
    'Internal: compile a rule''s condition (or counter where) against its table under its pinned search_path; raise its error, naming the badge and field, if it does not compile.';
