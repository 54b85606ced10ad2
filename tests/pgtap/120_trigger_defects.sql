-- Each defect of django-pg-badges' generated triggers, proven absent.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(23);

CREATE TABLE public.dummy_sketch (id serial PRIMARY KEY, user_id int, hit_views int DEFAULT 0);

-- 1. "NOT EXISTS (... WHERE user_id = NEW.user_id AND code=code)": a user holding
--    any badge never got another one.
SELECT gamification.badge_register('[{"code": "welcome", "name": "Welcome"},
  {"code": "sketcher", "name": "Sketcher", "points": 3, "condition": "true", "trigger_condition": "insert",
   "trigger_table": "dummy_sketch", "user_field": "user_id"},
  {"code": "viewed", "name": "Viewed", "points": 4, "condition": "NEW.hit_views > 10", "trigger_condition": "insert",
   "trigger_table": "dummy_sketch", "user_field": "user_id"}]');
SELECT gamification.badge_award(1, 'welcome');
INSERT INTO public.dummy_sketch (user_id) VALUES (1);
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1'),
    ARRAY['sketcher', 'welcome'], 'a user holding a manual badge still gets a trigger badge');
INSERT INTO public.dummy_sketch (user_id, hit_views) VALUES (1, 50);
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1'),
    ARRAY['sketcher', 'viewed', 'welcome'], 'a user holding a trigger badge still gets another on the same table');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 7::bigint, 'each paid once');

-- 2. Trigger functions named after the badge name: names with spaces, quotes,
--    mixed case, and two badges with the same name.
SELECT gamification.badge_register('[
  {"code": "Big.Time:v1-x", "name": "It''s \"Big\" Time", "condition": "NEW.hit_views >= 100",
   "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id"},
  {"code": "MixedCase_Code", "name": "It''s \"Big\" Time", "condition": "NEW.hit_views >= 200",
   "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id"},
  {"code": "0_digits", "name": "DROP TABLE dummy_sketch; --", "condition": "NEW.hit_views >= 300",
   "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id"}]');
UPDATE public.dummy_sketch SET hit_views = 250 WHERE user_id = 1;
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1' AND code IN ('Big.Time:v1-x', 'MixedCase_Code', '0_digits')),
    ARRAY['Big.Time:v1-x', 'MixedCase_Code'], 'badges with quotes in the name, punctuation and mixed case in the code, sharing a name, all work');
SELECT is((SELECT name FROM gamification.user_badges WHERE user_id = '1' AND code = 'Big.Time:v1-x'), 'It''s "Big" Time',
    'the name is kept as given');
UPDATE public.dummy_sketch SET hit_views = 300 WHERE user_id = 1;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '1' AND code = '0_digits'), 1::bigint,
    'a name that looks like SQL is only a name');
SELECT has_table('public', 'dummy_sketch', 'and the table is still there');

-- 3. Unquoted table names: tables with spaces, quotes, mixed case, odd schemas.
CREATE SCHEMA "Odd Schema";
CREATE TABLE public."My ""Odd"" Table" (id serial PRIMARY KEY, user_id text, "Hit Views" int);
CREATE TABLE public."MixedCase" (id serial PRIMARY KEY, "userId" int, n int);
CREATE TABLE "Odd Schema"."it's here" (id serial PRIMARY KEY, user_id int);
SELECT lives_ok($$ SELECT gamification.badge_register(jsonb_build_array(
    jsonb_build_object('code', 'odd', 'name', 'Odd', 'condition', 'NEW."Hit Views" > 1',
        'trigger_condition', 'insert', 'trigger_table', '"My ""Odd"" Table"', 'user_field', 'user_id'),
    jsonb_build_object('code', 'mixed', 'name', 'Mixed', 'condition', 'NEW.n = 1',
        'trigger_condition', 'insert', 'trigger_table', 'public."MixedCase"', 'user_field', 'userId'),
    jsonb_build_object('code', 'odd_schema', 'name', 'Odd schema', 'condition', 'true',
        'trigger_condition', 'delete', 'trigger_table', '"Odd Schema"."it''s here"', 'user_field', 'user_id'))) $$,
    'tables with spaces, quotes and mixed case register (names quoted as in SQL)');
SELECT has_trigger('public', 'My "Odd" Table', 'gamification_on_insert', 'the odd table got its trigger');
SELECT has_trigger('public', 'MixedCase', 'gamification_on_insert', 'the mixed-case table got its trigger');
SELECT has_trigger('Odd Schema', 'it''s here', 'gamification_on_delete', 'the table in an odd schema got its trigger');
INSERT INTO public."My ""Odd"" Table" (user_id, "Hit Views") VALUES ('o''brien', 2), ('nobody', 0);
INSERT INTO public."MixedCase" ("userId", n) VALUES (9, 1);
INSERT INTO "Odd Schema"."it's here" (user_id) VALUES (10);
DELETE FROM "Odd Schema"."it's here";
SELECT is((SELECT array_agg(user_id || ':' || code ORDER BY code) FROM gamification.user_badges WHERE code IN ('odd', 'mixed', 'odd_schema')),
    ARRAY['9:mixed', 'o''brien:odd', '10:odd_schema'], 'and each awards');

-- 4. A NULL user field made the badge insert fail and aborted the application's write.
SELECT lives_ok($$ INSERT INTO public.dummy_sketch (user_id, hit_views) VALUES (NULL, 500), (2, 500) $$,
    'a row with a NULL user field does not abort the write');
SELECT is((SELECT count(*) FROM public.dummy_sketch WHERE user_id IS NULL), 1::bigint, 'the row with a NULL user is written');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id IS NULL OR user_id = ''), 0::bigint, 'no award for a NULL user');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '2'), ARRAY['sketcher', 'viewed'],
    'the other row of the same statement awards');
SELECT lives_ok($$ UPDATE public.dummy_sketch SET hit_views = 1000 WHERE user_id IS NULL $$,
    'an update of a row with a NULL user field does not fail');

-- 5. Delete badges read NEW, which is NULL on delete.
SELECT gamification.badge_register('{"code": "cleaner", "name": "Cleaner", "points": 2, "condition": "OLD.hit_views = 500",
    "trigger_condition": "delete", "trigger_table": "dummy_sketch", "user_field": "user_id"}');
SELECT lives_ok($$ DELETE FROM public.dummy_sketch WHERE user_id IN (1, 2) $$, 'a delete with a delete badge works');
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_badges WHERE code = 'cleaner'), ARRAY['2'],
    'the delete badge takes the user and the condition from OLD');
SELECT lives_ok($$ DELETE FROM public.dummy_sketch WHERE user_id IS NULL $$, 'deleting a row with a NULL user works');

-- 6. Dropping "badge_%" functions and triggers dropped the user's own.
CREATE FUNCTION public.badge_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER badge_cleaner AFTER DELETE ON public.dummy_sketch FOR EACH STATEMENT EXECUTE FUNCTION public.badge_audit();
CREATE TRIGGER gamification_audit AFTER INSERT ON public.dummy_sketch FOR EACH ROW EXECUTE FUNCTION public.badge_audit();
CREATE TEMP TABLE user_trigs AS
SELECT oid, tgname FROM pg_trigger WHERE tgrelid = 'public.dummy_sketch'::regclass AND tgname IN ('badge_cleaner', 'gamification_audit');
SELECT gamification.badge_register('{"code": "cleaner", "name": "Cleaner", "points": 2, "condition": "OLD.hit_views < 10",
    "trigger_condition": "delete", "trigger_table": "dummy_sketch", "user_field": "user_id"}');
SELECT gamification.badge_register('{"code": "sketcher", "name": "Sketcher", "points": 3}');
SELECT is((SELECT count(*) FROM pg_trigger t JOIN user_trigs u ON u.oid = t.oid), 2::bigint,
    'register never touches the user''s triggers named badge_* or gamification_*');
SELECT has_function('public', 'badge_audit', 'nor the user''s function named badge_*');

-- 7. The writer's search_path does not change what a condition reads.
CREATE SCHEMA evil;
CREATE TABLE public.quota (user_id int, lim int);
CREATE TABLE evil.quota (user_id int, lim int);
INSERT INTO public.quota VALUES (5, 0);
INSERT INTO evil.quota VALUES (5, 100);
SELECT gamification.badge_register('{"code": "under_quota", "name": "Under quota",
    "condition": "NEW.hit_views > (SELECT lim FROM quota q WHERE q.user_id = NEW.user_id)",
    "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"}');
SET LOCAL search_path = evil, public;
INSERT INTO public.dummy_sketch (user_id, hit_views) VALUES (5, 50);
RESET search_path;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'under_quota' AND user_id = '5'), 1::bigint,
    'the condition reads the tables it named at registration, whatever the writer''s search_path');

SELECT * FROM finish();
ROLLBACK;
