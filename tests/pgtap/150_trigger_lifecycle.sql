-- Lifecycle of trigger badges: badge_unregister (keep or revoke awards, no
-- orphaned triggers or functions), badge_sync (add/change/remove/keep, dry
-- run), triggers_sync (re-creates what a manual DROP TRIGGER removed), and
-- the user's own triggers on the same table, never touched.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(46);

CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0);
CREATE TABLE public.audit_log (n int);
CREATE FUNCTION public.badge_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.audit_log VALUES (1); RETURN NULL; END $$;
CREATE TRIGGER audit AFTER INSERT ON public.sketch FOR EACH STATEMENT EXECUTE FUNCTION public.badge_audit();
CREATE TRIGGER badge_star AFTER UPDATE ON public.sketch FOR EACH STATEMENT EXECUTE FUNCTION public.badge_audit();
CREATE TRIGGER gamification_mine AFTER DELETE ON public.sketch FOR EACH ROW EXECUTE FUNCTION public.badge_audit();
CREATE TEMP TABLE user_trigs AS
SELECT t.oid, t.tgname, t.tgenabled, t.tgfoid FROM pg_trigger t WHERE t.tgrelid = 'public.sketch'::regclass AND NOT t.tgisinternal;
CREATE TEMP VIEW user_trigs_intact AS
SELECT count(*) = 3 AS ok FROM pg_trigger t JOIN user_trigs u USING (oid)
 WHERE t.tgname = u.tgname AND t.tgenabled = u.tgenabled AND t.tgfoid = u.tgfoid;
CREATE TEMP TABLE baseline_funcs AS SELECT oid FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace;
CREATE TEMP VIEW new_funcs AS
SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'gamification'::regnamespace AND p.oid NOT IN (SELECT oid FROM baseline_funcs);
CREATE TEMP VIEW our_triggers AS
SELECT t.tgname::text AS tgname FROM pg_trigger t
 WHERE t.tgrelid = 'public.sketch'::regclass AND NOT t.tgisinternal AND t.oid NOT IN (SELECT oid FROM user_trigs);

SELECT gamification.badge_register('[
  {"code": "sketcher", "name": "Sketcher", "points": 10, "condition": "true", "trigger_condition": "insert",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "viewed", "name": "Viewed", "points": 20, "condition": "NEW.hit_views > 0", "trigger_condition": "insert",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "star", "name": "Star", "points": 40, "condition": "NEW.hit_views >= 1000", "trigger_condition": "update",
   "trigger_table": "sketch", "user_field": "user_id", "update_of": ["hit_views"]}]');
SELECT ok((SELECT ok FROM user_trigs_intact), 'register leaves the user''s triggers (audit, badge_star, gamification_mine) as they were');
SELECT is_empty($$ SELECT * FROM gamification.triggers_sync() $$, 'triggers_sync right after register has nothing to do');
INSERT INTO public.sketch (user_id, hit_views) VALUES (1, 5), (2, 0);
UPDATE public.sketch SET hit_views = 1000 WHERE user_id = 1;
SELECT is((SELECT count(*) FROM public.audit_log), 2::bigint, 'the user''s own triggers still fire beside ours');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 70::bigint, 'user 1: three badges');

-- 1. badge_unregister.
SELECT is(gamification.badge_unregister('nope'), false, 'unregistering an unknown code returns false');
SELECT is(gamification.badge_unregister('viewed'), true, 'badge_unregister returns true');
SELECT is(gamification.badge_unregister('viewed'), false, 'a second unregister returns false');
SELECT has_trigger('public', 'sketch', 'gamification_on_insert', 'the insert trigger stays while another badge uses it');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'viewed'), 1::bigint, 'by default the awards stay visible in user_badges');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 70::bigint, 'and their points stay');
SELECT is((SELECT count(*) FROM gamification.badge_status WHERE code = 'viewed'), 0::bigint, 'badge_status no longer lists it');
INSERT INTO public.sketch (user_id, hit_views) VALUES (3, 5);
SELECT is((SELECT array_agg(code) FROM gamification.user_badges WHERE user_id = '3'), ARRAY['sketcher'],
    'an unregistered badge is no longer awarded; the other badge on the table still is');

SELECT is(gamification.badge_unregister('star', keep_awards => false), true, 'unregister with keep_awards => false');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star'), 0::bigint, 'revokes the awards');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 30::bigint, 'and subtracts their points');
SELECT hasnt_trigger('public', 'sketch', 'gamification_on_update_of', 'the update_of trigger goes with its last badge');

SELECT gamification.badge_unregister('sketcher');
SELECT is((SELECT count(*) FROM our_triggers), 0::bigint, 'no trigger of ours is left on the table once no badge uses it');
SELECT is((SELECT count(*) FROM new_funcs), 0::bigint, 'and no trigger function of ours is left in schema gamification');
SELECT ok((SELECT ok FROM user_trigs_intact), 'unregister leaves the user''s triggers as they were');
SELECT has_function('public', 'badge_audit', ARRAY[]::name[], 'and the user''s function');
INSERT INTO public.sketch (user_id) VALUES (4);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '4'), 0::bigint, 'writes award nothing any more');

-- Re-registering after unregistering installs again.
SELECT gamification.badge_register('{"code": "sketcher", "name": "Sketcher", "points": 10, "condition": "true",
    "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"}');
INSERT INTO public.sketch (user_id) VALUES (4);
SELECT is((SELECT array_agg(code) FROM gamification.user_badges WHERE user_id = '4'), ARRAY['sketcher'], 'a re-registered badge awards again');

-- 2. triggers_sync after a manual DROP TRIGGER.
DROP TRIGGER gamification_on_insert ON public.sketch;
SELECT is((SELECT installed FROM gamification.badge_status WHERE code = 'sketcher'), false, 'badge_status: installed is false after DROP TRIGGER');
SELECT isnt_empty($$ SELECT * FROM gamification.triggers_sync() $$, 'triggers_sync reports what it re-creates');
SELECT has_trigger('public', 'sketch', 'gamification_on_insert', 'the trigger is back');
SELECT is((SELECT installed FROM gamification.badge_status WHERE code = 'sketcher'), true, 'badge_status: installed again');
SELECT is_empty($$ SELECT * FROM gamification.triggers_sync() $$, 'a second triggers_sync returns nothing');
INSERT INTO public.sketch (user_id) VALUES (5);
SELECT is((SELECT array_agg(code) FROM gamification.user_badges WHERE user_id = '5'), ARRAY['sketcher'], 'and it awards again');
SELECT ok((SELECT ok FROM user_trigs_intact), 'triggers_sync leaves the user''s triggers as they were');

-- A trigger dropped by hand, then its badge unregistered: no orphaned function.
DROP TRIGGER gamification_on_insert ON public.sketch;
SELECT gamification.badge_unregister('sketcher');
SELECT is_empty($$ SELECT * FROM gamification.triggers_sync() $$, 'nothing to sync after the last badge went');
SELECT is((SELECT count(*) FROM new_funcs), 0::bigint, 'no orphaned function after unregistering a badge whose trigger was dropped by hand');

-- 3. badge_sync.
SELECT gamification.badge_register('[
  {"code": "manual", "name": "Manual", "points": 1},
  {"code": "keepme", "name": "Keep me", "condition": "true", "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "changeme", "name": "Change me", "condition": "NEW.hit_views > 10", "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "dropme", "name": "Drop me", "condition": "true", "trigger_condition": "delete", "trigger_table": "sketch", "user_field": "user_id"}]');
SELECT gamification.badge_award(6, 'manual');
INSERT INTO public.sketch (user_id) VALUES (7);
DELETE FROM public.sketch WHERE user_id = 7;
CREATE TEMP TABLE target_set AS SELECT '[
  {"code": "keepme", "name": "Keep me", "condition": "true", "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "changeme", "name": "Change me", "condition": "NEW.hit_views > 100", "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "newone", "name": "New one", "target": 2, "counter": {"table": "sketch", "user_field": "user_id"}}]'::jsonb AS defs;
CREATE TEMP TABLE before_sync AS
SELECT (SELECT array_agg(code ORDER BY code) FROM gamification.badges) AS codes,
       (SELECT array_agg(tgname ORDER BY tgname) FROM our_triggers) AS trigs;

SELECT results_eq($$ SELECT code, action FROM gamification.badge_sync((SELECT defs FROM target_set), dry_run => true) ORDER BY code $$,
    $$ VALUES ('changeme'::text, 'change'::text), ('dropme', 'unlisted'), ('keepme', 'keep'), ('manual', 'unlisted'), ('newone', 'add') $$,
    'badge_sync dry run returns the plan: add, change, keep, and unlisted for registered badges not given (kept: prune is false by default)');
SELECT results_eq($$ SELECT code, action FROM gamification.badge_sync((SELECT defs FROM target_set), dry_run => true, prune => true) ORDER BY code $$,
    $$ VALUES ('changeme'::text, 'change'::text), ('dropme', 'remove'), ('keepme', 'keep'), ('manual', 'remove'), ('newone', 'add') $$,
    'with prune they are removed (manual badges too)');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.badges), (SELECT codes FROM before_sync), 'the dry runs change no badge');
SELECT is((SELECT array_agg(tgname ORDER BY tgname) FROM our_triggers), (SELECT trigs FROM before_sync), 'nor any trigger');

SAVEPOINT no_prune;
SELECT results_eq($$ SELECT code, action FROM gamification.badge_sync((SELECT defs FROM target_set)) ORDER BY code $$,
    $$ VALUES ('changeme'::text, 'change'::text), ('dropme', 'unlisted'), ('keepme', 'keep'), ('manual', 'unlisted'), ('newone', 'add') $$,
    'without prune, badge_sync applies additions and changes');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.badges), ARRAY['changeme', 'dropme', 'keepme', 'manual', 'newone'],
    'and keeps the badges not given, with their triggers');
ROLLBACK TO SAVEPOINT no_prune;

SELECT results_eq($$ SELECT code, action FROM gamification.badge_sync((SELECT defs FROM target_set), prune => true) ORDER BY code $$,
    $$ VALUES ('changeme'::text, 'change'::text), ('dropme', 'remove'), ('keepme', 'keep'), ('manual', 'remove'), ('newone', 'add') $$,
    'badge_sync with prune applies the same plan');
SELECT results_eq($$ SELECT code, action FROM gamification.badge_sync((SELECT defs FROM target_set)) ORDER BY code $$,
    $$ VALUES ('changeme'::text, 'keep'::text), ('keepme', 'keep'), ('newone', 'keep') $$,
    'afterwards the registered set is the given one: a second sync keeps everything');
SELECT hasnt_trigger('public', 'sketch', 'gamification_on_delete', 'the removed badge''s unused trigger is gone');
SELECT results_eq($$ SELECT user_id, code FROM gamification.user_badges WHERE code IN ('manual', 'dropme') ORDER BY code $$,
    $$ VALUES ('7'::text, 'dropme'::text), ('6', 'manual') $$, 'removed badges keep their awards');
INSERT INTO public.sketch (user_id, hit_views) VALUES (8, 50), (8, 60);
SELECT results_eq($$ SELECT code FROM gamification.user_badges WHERE user_id = '8' ORDER BY code $$,
    $$ VALUES ('keepme'::text), ('newone') $$, 'the synced set awards: kept and added badges, and the changed condition (> 100) applies');
SELECT ok((SELECT ok FROM user_trigs_intact), 'badge_sync leaves the user''s triggers as they were');

-- 4. Drift: what is in force, not the definition recorded, is compared with the given one.
UPDATE gamification.badge SET points = 99 WHERE code = 'keepme';          -- as an admin screen would, as a superuser
UPDATE gamification.badge_rule SET counter_where = 'false' WHERE badge_code = 'newone';
SELECT results_eq($$ SELECT code, action FROM gamification.badge_sync((SELECT defs FROM target_set), dry_run => true) ORDER BY code $$,
    $$ VALUES ('changeme'::text, 'keep'::text), ('keepme', 'change'), ('newone', 'change') $$,
    'a badge or rule edited behind the definitions'' back is a change, not a keep');
SELECT results_eq($$ SELECT code, action FROM gamification.badge_sync((SELECT defs FROM target_set)) ORDER BY code $$,
    $$ VALUES ('changeme'::text, 'keep'::text), ('keepme', 'change'), ('newone', 'change') $$,
    'applying it ...');
SELECT results_eq($$ SELECT b.points, r.counter_where FROM gamification.badge b JOIN gamification.badge_rule r ON r.badge_code = b.code
                      WHERE b.code IN ('keepme', 'newone') ORDER BY b.code $$,
    $$ VALUES (0::bigint, NULL::text), (0, NULL) $$, '... puts back what the definitions say');

SELECT * FROM finish();
ROLLBACK;
