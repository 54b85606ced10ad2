-- Leaderboards (issue 19): periods in a time zone across daylight-saving changes, week
-- start, the three ways of ranking ties, paging, one user with neighbours, past periods,
-- exclusion, erasure, registration from the log, verify and repair.
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(71);

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
SELECT results_eq($$ SELECT leaderboard, user_id, stored, computed FROM gamification.leaderboard_verify()
                     WHERE user_id IS NOT NULL ORDER BY 1, 2 $$,
    $$ VALUES ('all_rank'::text, 'u2'::text, 99::bigint, 10::bigint), ('weekly_ny', 'ghost', 5, NULL),
              ('weekly_paris', 'u3', NULL, 6) $$,
    'leaderboard_verify reports a wrong score, a row the data does not have and a missing one');
-- Those writes went around the API: the score ranges' counts (rows with user_id NULL) did not follow.
SELECT results_eq($$ SELECT leaderboard, stored, computed FROM gamification.leaderboard_verify()
                     WHERE user_id IS NULL ORDER BY 1, 2, 3 $$,
    $$ VALUES ('all_rank'::text, 0::bigint, 1::bigint), ('all_rank', 2, 1), ('weekly_ny', 0, 1), ('weekly_paris', 1, 0) $$,
    'and each score range whose count of users no longer matches its scores (user_id NULL)');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify(false, '2026-01-01')), 5::bigint,
    'since: only periods ending after it (the 2020 week in New York is left out, its range too)');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify(true) WHERE user_id IS NOT NULL), 3::bigint,
    'repair returns what it repaired');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint, 'after which nothing differs, counts included');

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
SELECT is((SELECT count(*) FROM gamification.leaderboard_count WHERE leaderboard = 'all_dense'), 0::bigint,
    'and the counts of its score ranges');

-- Score ranges (what makes a rank a sum of counts): in the order of the scores, each
-- range's last score where the next range starts, the exact ends of bigint included.
SELECT is((SELECT count(*) FROM (
             SELECT s, gamification._leaderboard_bucket(s) AS b, gamification._leaderboard_bucket(s + 1) AS next
               FROM (SELECT generate_series(-70000, 70000)::bigint
                     UNION ALL SELECT unnest(ARRAY[4611686018427387903, 4611686018427387904, -4611686018427387905,
                                                   -4611686018427387904, 9223372036854775806, -9223372036854775807])) g(s)) r
            WHERE r.next < r.b
               OR gamification._leaderboard_bucket_last(r.b) < r.s
               OR (r.next <> r.b) <> (gamification._leaderboard_bucket_last(r.b) = r.s)), 0::bigint,
    'score ranges follow the scores, and _leaderboard_bucket_last() is where each one ends');
SELECT results_eq($$ SELECT gamification._leaderboard_bucket(s), gamification._leaderboard_bucket_last(gamification._leaderboard_bucket(s))
                       FROM unnest(ARRAY[255, 256, 1000, -1, -300, 9223372036854775807, -9223372036854775808]::bigint[]) s $$,
    $$ VALUES (255, 255::bigint), (256, 257), (506, 1003), (-1, -1), (-278, -299),
              (7295, 9223372036854775807), (-7296, -9187343239835811841) $$,
    'exact below 256, then 128 ranges per doubling, mirrored below zero');

-- Wide ranges and negative scores rank as rank() says; folding a range's delta rows
-- into one keeps its count.
SELECT gamification.leaderboard_register('{"code": "wide", "point_type": "xp"}');
SELECT gamification.points_award('w' || i, (ARRAY[1000, 1001, 1003, 1003, 1004, -300, -301, 70000, 2, 5])[i], 'wide', 'xp')
  FROM generate_series(1, 10) i;
SELECT gamification.points_award('w' || i, 1, 'again', 'xp') FROM generate_series(1, 10) i;
SELECT results_eq($$ SELECT (SELECT rank FROM gamification.leaderboard_rank('wide', s.user_id)), s.user_id
                       FROM gamification.leaderboard_score s WHERE s.leaderboard = 'wide' ORDER BY 2 $$,
    $$ SELECT rank() OVER (ORDER BY s.score DESC), s.user_id
         FROM gamification.leaderboard_score s WHERE s.leaderboard = 'wide' ORDER BY 2 $$,
    'ranks in wide ranges (1004, 1004 and 1005 share one) and below zero equal rank()');
SELECT cmp_ok((SELECT count(*) FROM gamification.leaderboard_count WHERE leaderboard = 'wide'), '>', 10::bigint,
    'each move out of a range wrote deltas');
SELECT gamification._leaderboard_fold(array_agg(leaderboard), array_agg(period_start), array_agg(bucket))
  FROM (SELECT DISTINCT s.leaderboard, s.period_start, gamification._leaderboard_bucket(s.score) AS bucket
          FROM gamification.leaderboard_score s WHERE s.leaderboard = 'wide' AND s.user_id LIKE 'w%') k;
SELECT results_eq($$ SELECT c.bucket, c.users FROM gamification.leaderboard_count c
                      WHERE c.leaderboard = 'wide'
                        AND c.bucket IN (SELECT gamification._leaderboard_bucket(s.score) FROM gamification.leaderboard_score s
                                          WHERE s.leaderboard = 'wide' AND s.user_id LIKE 'w%') ORDER BY 1 $$,
    $$ SELECT gamification._leaderboard_bucket(s.score), count(*) FROM gamification.leaderboard_score s
        WHERE s.leaderboard = 'wide' GROUP BY 1
       HAVING gamification._leaderboard_bucket(s.score) IN (SELECT gamification._leaderboard_bucket(s.score)
                FROM gamification.leaderboard_score s WHERE s.leaderboard = 'wide' AND s.user_id LIKE 'w%') ORDER BY 1 $$,
    '_leaderboard_fold leaves one row in each range those users are in, holding its count');
SELECT is((SELECT count(*) FROM gamification.leaderboard_verify()), 0::bigint, 'which leaderboard_verify agrees with');
SELECT gamification.points_award('w' || i, 1, 'more', 'xp') FROM generate_series(1, 10) i;
SELECT cmp_ok(gamification.leaderboard_compact(), '>', 0::bigint, 'leaderboard_compact folds what writers left');
SELECT is((SELECT count(*) FROM (SELECT 1 FROM gamification.leaderboard_count
                                   GROUP BY leaderboard, period_start, bucket HAVING count(*) > 1) r), 0::bigint,
    'one row per range after it');
SELECT gamification.user_erase('w2');
SELECT is((SELECT sum(users) FROM gamification.leaderboard_count WHERE leaderboard = 'wide'),
          (SELECT count(*) FROM gamification.leaderboard_score WHERE leaderboard = 'wide')::numeric,
    'an erased user leaves the counts');
SELECT gamification.leaderboard_exclude('wide', 'w3');
SELECT results_eq($$ SELECT users FROM gamification.leaderboard_periods('wide') $$,
    $$ SELECT count(*) - 1 FROM gamification.leaderboard_score WHERE leaderboard = 'wide' $$,
    'leaderboard_periods counts the ranked users from them (the excluded taken off)');

SELECT * FROM finish();
ROLLBACK;
