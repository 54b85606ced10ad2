-- badge_progress(): upsert, award exactly on crossing the target, lowered targets, errors.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(19);

SELECT gamification.badge_register('[{"code": "reader", "name": "Reader", "points": 7, "target": 3},
                                     {"code": "plain", "name": "Plain"}]');

SELECT is(gamification.badge_progress('u1', 'reader'), 1::bigint, 'default step is 1');
SELECT is(gamification.badge_progress('u1', 'reader', 1), 2::bigint, 'progress adds up');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id = 'u1'), 0::bigint, 'below the target: no award');
SELECT is(gamification.badge_progress('u1', 'reader', 5), 7::bigint, 'a step crossing the target');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id = 'u1' AND badge_code = 'reader'), 1::bigint, 'crossing the target awards the badge');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u1'), 7::bigint, 'and pays its points');
SELECT is(gamification.badge_progress('u1', 'reader', 10), 17::bigint, 'progress goes on past the target');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u1'), 7::bigint, 'steps past the target pay nothing more');
SELECT is(gamification.badge_progress(5, 'reader', 3), 3::bigint, 'integer user, exact hit of the target');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id = '5'), 1::bigint, 'reaching the target exactly awards');

-- Lowering the target awards at once users whose stored progress reaches it.
SELECT gamification.badge_register('{"code": "climber", "name": "Climber", "points": 4, "target": 10}');
SELECT gamification.badge_progress('a', 'climber', 6);
SELECT gamification.badge_progress('b', 'climber', 2);
SELECT gamification.badge_progress('c', 'climber', 6);
SELECT gamification.badge_award('c', 'climber');
SELECT gamification.badge_revoke('c', 'climber');
SELECT gamification.badge_register('{"code": "climber", "name": "Climber", "points": 4, "target": 5}');
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.award WHERE badge_code = 'climber'), ARRAY['a'],
    'lowered target: a (6 >= 5) is awarded, b (2) is not, c (revoked by hand) is not re-awarded');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'a'), 4::bigint, 'and paid');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE badge_code = 'climber' AND source = 'target'), 1::bigint, 'history records the source');

SELECT throws_ok($$ SELECT gamification.badge_progress('u1', 'plain') $$, '55000',
    'badge "plain" has no target', 'progress on a badge without target');
SELECT throws_ok($$ SELECT gamification.badge_progress('u1', 'reader', 0) $$, '22023',
    'gamification.badge_progress(): step must be a positive integer, got 0', 'step 0');
SELECT throws_ok($$ SELECT gamification.badge_progress('u1', 'reader', -2) $$, '22023',
    'gamification.badge_progress(): step must be a positive integer, got -2', 'negative step');
SELECT throws_ok($$ SELECT gamification.badge_progress(NULL, 'reader') $$, '22004',
    'gamification.badge_progress(): user_id must not be null', 'null user');
SELECT throws_ok($$ SELECT gamification.badge_progress('u1', 'nope') $$, '42704',
    'badge "nope" does not exist', 'unknown badge');
SELECT is((SELECT progress FROM gamification.progress WHERE user_id = 'u1' AND badge_code = 'reader'), 17::bigint, 'failed calls changed nothing');

SELECT * FROM finish();
ROLLBACK;
