-- A rule's condition (or counter where) as a function of its own, written in the
-- SQL-standard form (RETURN ...), which PostgreSQL parses once, when it is created:
-- every table, column, function, operator and cast the condition names is resolved then,
-- recorded as a dependency, and kept by identity. Nothing is looked up by name inside
-- somebody's write, so a later CREATE OPERATOR, CREATE CAST, a temporary table or a
-- renamed table cannot change what a condition runs. A plain condition is inlined by
-- the planner into the trigger's query (no call per row).
--
-- Predicates are created by the extension's owner and owned by gamification_runner,
-- which runs them inside writes. Before one is kept, every object it depends on is
-- checked (_predicate_problem): a condition may only read, and may only run code that
-- a superuser controls.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._rule_alias(r gamification.badge_rule)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN r.event = 'delete' THEN 'old' ELSE 'new' END
$$;
COMMENT ON FUNCTION gamification._rule_alias(gamification.badge_rule) IS
    'Internal: the row a rule takes its user from: old for deletes, new otherwise.';

CREATE {{ or_replace }}FUNCTION gamification._condition_is_expression(p_condition text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Conservative and lexical: no SELECT keyword, no function call (so no aggregate,
    -- window or set-returning function), no comma, comment, quoted identifier or
    -- dollar quote. Such a condition means the same as an expression as it does as
    -- the tail of a SELECT; anything else keeps its sub-SELECT.
    SELECT p_condition !~* '\m(select|from|where|group|having|window|order|limit|offset|fetch|for|union|intersect|except|as|distinct|all|into|with|values|table)\M'
       AND p_condition !~ '[;,"$]|--|/\*|[[:alnum:]_]\s*\('
$$;
COMMENT ON FUNCTION gamification._condition_is_expression(text) IS
    'Internal: whether a condition (the tail of a SELECT) is a plain expression that a trigger may evaluate inline, without a sub-SELECT per row.';


CREATE {{ or_replace }}FUNCTION gamification._predicate_name(p_code text)
RETURNS name
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('cond_%s_%s',
               pg_catalog.left(pg_catalog.regexp_replace(pg_catalog.lower(p_code), '[^a-z0-9_]+', '_', 'g'), 40),
               pg_catalog.left(pg_catalog.md5(p_code), 8))::name
$$;
COMMENT ON FUNCTION gamification._predicate_name(text) IS
    'Internal: the name of the function holding a badge''s condition: cond_<code>_<hash>.';

CREATE {{ or_replace }}FUNCTION gamification._predicate_of(r gamification.badge_rule)
RETURNS regprocedure
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'gamification'::regnamespace AND p.proname = gamification._predicate_name(r.badge_code)
$$;
COMMENT ON FUNCTION gamification._predicate_of(gamification.badge_rule) IS
    'Internal: a rule''s predicate function, or NULL if it is missing.';

CREATE {{ or_replace }}FUNCTION gamification._predicate_rows(r gamification.badge_rule)
RETURNS text[]
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The rows a predicate takes, by the names the condition uses for them.
    SELECT CASE WHEN r.event = 'insert' THEN ARRAY['new']
                WHEN r.event = 'delete' THEN ARRAY['old']
                WHEN r.kind = 'condition' AND gamification._uses_old(r.condition) THEN ARRAY['new', 'old']
                ELSE ARRAY['new'] END
$$;
COMMENT ON FUNCTION gamification._predicate_rows(gamification.badge_rule) IS
    'Internal: the row arguments of a rule''s predicate: {new} for inserts and updates, {old} for deletes, {new,old} for an update condition using OLD.';

CREATE {{ or_replace }}FUNCTION gamification._predicate_call_sql(r gamification.badge_rule)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- new and old are the rows (aliases of the transition tables in a statement
    -- trigger, NEW and OLD in a row trigger, the table itself in a backfill).
    SELECT pg_catalog.format('gamification.%I(%s) IS TRUE', gamification._predicate_name(r.badge_code),
                             pg_catalog.array_to_string(gamification._predicate_rows(r), ', '))
$$;
COMMENT ON FUNCTION gamification._predicate_call_sql(gamification.badge_rule) IS
    'Internal: the generated SQL that is true when a row meets a rule: a call of its predicate.';

CREATE {{ or_replace }}FUNCTION gamification._qualify_columns(p_sql text, p_alias text, p_table regclass)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_out text := '';
    v_pos integer := 1;
    v_len integer := pg_catalog.length(p_sql);
    v_token text;
    v_length integer;
    v_before text;
    v_after text;
BEGIN
    -- A plain condition or counter where may name the row's columns bare ("published",
    -- "kind = 'post'"), as the tail of a query over the row did. A predicate's row is an
    -- argument, so a bare column name that is not a function, a field, a qualifier or a
    -- type name before a literal becomes <alias>.<name>. String literals and quoted
    -- identifiers are copied as they are. A name this misreads fails to compile, at
    -- registration.
    WHILE v_pos <= v_len LOOP
        v_token := pg_catalog.substring(pg_catalog.substr(p_sql, v_pos), '^(''(?:[^'']|'''')*''|"[^"]*"|[A-Za-z_][A-Za-z0-9_$]*|.)');
        IF v_token IS NULL THEN  -- an unterminated literal: _check_sql_fragment refused it already
            RETURN v_out || pg_catalog.substr(p_sql, v_pos);
        END IF;
        v_length := pg_catalog.length(v_token);
        IF v_token ~ '^[A-Za-z_]' AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                                 WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped
                                                   AND a.attname = pg_catalog.lower(v_token)) THEN
            v_before := pg_catalog.rtrim(v_out);
            v_after := pg_catalog.ltrim(pg_catalog.substr(p_sql, v_pos + v_length));
            IF pg_catalog.right(v_before, 1) <> '.' AND v_before !~* '\mas$'
               AND pg_catalog.left(v_after, 1) NOT IN ('(', '.', '''') THEN
                v_token := p_alias || '.' || v_token;
            END IF;
        END IF;
        v_pos := v_pos + v_length;
        v_out := v_out || v_token;
    END LOOP;
    RETURN v_out;
END;
$$;
COMMENT ON FUNCTION gamification._qualify_columns(text, text, regclass) IS
    'Internal: qualify the bare column names of a plain condition with the row it is evaluated on (published becomes new.published).';

CREATE {{ or_replace }}FUNCTION gamification._check_row_columns(p_label text, p_field text, p_sql text, p_table regclass)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_column text;
BEGIN
    -- NEW.<column> and OLD.<column> must be columns of the table. Checked here because
    -- PostgreSQL, parsing the predicate, reports a missing field of its row argument as
    -- a missing table "new". String literals are skipped; a quoted name keeps its case.
    SELECT pg_catalog.min(m[2]) INTO v_column
      FROM pg_catalog.regexp_matches(pg_catalog.regexp_replace(p_sql, '''([^'']|'''')*''', '''''', 'g'),
                                     '(^|[^A-Za-z0-9_$."])(?:new|old)\s*\.\s*("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)', 'gi') m
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped
                          AND a.attname = CASE WHEN m[2] LIKE '"%' THEN pg_catalog.btrim(m[2], '"')
                                               ELSE pg_catalog.lower(m[2]) END);
    IF v_column IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '42703',
            MESSAGE = pg_catalog.format('%s: field "%s" does not compile against table %s: column %s does not exist', p_label, p_field,
                              gamification._qualified(p_table), v_column),
            HINT = pg_catalog.format('Columns of %s: %s.', gamification._qualified(p_table),
                (SELECT pg_catalog.string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped));
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._check_row_columns(text, text, text, regclass) IS
    'Internal: 42703 naming the first NEW.<column> or OLD.<column> of a condition that is not a column of its table, with the table''s columns in the hint.';

CREATE {{ or_replace }}FUNCTION gamification._predicate_sql(r gamification.badge_rule)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- A condition that is the tail of a query keeps its sub-SELECT; a plain one is an
    -- expression, which the planner inlines. STABLE: PostgreSQL itself then refuses
    -- statements that write; _predicate_problem refuses volatile calls.
    SELECT pg_catalog.format(
        E'CREATE FUNCTION gamification.%I(%s)\nRETURNS boolean\nLANGUAGE sql\nSTABLE\nRETURN (%s)',
        gamification._predicate_name(r.badge_code),
        (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s', a, gamification._qualified(r.table_name)), ', ' ORDER BY o)
           FROM pg_catalog.unnest(gamification._predicate_rows(r)) WITH ORDINALITY AS x(a, o)),
        CASE WHEN r.kind = 'counter'
             THEN gamification._qualify_columns(coalesce(r.counter_where, 'true'), gamification._rule_alias(r), r.table_name)
             WHEN gamification._condition_is_expression(r.condition)
             THEN gamification._qualify_columns(r.condition, gamification._rule_alias(r), r.table_name)
             ELSE 'SELECT ' || r.condition END)
$$;
COMMENT ON FUNCTION gamification._predicate_sql(gamification.badge_rule) IS
    'Internal: the CREATE FUNCTION statement of a rule''s predicate (a SQL-standard body, resolved when created).';

CREATE {{ or_replace }}FUNCTION gamification._predicate_comment(r gamification.badge_rule)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('gamification: generated predicate of badge %s; do not edit (generator %s, hash %s)',
                             pg_catalog.quote_literal(r.badge_code), gamification._generator_version(),
                             pg_catalog.md5(gamification._predicate_sql(r)))
$$;
COMMENT ON FUNCTION gamification._predicate_comment(gamification.badge_rule) IS
    'Internal: the comment a predicate carries when it is exactly what its rule generates (hash of its CREATE statement).';

CREATE {{ or_replace }}FUNCTION gamification._function_problem(p_function oid)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN NOT gamification._role_is_trusted(p.proowner)
        THEN pg_catalog.format('42501:calls function %s, owned by role %I, which is neither a superuser nor the extension''s owner', p.oid::regprocedure,
                               pg_catalog.pg_get_userbyid(p.proowner))
        WHEN n.nspname LIKE 'pg\_temp\_%'
        THEN pg_catalog.format('0A000:calls the temporary function %s', p.oid::regprocedure)
        WHEN p.provolatile = 'v'
        THEN pg_catalog.format('0A000:calls function %s, which is volatile (it may write or change the session): a condition must only read',
                               p.oid::regprocedure)
        WHEN p.proretset
        THEN pg_catalog.format('0A000:calls the set-returning function %s', p.oid::regprocedure)
        WHEN NOT pg_catalog.has_function_privilege('gamification_runner', p.oid, 'EXECUTE')
        THEN pg_catalog.format('42501:calls function %s, which role gamification_runner (which runs conditions) may not execute',
                               p.oid::regprocedure)
    END
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE p.oid = p_function
$$;
COMMENT ON FUNCTION gamification._function_problem(oid) IS
    'Internal: why a condition may not call a function (prefixed with its SQLSTATE), or NULL: it must be owned by a superuser, not temporary, not volatile, not set-returning, and executable by gamification_runner.';

CREATE {{ or_replace }}FUNCTION gamification._dependency_problem(p_class regclass, p_object oid)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- One object a predicate depends on. Tables are data: reading one runs no code of
    -- its owner (gamification_runner bypasses row security, so no policy runs). Code is
    -- what functions, operators, views and domains hold: only a superuser's may run.
    SELECT CASE p_class
        WHEN 'pg_catalog.pg_proc'::regclass THEN gamification._function_problem(p_object)
        WHEN 'pg_catalog.pg_operator'::regclass THEN
            (SELECT coalesce(CASE WHEN NOT gamification._role_is_trusted(o.oprowner)
                                  THEN pg_catalog.format('42501:uses operator %s, owned by role %I, which is neither a superuser nor the extension''s owner',
                                                         o.oid::regoperator, pg_catalog.pg_get_userbyid(o.oprowner)) END,
                             gamification._function_problem(o.oprcode))
               FROM pg_catalog.pg_operator o WHERE o.oid = p_object)
        WHEN 'pg_catalog.pg_class'::regclass THEN
            (SELECT CASE WHEN n.nspname LIKE 'pg\_temp\_%'
                         THEN pg_catalog.format('0A000:reads the temporary table %s', c.oid::regclass)
                         WHEN c.relkind = 'v' AND NOT gamification._role_is_trusted(c.relowner)
                         THEN pg_catalog.format('42501:reads view %s, owned by role %I, which is neither a superuser nor the extension''s owner',
                                                c.oid::regclass, pg_catalog.pg_get_userbyid(c.relowner))
                         WHEN c.relkind NOT IN ('r', 'p', 'm', 'v')
                         THEN pg_catalog.format('0A000:reads %s, which is not a table, view or materialized view', c.oid::regclass)
                    END
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_object)
        WHEN 'pg_catalog.pg_type'::regclass THEN
            (SELECT CASE WHEN n.nspname LIKE 'pg\_temp\_%'
                         THEN pg_catalog.format('0A000:uses the temporary type %s', t.oid::regtype)
                         WHEN t.typtype = 'd' AND NOT gamification._role_is_trusted(t.typowner)
                         THEN pg_catalog.format('42501:uses domain %s, owned by role %I, which is neither a superuser nor the extension''s owner (its checks are code)',
                                                t.oid::regtype, pg_catalog.pg_get_userbyid(t.typowner))
                    END
               FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = p_object)
    END
$$;
COMMENT ON FUNCTION gamification._dependency_problem(regclass, oid) IS
    'Internal: why a predicate may not depend on one object (prefixed with its SQLSTATE), or NULL.';

CREATE {{ or_replace }}FUNCTION gamification._predicate_objects(p_function regprocedure)
RETURNS TABLE (classid regclass, objid oid)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- What a predicate depends on: the dependencies PostgreSQL recorded (tables, columns,
    -- types, and functions and operators outside pg_catalog) and, because dependencies on
    -- built-in objects are never recorded, every function and operator its stored body
    -- calls (random(), nextval(), set_config() are built-ins too).
    SELECT d.refclassid::regclass, d.refobjid FROM pg_catalog.pg_depend d
     WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p_function AND d.deptype = 'n'
    UNION
    SELECT CASE WHEN m[1] IN ('opno', 'eqop', 'sortop') THEN 'pg_catalog.pg_operator' ELSE 'pg_catalog.pg_proc' END::regclass,
           m[2]::oid
      FROM pg_catalog.pg_proc p,
           pg_catalog.regexp_matches(p.prosqlbody::text, ':(funcid|opfuncid|aggfnoid|winfnoid|opno|eqop|sortop) ([1-9][0-9]*)', 'g') m
     WHERE p.oid = p_function
$$;
COMMENT ON FUNCTION gamification._predicate_objects(regprocedure) IS
    'Internal: every object a predicate depends on (recorded dependencies, and the functions and operators its body calls, built-ins included).';

CREATE {{ or_replace }}FUNCTION gamification._predicate_problem(p_function regprocedure)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT pg_catalog.min(gamification._dependency_problem(o.classid, o.objid))
           FROM gamification._predicate_objects(p_function) o),
        -- Row locks are writes too (and a new lock in somebody's transaction).
        CASE WHEN (SELECT p.prosqlbody::text FROM pg_catalog.pg_proc p WHERE p.oid = p_function) ~ ':hasForUpdate true'
             THEN '0A000:locks rows (FOR UPDATE or FOR SHARE): a condition must only read' END)
$$;
COMMENT ON FUNCTION gamification._predicate_problem(regprocedure) IS
    'Internal: why a freshly created predicate may not be kept (prefixed with its SQLSTATE), or NULL: every object it depends on is checked, and row locks are refused.';

CREATE {{ or_replace }}FUNCTION gamification._grant_reads(p_function regprocedure)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_relation regclass;
BEGIN
    FOR v_relation IN
        SELECT DISTINCT o.objid::regclass FROM gamification._predicate_objects(p_function) o
         WHERE o.classid = 'pg_catalog.pg_class'::regclass
           AND NOT pg_catalog.has_table_privilege('gamification_runner', o.objid, 'SELECT')
    LOOP
        EXECUTE pg_catalog.format('GRANT SELECT ON %s TO gamification_runner', v_relation);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION gamification._grant_reads(regprocedure) IS
    'Internal: grant gamification_runner SELECT on every relation a predicate reads (and nothing else).';

CREATE {{ or_replace }}FUNCTION gamification._predicate_drop(p_code text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                       WHERE p.pronamespace = 'gamification'::regnamespace
                         AND p.proname = gamification._predicate_name(p_code) LOOP
        EXECUTE pg_catalog.format('DROP FUNCTION %s', v_function);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION gamification._predicate_drop(text) IS
    'Internal: drop a badge''s predicate, if it has one.';

CREATE {{ or_replace }}FUNCTION gamification._predicate_install(p_label text, r gamification.badge_rule)
RETURNS regprocedure
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name name := gamification._predicate_name(r.badge_code);
    v_sql text := gamification._predicate_sql(r);
    v_field text := gamification._rule_field(r.kind, 'condition');
    v_function regprocedure;
    v_old regprocedure;
    v_problem text;
BEGIN
    -- Runs as the extension's owner (every caller is SECURITY DEFINER): parsing a
    -- condition runs none of its code, and what it depends on is checked before it is kept.
    SELECT p.oid::regprocedure INTO v_old FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'gamification'::regnamespace AND p.proname = v_name;
    IF v_old IS NOT NULL AND pg_catalog.obj_description(v_old, 'pg_proc') = gamification._predicate_comment(r) THEN
        RETURN v_old;
    END IF;
    -- The registry is trusted only as far as it is checked: one expression, no more.
    PERFORM gamification._check_sql_fragment(p_label, v_field, coalesce(r.condition, r.counter_where, 'true'));
    PERFORM gamification._check_row_columns(p_label, v_field, coalesce(r.condition, r.counter_where, 'true'), r.table_name);
    PERFORM gamification._predicate_drop(r.badge_code);
    BEGIN
        PERFORM pg_catalog.set_config('search_path', r.search_path || ', pg_temp', true);
        EXECUTE v_sql;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    EXCEPTION WHEN OTHERS THEN  -- the block's search_path change is undone here
        -- A condition that is not boolean is a datatype mismatch, as it was in a WHERE.
        RAISE EXCEPTION USING ERRCODE = CASE SQLSTATE WHEN '42P13' THEN '42804' ELSE SQLSTATE END,
            MESSAGE = pg_catalog.format('%s: field "%s" does not compile against table %s: %s', p_label, v_field,
                              gamification._qualified(r.table_name), SQLERRM),
            HINT = coalesce(CASE WHEN r.kind = 'counter'
                 THEN 'Give a boolean expression over the counted row, e.g. "published" or "NEW.kind = ''post''".'
                 ELSE 'Give the tail of a SELECT that yields one boolean, e.g. NEW.hit_views > 1000 or count(*) >= 5 FROM posts WHERE author_id = NEW.author_id; NEW is the row written (OLD the row before an update or delete).' END, '');
    END;
    SELECT p.oid::regprocedure INTO v_function FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'gamification'::regnamespace AND p.proname = v_name;
    v_problem := gamification._predicate_problem(v_function);
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = pg_catalog.left(v_problem, 5),
            MESSAGE = pg_catalog.format('%s: field "%s" %s', p_label, v_field, pg_catalog.substr(v_problem, 7)),
            HINT = 'A condition runs inside other roles'' writes: it may only read tables, and call functions, operators, views and domains that a superuser owns (ask your DBA to own a helper function: ALTER FUNCTION ... OWNER TO a superuser).';
    END IF;
    EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO gamification_runner', v_function);
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_function);
    EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', v_function, gamification._predicate_comment(r));
    EXECUTE pg_catalog.format('ALTER FUNCTION %s DEPENDS ON EXTENSION gamification', v_function);
    -- What the condition reads, gamification_runner reads.
    PERFORM gamification._grant_reads(v_function);
    RETURN v_function;
END;
$$;
COMMENT ON FUNCTION gamification._predicate_install(text, gamification.badge_rule) IS
    'Internal: create (or keep, when unchanged) a rule''s predicate, refuse it unless everything it depends on passes _predicate_problem, and hand it to gamification_runner with SELECT on the relations it reads.';

CREATE {{ or_replace }}FUNCTION gamification._require_reads(p_label text, p_function regprocedure, p_registrant name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_missing text;
BEGIN
    -- The condition runs as gamification_runner, but it may only read what its
    -- registrant could read: a badge never tells anyone about rows they cannot see.
    SELECT pg_catalog.min(CASE WHEN o.classid = 'pg_catalog.pg_class'::regclass
                                    AND NOT pg_catalog.has_table_privilege(p_registrant, o.objid, 'SELECT')
                               THEN pg_catalog.format('table %s', o.objid::regclass)
                               WHEN o.classid = 'pg_catalog.pg_proc'::regclass
                                    AND NOT pg_catalog.has_function_privilege(p_registrant, o.objid, 'EXECUTE')
                               THEN pg_catalog.format('function %s', o.objid::regprocedure) END)
      INTO v_missing
      FROM gamification._predicate_objects(p_function) o;
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = pg_catalog.format('%s: permission denied for %s, which the condition reads (role %I)', p_label, v_missing, p_registrant),
            HINT = 'A condition may only read what the role registering it may read: grant that role SELECT (or EXECUTE).';
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._require_reads(text, regprocedure, name) IS
    'Internal: 42501 unless the registrant may SELECT every relation and EXECUTE every function a predicate depends on.';
