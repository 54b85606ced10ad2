-- history_import(): history from another system (django-gamification's point changes,
-- badges held, progress), with its times, marked origin import, paying nothing twice.
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(16);

SELECT gamification.badge_register('[{"code": "collector", "name": "Collector", "points": 5, "target": 5},
                                      {"code": "star", "name": "Star", "points": 10}]');
SELECT gamification.unlockable_register('[{"code": "gold", "name": "Gold", "points_required": 12}]');
SELECT gamification.badge_award('7', 'star');  -- held here already: 10 points

SELECT is(gamification.history_import('{
    "points": [{"user_id": 7, "amount": 10, "reason": "star", "at": "2019-05-01T10:00:00Z"},
               {"user_id": "8", "amount": 3, "at": "2019-04-01T10:00:00Z"},
               {"user_id": "8", "amount": -1, "at": "2019-04-02T10:00:00Z"}],
    "awards": [{"user_id": 7, "code": "star", "at": "2019-05-01T10:00:00Z"},
               {"user_id": "8", "code": "collector", "at": "2019-04-03T10:00:00Z"}],
    "progress": [{"user_id": "8", "code": "collector", "progress": 6}, {"user_id": "9", "code": "collector", "progress": 2}]}'),
    '{"points": 3, "awards": 1, "progress": 2}'::jsonb, 'counts per section; a badge held already is skipped');

SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '7'), 20::bigint, 'imported points add to the total');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '8'), 2::bigint, 'a user''s imported changes sum');
SELECT is((SELECT array_agg(at ORDER BY id) FROM gamification.event WHERE user_id = '8' AND kind = 'points_changed'),
    ARRAY['2019-04-01T10:00:00Z', '2019-04-02T10:00:00Z']::timestamptz[], 'point changes keep their times, in time order');
SELECT is((SELECT awarded_at FROM gamification.award WHERE user_id = '8' AND badge_code = 'collector'),
    '2019-04-03T10:00:00Z'::timestamptz, 'an award keeps its time');
SELECT is((SELECT points FROM gamification.event WHERE user_id = '8' AND kind = 'badge_awarded'), 0::bigint,
    'an imported award pays nothing (its points are among the point changes)');
SELECT is((SELECT array_agg(DISTINCT origin) FROM gamification.event WHERE user_id IN ('8', '9')), ARRAY['import'],
    'every imported event is marked import');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id = '7' AND kind = 'unlockable_unlocked' AND origin = 'import'),
    1::bigint, 'an unlock the imported points reach follows, marked import');
SELECT is((SELECT progress FROM gamification.progress WHERE user_id = '9'), 2::bigint, 'progress is imported');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id = '9'), 0::bigint, 'imported progress awards nothing by itself');
SELECT gamification.badge_revoke('8', 'collector');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '8'), 2::bigint,
    'revoking an imported award takes back what it paid here: nothing');

SELECT throws_ok($$ SELECT gamification.history_import('{"points": [{"user_id": "1", "amount": 1.5}]}') $$, '22023',
    'gamification.history_import(): points[0]: field "amount" must be an integer, got 1.5', 'a bad amount names the entry');
SELECT throws_ok($$ SELECT gamification.history_import('{"awards": [{"user_id": "1", "code": "star"}, {"user_id": "1", "code": "nope"}]}') $$,
    '22023', 'gamification.history_import(): awards[1]: badge "nope" is not registered', 'an unknown badge names the entry');
SELECT throws_ok($$ SELECT gamification.history_import('{"points": [], "badges": []}') $$, '22023',
    'gamification.history_import(): unknown key "badges" (expected points, awards, progress)', 'an unknown section');

SELECT gamification.point_type_register('{"code": "xp", "name": "Experience"}');
SELECT gamification.history_import('{"points": [{"user_id": "10", "amount": 40, "point_type": "xp", "at": "2019-01-01T00:00:00Z"}]}');
SELECT is((SELECT points FROM gamification.user_points_by_type WHERE user_id = '10' AND point_type = 'xp'), 40::bigint,
    'point changes import into their point type');
SELECT throws_ok($$ SELECT gamification.history_import('{"points": [{"user_id": "1", "amount": 1, "point_type": "gold"}]}') $$,
    '22023', 'gamification.history_import(): points[0]: point type "gold" is not registered', 'an unknown point type names the entry');

SELECT * FROM finish();
ROLLBACK;
