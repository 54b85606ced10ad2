-- Leaderboards (issue 19): periods in a time zone across daylight-saving changes, week
-- start, the three ways of ranking ties, paging, one user with neighbours, past periods,
-- exclusion, erasure, registration from the log, verify and repair.
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(59);

-- Periods. Europe/Paris moves to summer time on 2026-03-29 (02:00 -> 03:00) and back on
-- 2026-10-25; America/New_York on 2026-03-08. Periods start at local midnight.
SELECT is(gamification._leaderboard_period('day', 'Europe/Paris', 'monday', '2026-03-29 12:00+02'),
    '2026-03-29 00:00+01'::timestamptz, 'Paris: the day of the change starts at midnight winter time');
SELECT is(gamification._leaderboard_period_end('day', 'Europe/Paris', '2026-03-29 00:00+01')
          - '2026-03-29 00:00+01'::timestamptz, interval '23 hours',
    'Paris: the spring day of the change has 23 hours');
SELECT is(gamification._leaderboard_period_end('day', 'Europe/Paris', '2026-10-25 00:00+02')
          - '2026-10-25 00:00+02'::timestamptz, interval '25 hours',
    'Paris: the autumn day of the change has 25 hours');
SELECT is(gamification._leaderboard_period('day', 'America/New_York', 'monday', '2026-03-08 23:30-04'),
    '2026-03-08 00:00-05'::timestamptz, 'New York: 23:30 on the day of the change is in that day');
SELECT is(gamification._leaderboard_period_end('day', 'America/New_York', '2026-03-08 00:00-05')
          - '2026-03-08 00:00-05'::timestamptz, interval '23 hours',
    'New York: the day of the change has 23 hours');
SELECT is(gamification._leaderboard_period('week', 'Europe/Paris', 'monday', '2026-03-29 23:30+02'),
    '2026-03-23 00:00+01'::timestamptz,
    'Paris, weeks from Monday: 23:30 local on Sunday, the last day of the week (and of 23 hours), is in that week');
SELECT is(gamification._leaderboard_period('week', 'Europe/Paris', 'monday', '2026-03-29 22:00+00'),
    '2026-03-30 00:00+02'::timestamptz, 'Paris: half an hour later (Monday 00:00 local) is the next week');
SELECT is(gamification._leaderboard_period('week', 'America/New_York', 'sunday', '2026-03-07 23:30-05'),
    '2026-03-01 00:00-05'::timestamptz,
    'New York, weeks from Sunday: 23:30 local on Saturday, the last day of the week, is in that week');
SELECT is(gamification._leaderboard_period_end('week', 'America/New_York', '2026-03-08 00:00-05')
          - '2026-03-08 00:00-05'::timestamptz, interval '167 hours',
    'New York: the week of the change, from Sunday 2026-03-08, has 7 days and 167 hours');
SELECT is(gamification._leaderboard_period('week', 'UTC', 'wednesday', '2026-03-03 23:59+00'),
    '2026-02-25 00:00+00'::timestamptz, 'weeks from Wednesday: a Tuesday is in the week that began the Wednesday before');
SELECT is(gamification._leaderboard_period('month', 'America/New_York', 'monday', '2026-04-01 03:30+00'),
    '2026-03-01 00:00-05'::timestamptz, 'a month: 03:30 UTC on April 1st is still March in New York');
SELECT is(gamification._leaderboard_period('year', 'Europe/Paris', 'monday', '2025-12-31 23:30+00'),
    '2026-01-01 00:00+01'::timestamptz, 'a year: 23:30 UTC on December 31st is already next year in Paris');

-- Registration errors name the board and the field.
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "bad", "period": "week", "time_zone": "Mars/Olympus"}') $$,
    '22023', 'leaderboard "bad": field "time_zone" must be an IANA time zone name, got "Mars/Olympus"',
    'a time zone that is not in pg_timezone_names');
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "bad", "period": "day", "week_start": "sunday"}') $$,
    '22023', 'leaderboard "bad": field "week_start" only applies to a period of week', 'week_start on a daily board');
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "bad", "period": "fortnight"}') $$,
    '22023', 'leaderboard "bad": field "period" must be one of all, day, week, month, year, got "fortnight"', 'an unknown period');
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "bad", "ties": "coin_toss"}') $$,
    '22023', 'leaderboard "bad": field "ties" must be one of rank, dense_rank, first, got "coin_toss"', 'an unknown way of ranking ties');
SELECT throws_ok($$ SELECT gamification.leaderboard_register('{"code": "bad", "point_type": "karma"}') $$,
    '42704', 'leaderboard "bad": field "point_type" "karma" is not a registered point type', 'an unknown point type');
SELECT throws_ok($$ SELECT * FROM gamification.leaderboard_top('nope') $$,
    '42704', 'leaderboard "nope" does not exist', 'reading an unknown board');

-- Boards registered before the history arrives: history_import puts the points in the
-- periods they happened in.
SELECT is((SELECT array_agg(x ORDER BY x) FROM gamification.leaderboard_register('[
    {"code": "weekly_paris", "name": "This week", "period": "week", "time_zone": "Europe/Paris"},
    {"code": "weekly_ny", "period": "week", "time_zone": "America/New_York", "week_start": "sunday"}]') x),
    ARRAY['weekly_ny', 'weekly_paris'], 'leaderboard_register returns the codes');
SELECT gamification.history_import('{"points": [
    {"user_id": "u1", "amount": 10, "at": "2026-03-02T10:00:00Z"},
    {"user_id": "u2", "amount": 10, "at": "2026-03-01T10:00:00Z"},
    {"user_id": "u3", "amount": 5, "at": "2026-03-07T23:30:00-05:00"},
    {"user_id": "u3", "amount": 1, "at": "2026-03-08T00:30:00-05:00"},
    {"user_id": "u4", "amount": 10, "at": "2026-03-04T10:00:00Z"},
    {"user_id": "u5", "amount": 3, "at": "2026-03-05T10:00:00Z"},
    {"user_id": "u1", "amount": 7, "at": "2026-03-29T23:30:00+02:00"},
    {"user_id": "u2", "amount": 4, "at": "2026-03-23T00:00:00+01:00"},
    {"user_id": "u1", "amount": 2, "at": "2026-03-30T00:10:00+02:00"}]}');
SELECT results_eq($$ SELECT rank, user_id, score FROM gamification.leaderboard_top('weekly_paris', 10, 0, '2026-03-29 23:30+02') $$,
    $$ VALUES (1::bigint, 'u1'::text, 7::bigint), (2, 'u2', 4) $$,
    'a past week''s standings: Sunday 23:30 local counts in its week, across the change of time');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('weekly_paris', 10, 0, '2026-03-30 12:00+02') $$,
    $$ VALUES ('u1'::text, 2::bigint) $$, 'Monday 00:10 local starts the next week');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('weekly_ny', 10, 0, '2026-03-07 12:00-05') $$,
    $$ VALUES ('u2'::text, 10::bigint), ('u1', 10), ('u4', 10), ('u3', 5), ('u5', 3) $$,
    'New York, weeks from Sunday: Saturday 23:30 local is in the week from Sunday March 1st');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('weekly_ny', 10, 0, '2026-03-08 12:00-04') $$,
    $$ VALUES ('u3'::text, 1::bigint) $$, 'and Sunday 00:30 local in the next');
SELECT is((SELECT array_agg(period_start ORDER BY period_start) FROM gamification.leaderboard_periods('weekly_paris')),
    ARRAY['2026-02-23 00:00+01', '2026-03-02 00:00+01', '2026-03-23 00:00+01', '2026-03-30 00:00+02']::timestamptz[],
    'leaderboard_periods lists the past periods with scores');
SELECT is((SELECT users FROM gamification.leaderboard_periods('weekly_paris') WHERE period_start = '2026-03-02 00:00+01'),
    4::bigint, 'with how many users each ranks');

-- Boards registered after the history are filled from it; the three ways of ranking ties.
-- All time: u1 19, u2 14, u4 10, u3 6, u5 3; then equal scores for ties.
SELECT gamification.points_award('u2', -4, 'tie');   -- u2: 10, reached now
SELECT gamification.points_award('u1', -9, 'tie');   -- u1: 10, reached now too
SELECT gamification.leaderboard_register('[
    {"code": "all_rank", "name": "All time"},
    {"code": "all_dense", "ties": "dense_rank"},
    {"code": "all_first", "ties": "first"}]');
SELECT results_eq($$ SELECT rank, user_id, score FROM gamification.leaderboard_top('all_rank') $$,
    $$ VALUES (1::bigint, 'u4'::text, 10::bigint), (1, 'u1', 10), (1, 'u2', 10), (4, 'u3', 6), (5, 'u5', 3) $$,
    'ties rank: 1, 1, 1, 4, 5; equal scores listed by who reached them first (u4 on March 4th, then u1 and u2 now, by key)');
SELECT results_eq($$ SELECT rank FROM gamification.leaderboard_top('all_dense') $$,
    $$ VALUES (1::bigint), (1), (1), (2), (3) $$, 'ties dense_rank: 1, 1, 1, 2, 3');
SELECT results_eq($$ SELECT rank, user_id FROM gamification.leaderboard_top('all_first') $$,
    $$ VALUES (1::bigint, 'u4'::text), (2, 'u1'), (3, 'u2'), (4, 'u3'), (5, 'u5') $$,
    'ties first: the first to reach the score ranks first');

-- Paging, and one user with neighbours.
SELECT results_eq($$ SELECT rank, user_id FROM gamification.leaderboard_top('all_first', 2, 2) $$,
    $$ VALUES (3::bigint, 'u2'::text), (4, 'u3') $$, 'a page: 2 users after the first 2');
SELECT is((SELECT count(*) FROM gamification.leaderboard_top('all_first', 10, 5)), 0::bigint, 'a page past the end is empty');
SELECT results_eq($$ SELECT rank, user_id, score FROM gamification.leaderboard_rank('all_first', 'u2', 1) $$,
    $$ VALUES (2::bigint, 'u1'::text, 10::bigint), (3, 'u2', 10), (4, 'u3', 6) $$,
    'leaderboard_rank: the user with one neighbour on each side');
SELECT results_eq($$ SELECT rank, user_id FROM gamification.leaderboard_rank('all_rank', 'u4', 2) $$,
    $$ VALUES (1::bigint, 'u4'::text), (1, 'u1'), (1, 'u2') $$, 'at the top there is nobody above');
SELECT results_eq($$ SELECT rank, score FROM gamification.leaderboard_rank('all_dense', 'u5') $$,
    $$ VALUES (3::bigint, 3::bigint) $$, 'the user alone by default');
SELECT is((SELECT count(*) FROM gamification.leaderboard_rank('all_rank', 'nobody', 3)), 0::bigint,
    'a user without a score has no row');
SELECT throws_ok($$ SELECT * FROM gamification.leaderboard_top('all_rank', -1) $$, '22023',
    'gamification.leaderboard_top(): leaderboard "all_rank": n and skip must be 0 or more, got -1 and 0', 'a negative page size');

-- Live writes: the one-user path and the set-based path keep every board of the type.
SELECT gamification.points_award('live', 20, 'now');
SELECT results_eq($$ SELECT rank, user_id FROM gamification.leaderboard_rank('all_rank', 'live') $$,
    $$ VALUES (1::bigint, 'live'::text) $$, 'points awarded now rank at once (all time)');
SELECT is((SELECT score FROM gamification.leaderboard_rank('weekly_paris', 'live')), 20::bigint,
    'and in the current week');
SELECT gamification.points_award(42, 1, 'integer key');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_rank('all_rank', 42, around => 0) $$,
    $$ VALUES ('42'::text, 1::bigint) $$, 'leaderboard_rank takes any user key type, and named arguments');
SELECT gamification.point_type_register('{"code": "xp", "name": "XP"}');
SELECT gamification.leaderboard_register('{"code": "xp_daily", "point_type": "xp", "period": "day", "time_zone": "America/New_York"}');
SELECT gamification.badge_register('{"code": "bonus", "name": "Bonus", "points": 7, "point_type": "xp"}');
SELECT is(gamification._grant('bonus', ARRAY['x2', 'x1', 'live']), 3, 'a set-based award of xp to three users');
SELECT results_eq($$ SELECT rank, user_id, score FROM gamification.leaderboard_top('xp_daily') $$,
    $$ VALUES (1::bigint, 'live'::text, 7::bigint), (1, 'x1', 7), (1, 'x2', 7) $$,
    'the set-based path scores every user on the board of that type');
SELECT is((SELECT count(*) FROM gamification.leaderboard_score WHERE leaderboard = 'all_rank' AND user_id IN ('x1', 'x2')),
    0::bigint, 'and no board of another type');
CREATE TABLE public.lb_posts (id serial PRIMARY KEY, author text);
SELECT gamification.badge_register('{"code": "poster", "name": "Poster", "points": 4, "condition": "true",
    "trigger_condition": "insert", "trigger_table": "lb_posts", "user_field": "author"}');
INSERT INTO public.lb_posts (author) VALUES ('t2'), ('t1');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('all_rank', 2, 5) $$,
    $$ VALUES ('t1'::text, 4::bigint), ('t2', 4) $$,
    'an application''s write, through a trigger badge applied at commit, scores its users too');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint,
    'every score kept by the writes equals the one recomputed from the log');

-- Exclusion: out of the rankings, points kept.
SELECT ok(gamification.leaderboard_exclude('all_first', 'u4'), 'leaderboard_exclude returns true when it changes something');
SELECT results_eq($$ SELECT rank, user_id FROM gamification.leaderboard_top('all_first', 2, 1) $$,
    $$ VALUES (2::bigint, 'u1'::text), (3, 'u2') $$, 'an excluded user is out of the ranking, the others move up');
SELECT is((SELECT count(*) FROM gamification.leaderboard_rank('all_first', 'u4')), 0::bigint, 'and has no rank');
SELECT is((SELECT count(*) FROM gamification.leaderboard_top('all_rank') WHERE user_id = 'u4'), 1::bigint,
    'on that board only');
SELECT ok(gamification.leaderboard_exclude('all_first', 'u4', false), 'excluded false ranks the user again');
SELECT is((SELECT rank FROM gamification.leaderboard_rank('all_first', 'u4')), 2::bigint,
    'with the score kept meanwhile (live is first with 20)');

-- Erasure: off every board, every period.
SELECT gamification.user_erase('u1');
SELECT is((SELECT count(*) FROM gamification.leaderboard_score WHERE user_id = 'u1'), 0::bigint,
    'user_erase removes the user''s scores of every board and period');

-- Verify and repair.
UPDATE gamification.leaderboard_score SET score = 99 WHERE leaderboard = 'all_rank' AND user_id = 'u2';
DELETE FROM gamification.leaderboard_score WHERE leaderboard = 'weekly_paris' AND user_id = 'u3';
INSERT INTO gamification.leaderboard_score VALUES ('weekly_ny', '2020-01-05 00:00-05', 'ghost', 5, now());
SELECT results_eq($$ SELECT leaderboard, user_id, stored, computed FROM gamification.leaderboard_verify() ORDER BY 1, 2 $$,
    $$ VALUES ('all_rank'::text, 'u2'::text, 99::bigint, 10::bigint), ('weekly_ny', 'ghost', 5, NULL),
              ('weekly_paris', 'u3', NULL, 6) $$,
    'leaderboard_verify reports a wrong score, a row the data does not have and a missing one');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify(false, '2026-01-01')), 2::bigint,
    'since: only periods ending after it');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify(true)), 3::bigint, 'repair returns what it repaired');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint, 'after which nothing differs');

-- A board that changes what it counts is filled again; unregistering removes its scores.
SELECT gamification.leaderboard_register('{"code": "weekly_paris", "period": "week", "time_zone": "Europe/Paris", "week_start": "sunday"}');
SELECT is((SELECT count(*) FROM gamification.leaderboard_top('weekly_paris', 10, 0, '2026-03-29 23:30+02')), 0::bigint,
    'weeks from Sunday now: u1''s Sunday 23:30 was erased, nobody else scored that week');
SELECT results_eq($$ SELECT user_id, score FROM gamification.leaderboard_top('weekly_paris', 10, 0, '2026-03-22 12:00+01') $$,
    $$ VALUES ('u2'::text, 4::bigint) $$, 'u2''s Monday 00:00 is now in the week from Sunday March 22nd');
SELECT ok(gamification.leaderboard_unregister('all_dense'), 'leaderboard_unregister returns true');
SELECT ok(NOT gamification.leaderboard_unregister('all_dense'), 'and false the second time');
SELECT is((SELECT count(*) FROM gamification.leaderboard_score WHERE leaderboard = 'all_dense'), 0::bigint,
    'its scores are gone');

SELECT * FROM finish();
ROLLBACK;
