-- data_reset(): every user's data gone in one call, for test suites; definitions, rules,
-- categories, unlockables and generated triggers kept (and still awarding); sequences
-- restart; only gamification_admin members may call it.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(20);

CREATE TABLE public.reset_posts (id serial PRIMARY KEY, author int NOT NULL, body text);
SELECT gamification.category_register('{"code": "c", "name": "C"}');
SELECT gamification.badge_register('[
  {"code": "a", "name": "A", "points": 10, "category": "c"},
  {"code": "b", "name": "B", "points": 5, "target": 2},
  {"code": "poster", "name": "Poster", "points": 7, "condition": "true",
   "trigger_condition": "insert", "trigger_table": "reset_posts", "user_field": "author"},
  {"code": "two_posts", "name": "Two posts", "points": 1, "target": 2,
   "counter": {"table": "reset_posts", "user_field": "author"}},
  {"code": "broken", "name": "Broken", "condition": "1 / (NEW.author - NEW.author) = 1",
   "trigger_condition": "insert", "trigger_table": "reset_posts", "user_field": "author"}]');
SELECT gamification.unlockable_register('[{"code": "u", "name": "U", "points_required": 10},
                                          {"code": "free", "name": "Free", "points_required": 0}]');
SET client_min_messages = error;
INSERT INTO public.reset_posts (author) VALUES (1), (1), (2);
RESET client_min_messages;
SELECT gamification.badge_award(1, 'a');
SELECT gamification.badge_progress(2, 'b', 1);
SELECT gamification.award_points(3, 4, 'bonus');

CREATE TEMP TABLE definitions_before AS
SELECT (SELECT jsonb_agg(to_jsonb(b) ORDER BY b.code) FROM gamification.badge b) AS badges,
       (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.badge_code) FROM gamification.badge_rule r) AS rules,
       (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.code) FROM gamification.category c) AS categories,
       (SELECT jsonb_agg(to_jsonb(u) ORDER BY u.code) FROM gamification.unlockable u) AS unlockables,
       (SELECT array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger t
         WHERE t.tgrelid = 'public.reset_posts'::regclass AND NOT t.tgisinternal) AS triggers;

SELECT is(gamification.data_reset(),
    '{"award": 4, "event": 9, "progress": 3, "points_total": 3, "unlock": 4, "pending_queue": 0, "leaderboard_score": 0, "leaderboard_exclusion": 0, "badge_error": 1}'::jsonb,
    'data_reset returns the rows removed per table');
SELECT is_empty($$ SELECT 1 FROM gamification.award $$, 'no award');
SELECT is_empty($$ SELECT 1 FROM gamification.award_history $$, 'no award history');
SELECT is_empty($$ SELECT 1 FROM gamification.progress $$, 'no progress');
SELECT is_empty($$ SELECT 1 FROM gamification.points_ledger $$, 'no ledger row');
SELECT is_empty($$ SELECT 1 FROM gamification.points_total $$, 'no total');
SELECT is_empty($$ SELECT 1 FROM gamification.unlock $$, 'no unlock');
SELECT is_empty($$ SELECT 1 FROM gamification.badge_error $$, 'no badge error');
SELECT is((SELECT last_error FROM gamification.badge_status WHERE code = 'broken'), NULL, 'badge_status shows no last error');
SELECT row_eq($$ SELECT (SELECT jsonb_agg(to_jsonb(b) ORDER BY b.code) FROM gamification.badge b),
                        (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.badge_code) FROM gamification.badge_rule r),
                        (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.code) FROM gamification.category c),
                        (SELECT jsonb_agg(to_jsonb(u) ORDER BY u.code) FROM gamification.unlockable u),
                        (SELECT array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger t
                          WHERE t.tgrelid = 'public.reset_posts'::regclass AND NOT t.tgisinternal) $$,
    (SELECT ROW(d.badges, d.rules, d.categories, d.unlockables, d.triggers) FROM definitions_before d)::record,
    'badges, rules, categories, unlockables and the generated triggers are kept as they were');
SELECT is_empty($$ SELECT * FROM gamification.triggers_sync() $$, 'triggers_sync has nothing to do');

-- The next test's user 1 starts from nothing, and the triggers still award.
SET client_min_messages = error;
INSERT INTO public.reset_posts (author) VALUES (1);
RESET client_min_messages;
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1'), ARRAY['poster'],
    'user 1 inherits nothing: one post earns only the post badge');
SELECT is((SELECT progress FROM gamification.user_progress WHERE user_id = '1' AND code = 'two_posts'), 1::bigint,
    'the counter starts again from 1');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 7::bigint, 'user 1 has 7 points');
SELECT is((SELECT min(id) FROM gamification.award_history), 1::bigint, 'the history ids restart at 1');
SELECT is((SELECT min(id) FROM gamification.points_ledger), 1::bigint, 'the ledger ids restart at 1');
SELECT throws_ok($$ TRUNCATE gamification.event $$, '55000',
    'gamification.event is append-only: TRUNCATE is not allowed', 'the event log is still append-only afterwards');

-- Only admins. An operator is told why; a reader cannot call it at all.
CREATE ROLE reset_operator_270 NOLOGIN;
GRANT gamification_operator TO reset_operator_270;
CREATE ROLE reset_admin_270 NOLOGIN;
GRANT gamification_admin TO reset_admin_270;
SET ROLE reset_operator_270;
SELECT throws_ok($$ SELECT gamification.data_reset() $$, '42501',
    'gamification.data_reset(): role reset_operator_270 is not a member of gamification_admin',
    'an operator may not reset everything');
RESET ROLE;
SET ROLE reset_admin_270;
SELECT lives_ok($$ SELECT gamification.data_reset() $$, 'an admin may');
RESET ROLE;
SELECT is_empty($$ SELECT 1 FROM gamification.award $$, 'the admin''s reset removed the new award');

SELECT * FROM finish();
ROLLBACK;
