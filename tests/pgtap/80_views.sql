-- Views and badges_for(): contents for a small scenario.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(8);

SELECT gamification.badge_register('[{"code": "a", "name": "A", "points": 3, "category": "cat"},
                                     {"code": "p", "name": "P", "target": 5},
                                     {"code": "s", "name": "S", "secret": true},
                                     {"code": "s2", "name": "S2", "secret": true}]');
SELECT gamification.unlockable_register('{"code": "u", "name": "U", "points_required": 3}');
SELECT gamification.badge_award(1, 'a');
SELECT gamification.badge_award(1, 's');
SELECT gamification.badge_progress(1, 'p', 2);

SELECT results_eq($$ SELECT user_id, code, name, points, category FROM gamification.user_badges ORDER BY code $$,
    $$ VALUES ('1'::text, 'a'::text, 'A'::text, 3::bigint, 'cat'::text), ('1', 's', 'S', 0, NULL) $$, 'user_badges');
SELECT results_eq($$ SELECT * FROM gamification.user_points $$, $$ VALUES ('1'::text, 3::bigint) $$, 'user_points');
SELECT results_eq($$ SELECT * FROM gamification.user_progress $$, $$ VALUES ('1'::text, 'p'::text, 2::bigint, 5::bigint) $$, 'user_progress');
SELECT results_eq($$ SELECT user_id, code, name, unlocked_at IS NOT NULL FROM gamification.user_unlockables $$,
    $$ VALUES ('1'::text, 'u'::text, 'U'::text, true) $$, 'user_unlockables');
SELECT results_eq($$ SELECT code, progress, awarded_at IS NOT NULL FROM gamification.badges_for(1) $$,
    $$ VALUES ('a'::text, NULL::bigint, true), ('p', 2, false), ('s', NULL, true) $$,
    'badges_for: held secret badges only, progress and awarded_at');
SELECT results_eq($$ SELECT code FROM gamification.badges_for('someone else') $$,
    $$ VALUES ('a'::text), ('p') $$, 'badges_for hides secret badges from users who do not hold them');
SELECT results_eq($$ SELECT code FROM gamification.badges_for(1::bigint) $$,
    $$ VALUES ('a'::text), ('p'), ('s') $$, 'badges_for takes any user key type');
SELECT throws_ok($$ SELECT * FROM gamification.badges_for(NULL) $$, '22004',
    'gamification.badges_for(): user_id must not be null', 'null user');

SELECT * FROM finish();
ROLLBACK;
