-- Privileges: who may do what. Three levels, as NOLOGIN group roles that a DBA
-- grants to login roles (they are cluster-wide, so they are created only if missing
-- and survive DROP EXTENSION):
--   gamification_reader    reads the views;
--   gamification_operator  + awards, revokes, progress, points and resets by hand;
--   gamification_admin     + registers, changes and removes definitions.
-- Everything else, PUBLIC included, gets nothing. An application role that only
-- writes to tracked tables needs nothing either: the generated trigger functions are
-- SECURITY DEFINER, owned by the role that registered the badge.

DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['gamification_reader', 'gamification_operator', 'gamification_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = v_role) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
    IF NOT pg_catalog.pg_has_role('gamification_operator', 'gamification_reader', 'MEMBER') THEN
        GRANT gamification_reader TO gamification_operator;
    END IF;
    IF NOT pg_catalog.pg_has_role('gamification_admin', 'gamification_operator', 'MEMBER') THEN
        GRANT gamification_operator TO gamification_admin;
    END IF;
END
$roles$;

-- Nothing for PUBLIC: functions are executable by PUBLIC by default, so revoke them all.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA gamification FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA gamification FROM PUBLIC;
REVOKE ALL ON SCHEMA gamification FROM PUBLIC;

-- Readers: the views and badges_for(). The views over users' data run with the
-- reader's own rights (security_invoker), so optional row security applies to them.
GRANT USAGE ON SCHEMA gamification TO gamification_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA gamification TO gamification_reader;
ALTER VIEW gamification.user_badges SET (security_invoker = true);
ALTER VIEW gamification.user_points SET (security_invoker = true);
ALTER VIEW gamification.user_progress SET (security_invoker = true);
ALTER VIEW gamification.user_unlockables SET (security_invoker = true);
ALTER VIEW gamification.points_history SET (security_invoker = true);
ALTER VIEW gamification.badges SET (security_invoker = true);
-- badge_status and the rule registry are for admins: they show the conditions, and
-- badge_status compiles each one, with the viewing admin's own rights.
REVOKE SELECT ON gamification.badge_status, gamification.badge_rule, gamification.badge_error FROM gamification_reader;
ALTER VIEW gamification.badge_status SET (security_invoker = true);
ALTER FUNCTION gamification.badges_for(text) SECURITY DEFINER;
ALTER FUNCTION gamification.badges_for(anyelement) SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION gamification.badges_for(text), gamification.badges_for(anyelement) TO gamification_reader;

-- Operators: awarding by hand. SECURITY DEFINER (search_path is pinned on every one),
-- so operators need no rights on the tables and cannot write them directly.
ALTER FUNCTION gamification.badge_award(text, text) SECURITY DEFINER;
ALTER FUNCTION gamification.badge_award(anyelement, text) SECURITY DEFINER;
ALTER FUNCTION gamification.badge_revoke(text, text) SECURITY DEFINER;
ALTER FUNCTION gamification.badge_revoke(anyelement, text) SECURITY DEFINER;
ALTER FUNCTION gamification.badge_progress(text, text, bigint) SECURITY DEFINER;
ALTER FUNCTION gamification.badge_progress(anyelement, text, bigint) SECURITY DEFINER;
ALTER FUNCTION gamification.award_points(text, bigint, text) SECURITY DEFINER;
ALTER FUNCTION gamification.award_points(anyelement, bigint, text) SECURITY DEFINER;
ALTER FUNCTION gamification.reset(text) SECURITY DEFINER;
ALTER FUNCTION gamification.reset(anyelement) SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION
    gamification.badge_award(text, text), gamification.badge_award(anyelement, text),
    gamification.badge_revoke(text, text), gamification.badge_revoke(anyelement, text),
    gamification.badge_progress(text, text, bigint), gamification.badge_progress(anyelement, text, bigint),
    gamification.award_points(text, bigint, text), gamification.award_points(anyelement, bigint, text),
    gamification.reset(text), gamification.reset(anyelement)
TO gamification_operator;

-- Admins: definitions. Registration stays SECURITY INVOKER on purpose: a badge's
-- condition is compiled, and its generated trigger function owned and run, with the
-- registering role's own rights (and its TRIGGER privilege on the table), never with
-- the extension owner's. So admins get the tables, the internal functions and CREATE
-- on the schema (for the generated trigger functions).
GRANT CREATE ON SCHEMA gamification TO gamification_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA gamification TO gamification_admin;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA gamification TO gamification_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA gamification TO gamification_admin;
