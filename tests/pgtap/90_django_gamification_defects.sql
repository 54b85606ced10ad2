-- Each defect of django-gamification, proven absent.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(15);

SELECT gamification.badge_register('[{"code": "bronze", "name": "Bronze", "points": 10, "target": 3, "category": "medals", "next": "silver"},
                                     {"code": "silver", "name": "Silver", "points": 20, "target": 6, "category": "medals"}]');
SELECT gamification.unlockable_register('{"code": "avatar", "name": "Avatar", "points_required": 10}');

-- 1. Double pay on repeated award.
SELECT gamification.badge_award('u1', 'bronze');
SELECT gamification.badge_award('u1', 'bronze');
SELECT gamification.badge_award('u1', 'bronze');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u1'), 10::bigint, 'repeated award pays once');

-- 2. Double subtraction on repeated revoke.
SELECT gamification.badge_revoke('u1', 'bronze');
SELECT gamification.badge_revoke('u1', 'bronze');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u1'), 0::bigint, 'repeated revoke subtracts once');

-- 3. Progress reaching the target pays.
SELECT gamification.badge_progress('u2', 'bronze', 3);
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u2'), 10::bigint, 'progress reaching the target pays the badge points');

-- 4. Unlockables re-lock when points drop.
SELECT is((SELECT count(*) FROM gamification.user_unlockables WHERE user_id = 'u2'), 1::bigint, 'unlocked at 10 points');
SELECT gamification.award_points('u2', -5, 'penalty');
SELECT is((SELECT count(*) FROM gamification.user_unlockables WHERE user_id = 'u2'), 0::bigint, 're-locked when points drop');

-- 5. Deleting a category deletes neither badges nor awards.
SELECT gamification.category_delete('medals');
SELECT is((SELECT count(*) FROM gamification.badge), 2::bigint, 'deleting a category keeps its badges');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id = 'u2'), 1::bigint, 'deleting a category keeps the awards');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u2'), 5::bigint, 'deleting a category keeps the points');

-- 6. Changing a target deletes no chained badge, award or progress.
SELECT gamification.badge_register('[{"code": "bronze", "name": "Bronze", "points": 10, "target": 4, "next": "silver"}]');
SELECT is((SELECT next FROM gamification.badge WHERE code = 'bronze'), 'silver', 'changing a target keeps the chain');
SELECT is((SELECT count(*) FROM gamification.badge), 2::bigint, 'changing a target deletes no badge');
SELECT is((SELECT count(*) FROM gamification.award WHERE badge_code = 'bronze'), 1::bigint, 'changing a target deletes no award');
SELECT is((SELECT progress FROM gamification.progress WHERE user_id = 'u2' AND badge_code = 'bronze'), 3::bigint, 'changing a target keeps progress');

-- 7. New unlockable / lowered threshold applied without waiting for the next point change.
SELECT gamification.unlockable_register('{"code": "frame", "name": "Frame", "points_required": 5}');
SELECT is((SELECT count(*) FROM gamification.user_unlockables WHERE user_id = 'u2' AND code = 'frame' AND unlocked_at IS NOT NULL), 1::bigint,
    'a new unlockable is unlocked at once for users above it');
SELECT gamification.unlockable_register('{"code": "avatar", "name": "Avatar", "points_required": 5}');
SELECT is((SELECT count(*) FROM gamification.user_unlockables WHERE user_id = 'u2' AND code = 'avatar' AND unlocked_at IS NOT NULL), 1::bigint,
    'a lowered threshold is applied at once');

-- After this mix of awards, revokes, progress, penalties and a reset: total == sum(ledger).
SELECT gamification.reset('u2');
SELECT is((SELECT count(*) FROM gamification.points_total t
            WHERE t.points <> (SELECT sum(l.amount) FROM gamification.points_ledger l WHERE l.user_id = t.user_id)),
    0::bigint, 'total == sum(ledger) for every user after a mix of operations');

SELECT * FROM finish();
ROLLBACK;
