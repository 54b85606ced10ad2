-- "backfill": true awards (condition badges) or counts (counter badges) the
-- rows already there at registration; badge_preview() is a dry run of that
-- backfill which writes nothing.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(27);

CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0);
-- users 1..15 have a sketch with 2000 views; users 16..20 have 10; user 1 has 6 sketches; a NULL user too.
INSERT INTO public.sketch (user_id, hit_views) SELECT g, CASE WHEN g <= 15 THEN 2000 ELSE 10 END FROM generate_series(1, 20) g;
INSERT INTO public.sketch (user_id) SELECT 1 FROM generate_series(1, 5);
INSERT INTO public.sketch (user_id, hit_views) VALUES (NULL, 5000);

CREATE TEMP TABLE before_preview AS
SELECT (SELECT count(*) FROM gamification.badge) AS badges,
       (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal) AS triggers,
       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace) AS funcs,
       (SELECT count(*) FROM gamification.award) AS awards,
       (SELECT count(*) FROM gamification.progress) AS progress;

-- 1. Preview of a condition badge.
CREATE TEMP TABLE p1 AS SELECT gamification.badge_preview('{"code": "star", "name": "Star", "points": 5,
    "condition": "NEW.hit_views >= 1000", "trigger_condition": "update", "trigger_table": "sketch",
    "user_field": "user_id", "backfill": true}') AS p;
SELECT is((SELECT p ->> 'code' FROM p1), 'star', 'preview names the code');
SELECT is((SELECT (p ->> 'would_award')::integer FROM p1), 15, 'would_award counts the distinct non-null users meeting the condition');
SELECT is((SELECT jsonb_typeof(p -> 'sample') FROM p1), 'array', 'sample is an array');
SELECT is((SELECT jsonb_array_length(p -> 'sample') FROM p1), 10, 'sample holds at most 10 users');
SELECT is((SELECT count(*) FROM p1, jsonb_array_elements(p -> 'sample') e
            WHERE jsonb_typeof(e) = 'string' AND (e #>> '{}')::int BETWEEN 1 AND 15), 10::bigint,
    'sample users are user ids as text, all of them qualifying');
SELECT is((SELECT count(DISTINCT e) FROM p1, jsonb_array_elements(p -> 'sample') e), 10::bigint, 'sample users are distinct');
SELECT ok((SELECT jsonb_typeof(p -> 'plan') = 'string' AND length(p ->> 'plan') > 0 FROM p1), 'plan is the EXPLAIN text');

-- 2. Preview of a counter badge, without a backfill key.
CREATE TEMP TABLE p2 AS SELECT gamification.badge_preview('{"code": "prolific", "name": "Prolific", "target": 6,
    "counter": {"table": "sketch", "user_field": "user_id"}}') AS p;
SELECT is((SELECT (p ->> 'would_award')::integer FROM p2), 1, 'counter preview: users whose existing rows reach the target');
SELECT is((SELECT p -> 'sample' FROM p2), '["1"]'::jsonb, 'counter preview sample');

-- 3. Preview of a condition that counts rows, with few users.
SELECT is(gamification.badge_preview('{"code": "collector", "name": "Collector",
    "condition": "count(id) >= 5 from sketch where user_id = NEW.user_id", "trigger_condition": "insert",
    "trigger_table": "sketch", "user_field": "user_id"}') -> 'sample', '["1"]'::jsonb,
    'preview of a counting condition');

SELECT is((SELECT count(*) FROM gamification.badge), (SELECT badges FROM before_preview), 'preview writes no badge row');
SELECT is((SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal), (SELECT triggers FROM before_preview), 'preview creates no trigger');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace), (SELECT funcs FROM before_preview),
    'preview creates no function');
SELECT is((SELECT count(*) FROM gamification.award) + (SELECT count(*) FROM gamification.progress),
    (SELECT awards + progress FROM before_preview), 'preview awards nothing and stores no progress');
SELECT throws_ok($$ SELECT gamification.badge_preview('{"code": "x", "name": "X", "condition": "true",
    "trigger_condition": "insert", "trigger_table": "no_such_table", "user_field": "user_id"}') $$,
    '42P01', NULL, 'preview validates like badge_register');

-- 4. Backfill of a condition badge.
SELECT gamification.badge_register('{"code": "star", "name": "Star", "points": 5,
    "condition": "NEW.hit_views >= 1000", "trigger_condition": "update", "trigger_table": "sketch",
    "user_field": "user_id", "backfill": true}');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star'), 15::bigint,
    'backfill awards every user whose existing rows meet the condition, at registration');
SELECT is((SELECT count(*) FROM gamification.points_ledger WHERE badge_code = 'star'), 15::bigint, 'and pays each once');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id IS NULL OR user_id = ''), 0::bigint, 'backfill skips NULL users');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star' AND user_id::int > 15), 0::bigint,
    'and awards no one else');
UPDATE public.sketch SET hit_views = 1000 WHERE user_id = 16;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star'), 16::bigint, 'after backfill the trigger awards as usual');

-- Without backfill, the same condition awards nobody at registration.
SELECT gamification.badge_register('{"code": "star_nb", "name": "Star (no backfill)",
    "condition": "NEW.hit_views >= 1000", "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id"}');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star_nb'), 0::bigint, 'without backfill nobody is awarded at registration');
SELECT gamification.badge_register('{"code": "star_nb2", "name": "Star (backfill false)", "backfill": false,
    "condition": "NEW.hit_views >= 1000", "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id"}');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'star_nb2'), 0::bigint, '"backfill": false is the default');

-- 5. Backfill of a counter badge.
SELECT gamification.badge_register('{"code": "prolific", "name": "Prolific", "target": 6, "points": 9, "backfill": true,
    "counter": {"table": "sketch", "user_field": "user_id"}}');
SELECT is((SELECT progress FROM gamification.user_progress WHERE code = 'prolific' AND user_id = '1'), 6::bigint,
    'a backfilled counter starts from the existing rows');
SELECT is((SELECT progress FROM gamification.user_progress WHERE code = 'prolific' AND user_id = '2'), 1::bigint,
    'for every user');
SELECT is((SELECT array_agg(user_id) FROM gamification.user_badges WHERE code = 'prolific'), ARRAY['1'],
    'users already at the target are awarded at registration');
INSERT INTO public.sketch (user_id) SELECT 2 FROM generate_series(1, 5);
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_badges WHERE code = 'prolific'), ARRAY['1', '2'],
    'new rows add to the backfilled count');
SELECT gamification.badge_register('{"code": "big_counter", "name": "Big", "target": 100, "backfill": true,
    "counter": {"table": "sketch", "user_field": "user_id", "where": "hit_views >= 1000"}}');
SELECT is((SELECT sum(progress) FROM gamification.user_progress WHERE code = 'big_counter'), 16::numeric,
    'a backfilled counter counts only the existing rows its where matches (NULL users skipped)');

SELECT * FROM finish();
ROLLBACK;
