-- Leaderboards of badges (issue 19): a board ranks users by the badges they earn, of every
-- category or of one, all time (the badges held) or per period; awards, revokes and
-- resets move the scores on both award paths; registration, history_import, a badge
-- changing category and a badge deleted refill the boards from the log; verify agrees.
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(29);

SELECT gamification.badge_register('[
    {"code": "a", "name": "A", "category": "community", "points": 5},
    {"code": "b", "name": "B", "category": "community"},
    {"code": "c", "name": "C", "category": "craft"},
    {"code": "d", "name": "D"},
    {"code": "e", "name": "E", "category": "community"}]');

-- Definitions and their errors.
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "x", "ranks_by": "karma"}') $$, '22023',
    'leaderboard "x": field "ranks_by" must be one of points, badges, got "karma"', 'ranks_by is points or badges');
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "x", "ranks_by": "badges", "point_type": "points"}') $$,
    '22023', 'leaderboard "x": field "point_type" only applies to a board ranking points',
    'a board of badges has no point type');
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "x", "category": "community"}') $$,
    '22023', 'leaderboard "x": field "category" only applies to a board ranking badges',
    'a category needs ranks_by badges');
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "x", "ranks_by": "badges", "category": "comunity"}') $$,
    '42704', 'leaderboard "x": field "category" "comunity" is not a registered category', 'an unknown category');
SELECT is((SELECT count(*) FROM gamification.leaderboard), 0::bigint, 'and nothing was registered');

SELECT gamification.leaderboard_register('[
    {"code": "collectors", "ranks_by": "badges"},
    {"code": "community_week", "ranks_by": "badges", "category": "community", "period": "week",
     "time_zone": "Europe/Paris", "ties": "first"}]');
SELECT results_eq($$ SELECT code, point_type, ranks_by, category FROM gamification.leaderboards ORDER BY code $$,
    $$ VALUES ('collectors'::text, NULL::text, 'badges'::text, NULL::text),
              ('community_week', NULL, 'badges', 'community') $$,
    'the leaderboards view shows what a board ranks');

-- Live writes: the one-pair path, the set-based path (a user earning two at once), revoke, reset.
SELECT gamification.badge_award('u1', 'a');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('collectors') $$,
    $$ VALUES ('u1'::text, 1::bigint) $$, 'an award counts one on a board of every badge');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('community_week') $$,
    $$ VALUES ('u1'::text, 1::bigint) $$, 'and on the board of its category, this week');
SELECT is((SELECT count(*) FROM gamification.leaderboard_score WHERE leaderboard = 'collectors'), 1::bigint,
    'points paid by the badge score no board of badges twice');
SELECT is(gamification._grant_many(ARRAY['b', 'c', 'd', 'b'], ARRAY['u2', 'u2', 'u2', 'u1'], 'manual'), 4,
    'a set-based award of four badges to two users');
SELECT results_eq($$ SELECT rank, user_id, score FROM gamification.leaderboard_top('collectors') $$,
    $$ VALUES (1::bigint, 'u2'::text, 3::bigint), (2, 'u1', 2) $$, 'each user counted once per badge');
SELECT results_eq($$ SELECT rank, user_id, score FROM gamification.leaderboard_top('community_week') $$,
    $$ VALUES (1::bigint, 'u1'::text, 2::bigint), (2, 'u2', 1) $$, 'the category board counts only its badges');
SELECT ok(gamification.badge_revoke('u1', 'a'), 'a revoke');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_rank('collectors', 'u1') $$,
    $$ VALUES ('u1'::text, 1::bigint) $$, 'takes one back');
SELECT gamification.user_reset('u2');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('collectors') $$,
    $$ VALUES ('u1'::text, 1::bigint), ('u2', 0) $$, 'a reset takes back every badge');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint, 'verify agrees with every live write');

-- Registration fills a new board from the log; history_import puts awards in their periods.
SELECT gamification.badge_award('u3', 'c');
SELECT gamification.leaderboard_register('{"code": "craft_all", "ranks_by": "badges", "category": "craft"}');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('craft_all') $$,
    $$ VALUES ('u3'::text, 1::bigint), ('u2', 0) $$, 'a new board is filled from the log');
SELECT gamification.history_import('{"awards": [{"user_id": "u4", "code": "a", "at": "2026-03-04T10:00:00Z"}]}');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('community_week', 10, 0, '2026-03-04 12:00Z') $$,
    $$ VALUES ('u4'::text, 1::bigint) $$, 'an imported award counts in the week it happened');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_rank('collectors', 'u4') $$,
    $$ VALUES ('u4'::text, 1::bigint) $$, 'and all time');

-- A badge changing category moves its awards, past periods too; its old category's board
-- forgets them.
SELECT gamification.badge_register('{"code": "a", "name": "A", "category": "craft", "points": 5}');
SELECT is((SELECT count(*) FROM gamification.leaderboard_top('community_week', 10, 0, '2026-03-04 12:00Z')), 0::bigint,
    'a badge moved out of a category leaves that category''s past periods');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_rank('craft_all', 'u4') $$,
    $$ VALUES ('u4'::text, 1::bigint) $$, 'and counts in the new one');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint, 'verify agrees');

-- A badge deleted (unregistered, no award left) leaves its category's boards.
SELECT gamification.badge_award('u5', 'e');
SELECT gamification.badge_unregister('e', keep_awards => false);
SELECT is((SELECT count(*) FROM gamification.badge WHERE code = 'e'), 0::bigint, 'badge e is gone');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint,
    'its category''s boards were refilled: verify agrees');

-- A category a board ranks cannot be deleted; erasure leaves every board.
SELECT throws_ok($$ SELECT gamification.category_delete('craft') $$, '2BP01',
    'category "craft" is ranked by leaderboard "craft_all"', 'a ranked category is not deleted');
SELECT ok(gamification.category_delete('community') IS NOT NULL, 'a category is deleted once no board ranks it')
  FROM (SELECT gamification.leaderboard_unregister('community_week')) u;
SELECT gamification.user_erase('u3');
SELECT is((SELECT count(*) FROM gamification.leaderboard_score WHERE user_id = 'u3'), 0::bigint,
    'an erased user leaves the boards of badges');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint, 'and verify still agrees');

-- A board of points is untouched by badges paying nothing, and vice versa.
SELECT gamification.leaderboard_register('{"code": "pts"}');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('pts') $$,
    $$ VALUES ('u1'::text, 0::bigint) $$,
    'a board of points ranks only points: badge a''s 5 and their revoke, not the badges paying nothing');

SELECT * FROM finish();
ROLLBACK;
