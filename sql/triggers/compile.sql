-- Compiling a rule against its table: the same SELECT the trigger will run, over the
-- table itself, planned with LIMIT 0. Unknown columns or tables, type errors and
-- syntax errors fail at registration, under the search_path pinned for the rule.

CREATE FUNCTION gamification._rule_problem(r gamification.badge_rule)
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
        IF r.update_of IS NOT NULL THEN
            EXECUTE pg_catalog.format('SELECT 1 FROM %1$s AS new, %1$s AS old WHERE (SELECT %2$s) IS TRUE LIMIT 0',
                                      v_table, r.condition);
        ELSE
            EXECUTE gamification._rule_users_sql(r, v_table, v_table) || ' LIMIT 0';
        END IF;
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

CREATE FUNCTION gamification._compile_rule(p_label text, r gamification.badge_rule)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table text := gamification._qualified(r.table_name);
    v_field text := CASE r.kind WHEN 'counter' THEN 'counter.where' ELSE 'condition' END;
BEGIN
    PERFORM pg_catalog.set_config('search_path', r.search_path || ', pg_temp', true);
    IF r.update_of IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT 1 FROM %1$s AS new, %1$s AS old WHERE (SELECT %2$s) IS TRUE LIMIT 0',
                                  v_table, r.condition);
    ELSE
        EXECUTE gamification._rule_users_sql(r, v_table, v_table) || ' LIMIT 0';
    END IF;
EXCEPTION WHEN OTHERS THEN
    PERFORM gamification._raise(SQLSTATE,
        pg_catalog.format('%s: field "%s" does not compile against table %s: %s', p_label, v_field, v_table, SQLERRM),
        CASE r.kind WHEN 'counter'
             THEN 'Give a boolean expression over the counted row, e.g. "published" or "NEW.kind = ''post''".'
             ELSE 'Give the tail of a SELECT that yields one boolean, e.g. NEW.hit_views > 1000 or count(*) >= 5 FROM posts WHERE author_id = NEW.author_id; NEW is the row written (OLD the row before an update or delete).' END);
END;
$$;
COMMENT ON FUNCTION gamification._compile_rule(text, gamification.badge_rule) IS
    'Internal: compile a rule''s condition (or counter where) against its table under its pinned search_path; raise its error, naming the badge and field, if it does not compile.';
