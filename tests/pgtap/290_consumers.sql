-- Consumers of the event log: registration, fetch in (txid, id) order, acknowledgement,
-- documented errors. Commit order across sessions is proven in tests/test_events.py.
BEGIN;
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(10);

SELECT gamification.badge_register('{"code": "hello", "name": "Hello", "points": 3}');
SELECT gamification.badge_award('u1', 'hello');
SELECT gamification.points_award('u2', 5, 'gift');

SELECT lives_ok($$ SELECT gamification.consumer_register('from_start', from_start => true) $$, 'a consumer from the start');
SELECT lives_ok($$ SELECT gamification.consumer_register('from_now') $$, 'a consumer from now');
SELECT lives_ok($$ SELECT gamification.consumer_register('from_now') $$, 'registering again keeps it');

-- This transaction's own events are not below its snapshot's horizon: nobody sees them yet.
SELECT is_empty($$ SELECT * FROM gamification.events_fetch('from_start') $$,
    'events of a transaction still open are not delivered (not even to itself)');
SELECT is((SELECT txid FROM gamification.event ORDER BY id LIMIT 1), pg_current_xact_id(),
    'an event records the transaction that wrote it');

SELECT throws_ok($$ SELECT * FROM gamification.events_fetch('nobody') $$, '42704',
    'consumer "nobody" does not exist', 'fetching for an unknown consumer');
SELECT throws_ok($$ SELECT gamification.events_ack('nobody', '1'::xid8, 1) $$, '42704',
    'consumer "nobody" does not exist', 'acknowledging for an unknown consumer');
SELECT throws_ok($$ SELECT gamification.consumer_register('no spaces') $$, '22023', NULL, 'a bad consumer name');

SELECT gamification.events_ack('from_start', '100'::xid8, 7);
SELECT gamification.events_ack('from_start', '50'::xid8, 9);
SELECT row_eq($$ SELECT after_txid, after_id FROM gamification.consumer WHERE name = 'from_start' $$,
    ROW('100'::xid8, 7::bigint), 'the cursor only moves forward');
SELECT is((SELECT count(*) FROM gamification.consumer), 2::bigint, 'two consumers');

SELECT * FROM finish();
ROLLBACK;
