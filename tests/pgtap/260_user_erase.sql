-- user_erase(): every row about one user is gone (a catalog-wide search for the key finds
-- nothing outside the application's own table), totals and leaderboards stay consistent,
-- other users are untouched, and the append-only guard still holds afterwards.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(25);

-- Every row, in any table of any schema (temporary ones aside), whose text contains p_key.
CREATE FUNCTION pg_temp.tables_mentioning(p_key text, p_ignore regclass[])
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    v_table regclass;
    v_found boolean;
BEGIN
    FOR v_table IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'm') AND c.relpersistence <> 't'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
           AND c.oid <> ALL (p_ignore)
         ORDER BY 1::text
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s t WHERE strpos(t::text, $1) > 0)', v_table)
           INTO v_found USING p_key;
        IF v_found THEN
            RETURN NEXT v_table::text;
        END IF;
    END LOOP;
END $$;

CREATE TABLE public.erase_posts (id serial PRIMARY KEY, author text NOT NULL, body text);
SELECT gamification.category_register('{"code": "c", "name": "C"}');
SELECT gamification.badge_register('[
  {"code": "a", "name": "A", "points": 10, "category": "c"},
  {"code": "b", "name": "B", "points": 5, "target": 2},
  {"code": "p", "name": "P", "points": 3, "target": 5},
  {"code": "poster", "name": "Poster", "points": 7, "condition": "true",
   "trigger_condition": "insert", "trigger_table": "erase_posts", "user_field": "author"},
  {"code": "two_posts", "name": "Two posts", "points": 1, "target": 2,
   "counter": {"table": "erase_posts", "user_field": "author"}},
  {"code": "numeric_author", "name": "Numeric", "condition": "NEW.author::int > 0",
   "trigger_condition": "insert", "trigger_table": "erase_posts", "user_field": "author"}]');
SELECT gamification.unlockable_register('[{"code": "u", "name": "U", "points_required": 10},
                                          {"code": "free", "name": "Free", "points_required": 0}]');

-- The user to erase: every kind of row (a badge error mentioning the key too).
SET client_min_messages = error;
INSERT INTO public.erase_posts (author) VALUES ('leaver-7f3a9c'), ('leaver-7f3a9c');
INSERT INTO public.erase_posts (author) VALUES ('stayer-1');
INSERT INTO public.erase_posts (author) VALUES ('42');
RESET client_min_messages;
SELECT gamification.badge_award('leaver-7f3a9c', 'a');
SELECT gamification.badge_revoke('leaver-7f3a9c', 'a');
SELECT gamification.badge_award('leaver-7f3a9c', 'a');
SELECT gamification.badge_progress('leaver-7f3a9c', 'b', 3);
SELECT gamification.badge_progress('leaver-7f3a9c', 'p', 2);
SELECT gamification.award_points('leaver-7f3a9c', -4, 'penalty');
SELECT gamification.badge_award('stayer-1', 'a');
SELECT gamification.award_points('stayer-1', 2, 'bonus');
CREATE TEMP TABLE stayer_before AS
SELECT (SELECT jsonb_agg(to_jsonb(x) - 'id' ORDER BY x.id) FROM gamification.award_history x WHERE user_id = 'stayer-1') AS history,
       (SELECT jsonb_agg(to_jsonb(x) - 'id' ORDER BY x.id) FROM gamification.points_ledger x WHERE user_id = 'stayer-1') AS ledger,
       (SELECT points FROM gamification.points_total WHERE user_id = 'stayer-1') AS points,
       (SELECT array_agg(badge_code ORDER BY badge_code) FROM gamification.award WHERE user_id = 'stayer-1') AS badges,
       (SELECT array_agg(unlockable_code ORDER BY unlockable_code) FROM gamification.unlock WHERE user_id = 'stayer-1') AS unlocks;

SELECT set_eq($$ SELECT * FROM pg_temp.tables_mentioning('leaver-7f3a9c', ARRAY['public.erase_posts'::regclass]) $$,
    ARRAY['gamification.award', 'gamification.badge_error', 'gamification.event',
          'gamification.points_total', 'gamification.progress', 'gamification.unlock'],
    'before: the search finds the user in every per-user table, and in a badge error');

SELECT is(gamification.user_erase('leaver-7f3a9c'),
    '{"award": 4, "event": 11, "progress": 3, "points_total": 1, "unlock": 2, "pending_queue": 0, "leaderboard_score": 0, "leaderboard_exclusion": 0, "badge_error": 1}'::jsonb,
    'user_erase returns the rows removed per table');
SELECT is_empty($$ SELECT * FROM pg_temp.tables_mentioning('leaver-7f3a9c', ARRAY['public.erase_posts'::regclass]) $$,
    'after: no row of any table outside the application''s own mentions the user');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = 'leaver-7f3a9c'), 0::bigint, 'no badge');
SELECT is((SELECT count(*) FROM gamification.user_points WHERE user_id = 'leaver-7f3a9c'), 0::bigint, 'not on the leaderboard');
SELECT is((SELECT count(*) FROM gamification.points_history WHERE user_id = 'leaver-7f3a9c'), 0::bigint, 'no points history');
SELECT is((SELECT count(*) FROM gamification.user_progress WHERE user_id = 'leaver-7f3a9c'), 0::bigint, 'no progress');
SELECT is((SELECT count(*) FROM gamification.user_unlockables WHERE user_id = 'leaver-7f3a9c'), 0::bigint,
    'no unlockable, not even one needing no points (unlike reset)');
SELECT is_empty($$ SELECT t.user_id FROM gamification.points_total t
                     FULL JOIN (SELECT user_id, sum(amount)::bigint AS s FROM gamification.points_ledger GROUP BY user_id) l USING (user_id)
                    WHERE t.points IS DISTINCT FROM l.s $$,
    'every total still equals the sum of its ledger');
SELECT row_eq($$ SELECT (SELECT jsonb_agg(to_jsonb(x) - 'id' ORDER BY x.id) FROM gamification.award_history x WHERE user_id = 'stayer-1'),
                        (SELECT jsonb_agg(to_jsonb(x) - 'id' ORDER BY x.id) FROM gamification.points_ledger x WHERE user_id = 'stayer-1'),
                        (SELECT points FROM gamification.points_total WHERE user_id = 'stayer-1'),
                        (SELECT array_agg(badge_code ORDER BY badge_code) FROM gamification.award WHERE user_id = 'stayer-1'),
                        (SELECT array_agg(unlockable_code ORDER BY unlockable_code) FROM gamification.unlock WHERE user_id = 'stayer-1') $$,
    (SELECT ROW(s.history, s.ledger, s.points, s.badges, s.unlocks) FROM stayer_before s)::record,
    'another user''s awards, history, ledger, total and unlocks are untouched');
SELECT is((SELECT count(*) FROM gamification.badge_error WHERE strpos(message, 'stayer-1') > 0), 1::bigint,
    'the badge error about another user stays');
SELECT is((SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '42'), ARRAY['numeric_author', 'poster'],
    'and so do the awards of user 42');

-- The append-only guard is not lifted for anyone else afterwards.
SELECT throws_ok($$ DELETE FROM gamification.event WHERE user_id = 'stayer-1' $$, '55000',
    'gamification.event is append-only: DELETE is not allowed', 'the event log is still append-only');
SELECT throws_ok($$ DELETE FROM gamification.award_history $$, '55000',
    'gamification.event is append-only: DELETE is not allowed', 'also through the 0.1.0 history view');
SELECT ok(coalesce(current_setting('gamification.erasing', true), '') <> 'on', 'user_erase leaves no setting behind');

-- Idempotent, and the user may come back as a new one.
SELECT is(gamification.user_erase('leaver-7f3a9c'),
    '{"award": 0, "event": 0, "progress": 0, "points_total": 0, "unlock": 0, "pending_queue": 0, "leaderboard_score": 0, "leaderboard_exclusion": 0, "badge_error": 0}'::jsonb,
    'a second erase removes nothing');
SELECT is(gamification.badge_award('leaver-7f3a9c', 'a'), true, 'the same key can earn again');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'leaver-7f3a9c'), 10::bigint, 'from zero');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE user_id = 'leaver-7f3a9c'), 1::bigint, 'with a fresh history');

-- Other key types, and bad input.
SELECT gamification.badge_award(77, 'a');
SELECT is(gamification.user_erase(77) -> 'award', '1'::jsonb, 'user_erase(integer)');
SELECT gamification.badge_award('7c9e6679-7425-40de-944b-e07fc1f90ae7'::uuid, 'a');
SELECT is(gamification.user_erase('7c9e6679-7425-40de-944b-e07fc1f90ae7'::uuid) -> 'award', '1'::jsonb, 'user_erase(uuid)');
SELECT throws_ok($$ SELECT gamification.user_erase(NULL::text) $$, '22004',
    'gamification.user_erase(): user_id must not be null', 'null user');
SELECT throws_ok($$ SELECT gamification.user_erase('') $$, '22023',
    'gamification.user_erase(): user_id must not be empty', 'empty user');

-- Every table with a user_id column is one that erasure covers.
SELECT set_eq($$ SELECT c.oid::regclass::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  WHERE c.relnamespace = 'gamification'::regnamespace AND c.relkind IN ('r', 'p')
                    AND a.attname = 'user_id' AND NOT a.attisdropped $$,
    $$ SELECT unnest(gamification._user_data_tables())::text $$,
    'every table of the extension with a user_id column is in _user_data_tables(), which user_erase empties for the user');

-- A key that is a substring of a word in another error is not erased with it.
SET client_min_messages = error;
INSERT INTO public.erase_posts (author) VALUES ('ab');
INSERT INTO public.erase_posts (author) VALUES ('xaby');
RESET client_min_messages;
SELECT is(gamification.user_erase('ab') -> 'badge_error', '1'::jsonb,
    'badge errors are matched on the key as a whole word: only the one about "ab" goes');

SELECT * FROM finish();
ROLLBACK;
