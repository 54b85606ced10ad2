-- Optional row-level security, off by default: once enabled, a role that is only a
-- reader sees, through the views, just the rows of one user, gamification.viewer():
--   * a session whose login role is a member of gamification_pooler (a connection pool
--     that serves many users) names the user: SET gamification.user_id = '42';
--   * any other session sees the rows of the user whose key is its own login name: a
--     reader that runs its own SQL cannot choose whose rows it reads.
-- Operators and admins (and the SECURITY DEFINER functions) still see every row.

CREATE {{ or_replace }}FUNCTION gamification.viewer()
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN pg_catalog.pg_has_role(session_user, 'gamification_pooler', 'MEMBER')
                THEN NULLIF(pg_catalog.current_setting('gamification.user_id', true), '')
                ELSE session_user::text END
$$;
COMMENT ON FUNCTION gamification.viewer() IS
    'The user key whose rows row security shows to a reader: gamification.user_id when the session logged in as a member of gamification_pooler (a connection pool), otherwise the session''s own login name. NULL (no rows) for a pooler session that set no user.';

DO $policies$
DECLARE
    v_table regclass;
BEGIN
    FOREACH v_table IN ARRAY gamification._user_data_tables() LOOP
        -- An upgrade replaces the policies of an earlier version.
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS gamification_staff ON %s', v_table);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS gamification_own_rows ON %s', v_table);
        EXECUTE pg_catalog.format(
            'CREATE POLICY gamification_staff ON %s TO gamification_operator USING (true) WITH CHECK (true)', v_table);
        EXECUTE pg_catalog.format(
            'CREATE POLICY gamification_own_rows ON %s FOR SELECT TO gamification_reader '
            'USING (user_id OPERATOR(pg_catalog.=) gamification.viewer())', v_table);
    END LOOP;
END
$policies$;

CREATE {{ or_replace }}FUNCTION gamification.row_security(enabled boolean)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table regclass;
BEGIN
    IF enabled IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'gamification.row_security(): enabled must not be null',
                                    HINT = 'Pass true to turn row security on, false to turn it off.';
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
-- From nothing, so that an upgrade (where privileges.sql already granted admins) ends
-- with the same privileges, in the same order, as an install.
REVOKE ALL ON FUNCTION gamification.viewer() FROM PUBLIC, gamification_reader, gamification_admin;
GRANT EXECUTE ON FUNCTION gamification.viewer() TO gamification_reader;
GRANT EXECUTE ON FUNCTION gamification.viewer(), gamification._user_data_tables() TO gamification_admin;
COMMENT ON FUNCTION gamification.row_security(boolean) IS
    'Turn row-level security on the users'' data on (true) or off (false; the default). When on, a role that is only a gamification_reader sees, through the views and badges_for(), only the rows of gamification.viewer(): the setting gamification.user_id for sessions of a gamification_pooler member, otherwise the user named like its own login; operators and admins see all rows. Admins only.';
