-- Set-based writes: bulk INSERT ... SELECT, multi-row UPDATE and DELETE award
-- every qualifying user once; partitioned tables (rows routed from the parent);
-- rollback; update_of not evaluating at all; fire_on_replica.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(25);

CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0, title text);
SELECT gamification.badge_register('[
  {"code": "sketcher", "name": "Sketcher", "points": 2, "condition": "true", "trigger_condition": "insert",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "popular", "name": "Popular", "points": 3, "condition": "NEW.hit_views > OLD.hit_views AND NEW.hit_views >= 100",
   "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "gone", "name": "Gone", "points": 5, "condition": "OLD.hit_views >= 100", "trigger_condition": "delete",
   "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "ten", "name": "Ten", "points": 7, "target": 10, "counter": {"table": "sketch", "user_field": "user_id"}}]');

-- 1. Bulk INSERT ... SELECT: 1000 rows for 200 users (5 each, users 1..200), plus 50 rows with NULL users.
INSERT INTO public.sketch (user_id) SELECT 1 + (g % 200) FROM generate_series(0, 999) g;
INSERT INTO public.sketch (user_id) SELECT NULL FROM generate_series(1, 50);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'sketcher'), 200::bigint,
    'one INSERT ... SELECT awards every user once');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE badge_code = 'sketcher'), 200::bigint, 'one history row each');
SELECT is((SELECT sum(points) FROM gamification.user_points), 400::numeric, 'points paid once per user');
SELECT is((SELECT count(*) FROM gamification.user_progress WHERE code = 'ten' AND progress = 5), 200::bigint,
    'the counter adds each user''s number of rows');
INSERT INTO public.sketch (user_id) SELECT 1 + (g % 100) FROM generate_series(0, 499) g;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'ten'), 100::bigint,
    'a second bulk insert takes 100 users to the target');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE badge_code = 'ten'), 100::bigint, 'each awarded once');

-- 2. Multi-row UPDATE.
UPDATE public.sketch SET hit_views = 100 WHERE user_id <= 150;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'popular'), 150::bigint,
    'one multi-row UPDATE awards every qualifying user (NEW and OLD both available)');
UPDATE public.sketch SET hit_views = 100;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'popular'), 200::bigint,
    'a second multi-row UPDATE awards the remaining users');
SELECT is((SELECT count(*) FROM gamification.award WHERE user_id IS NULL OR user_id = ''), 0::bigint, 'rows with NULL users are skipped');

-- 3. Multi-row DELETE.
DELETE FROM public.sketch WHERE user_id > 100 OR user_id IS NULL;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'gone'), 100::bigint,
    'one multi-row DELETE awards every qualifying user, from OLD');

-- 4. Rollback.
SAVEPOINT s;
INSERT INTO public.sketch (user_id) SELECT g FROM generate_series(1001, 1100) g;
UPDATE public.sketch SET hit_views = 500 WHERE user_id > 1000;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id::int > 1000), 200::bigint, 'awarded inside the transaction');
ROLLBACK TO SAVEPOINT s;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id::int > 1000), 0::bigint, 'a rolled-back bulk write leaves no award');
SELECT is((SELECT count(*) FROM gamification.points_ledger WHERE user_id::int > 1000), 0::bigint, 'and no points');

-- 5. Partitioned table: rows inserted into the parent are routed to partitions.
CREATE TABLE public.event (id int, user_id bigint, kind text, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.event_2024 PARTITION OF public.event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.event_2025 PARTITION OF public.event FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT lives_ok($$ SELECT gamification.badge_register('[
  {"code": "eventful", "name": "Eventful", "condition": "NEW.kind = ''login''", "trigger_condition": "insert",
   "trigger_table": "event", "user_field": "user_id"},
  {"code": "renamed_kind", "name": "Renamed kind", "condition": "NEW.kind = ''logout''", "trigger_condition": "update",
   "trigger_table": "event", "user_field": "user_id"},
  {"code": "purged", "name": "Purged", "condition": "true", "trigger_condition": "delete",
   "trigger_table": "event", "user_field": "user_id"},
  {"code": "three_events", "name": "Three events", "target": 3,
   "counter": {"table": "event", "user_field": "user_id", "where": "kind <> ''noise''"}}]') $$,
    'badges register on a partitioned table');
INSERT INTO public.event (id, user_id, kind, at) VALUES
    (1, 1, 'login', '2024-03-01'), (2, 2, 'login', '2025-03-01'), (3, 3, 'noise', '2024-05-01'),
    (4, 1, 'view', '2025-01-02'), (5, 1, 'view', '2024-12-31'), (6, 3, 'noise', '2025-05-01');
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.user_badges WHERE code = 'eventful'), ARRAY['1', '2'],
    'rows inserted into the partitioned parent award, whichever partition they land in');
SELECT is((SELECT array_agg(user_id || '=' || progress ORDER BY user_id) FROM gamification.user_progress WHERE code = 'three_events'),
    ARRAY['1=3', '2=1'], 'a counter on the parent counts rows routed to every partition');
SELECT is((SELECT array_agg(user_id) FROM gamification.user_badges WHERE code = 'three_events'), ARRAY['1'], 'and awards at the target');
UPDATE public.event SET kind = 'logout' WHERE user_id = 2;
SELECT is((SELECT array_agg(user_id) FROM gamification.user_badges WHERE code = 'renamed_kind'), ARRAY['2'],
    'an UPDATE through the parent awards');
DELETE FROM public.event WHERE user_id = 3;
SELECT is((SELECT array_agg(user_id) FROM gamification.user_badges WHERE code = 'purged'), ARRAY['3'],
    'a DELETE through the parent awards');

-- 6. update_of: an UPDATE that changes none of the columns does not evaluate the badge at all.
--    A condition only reads, so its calls are counted by track_functions (this transaction's).
SET LOCAL track_functions = 'all';
CREATE FUNCTION public.note_eval(p_id int) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN true; END $$;
SELECT gamification.badge_register('{"code": "titled", "name": "Titled", "condition": "public.note_eval(NEW.id)",
    "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id", "update_of": ["title"]}');
UPDATE public.sketch SET hit_views = hit_views + 1 WHERE user_id <= 10;
SELECT is(coalesce(pg_stat_get_xact_function_calls('public.note_eval(int)'::regprocedure), 0), 0::bigint,
    'an UPDATE not touching the update_of column does not evaluate the condition');
UPDATE public.sketch SET title = title WHERE user_id <= 10;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'titled'), 0::bigint,
    'an UPDATE setting the column to the same value changes nothing and does not award');
UPDATE public.sketch SET title = 'new' WHERE user_id = 3;
SELECT is((SELECT array_agg(user_id) FROM gamification.user_badges WHERE code = 'titled'), ARRAY['3'],
    'an UPDATE changing the update_of column awards');

-- 7. fire_on_replica.
CREATE TABLE public.replicated (id int, user_id int);
SELECT gamification.badge_register('{"code": "replica_ok", "name": "Replica OK", "condition": "true", "fire_on_replica": true,
    "trigger_condition": "insert", "trigger_table": "replicated", "user_field": "user_id"}');
SET LOCAL session_replication_role = replica;
INSERT INTO public.replicated VALUES (1, 500);
INSERT INTO public.sketch (user_id) VALUES (501);
SET LOCAL session_replication_role = origin;
SELECT is((SELECT array_agg(code) FROM gamification.user_badges WHERE user_id = '500'), ARRAY['replica_ok'],
    'a fire_on_replica badge awards for rows applied by replication');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '501'), 0::bigint,
    'badges without fire_on_replica do not fire under session_replication_role = replica');
INSERT INTO public.replicated VALUES (2, 502);
SELECT is((SELECT array_agg(code) FROM gamification.user_badges WHERE user_id = '502'), ARRAY['replica_ok'],
    'and it still fires on ordinary writes');

SELECT * FROM finish();
ROLLBACK;
