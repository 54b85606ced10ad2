-- Generating the trigger machinery from gamification.badge_rule.
--
-- One statement-level trigger per (table, event) evaluates every badge registered
-- on that table, set-based, over the statement's transition tables (new_rows,
-- old_rows); badges with update_of get one row-level trigger per table instead,
-- filtered by UPDATE OF and WHEN so that unrelated updates cost nothing.
-- The generated functions contain static SQL, so PL/pgSQL caches their plans.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._user_key_sql(p_alias text, p_user_field name)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The user key as text through its type's output function: concat() never looks for
    -- a cast, so a table owner's CREATE CAST (... AS text) on the column's type never
    -- runs inside the machinery (a cast ::text would run it).
    SELECT pg_catalog.format('pg_catalog.concat(%s.%I)', p_alias, p_user_field)
$$;
COMMENT ON FUNCTION gamification._user_key_sql(text, name) IS
    'Internal: generated SQL for the user key of a row (the row''s alias and the user column) as text, without any cast.';

CREATE {{ or_replace }}FUNCTION gamification._rules_of(p_table regclass, p_event text, p_row boolean)
RETURNS SETOF gamification.badge_rule
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The rules one generated function evaluates: a table's, for an event, row-level
    -- (update_of) or not, in code order.
    SELECT * FROM gamification.badge_rule b
     WHERE b.table_name = p_table AND b.event = p_event AND (b.update_of IS NOT NULL) = p_row
     ORDER BY b.badge_code
$$;
COMMENT ON FUNCTION gamification._rules_of(regclass, text, boolean) IS
    'Internal: the rules of a table for an event, row-level (update_of) or statement-level, in code order.';

CREATE {{ or_replace }}FUNCTION gamification._rule_from_sql(r gamification.badge_rule, p_new text, p_old text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The rows a rule looks at: NEW (inserted or updated rows) or OLD (deleted rows); an
    -- update condition that uses OLD pairs old and new rows by primary key.
    SELECT CASE
        WHEN r.event = 'insert' THEN pg_catalog.format('%s AS new', p_new)
        WHEN r.event = 'delete' THEN pg_catalog.format('%s AS old', p_old)
        WHEN r.kind = 'condition' AND gamification._uses_old(r.condition) THEN
            pg_catalog.format('%s AS new JOIN %s AS old ON %s', p_new, p_old,
                -- Keys compared as text (their output), so no operator of the key's type runs.
                (SELECT pg_catalog.string_agg(pg_catalog.format('%s = %s', gamification._user_key_sql('old', k),
                                                                gamification._user_key_sql('new', k)), ' AND ')
                   FROM pg_catalog.unnest(gamification._primary_key(r.table_name)) k))
        ELSE pg_catalog.format('%s AS new', p_new)
    END
$$;
COMMENT ON FUNCTION gamification._rule_from_sql(gamification.badge_rule, text, text) IS
    'Internal: the FROM clause of a rule''s query, over the relations standing for NEW and OLD rows (transition tables in a trigger, the table itself for a backfill).';

CREATE {{ or_replace }}FUNCTION gamification._rule_users_sql(r gamification.badge_rule, p_new text, p_old text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('SELECT %5$s AS user_id FROM %3$s WHERE %1$s.%2$I IS NOT NULL AND %4$s',
                             gamification._rule_alias(r), r.user_field, gamification._rule_from_sql(r, p_new, p_old),
                             gamification._predicate_call_sql(r),
                             gamification._user_key_sql(gamification._rule_alias(r), r.user_field))
$$;
COMMENT ON FUNCTION gamification._rule_users_sql(gamification.badge_rule, text, text) IS
    'Internal: the SELECT of user_id, one row per row that meets a rule''s condition (or that its counter counts), over the given relations standing for NEW and OLD.';

CREATE {{ or_replace }}FUNCTION gamification._rule_counts(r gamification.badge_rule)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Counter badges count rows; a condition badge with a target counts the rows that
    -- meet its condition; a condition badge without one awards at the first such row.
    SELECT r.kind = 'counter' OR (SELECT b.target IS NOT NULL FROM gamification.badge b WHERE b.code = r.badge_code)
$$;
COMMENT ON FUNCTION gamification._rule_counts(gamification.badge_rule) IS
    'Internal: whether a rule advances progress towards a target (true) or awards directly (false).';

CREATE {{ or_replace }}FUNCTION gamification._rule_counts_sql(r gamification.badge_rule, p_new text, p_old text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('SELECT q.user_id, pg_catalog.count(*) AS n FROM (%s) q GROUP BY q.user_id',
                             gamification._rule_users_sql(r, p_new, p_old))
$$;
COMMENT ON FUNCTION gamification._rule_counts_sql(gamification.badge_rule, text, text) IS
    'Internal: the SELECT of (user_id, n): how many rows of each user a counting rule counts.';

CREATE {{ or_replace }}FUNCTION gamification._not_held_sql(p_user text, p_code text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- One primary-key probe: generated code asks it before the award path, so writes by
    -- users who hold the badge already never enter it.
    SELECT pg_catalog.format('NOT EXISTS (SELECT 1 FROM gamification.award a WHERE a.user_id = %s AND a.badge_code = %s)',
                             p_user, p_code)
$$;
COMMENT ON FUNCTION gamification._not_held_sql(text, text) IS
    'Internal: generated SQL that is true when the user (a text SQL expression) does not hold the badge (an SQL expression).';

CREATE {{ or_replace }}FUNCTION gamification._count_step_sql(p_user text, p_code text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- One row's step for one (user, badge) pair, written into the trigger function: staged
    -- by _count_many(), applied at commit (core/pending.sql).
    SELECT gamification._render(gamification._template('count_step'),
                                pg_catalog.jsonb_build_object('user', p_user, 'code', p_code))
$$;
COMMENT ON FUNCTION gamification._count_step_sql(text, text) IS
    'Internal: generated PL/pgSQL adding one to the progress of a user (a non-null text SQL expression) towards a badge (an SQL expression), staged to commit.';

CREATE {{ or_replace }}FUNCTION gamification._rule_statement_sql(r gamification.badge_rule)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_counts boolean := gamification._rule_counts(r);
BEGIN
    IF r.update_of IS NOT NULL THEN
        -- Row-level: NEW and OLD are the row; only a change of an update_of column counts.
        -- The condition comes first on its own: a plain one is a PL/pgSQL simple
        -- expression, evaluated without starting a query.
        RETURN gamification._render(gamification._template('row_badge'), pg_catalog.jsonb_build_object(
            'changed', (SELECT pg_catalog.string_agg(pg_catalog.format('OLD.%1$I IS DISTINCT FROM NEW.%1$I', c), ' OR ')
                          FROM pg_catalog.unnest(r.update_of) c),
            'user', pg_catalog.format('NEW.%I', r.user_field),
            'predicate', gamification._predicate_call_sql(r),
            'award', CASE WHEN v_counts
                          THEN gamification._indent(gamification._count_step_sql(gamification._user_key_sql('NEW', r.user_field),
                                                                                 pg_catalog.quote_literal(r.badge_code)), 8)
                          -- A user who holds the badge already skips the award path altogether.
                          ELSE gamification._render(gamification._template('row_award'), pg_catalog.jsonb_build_object(
                                   'not_held', gamification._not_held_sql(gamification._user_key_sql('NEW', r.user_field),
                                                                          pg_catalog.quote_literal(r.badge_code)),
                                   'code', pg_catalog.quote_literal(r.badge_code),
                                   'user_key', gamification._user_key_sql('NEW', r.user_field))) END));
    ELSIF v_counts THEN
        RETURN gamification._render(gamification._template('rows_count'), pg_catalog.jsonb_build_object(
            'code', pg_catalog.quote_literal(r.badge_code),
            'counts', gamification._rule_counts_sql(r, 'new_rows', 'old_rows')));
    END IF;
    RETURN gamification._render(gamification._template('rows_grant'), pg_catalog.jsonb_build_object(
        'code', pg_catalog.quote_literal(r.badge_code),
        'users', gamification._rule_users_sql(r, 'new_rows', 'old_rows')));
END;
$$;
COMMENT ON FUNCTION gamification._rule_statement_sql(gamification.badge_rule) IS
    'Internal: the PL/pgSQL statement that evaluates one rule inside a generated trigger function.';

CREATE {{ or_replace }}FUNCTION gamification._combined_bulk_sql(p_alias text, p_user_field name, p_from text,
                                                                p_codes text[], p_predicates text[], p_counts boolean[],
                                                                p_prefilter boolean)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- One pass over the rows: count(*) FILTER per badge, grouped by user, unpivoted into
    -- (badge, user, n); counting badges go to _count_many(), the others to _grant_many()
    -- for the users not holding them yet. Rows that meet no predicate are dropped before
    -- grouping when every predicate is a plain expression (cheap to evaluate twice).
    SELECT gamification._render(gamification._template('many_rows'), pg_catalog.jsonb_build_object(
        'user_key', gamification._user_key_sql(p_alias, p_user_field),
        'counts', (SELECT pg_catalog.string_agg(pg_catalog.format('pg_catalog.count(*) FILTER (WHERE %s) AS n%s', p, i),
                                                E',\n               ' ORDER BY i)
                     FROM pg_catalog.unnest(p_predicates) WITH ORDINALITY AS u(p, i)),
        'rows', p_from,
        'user', pg_catalog.format('%s.%I', p_alias, p_user_field),
        'prefilter', CASE WHEN p_prefilter THEN pg_catalog.format(E'\n           AND (%s)', pg_catalog.array_to_string(p_predicates, ' OR '))
                          ELSE '' END,
        'badges', (SELECT pg_catalog.string_agg(pg_catalog.format('(%L, g.n%s, %s)', c, i, CASE WHEN p_counts[i] THEN 'true' ELSE 'false' END),
                                                ', ' ORDER BY i)
                     FROM pg_catalog.unnest(p_codes) WITH ORDINALITY AS u(c, i)),
        'not_held', gamification._not_held_sql('g.user_id', 'x.code')))
$$;
COMMENT ON FUNCTION gamification._combined_bulk_sql(text, name, text, text[], text[], boolean[], boolean) IS
    'Internal: generated code evaluating badges over a statement''s rows, any number of them: one grouped pass with a count(*) FILTER per badge (p_prefilter: first drop the rows meeting no predicate).';

CREATE {{ or_replace }}FUNCTION gamification._combined_single_sql(p_alias text, p_user_field name, p_from text,
                                                                  p_codes text[], p_predicates text[], p_counts boolean[])
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The same for a statement of one row, without aggregates (whose set-up dominates a
    -- one-row statement): one CASE per badge lists the badges the row meets; each
    -- counting badge met is one step, all staged by one _count_many() call.
    -- Whether the user holds a condition badge is asked afterwards, for the badges met
    -- only (a probe per badge in the CASE list cost its set-up on every row). A group
    -- without counters (or without conditions) gets no code for them.
    WITH lists AS (
        SELECT pg_catalog.string_agg(pg_catalog.format('CASE WHEN %s THEN %L END', u.p, u.c), E',\n                                     ' ORDER BY u.i)
                   FILTER (WHERE p_counts[u.i]) AS counters,
               pg_catalog.string_agg(pg_catalog.format('CASE WHEN %s THEN %L END', u.p, u.c), E',\n                                     ' ORDER BY u.i)
                   FILTER (WHERE NOT p_counts[u.i]) AS conditions
          FROM ROWS FROM (pg_catalog.unnest(p_codes), pg_catalog.unnest(p_predicates)) WITH ORDINALITY AS u(c, p, i)
    )
    SELECT pg_catalog.concat_ws(E'\n',
        gamification._render(gamification._template('one_row'), pg_catalog.jsonb_build_object(
            'user_key', gamification._user_key_sql(p_alias, p_user_field),
            -- || keeps a missing list NULL, so the list is NULL::text[] (not an empty ARRAY[]).
            'counters', coalesce('pg_catalog.array_remove(ARRAY[' || l.counters || ']::text[], NULL)', 'NULL::text[]'),
            'conditions', coalesce('pg_catalog.array_remove(ARRAY[' || l.conditions || ']::text[], NULL)', 'NULL::text[]'),
            'rows', p_from,
            'user', pg_catalog.format('%s.%I', p_alias, p_user_field))),
        CASE WHEN l.counters IS NOT NULL THEN gamification._render(gamification._template('one_row_counters'), '{}'::jsonb) END,
        CASE WHEN l.conditions IS NOT NULL THEN gamification._render(gamification._template('one_row_conditions'),
            pg_catalog.jsonb_build_object('not_held', gamification._not_held_sql('v_user', 'c.code'))) END)
      FROM lists l
$$;
COMMENT ON FUNCTION gamification._combined_single_sql(text, name, text, text[], text[], boolean[]) IS
    'Internal: generated code evaluating badges over a statement of exactly one row: a CASE per badge, no aggregate.';

CREATE {{ or_replace }}FUNCTION gamification._combined_sql(p_table regclass, p_event text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sql text;
    v_group record;
BEGIN
    -- Every rule of a table and event together, per user column (and FROM). Counting
    -- rules advance progress with one _count_many() call; other conditions award with
    -- one _grant_many() call, for the (badge, user) pairs not held yet, made only when
    -- some row qualifies: steady-state writes by holders never enter the award path.
    -- A one-row statement (the common OLTP write) takes a path without aggregates,
    -- whose counter steps are upserts written into the function.
    v_sql := pg_catalog.format(E'v_single := NOT EXISTS (SELECT FROM %s OFFSET 1);\n',
                               CASE WHEN p_event = 'delete' THEN 'old_rows' ELSE 'new_rows' END);
    FOR v_group IN
        SELECT gamification._rule_alias(r) AS alias, r.user_field,
               gamification._rule_from_sql(r, 'new_rows', 'old_rows') AS from_sql,
               pg_catalog.array_agg(r.badge_code ORDER BY r.badge_code) AS codes,
               pg_catalog.array_agg(gamification._predicate_call_sql(r) ORDER BY r.badge_code) AS predicates,
               pg_catalog.array_agg(gamification._rule_counts(r) ORDER BY r.badge_code) AS counts,
               pg_catalog.bool_and(gamification._condition_is_expression(
                   CASE WHEN r.kind = 'counter' THEN coalesce(r.counter_where, 'true') ELSE r.condition END)) AS plain
          FROM gamification.badge_rule r
         WHERE r.table_name = p_table AND r.event = p_event AND r.update_of IS NULL
           AND gamification._predicate_of(r) IS NOT NULL  -- a refused condition is left out
         GROUP BY 1, 2, 3 ORDER BY 2, 3
    LOOP
        v_sql := v_sql || pg_catalog.format(E'-- badges %s\nIF v_single THEN\n%s\nELSE\n%s\nEND IF;\n',
            pg_catalog.array_to_string(v_group.codes, ', '),
            gamification._indent(gamification._combined_single_sql(v_group.alias, v_group.user_field, v_group.from_sql,
                                                                   v_group.codes, v_group.predicates, v_group.counts), 4),
            gamification._indent(gamification._combined_bulk_sql(v_group.alias, v_group.user_field, v_group.from_sql,
                                                                 v_group.codes, v_group.predicates, v_group.counts,
                                                                 v_group.plain), 4));
    END LOOP;
    RETURN CASE WHEN FOUND THEN v_sql ELSE '' END;  -- FOUND: the loop ran at least once
END;
$$;
COMMENT ON FUNCTION gamification._combined_sql(regclass, text) IS
    'Internal: the fast path of a statement-level trigger function: all of a table''s badges for an event evaluated together (one grouped pass over the rows, or a CASE per badge for a one-row statement), counters advanced with one _count_many() call (inline upserts for a one-row statement), conditions awarded with one _grant_many() call for the users not holding them yet.';

CREATE {{ or_replace }}FUNCTION gamification._indent(p_text text, p_spaces integer)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.regexp_replace(p_text, '^', pg_catalog.repeat(' ', p_spaces), 'gn')
$$;
COMMENT ON FUNCTION gamification._indent(text, integer) IS 'Internal: indent every line of generated code.';

CREATE {{ or_replace }}FUNCTION gamification._trigger_events()
RETURNS TABLE (event text, row_level boolean)
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The triggers the extension may put on a table: one per statement event, and one
    -- row-level trigger for update_of badges.
    VALUES ('insert', false), ('update', false), ('delete', false), ('update', true)
$$;
COMMENT ON FUNCTION gamification._trigger_events() IS
    'Internal: every (event, row-level) pair the extension generates a trigger for.';

CREATE {{ or_replace }}FUNCTION gamification._trigger_name(p_event text, p_row boolean)
RETURNS name
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (CASE WHEN p_row THEN 'gamification_on_update_of' ELSE 'gamification_on_' || p_event END)::name
$$;
COMMENT ON FUNCTION gamification._trigger_name(text, boolean) IS
    'Internal: the name of the trigger the extension puts on a table for an event: gamification_on_insert, _on_update, _on_delete, or _on_update_of (row-level, for update_of badges).';

CREATE {{ or_replace }}FUNCTION gamification._trigger_function_name(p_table regclass, p_event text, p_row boolean)
RETURNS name
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Deterministic and readable: trg_<table>_<event>_<hash of schema.table>; stable
    -- across pg_dump/restore, which recreates functions by name.
    SELECT pg_catalog.format('trg_%s_%s%s_%s',
               pg_catalog.left(pg_catalog.regexp_replace(pg_catalog.lower(c.relname), '[^a-z0-9_]+', '_', 'g'), 30),
               p_event, CASE WHEN p_row THEN '_of' ELSE '' END,
               pg_catalog.left(pg_catalog.md5(gamification._qualified(p_table)), 8))::name
      FROM pg_catalog.pg_class c WHERE c.oid = p_table
$$;
COMMENT ON FUNCTION gamification._trigger_function_name(regclass, text, boolean) IS
    'Internal: the name of the generated function behind a table''s trigger for an event.';

CREATE {{ or_replace }}FUNCTION gamification._declarations(p_row boolean)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The variables of the generated code, and only those: the combined path's
    -- (statement-level functions). Decided by structure, not by searching the text.
    -- use_column: a column wins over a variable of the same name.
    SELECT CASE WHEN d <> '' THEN E'#variable_conflict use_column\n' || d ELSE '' END
      FROM (SELECT CASE WHEN NOT p_row
                        THEN E'DECLARE\n    v_single boolean;\n    v_user text;\n    v_codes text[];\n    v_users text[];\n'
                             '    v_steps bigint[];\n    v_grant_codes text[];\n    v_grant_users text[];\n'
                        ELSE '' END AS d) x
$$;
COMMENT ON FUNCTION gamification._declarations(boolean) IS
    'Internal: the DECLARE section of a generated trigger function (statement-level or row-level).';

CREATE {{ or_replace }}FUNCTION gamification._rule_per_row_sql(r gamification.badge_rule)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- For a statement-level rule over one transition table (inserts, deletes, updates
    -- that do not read OLD), its statement again over halves of the rows, a failing half
    -- halved again down to single rows: the failure path of one_badge. A rule pairing OLD and NEW rows keeps
    -- the statement as a whole.
    SELECT CASE WHEN r.update_of IS NULL
                     AND NOT (r.event = 'update' AND r.kind = 'condition' AND gamification._uses_old(r.condition))
                THEN gamification._render(gamification._template('per_row'), pg_catalog.jsonb_build_object(
                         'rows', CASE WHEN r.event = 'delete' THEN 'old_rows' ELSE 'new_rows' END,
                         'statement', gamification._indent(
                             pg_catalog.replace(pg_catalog.replace(gamification._rule_statement_sql(r),
                                 'FROM new_rows AS new', 'FROM (SELECT * FROM new_rows OFFSET v_at LIMIT v_n) AS new'),
                                 'FROM old_rows AS old', 'FROM (SELECT * FROM old_rows OFFSET v_at LIMIT v_n) AS old'), 24)))
                ELSE '' END
$$;
COMMENT ON FUNCTION gamification._rule_per_row_sql(gamification.badge_rule) IS
    'Internal: generated PL/pgSQL evaluating a statement-level rule again over halves of its rows, a failing half halved again down to single rows, each part in its own block (the failure path: one failing row loses only itself), or an empty text for a rule that pairs OLD and NEW rows.';

CREATE {{ or_replace }}FUNCTION gamification._trigger_function_sql(p_table regclass, p_event text, p_row boolean)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_fast text := '';
    v_isolated text := '';
    v_count integer := 0;
    v_stmt text;
    v_body text;
    v_declare text;
    v_gate text := '';
    r gamification.badge_rule;
BEGIN
    -- Rules whose condition was refused (no predicate) are left out.
    IF NOT EXISTS (SELECT 1 FROM gamification._rules_of(p_table, p_event, p_row) b
                    WHERE gamification._predicate_of(b) IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    IF NOT p_row THEN
        v_fast := gamification._indent(gamification._combined_sql(p_table, p_event), 12) || E'\n';
    END IF;
    FOR r IN SELECT * FROM gamification._rules_of(p_table, p_event, p_row) b
              WHERE gamification._predicate_of(b) IS NOT NULL LOOP
        v_count := v_count + 1;
        v_stmt := pg_catalog.format(E'-- badge %s\n', r.badge_code) || gamification._rule_statement_sql(r);
        IF p_row THEN
            v_fast := v_fast || gamification._indent(v_stmt, 12) || E'\n';
        END IF;
        -- Recording the failure must not fail the write either (the runner may have lost
        -- a grant, badge_error may be full): then only a WARNING remains.
        v_isolated := v_isolated || gamification._render(gamification._template('one_badge'),
            pg_catalog.jsonb_build_object('statement', gamification._indent(v_stmt, 12),
                                          'per_row', CASE WHEN p_row THEN '' ELSE gamification._rule_per_row_sql(r) END,
                                          'code', pg_catalog.quote_literal(r.badge_code)));
    END LOOP;
    v_declare := gamification._declarations(p_row);
    -- A row-level function returns at once when no update_of column changed (its
    -- trigger has no column list: see _trigger_sql).
    IF p_row THEN
        v_gate := gamification._render(gamification._template('gate'), pg_catalog.jsonb_build_object('changed',
            (SELECT pg_catalog.string_agg(pg_catalog.format('OLD.%1$I IS DISTINCT FROM NEW.%1$I', c), ' OR ' ORDER BY c)
               FROM (SELECT DISTINCT c FROM gamification._rules_of(p_table, p_event, p_row) b, pg_catalog.unnest(b.update_of) c) u)));
    END IF;
    -- The shapes are the templates of triggers/templates.sql: a row-level function with
    -- a single badge is that badge alone (one subtransaction, not two).
    v_body := CASE WHEN p_row AND v_count = 1
                   THEN gamification._render(gamification._template('body_one_badge'), pg_catalog.jsonb_build_object(
                            'declare', v_declare, 'gate', v_gate, 'one_by_one', pg_catalog.regexp_replace(v_isolated, '^    ', '', 'gn')))
                   ELSE gamification._render(gamification._template('body'), pg_catalog.jsonb_build_object(
                            'declare', v_declare, 'gate', v_gate, 'fast_path', v_fast, 'one_by_one', v_isolated,
                            -- this function as generated now: a regenerated one tries its fast path again
                            'marker', pg_catalog.quote_literal(pg_catalog.format('|%s:%s|',
                                gamification._trigger_function_name(p_table, p_event, p_row),
                                pg_catalog.left(pg_catalog.md5(v_fast), 8))))) END;
    RETURN gamification._render(gamification._template('trigger_function'), pg_catalog.jsonb_build_object(
        'function', pg_catalog.quote_ident(gamification._trigger_function_name(p_table, p_event, p_row)),
        'body', pg_catalog.quote_literal(v_body)));
END;
$$;
COMMENT ON FUNCTION gamification._trigger_function_sql(regclass, text, boolean) IS
    'Internal: the CREATE FUNCTION statement of the trigger function evaluating every badge on a table for an event (p_row: the row-level update_of variant), or NULL if no badge needs it.';

CREATE {{ or_replace }}FUNCTION gamification._trigger_sql(p_table regclass, p_event text, p_row boolean)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_row THEN
        -- No UPDATE OF list and no WHEN clause: both would depend on the columns and
        -- stop ALTER COLUMN TYPE on them. The function compares the update_of columns
        -- itself, first thing (row_badge template).
        RETURN pg_catalog.format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION gamification.%I()',
            gamification._trigger_name(p_event, p_row), gamification._qualified(p_table),
            gamification._trigger_function_name(p_table, p_event, p_row));
    END IF;
    RETURN pg_catalog.format(
        'CREATE OR REPLACE TRIGGER %I AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION gamification.%I()',
        gamification._trigger_name(p_event, p_row), pg_catalog.upper(p_event), gamification._qualified(p_table),
        CASE p_event WHEN 'insert' THEN 'NEW TABLE AS new_rows'
                     WHEN 'update' THEN 'OLD TABLE AS old_rows NEW TABLE AS new_rows'
                     ELSE 'OLD TABLE AS old_rows' END,
        gamification._trigger_function_name(p_table, p_event, p_row));
END;
$$;
COMMENT ON FUNCTION gamification._trigger_sql(regclass, text, boolean) IS
    'Internal: the CREATE TRIGGER statement for a table and event.';
