-- Reading the trigger keys of a badge definition into a gamification.badge_rule row.
-- Every name is resolved through the catalog (regclass, pg_attribute) and every
-- condition is compiled against the tracked table now, so a mistake fails at
-- registration and never in somebody's write.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._qualified(p_table regclass)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = p_table
$$;
COMMENT ON FUNCTION gamification._qualified(regclass) IS
    'Internal: schema-qualified, quoted name of a table, whatever the search_path.';


CREATE {{ or_replace }}FUNCTION gamification._trigger_keys()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['condition', 'trigger_condition', 'trigger_table', 'user_field', 'update_of',
                 'counter', 'backfill', 'fire_on_replica']
$$;
COMMENT ON FUNCTION gamification._trigger_keys() IS
    'Internal: the keys that make a badge definition a trigger badge.';

CREATE {{ or_replace }}FUNCTION gamification._caller_search_path()
RETURNS text
LANGUAGE sql
STABLE
-- No SET clause on purpose: this reads the caller's search_path. It is fixed into
-- every rule registered, so a writer's session settings never change what a
-- condition reads; pg_temp is never part of it.
AS $$
    -- Temporary schemas never: a condition names nothing a session can plant.
    SELECT coalesce(pg_catalog.string_agg(pg_catalog.quote_ident(s.name), ', ' ORDER BY s.ord), 'pg_catalog')
      FROM pg_catalog.unnest(pg_catalog.current_schemas(false)) WITH ORDINALITY AS s(name, ord)
     WHERE s.name !~ '^pg_(toast_)?temp_'
$$;
COMMENT ON FUNCTION gamification._caller_search_path() IS
    'Internal: the calling session''s effective schemas, quoted, to be pinned into the trigger badges it registers.';

CREATE {{ or_replace }}FUNCTION gamification._registrant(p_claimed name)
RETURNS name
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- The session's own role: SET ROLE's, else the login's. SECURITY DEFINER changes
    -- neither, and neither can be changed inside one.
    v_session name := CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user
                           ELSE pg_catalog.current_setting('role')::name END;
BEGIN
    -- A SECURITY DEFINER function cannot see who called it: the public wrappers pass
    -- current_user. A direct caller could pass any name, so the session must be able to
    -- act as that role anyway (be it, or a member of it): a claim grants nothing new.
    IF p_claimed IS NULL OR NOT pg_catalog.pg_has_role(v_session, p_claimed, 'MEMBER') THEN
        PERFORM gamification._raise('42501',
            pg_catalog.format('role %s may not act as role %s', v_session, coalesce(pg_catalog.quote_ident(p_claimed), 'NULL')),
            'Call the public functions (gamification.badge_register() and the others); they pass your role.');
    END IF;
    RETURN p_claimed;
END;
$$;
COMMENT ON FUNCTION gamification._registrant(name) IS
    'Internal: the role on whose behalf a SECURITY DEFINER function of the API acts (passed by its public wrapper as current_user); 42501 unless the session may act as that role.';

CREATE {{ or_replace }}FUNCTION gamification._check_sql_fragment(p_label text, p_field text, p_sql text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_len integer := pg_catalog.length(p_sql);
    v_pos integer := 1;
    v_char text;
    v_next text;
    v_depth integer := 0;
    v_problem text;
    v_escapes boolean;
    v_end integer;
BEGIN
    -- A fragment is spliced into a generated statement as one expression. Scan it as
    -- PostgreSQL's lexer would, outside string literals and quoted identifiers: it must
    -- not end that statement (";"), start another, hide the rest of it (comments), leave
    -- its parentheses (unbalanced ")" or "("), or bring its own quoting ("$$" dollar quotes).
    WHILE v_pos <= v_len AND v_problem IS NULL LOOP
        v_char := pg_catalog.substr(p_sql, v_pos, 1);
        v_next := pg_catalog.substr(p_sql, v_pos + 1, 1);
        IF v_char = '''' THEN
            -- E'...' strings take backslash escapes; plain ones double their quotes.
            v_escapes := v_pos > 1 AND pg_catalog.upper(pg_catalog.substr(p_sql, v_pos - 1, 1)) = 'E'
                         AND (v_pos = 2 OR pg_catalog.substr(p_sql, v_pos - 2, 1) !~ '[[:alnum:]_$]');
            v_pos := v_pos + 1;
            LOOP
                IF v_pos > v_len THEN
                    v_problem := 'an unterminated string literal';
                    EXIT;
                END IF;
                v_char := pg_catalog.substr(p_sql, v_pos, 1);
                IF v_escapes AND v_char = E'\\' THEN
                    v_pos := v_pos + 2;
                ELSIF v_char = '''' AND pg_catalog.substr(p_sql, v_pos + 1, 1) = '''' THEN
                    v_pos := v_pos + 2;
                ELSIF v_char = '''' THEN
                    EXIT;
                ELSE
                    v_pos := v_pos + 1;
                END IF;
            END LOOP;
        ELSIF v_char = '"' THEN
            v_end := pg_catalog.strpos(pg_catalog.substr(p_sql, v_pos + 1), '"');
            IF v_end = 0 THEN
                v_problem := 'an unterminated quoted identifier';
            END IF;
            v_pos := v_pos + v_end;  -- on the closing quote ("" inside reads as two identifiers: same effect)
        ELSIF v_char = ';' THEN
            v_problem := 'a ";"';
        ELSIF (v_char = '-' AND v_next = '-') OR (v_char = '/' AND v_next = '*') THEN
            v_problem := 'a comment';
        ELSIF v_char = '$' AND (v_pos = 1 OR pg_catalog.substr(p_sql, v_pos - 1, 1) !~ '[[:alnum:]_]') THEN
            v_problem := 'a "$" (dollar quoting or a parameter)';
        ELSIF v_char = '(' THEN
            v_depth := v_depth + 1;
        ELSIF v_char = ')' THEN
            v_depth := v_depth - 1;
            IF v_depth < 0 THEN
                v_problem := 'a ")" without its "("';
            END IF;
        END IF;
        v_pos := v_pos + 1;
    END LOOP;
    IF v_problem IS NULL AND v_depth > 0 THEN
        v_problem := 'a "(" without its ")"';
    END IF;
    IF v_problem IS NOT NULL THEN
        PERFORM gamification._raise('42601',
            pg_catalog.format('%s: field "%s" must be one SQL expression, but it contains %s', p_label, p_field, v_problem),
            'Write the condition as the tail of a SELECT, e.g. NEW.hit_views > 1000 or count(*) >= 5 FROM posts WHERE author_id = NEW.author_id, without ";", comments or dollar quotes.');
    END IF;
END;
$fn$;
COMMENT ON FUNCTION gamification._check_sql_fragment(text, text, text) IS
    'Internal: refuse a condition or where fragment that is not one expression: a ";", a comment, unbalanced parentheses, dollar quoting or an unterminated literal outside string literals and quoted identifiers (SQLSTATE 42601).';

CREATE {{ or_replace }}FUNCTION gamification._resolve_table(p_label text, p_field text, p_name text, p_search_path text)
RETURNS regclass
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table regclass;
BEGIN
    -- pg_temp named last (unnamed, it would be searched first); a name that still
    -- resolves to a temporary table is refused below.
    PERFORM pg_catalog.set_config('search_path', p_search_path || ', pg_temp', true);
    BEGIN
        v_table := pg_catalog.to_regclass(p_name);
    EXCEPTION WHEN OTHERS THEN  -- to_regclass still raises on a malformed name
        v_table := NULL;
    END;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF v_table IS NULL THEN
        PERFORM gamification._raise('42P01',
            pg_catalog.format('%s: field "%s": table %s does not exist', p_label, p_field, pg_catalog.quote_literal(p_name)),
            'Name an existing table, schema-qualified if it is not on your search_path; quote mixed-case names, e.g. "MyTable".');
    END IF;
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = v_table) NOT IN ('r', 'p') THEN
        PERFORM gamification._raise('42809',
            pg_catalog.format('%s: field "%s": %s is not a table', p_label, p_field, v_table),
            'Badges are awarded by triggers, which only plain and partitioned tables have.');
    END IF;
    IF (SELECT c.relpersistence FROM pg_catalog.pg_class c WHERE c.oid = v_table) = 't' THEN
        PERFORM gamification._raise('0A000',
            pg_catalog.format('%s: field "%s": %s is a temporary table', p_label, p_field, v_table),
            'Badges watch permanent tables: a temporary one is gone with its session.');
    END IF;
    RETURN v_table;
END;
$$;
COMMENT ON FUNCTION gamification._resolve_table(text, text, text, text) IS
    'Internal: resolve a table name with the given (the registrant''s) search_path; raise 42P01 if unknown, 42809 if not a table, 0A000 if temporary.';

CREATE {{ or_replace }}FUNCTION gamification._resolve_column(p_label text, p_field text, p_table regclass, p_column text)
RETURNS name
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = p_table AND a.attname = p_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
        PERFORM gamification._raise('42703',
            pg_catalog.format('%s: field "%s": column %s does not exist in table %s', p_label, p_field,
                              pg_catalog.quote_literal(p_column), p_table),
            pg_catalog.format('Columns of %s: %s.', p_table,
                (SELECT pg_catalog.string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped)));
    END IF;
    RETURN p_column::name;
END;
$$;
COMMENT ON FUNCTION gamification._resolve_column(text, text, regclass, text) IS
    'Internal: check that a column exists in a table (exact, case-sensitive name); raise 42703 listing the table''s columns if not.';

CREATE {{ or_replace }}FUNCTION gamification._primary_key(p_table regclass)
RETURNS name[]
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)
      FROM pg_catalog.pg_index i
      CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = p_table AND i.indisprimary
$$;
COMMENT ON FUNCTION gamification._primary_key(regclass) IS
    'Internal: the primary key columns of a table, in key order, or NULL.';

CREATE {{ or_replace }}FUNCTION gamification._uses_old(p_condition text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_condition OPERATOR(pg_catalog.~*) '(^|[^a-z0-9_$."])old[[:space:]]*\.'
$$;
COMMENT ON FUNCTION gamification._uses_old(text) IS
    'Internal: whether a condition refers to OLD (the row before an update), which needs old and new rows paired by primary key.';

CREATE {{ or_replace }}FUNCTION gamification._require_trigger_privilege(p_label text, r gamification.badge_rule, p_registrant name)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT pg_catalog.has_table_privilege(p_registrant, r.table_name, 'TRIGGER') THEN
        PERFORM gamification._raise('42501',
            pg_catalog.format('%s: field "%s": permission denied to change the triggers on %s', p_label,
                              CASE r.kind WHEN 'counter' THEN 'counter.table' ELSE 'trigger_table' END,
                              gamification._qualified(r.table_name)),
            'The role changing a trigger badge needs the TRIGGER privilege on its table (or to own it).');
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._require_trigger_privilege(text, gamification.badge_rule, name) IS
    'Internal: 42501 unless the registrant may change the triggers of a rule''s table (the TRIGGER privilege).';


CREATE {{ or_replace }}FUNCTION gamification._role_is_trusted(p_role oid)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- A superuser, or the extension's owner (a superuser too, but for pg_tle installs,
    -- where the trusted administrative role that installed it is not).
    SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = p_role), false)
        OR p_role = (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'gamification')
$$;
COMMENT ON FUNCTION gamification._role_is_trusted(oid) IS
    'Internal: whether code owned by a role may run inside other roles'' writes as a badge condition: superusers and the extension''s owner.';


CREATE {{ or_replace }}FUNCTION gamification._require_plain_type(p_label text, p_field text, p_table regclass, p_column name)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type regtype;
    v_owner oid;
BEGIN
    -- The machinery compares and converts these columns itself: their type's casts and
    -- operators must be a superuser's, never those of the table's owner.
    SELECT a.atttypid::regtype, t.typowner INTO v_type, v_owner
      FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = p_table AND a.attname = p_column AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RETURN;  -- a column that is gone: _rule_problem says so
    END IF;
    IF NOT gamification._role_is_trusted(v_owner) THEN
        PERFORM gamification._raise('42501',
            pg_catalog.format('%s: field "%s": column %I of %s has type %s, owned by role %I, which is neither a superuser nor the extension''s owner',
                              p_label, p_field, p_column, gamification._qualified(p_table), v_type,
                              pg_catalog.pg_get_userbyid(v_owner)),
            'Use a column of a built-in type (integer, bigint, uuid, text, ...): its casts and operators run inside other roles'' writes.');
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._require_plain_type(text, text, regclass, name) IS
    'Internal: 42501 unless a column the machinery compares or converts itself (user_field, update_of) has a type owned by a superuser.';


CREATE {{ or_replace }}FUNCTION gamification._rule_from_json(p_label text, p_code text, p_def jsonb, p_search_path text, p_registrant name)
RETURNS gamification.badge_rule
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r gamification.badge_rule;
    v_counter jsonb := p_def -> 'counter';
    v_table text;
    v_col text;
BEGIN
    r.badge_code := p_code;
    r.search_path := p_search_path;
    r.fire_on_replica := gamification._bool_field(p_label, p_def, 'fire_on_replica', false,
        'Give true to have the triggers fire on replicas too (ENABLE ALWAYS), or omit it.');
    PERFORM gamification._bool_field(p_label, p_def, 'backfill', false,
        'Give true to award, at registration, every user who already meets the condition, or omit it.');

    IF v_counter IS NOT NULL THEN
        SELECT pg_catalog.min(k) INTO v_col FROM pg_catalog.jsonb_object_keys(p_def) k
         WHERE k IN ('condition', 'trigger_condition', 'trigger_table', 'user_field', 'update_of');
        IF v_col IS NOT NULL THEN
            PERFORM gamification._raise('22023',
                pg_catalog.format('%s: field "%s" cannot be combined with "counter"', p_label, v_col),
                'A badge is either a condition badge (condition, trigger_condition, trigger_table, user_field) or a counter badge (counter, target).');
        END IF;
        IF pg_catalog.jsonb_typeof(v_counter) <> 'object' THEN
            PERFORM gamification._field_error(p_label, 'counter', 'an object', v_counter,
                'Give {"table": ..., "user_field": ..., "on": "insert" or "delete", "where": ...}.');
        END IF;
        PERFORM gamification._check_keys(p_label || ': field "counter"', v_counter,
                                         ARRAY['table', 'user_field', 'on', 'where']);
        IF p_def -> 'target' IS NULL OR p_def -> 'target' = 'null' THEN
            PERFORM gamification._raise('22023',
                pg_catalog.format('%s: field "target" is required for a counter badge', p_label),
                'Give "target": the number of rows that earns the badge.');
        END IF;
        r.kind := 'counter';
        v_table := gamification._text_field(p_label, v_counter, 'table', true, false,
            'Give "counter": {"table": "<table counted>", ...}.');
        r.table_name := gamification._resolve_table(p_label, 'counter.table', v_table, p_search_path);
        r.user_field := gamification._resolve_column(p_label, 'counter.user_field', r.table_name,
            gamification._text_field(p_label, v_counter, 'user_field', true, false,
                'Give "counter": {"user_field": "<column holding the user key>", ...}.'));
        r.event := pg_catalog.lower(coalesce(gamification._text_field(p_label, v_counter, 'on', false, false,
            'Give "on": "insert" or "delete".'), 'insert'));
        IF r.event NOT IN ('insert', 'delete') THEN
            PERFORM gamification._field_error(p_label, 'counter.on', '"insert" or "delete"', v_counter -> 'on',
                'A counter counts inserted rows ("insert", the default) or deleted rows ("delete").');
        END IF;
        r.counter_where := gamification._text_field(p_label, v_counter, 'where', false, false,
            'Give a boolean SQL expression over the row, e.g. "published", or omit it to count every row.');
        IF r.counter_where IS NOT NULL THEN
            PERFORM gamification._check_sql_fragment(p_label, 'counter.where', r.counter_where);
        END IF;
    ELSE
        r.kind := 'condition';
        FOREACH v_col IN ARRAY ARRAY['condition', 'trigger_condition', 'trigger_table', 'user_field'] LOOP
            IF p_def -> v_col IS NULL THEN
                PERFORM gamification._raise('22023',
                    pg_catalog.format('%s: field "%s" is required for a trigger badge', p_label, v_col),
                    'A condition badge needs condition, trigger_condition (insert, update or delete), trigger_table and user_field.');
            END IF;
        END LOOP;
        r.condition := gamification._text_field(p_label, p_def, 'condition', true, false,
            'Give the tail of a SELECT, e.g. NEW.hit_views > 1000.');
        PERFORM gamification._check_sql_fragment(p_label, 'condition', r.condition);
        r.event := pg_catalog.lower(gamification._text_field(p_label, p_def, 'trigger_condition', true, false,
            'Give "insert", "update" or "delete".'));
        IF r.event NOT IN ('insert', 'update', 'delete') THEN
            PERFORM gamification._field_error(p_label, 'trigger_condition', '"insert", "update" or "delete"',
                p_def -> 'trigger_condition', 'The event of trigger_table that can award the badge.');
        END IF;
        r.table_name := gamification._resolve_table(p_label, 'trigger_table',
            gamification._text_field(p_label, p_def, 'trigger_table', true, false, 'Give the name of the table to watch.'),
            p_search_path);
        r.user_field := gamification._resolve_column(p_label, 'user_field', r.table_name,
            gamification._text_field(p_label, p_def, 'user_field', true, false,
                'Give the column of trigger_table that holds the user key.'));
        IF p_def ? 'update_of' AND p_def -> 'update_of' <> 'null' THEN
            IF r.event <> 'update' THEN
                PERFORM gamification._raise('22023',
                    pg_catalog.format('%s: field "update_of" only applies when trigger_condition is "update"', p_label),
                    'Remove "update_of", or set "trigger_condition": "update".');
            END IF;
            IF pg_catalog.jsonb_typeof(p_def -> 'update_of') <> 'array' OR pg_catalog.jsonb_array_length(p_def -> 'update_of') = 0
               OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(p_def -> 'update_of') e
                           WHERE pg_catalog.jsonb_typeof(e) <> 'string') THEN
                PERFORM gamification._field_error(p_label, 'update_of', 'a non-empty array of column names',
                    p_def -> 'update_of', 'Give the columns whose change can award the badge, e.g. ["hit_views"].');
            END IF;
            SELECT pg_catalog.array_agg(DISTINCT gamification._resolve_column(p_label, 'update_of', r.table_name, e)
                                        ORDER BY gamification._resolve_column(p_label, 'update_of', r.table_name, e))
              INTO r.update_of
              FROM pg_catalog.jsonb_array_elements_text(p_def -> 'update_of') e;
        END IF;
        IF r.event = 'update' AND r.update_of IS NULL AND gamification._uses_old(r.condition)
           AND gamification._primary_key(r.table_name) IS NULL THEN
            PERFORM gamification._raise('55000',
                pg_catalog.format('%s: field "condition" refers to OLD, but table %s has no primary key to pair old and new rows',
                                  p_label, r.table_name),
                'Add a primary key to the table, or list the columns in "update_of" (evaluated row by row).');
        END IF;
    END IF;

    IF gamification._bool_field(p_label, p_def, 'backfill', false, '') AND
       (r.event = 'delete' OR gamification._uses_old(coalesce(r.condition, ''))) THEN
        PERFORM gamification._raise('0A000',
            pg_catalog.format('%s: field "backfill" is not available for a badge that depends on deleted or previous rows', p_label),
            'Backfill evaluates the condition over the rows as they are now, and past deletes are not kept: omit "backfill" for delete badges and counters and for conditions using OLD.');
    END IF;

    PERFORM gamification._require_trigger_privilege(p_label, r, p_registrant);
    PERFORM gamification._require_plain_type(p_label, CASE r.kind WHEN 'counter' THEN 'counter.user_field' ELSE 'user_field' END,
                                             r.table_name, r.user_field);
    PERFORM gamification._require_plain_type(p_label, 'update_of', r.table_name, c)
       FROM pg_catalog.unnest(r.update_of) c;
    IF r.fire_on_replica AND NOT pg_catalog.pg_has_role(p_registrant,
            (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = r.table_name), 'MEMBER') THEN
        PERFORM gamification._raise('42501',
            pg_catalog.format('%s: field "fire_on_replica": only the owner of table %s can make its triggers fire on replicas',
                              p_label, gamification._qualified(r.table_name)),
            'Register this badge as the table''s owner (ALTER TABLE ... ENABLE ALWAYS TRIGGER needs it), or omit "fire_on_replica".');
    END IF;
    RETURN r;
END;
$$;
COMMENT ON FUNCTION gamification._rule_from_json(text, text, jsonb, text, name) IS
    'Internal: validate the trigger keys of one badge definition for a registrant and return its rule, with names resolved (the condition is compiled into its predicate when the rule is installed). Raises documented SQLSTATEs naming the badge and field.';
