-- Point types (issue 19): points are of a type; the default type, points, keeps the 0.2.0
-- API and views unchanged. Badges pay in a type, points_award() awards in one, unlockables
-- read one, revokes and resets take back in the type that was paid.
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(28);

SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.point_types), ARRAY['points'],
    'the default point type, points, is there from the start');
SELECT is((SELECT array_agg(x ORDER BY x) FROM gamification.point_type_register(
              '[{"code": "xp", "name": "Experience"}, {"code": "coins"}]') x),
    ARRAY['coins', 'xp'], 'point_type_register returns the codes registered');
SELECT is((SELECT name FROM gamification.point_types WHERE code = 'coins'), 'coins', 'a point type''s name defaults to its code');
SELECT throws_ok($$ SELECT gamification.point_type_register('{"code": "points", "name": "Mine"}') $$, '22023',
    'point type "points": the default point type is built in and cannot be registered',
    'the default point type cannot be registered again');

SELECT gamification.badge_register('[
    {"code": "helper", "name": "Helper", "points": 50, "point_type": "xp"},
    {"code": "hello", "name": "Hello", "points": 5}
]');
SELECT is((SELECT point_type FROM gamification.badge WHERE code = 'helper'), 'xp', 'a badge pays in the type it names');
SELECT is((SELECT point_type FROM gamification.badge WHERE code = 'hello'), 'points', 'a badge names no type: the default type');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "bad", "name": "Bad", "points": 1, "point_type": "karma"}') $$,
    '42704', 'badge "bad": field "point_type" "karma" is not a registered point type',
    'a badge in a point type that is not registered is refused');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "bad", "name": "Bad", "point_type": 3}') $$,
    '22023', NULL, 'a point_type that is not a code is refused');

SELECT gamification.badge_award('ann', 'helper');
SELECT gamification.badge_award('ann', 'hello');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'ann'), 5::bigint,
    'user_points shows the default type only, with its columns unchanged');
SELECT set_eq($$ SELECT point_type, points FROM gamification.user_points_by_type WHERE user_id = 'ann' $$,
    $$ VALUES ('points', 5::bigint), ('xp', 50::bigint) $$, 'user_points_by_type has every type''s total');
SELECT is((SELECT point_type FROM gamification.event WHERE user_id = 'ann' AND subject = 'helper'), 'xp',
    'the award''s event says which type it paid in');

SELECT is(gamification.points_award('ann', 7, 'quest', 'xp'), 57::bigint, 'points_award in a type returns that type''s total');
SELECT is(gamification.points_award('ann', 1, 'daily'), 6::bigint, 'points_award without a type is unchanged: the default type');
SELECT is(gamification.points_award(42, 3, 'quest', point_type => 'coins'), 3::bigint,
    'points_award in a type for any key type, the type named');
SELECT is(gamification.award_points('ann', 1, 'quest', 'xp'), 58::bigint, 'award_points, the 0.1.0 name, in a type');
SELECT throws_ok($$ SELECT gamification.points_award('ann', 1, 'x', 'karma') $$, '42704',
    'gamification.award_points(): point_type "karma" is not a registered point type', 'an unknown point type is refused');
SELECT throws_ok($$ SELECT gamification.points_award('ann', 1, 'x', NULL) $$, '22004',
    'gamification.award_points(): point_type must not be null', 'a null point type is refused');

SELECT is((SELECT sum(amount) FROM gamification.points_history WHERE user_id = 'ann'), 6::numeric,
    'points_history lists the default type''s changes only: they sum to user_points');
SELECT gamification.badge_register('{"code": "helper", "name": "Helper", "points": 50, "point_type": "coins"}');
SELECT gamification.badge_revoke('ann', 'helper');
SELECT set_eq($$ SELECT point_type, points FROM gamification.user_points_by_type WHERE user_id = 'ann' $$,
    $$ VALUES ('points', 6::bigint), ('xp', 8::bigint) $$,
    'a revoke takes back what was paid, in the type it was paid in (the badge pays in another type now)');
SELECT gamification.badge_award('ann', 'helper');
SELECT is((SELECT points FROM gamification.user_points_by_type WHERE user_id = 'ann' AND point_type = 'coins'), 50::bigint,
    'a new award pays in the badge''s type now');

-- Unlockables read a type.
SELECT gamification.unlockable_register('[{"code": "frame", "name": "Frame", "points_required": 10, "point_type": "xp"},
                                         {"code": "hat", "name": "Hat", "points_required": 6}]');
SELECT set_eq($$ SELECT code FROM gamification.user_unlockables WHERE user_id = 'ann' $$, $$ VALUES ('hat') $$,
    'an unlockable of a type reads that type''s total only');
SELECT gamification.points_award('ann', 2, 'quest', 'xp');
SELECT set_eq($$ SELECT code FROM gamification.user_unlockables WHERE user_id = 'ann' $$, $$ VALUES ('hat'), ('frame') $$,
    'reaching it in its type unlocks it');
SELECT is((SELECT point_type FROM gamification.event WHERE user_id = 'ann' AND kind = 'unlockable_unlocked' AND subject = 'frame'),
    'xp', 'the unlock event says its type');
SELECT gamification.points_award('ann', 100, 'much', 'coins');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id = 'ann' AND subject = 'frame'), 1::bigint,
    'points of another type cross nothing of it');

-- A reset brings every type to 0, one event per type; the log still sums to each total.
SELECT gamification.user_reset('ann');
SELECT is((SELECT array_agg(points ORDER BY point_type) FROM gamification.user_points_by_type WHERE user_id = 'ann'),
    ARRAY[0, 0, 0]::bigint[], 'a reset brings every type''s total to 0');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id = 'ann' AND kind = 'points_changed' AND reason = 'reset'),
    3::bigint, 'one reset event per type');
SELECT is((SELECT count(*) FROM gamification.points_total t
            WHERE t.points <> (SELECT coalesce(sum(e.points), 0) FROM gamification.event e
                                WHERE e.user_id = t.user_id AND e.point_type = t.point_type)), 0::bigint,
    'every total equals the sum of its user''s events of its type');
SELECT is(gamification.totals_rebuild(), 0::bigint, 'totals_rebuild() finds every total of every type right');

SELECT * FROM finish();
ROLLBACK;
