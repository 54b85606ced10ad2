-- The event log: one row per thing that happened to a user, in order, its points
-- summing to the user's total; an award writes its award row and one event row.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(15);

SELECT gamification.badge_register('[{"code": "welcome", "name": "Welcome", "points": 10},
                                     {"code": "free", "name": "Free"},
                                     {"code": "climber", "name": "Climber", "points": 5, "target": 3}]');
SELECT gamification.unlockable_register('[{"code": "bronze", "name": "Bronze", "points_required": 10},
                                          {"code": "silver", "name": "Silver", "points_required": 20},
                                          {"code": "anyone", "name": "Anyone", "points_required": 0}]');

-- What one award writes: its award row and one event (plus the total it pays into).
CREATE TEMP TABLE counts_before AS
SELECT (SELECT count(*) FROM gamification.award) AS awards, (SELECT count(*) FROM gamification.event) AS events;
SELECT gamification.badge_award('free-rider', 'free');
SELECT row_eq($$ SELECT (SELECT count(*) FROM gamification.award) - awards, (SELECT count(*) FROM gamification.event) - events
                   FROM counts_before $$,
    ROW(1::bigint, 1::bigint), 'an award of a badge without points writes one award row and one event row');
SELECT is_empty($$ SELECT 1 FROM gamification.points_total WHERE user_id = 'free-rider' $$,
    'and no total: nothing was paid');

SELECT gamification.badge_award('ann', 'welcome');
SELECT results_eq($$ SELECT kind, subject, points, reason FROM gamification.event WHERE user_id = 'ann' ORDER BY id $$,
    $$ VALUES ('badge_awarded'::text, 'welcome'::text, 10::bigint, 'manual'::text),
              ('unlockable_unlocked', 'anyone', 0, NULL),
              ('unlockable_unlocked', 'bronze', 0, NULL) $$,
    'an award is one badge_awarded event with the points paid, then the unlockables the total reached');

SELECT gamification.badge_progress('ann', 'climber', 3);
SELECT results_eq($$ SELECT kind, subject, points, reason FROM gamification.event WHERE user_id = 'ann' ORDER BY id DESC LIMIT 1 $$,
    $$ VALUES ('badge_awarded'::text, 'climber'::text, 5::bigint, 'progress'::text) $$,
    'progress crossing the target: one badge_awarded event, reason progress (15 points reach no new unlockable)');

SELECT gamification.award_points('ann', 10, 'streak');
SELECT row_eq($$ SELECT kind, subject, points, reason FROM gamification.event WHERE user_id = 'ann' ORDER BY id DESC LIMIT 1 $$,
    ROW('unlockable_unlocked'::text, 'silver'::text, 0::bigint, NULL::text), 'points reaching silver unlock it after the points_changed event');

SELECT gamification.badge_revoke('ann', 'welcome');
SELECT results_eq($$ SELECT kind, subject, points, reason FROM gamification.event WHERE user_id = 'ann' ORDER BY id DESC LIMIT 2 $$,
    $$ VALUES ('unlockable_locked'::text, 'silver'::text, 0::bigint, NULL::text),
              ('badge_revoked', 'welcome', -10, 'revoke') $$,
    'a revocation takes back what was paid, and falling below silver locks it');

SELECT gamification.reset('ann');
SELECT results_eq($$ SELECT kind, subject, points, reason, data FROM gamification.event WHERE user_id = 'ann' ORDER BY id DESC LIMIT 3 $$,
    $$ VALUES ('unlockable_locked'::text, 'bronze'::text, 0::bigint, NULL::text, NULL::jsonb),
              ('points_changed', NULL, -15, 'reset', NULL),
              ('badge_reset', 'climber', 0, 'reset', '{"paid": 5}') $$,
    'reset: a badge_reset event per held badge (what it paid in data), one points_changed of minus the total, then the locks');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'ann'), 0::bigint, 'the total is 0');

-- The invariant, and the views that read the log.
SELECT is_empty($$ SELECT t.user_id FROM gamification.points_total t
                    WHERE t.points <> (SELECT sum(e.points) FROM gamification.event e WHERE e.user_id = t.user_id) $$,
    'every total is the sum of its user''s event points');
SELECT results_eq($$ SELECT amount, reason, badge FROM gamification.points_history WHERE user_id = 'ann' ORDER BY id $$,
    $$ VALUES (10::bigint, 'badge:welcome'::text, 'welcome'::text), (5, 'badge:climber', 'climber'),
              (10, 'streak', NULL), (-10, 'revoke:welcome', 'welcome'), (-15, 'reset', NULL) $$,
    'points_history: the events with points, with 0.1.0''s reasons');
SELECT results_eq($$ SELECT badge_code, action, points, source FROM gamification.award_history WHERE user_id = 'ann' ORDER BY id $$,
    $$ VALUES ('welcome'::text, 'award'::text, 10::bigint, 'manual'::text), ('climber', 'award', 5, 'progress'),
              ('welcome', 'revoke', -10, 'revoke'), ('climber', 'reset', -5, 'reset') $$,
    'award_history: the badge events in 0.1.0''s form (a reset row shows what it took back)');
SELECT is((SELECT array_agg(id ORDER BY id) FROM gamification.points_ledger WHERE user_id = 'ann'),
          (SELECT array_agg(id ORDER BY id) FROM gamification.points_history WHERE user_id = 'ann'),
    'points_ledger is points_history with event ids');

-- A write's awards: one event per award, made at commit in the writer's transaction.
CREATE TABLE public.posts (id serial PRIMARY KEY, author int NOT NULL);
SELECT gamification.badge_register('{"code": "poster", "name": "Poster", "points": 2,
    "trigger_table": "public.posts", "trigger_condition": "insert", "user_field": "author", "condition": "true"}');
INSERT INTO public.posts (author) VALUES (1), (2), (1);
SELECT results_eq($$ SELECT user_id, kind, points, reason FROM gamification.event WHERE subject = 'poster' ORDER BY id $$,
    $$ VALUES ('1'::text, 'badge_awarded'::text, 2::bigint, 'trigger'::text), ('2', 'badge_awarded', 2, 'trigger') $$,
    'a three-row statement for two users: one event per award, reason trigger');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id IN ('1', '2') AND kind = 'unlockable_unlocked'), 2::bigint,
    'and each total''s first change unlocks the unlockable that needs 0 points, once');

SELECT throws_ok($$ INSERT INTO gamification.event (user_id, kind) VALUES ('x', 'badge_stolen') $$, '23514',
    NULL, 'kinds are checked');

SELECT * FROM finish();
ROLLBACK;
