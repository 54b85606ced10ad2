-- Health of the trigger badges, for DBAs and monitoring.

CREATE VIEW gamification.badge_status AS
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
       e.at AS last_error_at
  FROM gamification.badge_rule r
  LEFT JOIN pg_catalog.pg_trigger t
         ON t.tgrelid = r.table_name AND t.tgname = gamification._trigger_name(r.event, r.update_of IS NOT NULL)
  LEFT JOIN LATERAL (SELECT x.message, x.at FROM gamification.badge_error x
                      WHERE x.badge_code = r.badge_code ORDER BY x.id DESC LIMIT 1) e ON true;
COMMENT ON VIEW gamification.badge_status IS
    'One row per trigger badge: its table and event, whether its trigger is installed and up to date with the registry, why it is broken (NULL when healthy: its table or a column dropped, its condition no longer compiling, its trigger missing), and the last error met while evaluating it inside a write.';
