-- Levels (issue 19): thresholds on a point type; the user's level and progress in
-- user_levels; every change of level, up or down, a level_changed event; thresholds
-- changed at runtime re-level everyone at once (events marked backfill).
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(30);

SELECT gamification.point_type_register('{"code": "xp", "name": "Experience"}');
SELECT gamification.points_award('early', 120, 'before levels', 'xp');
SELECT set_eq($$ SELECT * FROM gamification.level_register('[
    {"point_type": "xp", "number": 1, "name": "Newcomer", "points_required": 0},
    {"point_type": "xp", "number": 2, "name": "Regular", "points_required": 100},
    {"point_type": "xp", "number": 3, "name": "Contributor", "points_required": 500},
    {"point_type": "xp", "number": 4, "name": "Expert", "points_required": 2000}]') $$,
    $$ VALUES ('xp', 1), ('xp', 2), ('xp', 3), ('xp', 4) $$, 'level_register returns the levels registered');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'early' AND kind = 'level_changed'),
    '{"from": 0, "to": 2, "name": "Regular"}'::jsonb, 'users already past thresholds get their level at registration');
SELECT is((SELECT origin || '/' || reason || '/' || subject || '/' || point_type FROM gamification.event
            WHERE user_id = 'early' AND kind = 'level_changed'), 'backfill/register/xp/xp',
    'a level given by a registration is marked backfill, reason register, subject and point_type the type');

-- Crossing up.
SELECT gamification.points_award('ann', 50, 'first steps', 'xp');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'ann' AND kind = 'level_changed'),
    '{"from": 0, "to": 1, "name": "Newcomer"}'::jsonb, 'a user''s first points reach level 1 (at 0 points)');
SELECT gamification.points_award('ann', 20, 'more', 'xp');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id = 'ann' AND kind = 'level_changed'), 1::bigint,
    'no threshold crossed: no event');
SELECT gamification.points_award('ann', 500, 'big quest', 'xp');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'ann' AND kind = 'level_changed' ORDER BY id DESC LIMIT 1),
    '{"from": 1, "to": 3, "name": "Contributor"}'::jsonb, 'two thresholds crossed at once: one event, from 1 to 3');
SELECT is((SELECT origin FROM gamification.event WHERE user_id = 'ann' AND kind = 'level_changed' ORDER BY id DESC LIMIT 1),
    'live', 'a level reached by earning is live');
SELECT results_eq($$ SELECT level, name, points, next_level, next_name, points_to_next, progress
                       FROM gamification.user_levels WHERE user_id = 'ann' $$,
    $$ VALUES (3, 'Contributor'::text, 570::bigint, 4, 'Expert'::text, 1430::bigint, 0.0467::numeric) $$,
    'user_levels: level 3 "Contributor" at 570 XP, 1430 to level 4, 4.67 % of the way');

-- Crossing down (a penalty) and the other type untouched.
SELECT gamification.points_award('ann', -100, 'spam', 'xp');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'ann' AND kind = 'level_changed' ORDER BY id DESC LIMIT 1),
    '{"from": 3, "to": 2, "name": "Regular"}'::jsonb, 'falling below a threshold is a level_changed event down');
SELECT gamification.points_award('ann', 1000, 'default type');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id = 'ann' AND kind = 'level_changed'), 3::bigint,
    'points of the default type cross no level of xp');
SELECT is((SELECT count(*) FROM gamification.user_levels WHERE user_id = 'ann'), 1::bigint,
    'user_levels lists the types that have levels only');

-- Badges paying in the type, many users at once (a backfill: the set-based path).
CREATE TABLE public.lv_posts (id serial PRIMARY KEY, author text);
INSERT INTO public.lv_posts (author) VALUES ('b1'), ('b2'), ('b3'), ('ann');
SELECT gamification.points_award('b2', 90, 'warm-up', 'xp');
SELECT gamification.badge_register('{"code": "poster", "name": "Poster", "points": 600, "point_type": "xp",
    "condition": "true", "trigger_condition": "insert", "trigger_table": "lv_posts", "user_field": "author", "backfill": true}');
SELECT set_eq($$ SELECT user_id, data FROM gamification.event WHERE kind = 'level_changed' AND user_id IN ('b1', 'b2', 'b3') AND origin = 'backfill' $$,
    $$ VALUES ('b1', '{"from": 0, "to": 3, "name": "Contributor"}'::jsonb), ('b2', '{"from": 1, "to": 3, "name": "Contributor"}'::jsonb),
              ('b3', '{"from": 0, "to": 3, "name": "Contributor"}'::jsonb) $$,
    'a badge in the type awarded to many users at once levels each of them (backfill)');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'ann' AND kind = 'level_changed' ORDER BY id DESC LIMIT 1),
    '{"from": 2, "to": 3, "name": "Contributor"}'::jsonb, 'and a user who had a total and levels');
INSERT INTO public.lv_posts (author) VALUES ('c1');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'c1' AND kind = 'level_changed'),
    '{"from": 0, "to": 3, "name": "Contributor"}'::jsonb, 'a trigger badge paying in the type levels the writer''s user');

-- Thresholds change at runtime: everyone follows at once.
SELECT is((SELECT level FROM gamification.user_levels WHERE user_id = 'early'), 2, 'early is level 2 at 120 XP');
SELECT gamification.level_register('{"point_type": "xp", "number": 3, "name": "Contributor", "points_required": 110}');
SELECT is((SELECT level FROM gamification.user_levels WHERE user_id = 'early'), 3, 'a lowered threshold: user_levels follows at once');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'early' AND kind = 'level_changed' ORDER BY id DESC LIMIT 1),
    '{"from": 2, "to": 3, "name": "Contributor"}'::jsonb, 'with a level_changed event for the users it moves');
SELECT is((SELECT origin FROM gamification.event WHERE user_id = 'early' AND kind = 'level_changed' ORDER BY id DESC LIMIT 1),
    'backfill', 'marked backfill');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id = 'b1' AND kind = 'level_changed'), 1::bigint,
    'users whose level does not change get no event');
SELECT gamification.level_register('{"point_type": "xp", "number": 3, "name": "Contributor", "points_required": 500}');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'early' AND kind = 'level_changed' ORDER BY id DESC LIMIT 1),
    '{"from": 3, "to": 2, "name": "Regular"}'::jsonb, 'a raised threshold moves users down, with an event');
SELECT is(gamification.level_unregister('xp', 4), true, 'level_unregister removes a level');
SELECT is((SELECT next_level FROM gamification.user_levels WHERE user_id = 'b1'), NULL::integer, 'level 3 is now the top level');
SELECT is((SELECT progress FROM gamification.user_levels WHERE user_id = 'b1'), 1::numeric, 'progress is 1 at the top level');
SELECT is(gamification.level_unregister('xp', 4), false, 'unregistering a level that is not there returns false');

-- Refusals change nothing.
SELECT throws_ok($$ SELECT gamification.level_register('{"point_type": "xp", "number": 5, "name": "Too low", "points_required": 10}') $$,
    '22023', 'level 5 of point type "xp": field "points_required" must be more than level 3''s 500, got 10',
    'a higher level must need more points');
SELECT throws_ok($$ SELECT gamification.level_register('{"point_type": "karma", "number": 1, "name": "K", "points_required": 0}') $$,
    '42704', 'level #1: field "point_type" "karma" is not a registered point type', 'levels of an unknown type are refused');
SELECT throws_ok($$ SELECT gamification.level_register('{"point_type": "xp", "name": "K", "points_required": 0}') $$,
    '22023', 'level #1: field "number" is required', 'a level needs its number');
SELECT throws_ok($$ SELECT gamification.level_register('[{"number": 1, "name": "A", "points_required": 0},
                                                         {"number": 1, "name": "B", "points_required": 5}]') $$,
    '42710', 'level 1 of point type "points": appears more than once in this call (item #2)', 'a level twice in one call');
SELECT is((SELECT array_agg(points_required ORDER BY number) FROM gamification.levels WHERE point_type = 'xp'),
    ARRAY[0, 100, 500]::bigint[], 'refused registrations changed nothing');

-- Levels of the default type work with the 0.2.0 calls.
SELECT gamification.level_register('{"number": 1, "name": "Bronze", "points_required": 10}');
SELECT gamification.points_award('dora', 10, 'old call');
SELECT is((SELECT data FROM gamification.event WHERE user_id = 'dora' AND kind = 'level_changed'),
    '{"from": 0, "to": 1, "name": "Bronze"}'::jsonb, 'levels on the default type follow the 0.2.0 calls');

SELECT * FROM finish();
ROLLBACK;
