-- Events made after the fact (a backfill, a lowered target, first unlocks recorded by
-- unlockable_register) or by a bulk import are marked in event.origin, so that consumers
-- can skip them instead of flooding users (consumer_register(..., live_only => true),
-- tests/test_events.py).
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(9);

CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0);
INSERT INTO public.sketch (user_id, hit_views) SELECT g, 2000 FROM generate_series(1, 3) g;

SELECT gamification.badge_register('{"code": "hello", "name": "Hello", "points": 3}');
SELECT gamification.badge_award('live1', 'hello');
SELECT is((SELECT origin FROM gamification.event WHERE user_id = 'live1'), 'live', 'an award made now is live');

SELECT gamification.unlockable_register('[{"code": "gold", "name": "Gold", "points_required": 10}]');
SELECT gamification.badge_register('{"code": "star", "name": "Star", "points": 10,
    "condition": "NEW.hit_views >= 1000", "trigger_condition": "update", "trigger_table": "sketch",
    "user_field": "user_id", "backfill": true}');
SELECT is((SELECT array_agg(DISTINCT origin) FROM gamification.event WHERE user_id IN ('1', '2', '3')),
    ARRAY['backfill'], 'a backfill''s awards, and the points and unlocks that follow, are marked backfill');
SELECT is((SELECT count(*) FROM gamification.event WHERE user_id = '1'), 2::bigint,
    'the backfill wrote the award and the unlock (points are in badge_awarded)');

SELECT gamification.badge_award('live2', 'hello');
SELECT is((SELECT origin FROM gamification.event WHERE user_id = 'live2'), 'live', 'after the backfill, events are live again');

SELECT gamification.points_award('rich', 50, 'gift');
SELECT gamification.unlockable_register('[{"code": "silver", "name": "Silver", "points_required": 5}]');
SELECT is((SELECT origin FROM gamification.event WHERE user_id = 'rich' AND subject = 'silver'), 'backfill',
    'first unlocks recorded by unlockable_register are marked backfill');

SELECT gamification.badge_register('{"code": "steps", "name": "Steps", "target": 10}');
SELECT gamification.badge_progress('walker', 'steps', 5);
SELECT gamification.badge_register('{"code": "steps", "name": "Steps", "target": 5}');
SELECT is((SELECT origin FROM gamification.event WHERE user_id = 'walker' AND subject = 'steps'), 'backfill',
    'awards of a lowered target are marked backfill');

SET LOCAL gamification.event_origin = 'import';
SELECT gamification.badge_award('etl', 'hello');
SELECT gamification.points_award('etl', 1, 'imported');
SELECT is((SELECT array_agg(DISTINCT origin) FROM gamification.event WHERE user_id = 'etl'), ARRAY['import'],
    'a transaction that sets gamification.event_origin = import marks its events import');

SET LOCAL gamification.event_origin = 'nonsense';
SELECT lives_ok($$ SELECT gamification.badge_award('odd', 'hello') $$, 'an unknown origin never fails a write');
SELECT is((SELECT origin FROM gamification.event WHERE user_id = 'odd'), 'live', 'an unknown origin is live');

SELECT * FROM finish();
ROLLBACK;
