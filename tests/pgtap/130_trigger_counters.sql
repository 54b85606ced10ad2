-- Counter badges: incremental progress in user_progress, award with points at
-- the target, where filters (bare or NEW./OLD.-qualified), on delete, no
-- recounting of history, NULL users skipped.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(25);

CREATE TABLE public.posts (id serial PRIMARY KEY, author_id int, status text DEFAULT 'draft', likes int DEFAULT 0);
INSERT INTO public.posts (author_id) SELECT 1 FROM generate_series(1, 10);  -- history before registration

SELECT results_eq(
    $$ SELECT * FROM gamification.badge_register('{"code": "writer3", "name": "Writer", "points": 30, "target": 3,
         "counter": {"table": "posts", "user_field": "author_id"}}') $$,
    ARRAY['writer3'], 'a counter badge registers');
SELECT has_trigger('public', 'posts', 'gamification_on_insert', 'a counter on insert installs gamification_on_insert');
SELECT is((SELECT count(*) FROM gamification.user_progress WHERE code = 'writer3'), 0::bigint,
    'without backfill the count starts at 0: existing rows give no progress');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'writer3'), 0::bigint, 'and no award');

INSERT INTO public.posts (author_id) VALUES (1);
SELECT row_eq($$ SELECT user_id, code, progress, target FROM gamification.user_progress WHERE code = 'writer3' AND user_id = '1' $$,
    ROW('1'::text, 'writer3'::text, 1::bigint, 3::bigint), 'one row adds 1 to the user''s progress, shown with the target');
INSERT INTO public.posts (author_id) VALUES (1);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'writer3'), 0::bigint, 'progress 2 of 3: no award');
INSERT INTO public.posts (author_id) VALUES (1);
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'writer3' AND user_id = '1'), 1::bigint, 'progress reaching the target awards');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 30::bigint, 'with its points');
INSERT INTO public.posts (author_id) VALUES (1), (1);
SELECT is((SELECT progress FROM gamification.user_progress WHERE code = 'writer3' AND user_id = '1'), 5::bigint,
    'progress keeps counting past the target');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 30::bigint, 'and pays once');

-- Several rows of one user in one statement, crossing the target.
INSERT INTO public.posts (author_id) VALUES (2), (2), (2), (2), (3);
SELECT results_eq($$ SELECT user_id, progress FROM gamification.user_progress WHERE code = 'writer3' AND user_id IN ('2', '3') ORDER BY user_id $$,
    $$ VALUES ('2'::text, 4::bigint), ('3', 1) $$, 'one statement adds each user''s number of rows');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE badge_code = 'writer3' AND user_id = '2'), 1::bigint,
    'crossing the target within one statement awards once');

-- Never recounting history: deleting rows does not lower an insert counter.
DELETE FROM public.posts WHERE author_id = 2;
INSERT INTO public.posts (author_id) VALUES (2);
SELECT is((SELECT progress FROM gamification.user_progress WHERE code = 'writer3' AND user_id = '2'), 5::bigint,
    'an insert counter is not recounted: deletes leave it, the next insert adds 1');

-- NULL users are skipped, the write goes on.
SELECT lives_ok($$ INSERT INTO public.posts (author_id) VALUES (NULL), (4) $$, 'a NULL user does not abort the write');
SELECT is((SELECT count(*) FROM gamification.progress WHERE user_id IS NULL OR user_id = ''), 0::bigint, 'no progress for a NULL user');
SELECT is((SELECT progress FROM gamification.user_progress WHERE code = 'writer3' AND user_id = '4'), 1::bigint,
    'the other row of the statement counts');

-- where: bare column names and NEW.-qualified.
SELECT gamification.badge_register('[
  {"code": "published2", "name": "Published", "target": 2, "points": 7,
   "counter": {"table": "public.posts", "user_field": "author_id", "on": "insert", "where": "status = ''published''"}},
  {"code": "liked2", "name": "Liked", "target": 2,
   "counter": {"table": "posts", "user_field": "author_id", "where": "NEW.likes > 10 AND NEW.status <> ''spam''"}}]');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.posts'::regclass AND tgname = 'gamification_on_insert'), 1::bigint,
    'three counters on one table share one trigger');
INSERT INTO public.posts (author_id, status, likes) VALUES (5, 'published', 0), (5, 'draft', 50), (5, 'spam', 50);
SELECT results_eq($$ SELECT code, progress FROM gamification.user_progress WHERE user_id = '5' ORDER BY code $$,
    $$ VALUES ('liked2'::text, 1::bigint), ('published2', 1), ('writer3', 3) $$,
    'each counter counts only the rows its where matches');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '5'), ARRAY['writer3'],
    'only the counter that reached its target awards');
INSERT INTO public.posts (author_id, status, likes) VALUES (5, 'published', 11);
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '5'), ARRAY['liked2', 'published2', 'writer3'],
    'one row can complete two counters');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '5'), 37::bigint, 'each paying its points');

-- on delete: the user and the where come from OLD.
SELECT gamification.badge_register('{"code": "pruner2", "name": "Pruner", "target": 2, "points": 1,
    "counter": {"table": "posts", "user_field": "author_id", "on": "delete", "where": "OLD.status = ''draft''"}}');
SELECT has_trigger('public', 'posts', 'gamification_on_delete', 'a delete counter installs gamification_on_delete');
DELETE FROM public.posts WHERE author_id = 5 AND status IN ('draft', 'spam');
SELECT is((SELECT progress FROM gamification.user_progress WHERE code = 'pruner2' AND user_id = '5'), 1::bigint,
    'a delete counter counts deleted rows its where matches, for the user in OLD');
DELETE FROM public.posts WHERE author_id = 1;
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE code = 'pruner2' AND user_id = '1'), 1::bigint,
    'deleting many rows at once crosses the target and awards');

-- Counters roll back with the write.
SAVEPOINT s;
INSERT INTO public.posts (author_id) VALUES (6), (6), (6);
ROLLBACK TO SAVEPOINT s;
SELECT is((SELECT count(*) FROM gamification.user_progress WHERE user_id = '6'), 0::bigint,
    'a rolled-back write leaves neither progress nor award');

SELECT * FROM finish();
ROLLBACK;
