-- Unlockables: derived holding (re-locks when points drop), first unlock time
-- kept, new unlockables and changed thresholds applied at once, errors.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(17);

SELECT results_eq($$ SELECT * FROM gamification.unlockable_register('[{"code": "avatar", "name": "Avatar", "points_required": 10},
                                                                      {"code": "theme", "name": "Theme", "points_required": 100}]') $$,
    $$ VALUES ('avatar'::text), ('theme') $$, 'unlockable_register returns the codes');

SELECT gamification.award_points('u1', 5, 'x');
SELECT is((SELECT count(*) FROM gamification.user_unlockables WHERE user_id = 'u1'), 0::bigint, 'below the threshold: nothing unlocked');
SELECT gamification.award_points('u1', 5, 'x');
SELECT is((SELECT array_agg(code) FROM gamification.user_unlockables WHERE user_id = 'u1'), ARRAY['avatar'], 'reaching the threshold unlocks');
SELECT isnt((SELECT unlocked_at FROM gamification.user_unlockables WHERE user_id = 'u1'), NULL, 'with a first unlock time');

-- Pretend the first unlock was long ago, then re-lock and unlock again.
UPDATE gamification.unlock SET first_unlocked_at = '2020-01-01 00:00+00' WHERE user_id = 'u1';
SELECT gamification.award_points('u1', -1, 'penalty');
SELECT is((SELECT count(*) FROM gamification.user_unlockables WHERE user_id = 'u1'), 0::bigint, 'points dropping below the threshold re-locks');
SELECT gamification.award_points('u1', 1, 'back');
SELECT is((SELECT unlocked_at FROM gamification.user_unlockables WHERE user_id = 'u1' AND code = 'avatar'), '2020-01-01 00:00+00'::timestamptz,
    'unlocking again keeps the first unlock time');
SELECT is((SELECT count(*) FROM gamification.unlock WHERE user_id = 'u1'), 1::bigint, 'one unlock row');

-- A new unlockable applies at once to users already above it.
SELECT gamification.award_points('u2', 50, 'x');
SELECT gamification.unlockable_register('{"code": "badge_frame", "name": "Frame", "points_required": 40}');
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.unlock WHERE unlockable_code = 'badge_frame'), ARRAY['u2'],
    'a new unlockable records the first unlock of users already above it, without a point change');
-- A lowered threshold applies at once too.
SELECT gamification.unlockable_register('{"code": "theme", "name": "Theme", "points_required": 10}');
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_unlockables WHERE code = 'theme'), ARRAY['u1', 'u2'],
    'a lowered threshold unlocks at once');
SELECT is((SELECT count(*) FROM gamification.unlock WHERE unlockable_code = 'theme' AND first_unlocked_at IS NOT NULL), 2::bigint,
    'and records the first unlock times');
-- A raised threshold re-locks at once.
SELECT gamification.unlockable_register('{"code": "theme", "name": "Theme", "points_required": 20}');
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_unlockables WHERE code = 'theme'), ARRAY['u2'],
    'a raised threshold re-locks at once');

SELECT throws_ok($$ SELECT gamification.unlockable_register('{"code": "x", "name": "X"}') $$, '22023',
    'unlockable "x": field "points_required" is required', 'points_required is required');
SELECT throws_ok($$ SELECT gamification.unlockable_register('{"code": "x", "name": "X", "points_required": -1}') $$, '22023',
    'unlockable "x": field "points_required" must be an integer >= 0, got -1', 'negative threshold');
SELECT throws_ok($$ SELECT gamification.unlockable_register('{"code": "x", "name": "X", "points": 1}') $$, '22023',
    'unlockable "x": unknown field "points"', 'unknown field');
SELECT throws_ok($$ SELECT gamification.unlockable_register('[{"code": "x", "name": "X", "points_required": 1}, {"code": "x", "name": "Y", "points_required": 2}]') $$, '42710',
    'unlockable "x": code appears more than once in this call (item #2)', 'duplicate code');
SELECT throws_ok($$ SELECT gamification.unlockable_register(NULL) $$, '22004',
    'gamification.unlockable_register(): definitions must not be null', 'null definitions');
SELECT is((SELECT count(*) FROM gamification.unlockable), 3::bigint, 'failed calls wrote nothing');

SELECT * FROM finish();
ROLLBACK;
