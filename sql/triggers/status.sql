-- Health of the trigger badges, for DBAs and monitoring.
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
                                 gamification._rule_field(r.kind, 'condition'),
                                 pg_catalog.quote_literal(coalesce(r.condition, r.counter_where, 'true')));
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION gamification._rule_problem(gamification.badge_rule) IS
    'Internal: why a rule cannot be evaluated (its table, a column or its predicate is gone), or NULL if it can. Reads the catalog only.';


CREATE {{ or_replace }}VIEW gamification.badge_status AS
SELECT r.badge_code AS code,
       r.kind,
       coalesce(gamification._qualified(r.table_name), r.table_name::oid::text) AS table_name,
       r.event,
       t.oid IS NOT NULL AS installed,
       t.oid IS NOT NULL AND pg_catalog.obj_description(t.tgfoid, 'pg_proc')
           = gamification._trigger_function_comment(r.table_name, r.event, r.update_of IS NOT NULL) AS up_to_date,
       coalesce(gamification._rule_problem(r),
                CASE WHEN t.oid IS NULL THEN 'trigger ' || gamification._trigger_name(r.event, r.update_of IS NOT NULL)
                                             || ' is missing: run SELECT gamification.triggers_sync()' END) AS broken,
       e.message AS last_error,
       e.at AS last_error_at,
       -- Queued: staged by transactions that committed without applying them.
       (SELECT pg_catalog.count(*) FROM gamification.pending_queue q WHERE q.badge_code = r.badge_code) AS pending
  FROM gamification.badge_rule r
  LEFT JOIN pg_catalog.pg_trigger t
         ON t.tgrelid = r.table_name AND t.tgname = gamification._trigger_name(r.event, r.update_of IS NOT NULL)
  LEFT JOIN LATERAL (SELECT x.message, x.at FROM gamification.badge_error x
                      WHERE x.badge_code = r.badge_code AND x.at >= coalesce(r.generated_at, '-infinity')
                      ORDER BY x.id DESC LIMIT 1) e ON true;
COMMENT ON VIEW gamification.badge_status IS
    'One row per trigger badge: its table and event, whether its trigger is installed and up to date with the registry, why it is broken (NULL when healthy: its table or a column dropped, its condition no longer compiling, its trigger missing), and the last error met while evaluating it inside a write since its code was last generated (errors before a fix, a rename followed or a re-registration are history, kept in badge_error).';
COMMENT ON COLUMN gamification.badge_status.kind IS 'condition (awarded when a written row meets a condition) or counter (awarded when enough rows were counted).';
COMMENT ON COLUMN gamification.badge_status.table_name IS 'The table whose writes award it, schema-qualified.';
COMMENT ON COLUMN gamification.badge_status.event IS 'insert, update or delete.';
COMMENT ON COLUMN gamification.badge_status.installed IS 'Whether the table''s trigger for this event is in place.';
COMMENT ON COLUMN gamification.badge_status.up_to_date IS 'Whether that trigger''s generated function matches the registry (false after an upgrade until triggers_sync()).';
COMMENT ON COLUMN gamification.badge_status.broken IS 'Why the badge cannot be evaluated now, or NULL when healthy.';
COMMENT ON COLUMN gamification.badge_status.last_error IS 'The last error met while evaluating it inside a write since its code was last generated, or NULL (older ones stay in badge_error).';
COMMENT ON COLUMN gamification.badge_status.last_error_at IS 'When that error was met.';
COMMENT ON COLUMN gamification.badge_status.pending IS 'Awards and counter steps of this badge waiting in the queue (transactions that could not apply them at commit); applied by the next commit or gamification.pending_apply().';
