-- Checking a rule against the catalog: who may register it, what its columns are, and
-- why a registered one can no longer be evaluated. Nothing here runs a condition: a
-- condition is compiled once, into its predicate (sql/triggers/predicates.sql), and
-- badge_status reads only the catalog, so no viewer ever evaluates another role's code.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._rule_problem(r gamification.badge_rule)
RETURNS text
LANGUAGE plpgsql
STABLE
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
    -- A trigger function generated before 0.2.0 evaluates conditions itself (no
    -- predicate) until triggers_sync() regenerates it: out of date, not broken.
    IF gamification._predicate_of(r) IS NULL AND NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
            WHERE t.tgrelid = r.table_name AND t.tgname = gamification._trigger_name(r.event, r.update_of IS NOT NULL)
              AND pg_catalog.strpos(p.prosrc, 'gamification.cond_') = 0) THEN
        RETURN pg_catalog.format('%s %s cannot be evaluated: its function is gone (dropped with something it read, or refused by triggers_sync()); register the badge again',
                                 CASE r.kind WHEN 'counter' THEN 'counter.where' ELSE 'condition' END,
                                 pg_catalog.quote_literal(coalesce(r.condition, r.counter_where, 'true')));
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION gamification._rule_problem(gamification.badge_rule) IS
    'Internal: why a rule cannot be evaluated (its table, a column or its predicate is gone), or NULL if it can. Reads the catalog only.';

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
