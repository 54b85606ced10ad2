-- Schema changes under a registered badge (tests/test_migrations.py has the rest): renamed
-- columns and tables are followed; drops that would break a badge are refused; without
-- the event triggers a dropped column or table leaves the badge reported broken in
-- gamification.badge_status while writes keep working.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(30);

CREATE TEMP TABLE baseline_funcs AS SELECT oid FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace;

CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0, status text DEFAULT 'draft');
CREATE TABLE public.owned (id serial PRIMARY KEY, owner int);
CREATE TABLE public.doomed (id serial PRIMARY KEY, user_id int);
CREATE TABLE public.old_name (id serial PRIMARY KEY, user_id int);
SELECT gamification.badge_register('[
  {"code": "sketcher", "name": "Sketcher", "condition": "true", "trigger_condition": "insert",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "star", "name": "Star", "condition": "NEW.hit_views >= 1000", "trigger_condition": "update",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "pub", "name": "Published", "target": 2, "counter": {"table": "sketch", "user_field": "user_id", "where": "status = ''published''"}},
  {"code": "owner", "name": "Owner", "condition": "true", "trigger_condition": "insert", "trigger_table": "owned", "user_field": "owner"},
  {"code": "doomed", "name": "Doomed", "condition": "true", "trigger_condition": "insert", "trigger_table": "doomed", "user_field": "user_id"},
  {"code": "renamed", "name": "Renamed", "condition": "true", "trigger_condition": "insert", "trigger_table": "old_name", "user_field": "user_id"}]');
SELECT is((SELECT count(*) FROM gamification.badge_status WHERE broken IS NOT NULL), 0::bigint, 'all healthy at first');

-- 1. A column used by a condition is renamed: the condition follows it (it was resolved at
--    registration and is kept by identity).
ALTER TABLE public.sketch RENAME COLUMN hit_views TO views;
SELECT lives_ok($$ INSERT INTO public.sketch (user_id, views) VALUES (1, 5) $$, 'an insert still works after the condition''s column was renamed');
SELECT lives_ok($$ UPDATE public.sketch SET views = 2000 WHERE user_id = 1 $$, 'an update (the badge''s event) still works');
SELECT is((SELECT count(*) FROM public.sketch WHERE views = 2000), 1::bigint, 'and it is applied');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1'), ARRAY['sketcher', 'star'],
    'the condition follows the renamed column and awards');
SELECT is((SELECT broken FROM gamification.badge_status WHERE code = 'star'), NULL, 'the badge stays healthy');
SELECT matches((SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname LIKE 'cond\_star\_%'), '\.views >= 1000',
    'its predicate now reads the column by its new name');
SELECT is((SELECT broken FROM gamification.badge_status WHERE code = 'sketcher'), NULL, 'the other badge stays healthy');
ALTER TABLE public.sketch RENAME COLUMN views TO hit_views;
SELECT is((SELECT up_to_date FROM gamification.badge_status WHERE code = 'star'), true, 'renamed back, it is up to date');
SELECT is((SELECT broken FROM gamification.badge_status WHERE code = 'star'), NULL, 'and healthy');

-- 2. A column used by a counter's where: dropping it would break the badge, so the
--    statement is refused (event trigger, sql/triggers/ddl.sql), with or without CASCADE.
SELECT throws_ok($$ ALTER TABLE public.sketch DROP COLUMN status $$, '2BP01', NULL,
    'dropping a column a condition reads is refused');
SELECT throws_like($$ ALTER TABLE public.sketch DROP COLUMN status CASCADE $$, '%badge "pub"%',
    'with CASCADE too, naming the badge');
SELECT lives_ok($$ INSERT INTO public.sketch (user_id, status) VALUES (2, 'published'), (2, 'published') $$, 'the column is still there');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '2'), ARRAY['pub', 'sketcher'], 'and the badges award');

-- 3. The user field is renamed: followed. Dropped: refused.
ALTER TABLE public.owned RENAME COLUMN owner TO owner_id;
SELECT lives_ok($$ INSERT INTO public.owned (owner_id) VALUES (3) $$, 'inserts work after the user field was renamed');
SELECT is((SELECT array_agg(code) FROM gamification.user_badges WHERE user_id = '3'), ARRAY['owner'], 'and the badge follows it');
SELECT throws_ok($$ ALTER TABLE public.owned DROP COLUMN owner_id $$, '2BP01', NULL, 'dropping the user field is refused');

-- 4. Without the event triggers (an install by pg_tle, or a DBA who disabled them; the
--    machinery's own switch stands in for that here), a dropped column or table is not
--    refused: writes go on and badge_status reports the badge broken.
SELECT throws_ok($$ DROP TABLE public.doomed CASCADE $$, '2BP01', NULL, 'dropping a tracked table is refused');
SET LOCAL gamification.ddl_quiet = 'on';
ALTER TABLE public.owned DROP COLUMN owner_id;
SELECT lives_ok($$ INSERT INTO public.owned DEFAULT VALUES $$, 'inserts still work after the user field was dropped');
SELECT matches((SELECT broken FROM gamification.badge_status WHERE code = 'owner'), 'owner', 'the badge reports itself broken, naming the user field');
DROP TABLE public.doomed CASCADE;
SELECT isnt((SELECT broken FROM gamification.badge_status WHERE code = 'doomed'), NULL, 'a badge whose table was dropped reports itself broken');
SELECT imatches((SELECT broken FROM gamification.badge_status WHERE code = 'doomed'), 'table', 'saying the table is gone');
SELECT is((SELECT installed FROM gamification.badge_status WHERE code = 'doomed'), false, 'and not installed');
SELECT lives_ok($$ INSERT INTO public.sketch (user_id) VALUES (4) $$, 'writes to other tracked tables keep working');
SELECT lives_ok($$ SELECT * FROM gamification.triggers_sync() $$, 'triggers_sync copes with a dropped table');
SET LOCAL gamification.ddl_quiet = '';

-- 5. The tracked table is renamed.
ALTER TABLE public.old_name RENAME TO "New Name";
INSERT INTO public."New Name" (user_id) VALUES (5);
SELECT is((SELECT array_agg(code) FROM gamification.user_badges WHERE user_id = '5'), ARRAY['renamed'], 'a renamed table keeps awarding');
SELECT is((SELECT broken FROM gamification.badge_status WHERE code = 'renamed'), NULL, 'and is not broken');
SELECT matches((SELECT table_name FROM gamification.badge_status WHERE code = 'renamed'), 'New Name', 'badge_status shows the table''s current name');

-- 6. Unregistering broken badges leaves nothing behind.
SELECT gamification.badge_unregister(code) FROM gamification.badge_status ORDER BY code;
SELECT is((SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'gamification_on_%'), 0::bigint,
    'no trigger of ours left after unregistering every badge, broken ones included');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace AND oid NOT IN (SELECT oid FROM baseline_funcs)),
    0::bigint, 'no orphaned function left, the dropped table''s included');

SELECT * FROM finish();
ROLLBACK;
