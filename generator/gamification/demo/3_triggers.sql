-- Writes from any client award live, in the writer's own transaction.
\pset footer off
\set QUIET on
\echo
\echo '== 11. The triggers the registration created on the application''s tables'
SELECT tgrelid::regclass AS "table", tgname AS "trigger", tgfoid::regproc AS "generated function",
       substring(obj_description(tgfoid, 'pg_proc') from 'hash ([0-9a-f]{8})') AS "drift hash"
  FROM pg_trigger WHERE tgname LIKE 'gamification%' ORDER BY 1, 2;

\echo '== 12. Ada posts 4 sketches in one INSERT ... SELECT: Collector is awarded by that statement'
INSERT INTO dummy_sketch (user_id) SELECT 1 FROM generate_series(1, 4);
SELECT user_id, code, points FROM gamification.user_badges ORDER BY user_id, code;

\echo '== 13. A bulk load: 30 sketches for bob and cy; Prolific counts them (O(1) per row), no recount'
INSERT INTO dummy_sketch (user_id) SELECT 2 + g % 2 FROM generate_series(1, 30) g;
SELECT user_id, code, progress, target FROM gamification.user_progress WHERE code = 'prolific' ORDER BY user_id;

\echo '== 14. An UPDATE that changes hit_views awards Star (sketch 5 is cy''s); one that does not change it costs nothing'
UPDATE dummy_sketch SET hit_views = 1500 WHERE id = 5;
UPDATE dummy_sketch SET user_id = user_id WHERE user_id = 3;
\echo '== 15. Any update of auth_user checks Pioneer: ada joined 3 years ago'
UPDATE auth_user SET username = username;
SELECT user_id, code, name, points FROM gamification.user_badges ORDER BY user_id, code;
SELECT * FROM gamification.user_points ORDER BY user_id;

\echo '== 16. Awards are part of the writer''s transaction, applied at its commit: dee posts 4 sketches, then rolls back'
INSERT INTO auth_user (username) VALUES ('dee');
BEGIN;
INSERT INTO dummy_sketch (user_id) SELECT 4 FROM generate_series(1, 4);
SELECT count(*) AS staged_for_commit FROM gamification.pending p, unnest(p.users) u WHERE u = '4';
\echo 'To see them before committing, apply them now (the users stay locked until commit):'
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT user_id, code FROM gamification.user_badges WHERE user_id = '4';
ROLLBACK;
SELECT count(*) AS dee_badges_after_rollback FROM gamification.user_badges WHERE user_id = '4';

\echo '== 17. Health of every trigger badge'
SELECT code, kind, table_name, event, installed, up_to_date, broken FROM gamification.badge_status ORDER BY code;

\echo '== 18. Three kinds of roles: the application only writes, a reader reads, an admin manages badges'
CREATE ROLE app_writer LOGIN;                -- the application: no gamification role at all
GRANT INSERT, UPDATE ON dummy_sketch TO app_writer;
GRANT USAGE ON SEQUENCE dummy_sketch_id_seq TO app_writer;
CREATE ROLE web_app LOGIN;                   -- shows badges
GRANT gamification_reader TO web_app;
CREATE ROLE migrations LOGIN;                -- registers badges (and needs TRIGGER on the tables)
GRANT gamification_admin TO migrations;
GRANT TRIGGER, SELECT ON dummy_sketch, auth_user TO migrations;
SET ROLE app_writer;
INSERT INTO dummy_sketch (user_id) SELECT 4 FROM generate_series(1, 4);   -- dee: Collector, awarded
RESET ROLE;
SET ROLE web_app;
SELECT user_id, code FROM gamification.user_badges WHERE code = 'collector' ORDER BY user_id;
RESET ROLE;
SET ROLE migrations;
SELECT code, action FROM gamification.badge_sync(
    (SELECT jsonb_agg(definition ORDER BY code) FROM gamification.badge WHERE retired_at IS NULL), dry_run => true);
RESET ROLE;
SELECT r AS "role", pg_has_role(r, 'gamification_reader', 'MEMBER') AS reads,
       has_function_privilege(r, 'gamification.badge_award(text, text)', 'EXECUTE') AS awards,
       has_function_privilege(r, 'gamification.badge_register(jsonb)', 'EXECUTE') AS registers
  FROM unnest(ARRAY['app_writer', 'web_app', 'migrations']) AS r;
