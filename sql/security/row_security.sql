-- Optional row-level security, off by default: once enabled, a role that is only a
-- reader sees, through the views, just the rows of the user its session names:
--     SET gamification.user_id = '42';
-- Operators and admins (and the SECURITY DEFINER functions) still see every row.

CREATE FUNCTION gamification._user_data_tables()
RETURNS regclass[]
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['gamification.award', 'gamification.award_history', 'gamification.progress',
                 'gamification.points_ledger', 'gamification.points_total', 'gamification.unlock']::regclass[]
$$;
COMMENT ON FUNCTION gamification._user_data_tables() IS
    'Internal: the tables holding per-user rows, which row security filters.';

DO $policies$
DECLARE
    v_table regclass;
BEGIN
    FOREACH v_table IN ARRAY gamification._user_data_tables() LOOP
        EXECUTE pg_catalog.format(
            'CREATE POLICY gamification_staff ON %s TO gamification_operator USING (true) WITH CHECK (true)', v_table);
        EXECUTE pg_catalog.format(
            'CREATE POLICY gamification_own_rows ON %s FOR SELECT TO gamification_reader '
            'USING (user_id OPERATOR(pg_catalog.=) pg_catalog.current_setting(''gamification.user_id'', true))', v_table);
    END LOOP;
END
$policies$;

CREATE FUNCTION gamification.row_security(enabled boolean)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table regclass;
BEGIN
    IF enabled IS NULL THEN
        PERFORM gamification._raise('22004', 'gamification.row_security(): enabled must not be null',
                                    'Pass true to turn row security on, false to turn it off.');
    END IF;
    FOREACH v_table IN ARRAY gamification._user_data_tables() LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s %s ROW LEVEL SECURITY', v_table,
                                  CASE WHEN enabled THEN 'ENABLE' ELSE 'DISABLE' END);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION gamification.row_security(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gamification.row_security(boolean) TO gamification_admin;
REVOKE ALL ON FUNCTION gamification._user_data_tables() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gamification._user_data_tables() TO gamification_admin;
COMMENT ON FUNCTION gamification.row_security(boolean) IS
    'Turn row-level security on the users'' data on (true) or off (false; the default). When on, a role that is only a gamification_reader sees, through the views, only the rows whose user_id equals its setting gamification.user_id; operators and admins see all rows. Admins only.';
