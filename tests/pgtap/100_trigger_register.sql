-- badge_register() with trigger keys: what it installs (trigger names, levels,
-- functions in schema gamification, one trigger per table and event shared by
-- all badges), table resolution, case-insensitive events, re-registration in
-- place, idempotency, badge_status.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(44);

CREATE SCHEMA app;
CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0, title text);
CREATE TABLE app.post (id serial PRIMARY KEY, author_id bigint, body text);
CREATE TABLE public.post (id serial PRIMARY KEY, author_id bigint, body text);  -- same name, other schema

CREATE TEMP VIEW our_triggers AS
SELECT t.tgrelid::regclass AS tbl, t.tgname::text AS tgname, (t.tgtype & 1) = 1 AS row_level,
       p.pronamespace::regnamespace::text AS func_schema
  FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE NOT t.tgisinternal;

-- 1. A condition badge on insert.
SELECT results_eq(
    $$ SELECT * FROM gamification.badge_register('{"code": "first_sketch", "name": "First sketch", "points": 10,
         "condition": "NEW.user_id IS NOT NULL", "trigger_condition": "insert",
         "trigger_table": "sketch", "user_field": "user_id"}') $$,
    ARRAY['first_sketch'], 'badge_register returns the code of a condition badge');
SELECT has_trigger('public', 'sketch', 'gamification_on_insert', 'an insert badge installs gamification_on_insert');
SELECT is((SELECT row_level FROM our_triggers WHERE tbl = 'public.sketch'::regclass AND tgname = 'gamification_on_insert'),
    false, 'gamification_on_insert is statement-level');
SELECT is((SELECT func_schema FROM our_triggers WHERE tbl = 'public.sketch'::regclass AND tgname = 'gamification_on_insert'),
    'gamification', 'its trigger function lives in schema gamification');
SELECT is((SELECT count(*) FROM our_triggers WHERE tbl = 'public.sketch'::regclass), 1::bigint,
    'exactly one trigger on the table');
SELECT is((SELECT count(*) FROM gamification.badges WHERE code = 'first_sketch'), 1::bigint,
    'the trigger badge is in the catalogue');

INSERT INTO public.sketch (user_id) VALUES (1);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '1' AND code = 'first_sketch'), 1::bigint,
    'an insert meeting the condition awards the badge in the same transaction');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 10::bigint, 'with its points');
INSERT INTO public.sketch (user_id) VALUES (1);
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 10::bigint, 'a second qualifying insert pays nothing more');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE user_id = '1' AND badge_code = 'first_sketch'), 1::bigint,
    'and writes no second history row');

-- 2. A second insert badge on the same table shares the trigger.
SELECT gamification.badge_register('{"code": "busy_sketcher", "name": "Busy sketcher", "points": 5,
    "condition": "count(*) >= 3 FROM public.sketch s WHERE s.user_id = NEW.user_id",
    "trigger_condition": "insert", "trigger_table": "public.sketch", "user_field": "user_id"}');
SELECT is((SELECT count(*) FROM our_triggers WHERE tbl = 'public.sketch'::regclass), 1::bigint,
    'two insert badges on one table share one trigger');
INSERT INTO public.sketch (user_id) VALUES (1), (2);
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1'),
    ARRAY['busy_sketcher', 'first_sketch'], 'user 1 gets the second badge (3 sketches)');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '2'),
    ARRAY['first_sketch'], 'user 2 gets only the first');

-- 3. Update, delete, update_of: one trigger per event; update_of is row-level.
SELECT gamification.badge_register('[
  {"code": "star", "name": "Star", "condition": "NEW.hit_views >= 1000", "trigger_condition": "Update",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "quitter", "name": "Quitter", "condition": "true", "trigger_condition": "DELETE",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "retitled", "name": "Retitled", "condition": "true", "trigger_condition": "update",
   "trigger_table": "sketch", "user_field": "user_id", "update_of": ["title"]}
]');
SELECT is((SELECT array_agg(tgname ORDER BY tgname) FROM our_triggers WHERE tbl = 'public.sketch'::regclass),
    ARRAY['gamification_on_delete', 'gamification_on_insert', 'gamification_on_update', 'gamification_on_update_of'],
    'one trigger per event, named gamification_on_<event>, plus gamification_on_update_of');
SELECT is((SELECT array_agg(tgname ORDER BY tgname) FROM our_triggers WHERE tbl = 'public.sketch'::regclass AND NOT row_level),
    ARRAY['gamification_on_delete', 'gamification_on_insert', 'gamification_on_update'],
    'insert, update and delete triggers are statement-level');
SELECT is((SELECT row_level FROM our_triggers WHERE tbl = 'public.sketch'::regclass AND tgname = 'gamification_on_update_of'),
    true, 'gamification_on_update_of is row-level');
SELECT is((SELECT count(*) FROM our_triggers WHERE tbl = 'public.sketch'::regclass AND func_schema <> 'gamification'),
    0::bigint, 'every trigger function lives in schema gamification');

UPDATE public.sketch SET hit_views = 1000 WHERE user_id = 2;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '2' AND code = 'star'), 1::bigint,
    'trigger_condition "Update" (mixed case) awards on update');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'retitled'), 0::bigint,
    'an update that does not change the update_of column does not award it');
UPDATE public.sketch SET title = 'hello' WHERE id = (SELECT min(id) FROM public.sketch WHERE user_id = 1);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'retitled' AND user_id = '1'), 1::bigint,
    'an update that changes the update_of column awards it');
DELETE FROM public.sketch WHERE user_id = 2;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '2' AND code = 'quitter'), 1::bigint,
    'trigger_condition "DELETE" (upper case) awards on delete');

-- 4. Table resolution: schema-qualified, or through the registrant's search_path.
SET LOCAL search_path = app, public;
SELECT gamification.badge_register('{"code": "app_poster", "name": "App poster", "condition": "true",
    "trigger_condition": "insert", "trigger_table": "post", "user_field": "author_id"}');
RESET search_path;
SELECT has_trigger('app', 'post', 'gamification_on_insert', 'an unqualified name resolves with the registrant''s search_path (app.post)');
SELECT hasnt_trigger('public', 'post', 'gamification_on_insert', 'not to the other schema''s table of the same name');
SELECT gamification.badge_register('{"code": "public_poster", "name": "Public poster", "condition": "true",
    "trigger_condition": "insert", "trigger_table": "public.post", "user_field": "author_id"}');
SELECT has_trigger('public', 'post', 'gamification_on_insert', 'a schema-qualified name is used as given');
INSERT INTO app.post (author_id) VALUES (77);
INSERT INTO public.post (author_id) VALUES (88);
SELECT is((SELECT array_agg(user_id || ':' || code ORDER BY code) FROM gamification.user_badges WHERE code LIKE '%poster'),
    ARRAY['77:app_poster', '88:public_poster'], 'each badge listens to its own table; bigint user keys are stored as text');

-- 5. badge_status.
SELECT is((SELECT kind FROM gamification.badge_status WHERE code = 'star'), 'condition', 'badge_status: kind condition');
SELECT is((SELECT lower(event) FROM gamification.badge_status WHERE code = 'star'), 'update', 'badge_status: event');
SELECT ok((SELECT table_name FROM gamification.badge_status WHERE code = 'star') IN ('sketch', 'public.sketch'),
    'badge_status: table_name names the table');
SELECT is((SELECT installed FROM gamification.badge_status WHERE code = 'star'), true, 'badge_status: installed');
SELECT is((SELECT broken FROM gamification.badge_status WHERE code = 'star'), NULL, 'badge_status: broken is NULL when healthy');
SELECT is((SELECT count(*) FROM gamification.badge_status WHERE broken IS NOT NULL), 0::bigint, 'no badge is broken');

-- 6. Re-registration updates in place; the old condition no longer applies.
SELECT gamification.badge_register('{"code": "star", "name": "Star", "condition": "NEW.hit_views >= 5000",
    "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id"}');
UPDATE public.sketch SET hit_views = 1000 WHERE user_id = 1;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '1' AND code = 'star'), 0::bigint,
    'a re-registered condition replaces the old one');
UPDATE public.sketch SET hit_views = 5000 WHERE user_id = 1;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '1' AND code = 'star'), 1::bigint,
    'and the new one awards');

-- Re-registering moves a badge to another event: the now unused trigger goes.
SELECT gamification.badge_register('{"code": "quitter", "name": "Quitter", "condition": "true",
    "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"}');
SELECT hasnt_trigger('public', 'sketch', 'gamification_on_delete', 'a trigger no badge uses any more is dropped on re-registration');
SELECT is((SELECT lower(event) FROM gamification.badge_status WHERE code = 'quitter'), 'insert', 'the badge now listens to inserts');

-- 7. Idempotent: registering the same definitions again installs nothing new.
CREATE TEMP TABLE snapshot AS
SELECT (SELECT count(*) FROM our_triggers) AS triggers,
       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace) AS funcs;
SELECT gamification.badge_register('{"code": "busy_sketcher", "name": "Busy sketcher", "points": 5,
    "condition": "count(*) >= 3 FROM public.sketch s WHERE s.user_id = NEW.user_id",
    "trigger_condition": "insert", "trigger_table": "public.sketch", "user_field": "user_id"}');
SELECT is((SELECT count(*) FROM our_triggers), (SELECT triggers FROM snapshot), 're-registering the same badge adds no trigger');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace), (SELECT funcs FROM snapshot),
    're-registering the same badge adds no function');

-- 8. Manual and trigger badges in one array; a trigger badge turned into a manual one.
SELECT results_eq(
    $$ SELECT * FROM gamification.badge_register('[{"code": "manual_one", "name": "Manual"},
         {"code": "titled", "name": "Titled", "condition": "NEW.title = ''x''", "trigger_condition": "insert",
          "trigger_table": "sketch", "user_field": "user_id"}]') $$,
    ARRAY['manual_one', 'titled'], 'manual and trigger badges register together, codes in input order');
INSERT INTO public.sketch (user_id, title) VALUES (5, 'x');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '5' AND code = 'titled'), 1::bigint,
    'the trigger badge of a mixed array awards');
SELECT ok(gamification.badge_award(5, 'manual_one'), 'the manual badge of a mixed array is awarded by hand');
SELECT gamification.badge_register('{"code": "retitled", "name": "Retitled"}');
SELECT hasnt_trigger('public', 'sketch', 'gamification_on_update_of',
    're-registering a trigger badge without trigger keys (a manual badge now) drops the trigger it alone used');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'retitled'), 1::bigint, 'its awards stay');

-- 9. A uuid user key.
CREATE TABLE public.doc (id serial PRIMARY KEY, owner uuid);
SELECT gamification.badge_register('{"code": "doc_owner", "name": "Doc owner", "condition": "true",
    "trigger_condition": "insert", "trigger_table": "doc", "user_field": "owner"}');
INSERT INTO public.doc (owner) VALUES ('6f1c0a52-1d0e-4a43-9c5a-4a7b1f0d2e11');
SELECT is((SELECT user_id FROM gamification.user_badges WHERE code = 'doc_owner'), '6f1c0a52-1d0e-4a43-9c5a-4a7b1f0d2e11',
    'a uuid user field is stored as its text');

-- 10. Counter badge registration shows in badge_status.
SELECT gamification.badge_register('{"code": "poster5", "name": "Poster", "target": 5,
    "counter": {"table": "public.post", "user_field": "author_id"}}');
SELECT is((SELECT kind || '/' || lower(event) FROM gamification.badge_status WHERE code = 'poster5'), 'counter/insert',
    'a counter badge: kind counter, event insert by default');

SELECT * FROM finish();
ROLLBACK;
